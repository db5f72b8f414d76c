"""Shapes world: exact captions, masks that match the pixels, families one edit apart."""

from __future__ import annotations

import copy
import itertools
import json

import cv2
import numpy as np
import pytest

from dataengine.sources import shapes_world as sw


@pytest.fixture(scope="module")
def families():
    return sw.make_families(24, seed=7, members=5)


def scene_of(n_objects: int, kind: str = "wood") -> dict:
    """The first generated scene with this many objects and background kind."""
    for k in itertools.count():
        scene = sw.make_family(k, seed=1, members=1)["base"]
        if len(scene["objects"]) == n_objects and scene["background"]["kind"] == kind:
            return scene
    raise AssertionError("unreachable")


def one_change(base: dict, member: dict) -> dict:
    """What differs between two scenes, as the edit that would explain it (test's own view)."""
    assert member["size"] == base["size"] and member["background"] == base["background"]
    old, new = base["objects"], member["objects"]
    if len(new) == len(old) + 1:
        i = next(i for i in range(len(new)) if new[:i] + new[i + 1 :] == old)
        return {"attribute": "add", "object": i, "from": None, "to": new[i]}
    if len(new) == len(old) - 1:
        i = next(i for i in range(len(old)) if old[:i] + old[i + 1 :] == new)
        return {"attribute": "remove", "object": i, "from": old[i], "to": None}
    diffs = [(i, key) for i in range(len(old)) for key in old[i] if old[i][key] != new[i][key]]
    assert len(diffs) == 1, f"more than one attribute changed: {diffs}"
    i, key = diffs[0]
    attribute = "position" if key == "cell" else key
    return {"attribute": attribute, "object": i, "from": old[i][key], "to": new[i][key]}


# --------------------------------------------------------------------------------------------
# Scenes and rendering
# --------------------------------------------------------------------------------------------


def test_scenes_are_json_and_respect_the_invariants(families):
    for family in families:
        for member in family["members"]:
            scene = member["scene"]
            assert json.loads(json.dumps(scene)) == scene
            objects = scene["objects"]
            assert 1 <= len(objects) <= sw.MAX_OBJECTS
            assert len({o["cell"] for o in objects}) == len(objects)
            assert len({(o["color"], o["shape"]) for o in objects}) == len(objects)


def test_render_is_deterministic_and_sized():
    scene = scene_of(3)
    image = sw.render(scene)
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    assert np.array_equal(image, sw.render(copy.deepcopy(scene)))


def test_palette_is_well_separated_from_itself_and_from_backgrounds():
    def distance(a, b):
        return float(np.linalg.norm(np.subtract(a, b)))

    colors = list(sw.COLORS.values())
    assert len(colors) >= 8 and len(sw.SHAPES) >= 5
    assert min(distance(a, b) for a, b in itertools.combinations(colors, 2)) >= 80
    assert min(distance(a, b) for a in colors for b in sw.BACKGROUND_COLORS.values()) >= 90


@pytest.mark.parametrize("kind", sorted(sw.BACKGROUND_WORDS))
def test_masks_are_exactly_where_render_painted(kind):
    scene = scene_of(3, kind)
    image, background = sw.render(scene), sw.render_background(scene)
    changed = (image != background).any(axis=2)
    masks = [sw.object_mask(scene, i) > 0 for i in range(3)]
    assert not (changed & ~np.logical_or.reduce(masks)).any()  # nothing painted outside
    for mask in masks:
        core = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        assert core.sum() > 300 and changed[core].all()  # the object's inside is all painted
        assert changed[mask].mean() > 0.9
    assert not any((a & b).any() for a, b in itertools.combinations(masks, 2))  # no overlap


def test_backgrounds_are_textured_but_low_contrast():
    for kind in sw.BACKGROUND_WORDS:
        background = sw.render_background(scene_of(1, kind)).astype(np.int16)
        spread = background.max(axis=(0, 1)) - background.min(axis=(0, 1))
        assert (spread > 4).all() and (spread <= 50).all(), (kind, spread)


def test_caption_names_every_object_and_the_background():
    scene = scene_of(4)
    text = sw.caption(scene)
    for o in scene["objects"]:
        assert f"a {o['size']} {o['color']} {o['shape']} at the {o['cell']}" in text
    assert text.endswith(f"on a {scene['background']['color']} wooden background")
    assert text.count(" and ") == 1 and text.count(", ") == 2
    one = scene_of(1)
    o = one["objects"][0]
    assert sw.caption(one).startswith(f"a {o['size']} {o['color']} {o['shape']} at the ")


# --------------------------------------------------------------------------------------------
# Edits and families
# --------------------------------------------------------------------------------------------


def test_every_member_is_one_recorded_edit_away_from_the_base(families):
    kinds = set()
    for family in families:
        base, members = family["base"], family["members"]
        assert members[0] == {"member": 0, "scene": base, "edit": None}
        assert len({json.dumps(m["scene"], sort_keys=True) for m in members}) == len(members)
        for m in members[1:]:
            assert one_change(base, m["scene"]) == m["edit"]
            assert sw.apply_edit(base, m["edit"]) == m["scene"]
            kinds.add(m["edit"]["attribute"])
    assert kinds == set(sw.ATTRIBUTES)


def test_apply_edit_leaves_its_input_alone_and_refuses_edits_for_other_scenes():
    scene = scene_of(2)
    before = copy.deepcopy(scene)
    edit = sw.random_edit(scene, np.random.default_rng(0), "color")
    sw.apply_edit(scene, edit)
    assert scene == before
    wrong = dict(edit, **{"from": "no such colour"})
    with pytest.raises(ValueError, match="does not fit"):
        sw.apply_edit(scene, wrong)


def test_random_edits_keep_scenes_valid_for_every_attribute():
    rng = np.random.default_rng(3)
    scene = scene_of(1)
    for _ in range(300):  # a random walk through scenes of 1..4 objects
        edit = sw.random_edit(scene, rng)
        previous, scene = scene, sw.apply_edit(scene, edit)
        assert one_change(previous, scene) == edit
        objects = scene["objects"]
        assert 1 <= len(objects) <= sw.MAX_OBJECTS
        assert len({o["cell"] for o in objects}) == len(objects)
        assert len({(o["color"], o["shape"]) for o in objects}) == len(objects)
    with pytest.raises(ValueError, match="remove"):
        sw.random_edit(scene_of(1), rng, "remove")
    with pytest.raises(ValueError, match="add"):
        sw.random_edit(scene_of(4), rng, "add")


def test_colour_edit_changes_pixels_only_inside_the_objects_masks(families):
    checked = 0
    for family in families:
        base = family["base"]
        for m in family["members"]:
            if not m["edit"] or m["edit"]["attribute"] != "color":
                continue
            i = m["edit"]["object"]
            diff = (sw.render(base) != sw.render(m["scene"])).any(axis=2)
            union = sw.object_mask(base, i) | sw.object_mask(m["scene"], i)
            allowed = cv2.dilate(union, np.ones((5, 5), np.uint8)) > 0  # 2 px for anti-aliasing
            assert diff.any() and not (diff & ~allowed).any()
            checked += 1
    assert checked >= 3


def test_families_are_deterministic_and_seeded():
    assert sw.make_families(6, seed=2) == sw.make_families(6, seed=2)
    assert sw.make_families(6, seed=2) != sw.make_families(6, seed=3)
    longer = sw.make_family(4, seed=2, members=8)
    assert longer["members"][:4] == sw.make_family(4, seed=2, members=4)["members"]
    with pytest.raises(ValueError, match="members"):
        sw.make_family(0, seed=0, members=0)


# --------------------------------------------------------------------------------------------
# Refs and loading
# --------------------------------------------------------------------------------------------


def test_refs_are_small_sorted_and_load_to_the_family_member():
    refs = sw.shapes_refs(families=3, members=4, seed=5)
    assert [r.id for r in refs] == sorted(r.id for r in refs) and len(refs) == 12
    assert refs[0].id == "shapes-fam-0000-m0" and refs[-1].id == "shapes-fam-0002-m3"
    ref = next(r for r in refs if r.id == "shapes-fam-0001-m2")
    assert ref.group == "fam-0001" and len(json.dumps(ref.locator)) < 100
    source = sw.load_shape(ref)
    member = sw.make_family(1, seed=5, members=4)["members"][2]
    assert source.meta == {
        "scene": member["scene"],
        "family": "fam-0001",
        "member": 2,
        "edit": member["edit"],
    }
    assert source.caption == ref.caption == sw.caption(member["scene"])
    assert np.array_equal(source.image, sw.render(member["scene"]))
