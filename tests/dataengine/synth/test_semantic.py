import json
import string

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.instruct.templates import TEMPLATES, slot_names
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage
from dataengine.sources import shapes_world as sw
from dataengine.sources.decode_stage import fit_long_side
from dataengine.synth import styles
from dataengine.synth.base import PairError
from dataengine.synth.semantic import (
    MAX_COUNT_OBJECTS,
    BrightnessContrast,
    ChangeColor,
    ChangeCount,
    ChangeShape,
    ChangeSize,
    ColorGrading,
    MoveObject,
    StyleTransfer,
    render_like,
)

SCENE_EDITS = {ChangeColor: "color", ChangeShape: "shape", ChangeSize: "size", MoveObject: "cell"}
PHOTO_EDITS = (StyleTransfer, ColorGrading, BrightnessContrast)
ALL = (*SCENE_EDITS, ChangeCount, *PHOTO_EDITS)


def scene_source(seed: int, shown: int | None = None, scene: dict | None = None) -> SourceImage:
    """A shapes-world source as the decode stage leaves it: the render, scaled to `shown`."""
    if scene is None:
        scene = sw.random_scene(np.random.default_rng(seed), (256, 256))
    image = sw.render(scene)
    if shown:
        image = fit_long_side(image, shown)
    return SourceImage(id=f"s{seed}", group="g", image=image, meta={"scene": scene})


def photo_source(image=None, size=(96, 80)) -> SourceImage:
    image = skimage.data.coffee() if image is None else image
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return SourceImage(id="photo", group="p", image=image, caption="a cup of coffee")


def obj(color, shape, cell, size="medium") -> dict:
    return {"color": color, "shape": shape, "size": size, "cell": cell}


def with_objects(objects: list[dict]) -> dict:
    scene = sw.random_scene(np.random.default_rng(0), (256, 256))
    return {**scene, "objects": objects}


def test_makers_are_registered_as_semantic_edits():
    for maker in ALL:
        assert MAKERS[maker.task] is maker
        assert maker.category == "semantic_editing" and maker.operator
    assert all(m.needs_scene for m in (*SCENE_EDITS, ChangeCount))
    assert not any(m.needs_scene for m in PHOTO_EDITS)


# --------------------------------------------------------------------------------------------
# One attribute of one object
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("maker", "key"), SCENE_EDITS.items())
def test_scene_edit_changes_exactly_the_named_attribute(maker, key):
    for seed in range(6):
        src = scene_source(seed)
        made = maker().make(src, np.random.default_rng(seed))
        before, after = made.scenes["frames"][0], made.scenes["target"]
        assert before == src.meta["scene"] and after["background"] == before["background"]
        changed = [
            i
            for i, (a, b) in enumerate(zip(before["objects"], after["objects"], strict=False))
            if a != b
        ]
        assert len(after["objects"]) == len(before["objects"]) and len(changed) == 1
        i = changed[0]
        old, new = before["objects"][i], after["objects"][i]
        assert {k for k in old if old[k] != new[k]} == {key}
        edit = made.params["edit"]
        assert (edit["from"], edit["to"]) == (old[key], new[key])
        # Pixels: the source is the frame, the target is the edited scene rendered, and
        # nothing outside the old and new object changes.
        assert np.array_equal(made.frames[0].image, src.image)
        assert np.array_equal(made.target, sw.render(after))
        outside = (sw.object_mask(before, i) == 0) & (sw.object_mask(after, i) == 0)
        assert np.array_equal(made.frames[0].image[outside], made.target[outside])
        assert not np.array_equal(made.frames[0].image, made.target)
        assert made.caption == sw.caption(after)


def test_scene_edit_slots_carry_the_words():
    src = scene_source(3)
    made = ChangeColor().make(src, np.random.default_rng(1))
    edit = made.params["edit"]
    target_obj = made.scenes["target"]["objects"][edit["object"]]
    assert made.slots["new_color"] == edit["to"] == target_obj["color"]
    assert made.slots["object"] == f"{edit['from']} {target_obj['shape']}"
    assert made.slots["where"] == target_obj["cell"]
    size = ChangeSize().make(src, np.random.default_rng(2))
    grows = sw.SIZES[size.slots["new_size"]] > sw.SIZES[size.slots["old_size"]]
    assert size.slots["comparative"] == ("larger" if grows else "smaller")
    move = MoveObject().make(src, np.random.default_rng(2))
    assert move.slots["new_where"] == move.params["edit"]["to"] in sw.CELLS


def test_scene_edit_on_a_downscaled_source_matches_its_pixels():
    src = scene_source(4, shown=100)
    for maker in SCENE_EDITS:
        made = maker().make(src, np.random.default_rng(0))
        assert made.frames[0].image.shape == made.target.shape == src.image.shape
        assert np.array_equal(render_like(made.scenes["frames"][0], src.image.shape), src.image)
        expected = cv2.resize(
            sw.render(made.scenes["target"]), (100, 100), interpolation=cv2.INTER_AREA
        )
        assert np.array_equal(made.target, expected)


@pytest.mark.parametrize("maker", [*SCENE_EDITS, ChangeCount])
def test_scene_params_round_trip_through_json_and_rebuild_the_pair(maker):
    src = scene_source(5, shown=128)
    made = maker().make(src, np.random.default_rng(9))
    again = maker().build(src, json.loads(json.dumps(made.params)))
    assert np.array_equal(again.frames[0].image, made.frames[0].image)
    assert np.array_equal(again.target, made.target)
    assert again.slots == made.slots and again.scenes == made.scenes
    same_seed = maker().make(src, np.random.default_rng(9))
    assert same_seed.params == made.params
    assert (
        len({json.dumps(maker().make(src, np.random.default_rng(s)).params) for s in range(8)}) > 1
    )


@pytest.mark.parametrize("maker", [*SCENE_EDITS, ChangeCount])
def test_scene_edits_refuse_a_photo(maker):
    assert maker.needs_scene  # the pairs stage never offers it a photo; make() still says why
    with pytest.raises(PairError) as err:
        maker().make(photo_source(), np.random.default_rng(0))
    assert err.value.kind == "no_scene"


def test_scene_edits_refuse_objects_without_a_unique_name():
    scene = with_objects([obj("red", "circle", "top left"), obj("red", "circle", "center")])
    src = scene_source(0, scene=scene)
    for maker in SCENE_EDITS:
        assert not maker().accepts(src)
        with pytest.raises(PairError) as err:
            maker().make(src, np.random.default_rng(0))
        assert err.value.kind == "ambiguous_objects"


def test_scene_edit_refuses_params_of_another_scene_or_attribute():
    src = scene_source(1)
    made = ChangeColor().make(src, np.random.default_rng(0))
    wrong = dict(made.params["edit"], **{"from": "not a colour"})
    with pytest.raises(PairError) as err:
        ChangeColor().build(src, {"edit": wrong})
    assert err.value.kind == "edit_mismatch"
    with pytest.raises(PairError) as err:
        ChangeShape().build(src, made.params)
    assert err.value.kind == "wrong_edit"


# --------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------


def same_kind(a: dict, b: dict) -> bool:
    return (a["color"], a["shape"]) == (b["color"], b["shape"])


def count_of(scene: dict, o: dict) -> int:
    return sum(same_kind(x, o) for x in scene["objects"])


def test_change_count_changes_only_how_many_copies_of_one_kind():
    directions = set()
    for seed in range(12):
        src = scene_source(seed)
        made = ChangeCount().make(src, np.random.default_rng(seed))
        original = src.meta["scene"]["objects"][made.params["object"]]
        before, after = made.scenes["frames"][0], made.scenes["target"]
        old, new = count_of(before, original), count_of(after, original)
        assert (old, new) == (len(made.params["frame_cells"]), len(made.params["target_cells"]))
        assert old != new and new >= 1 and len(after["objects"]) <= MAX_COUNT_OBJECTS
        others = [o for o in src.meta["scene"]["objects"] if not same_kind(o, original)]
        for scene in (before, after):  # other kinds untouched, copies identical but for cell
            assert [o for o in scene["objects"] if not same_kind(o, original)] == others
            copies = [o for o in scene["objects"] if same_kind(o, original)]
            assert all(dict(c, cell=original["cell"]) == original for c in copies)
        assert np.array_equal(made.target, sw.render(after))
        assert np.array_equal(made.frames[0].image, sw.render(before))
        words = made.slots
        assert (words["old_count"], words["new_count"]) == (
            ("zero", "one", "two", "three", "four", "five", "six")[old],
            ("zero", "one", "two", "three", "four", "five", "six")[new],
        )
        assert words["change"].startswith("add" if new > old else "remove")
        directions.add(new > old)
    assert directions == {True, False}


def test_change_count_removes_existing_copies_without_adding_first():
    scene = with_objects(
        [
            obj("red", "circle", "top left"),
            obj("red", "circle", "center"),
            obj("blue", "star", "bottom right"),
        ]
    )
    src = scene_source(0, scene=scene)
    removals = 0
    for seed in range(20):
        made = ChangeCount().make(src, np.random.default_rng(seed))
        red = made.params["object"] < 2  # the red circles have a copy already, the star none
        if red and len(made.params["target_cells"]) < len(made.params["frame_cells"]):
            removals += 1
            assert made.scenes["frames"][0] == scene  # the frame is the source itself
            assert np.array_equal(made.frames[0].image, src.image)
    assert removals > 0


def test_change_count_slots_read_well():
    red = obj("red", "circle", "top left")
    assert ChangeCount.slots(red, 1, 3)["change"] == "add two more red circles to"
    assert ChangeCount.slots(red, 3, 2)["change"] == "remove one of the red circles from"
    slots = ChangeCount.slots(red, 2, 1)
    assert (slots["old_amount"], slots["new_amount"]) == ("two red circles", "one red circle")


def test_change_count_refuses_a_full_scene_and_bad_cells():
    colours = ("red", "green", "blue", "yellow", "purple", "orange")
    full = with_objects(
        [obj(c, "circle", cell) for c, cell in zip(colours, sw.CELLS[:6], strict=True)]
    )
    with pytest.raises(PairError) as err:
        ChangeCount().make(scene_source(0, scene=full), np.random.default_rng(0))
    assert err.value.kind == "no_room"
    src = scene_source(
        0, scene=with_objects([obj("red", "circle", "top left"), obj("blue", "star", "center")])
    )
    bad = {"object": 0, "frame_cells": ["top left"], "target_cells": ["top left", "center"]}
    with pytest.raises(PairError) as err:
        ChangeCount().build(src, bad)  # "center" holds the blue star
    assert err.value.kind == "edit_mismatch"


# --------------------------------------------------------------------------------------------
# Global photo edits
# --------------------------------------------------------------------------------------------


def test_style_transfer_target_is_the_style_of_the_photo():
    src = photo_source()
    seen = set()
    for seed in range(30):
        made = StyleTransfer().make(src, np.random.default_rng(seed))
        assert made.frames[0].image is src.image
        assert np.array_equal(made.target, styles.apply_style(src.image, made.params))
        assert made.slots == {"style": styles.STYLE_WORDS[made.params["style"]]}
        seen.add(made.params["style"])
    assert len(seen) >= 6


def test_color_grading_target_is_the_grade_and_refuses_grey_photos():
    src = photo_source()
    made = ColorGrading().make(src, np.random.default_rng(1))
    p = made.params
    assert np.array_equal(made.target, styles.color_grade(src.image, p["grade"], p["strength"]))
    assert made.slots == {"grade": styles.GRADE_WORDS[p["grade"]], "amount": p["level"]}
    grey = photo_source(cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2RGB))
    assert not ColorGrading().accepts(grey) and ColorGrading().accepts(src)
    with pytest.raises(PairError) as err:
        ColorGrading().build(grey, p)
    assert err.value.kind == "already_gray"


def test_brightness_contrast_names_the_direction_it_applied():
    src = photo_source()
    for seed in range(12):
        made = BrightnessContrast().make(src, np.random.default_rng(seed))
        p = made.params
        assert np.array_equal(
            made.target, styles.adjust_tone(src.image, p["direction"], p["amount"])
        )
        before, after = styles.luma(src.image), styles.luma(made.target)
        slots = made.slots
        if p["direction"] == "brighter":
            assert after.mean() > before.mean() and slots["adjective"] == "brighter"
        if p["direction"] == "darker":
            assert after.mean() < before.mean() and slots["adjective"] == "darker"
        if p["direction"] == "more_contrast":
            assert after.std() > before.std() and slots["adjustment"] == "increase the contrast"
        if p["direction"] == "less_contrast":
            assert after.std() < before.std() and slots["adjustment"] == "decrease the contrast"
        assert slots["percent"] == str(round(100 * p["amount"])) and slots["amount"] == p["level"]


@pytest.mark.parametrize("maker", PHOTO_EDITS)
def test_photo_edit_params_round_trip_and_are_seeded(maker):
    src = photo_source()
    made = maker().make(src, np.random.default_rng(4))
    again = maker().build(src, json.loads(json.dumps(made.params)))
    assert np.array_equal(again.target, made.target) and again.slots == made.slots
    assert maker().make(src, np.random.default_rng(4)).params == made.params
    assert (
        len({json.dumps(maker().make(src, np.random.default_rng(s)).params) for s in range(8)}) > 1
    )


def test_an_invisible_edit_is_refused():
    white = SourceImage(id="w", group="w", image=np.full((40, 40, 3), 255, np.uint8))
    with pytest.raises(PairError) as err:
        BrightnessContrast().build(white, {"direction": "brighter", "level": "much", "amount": 0.2})
    assert err.value.kind == "no_visible_change"


# --------------------------------------------------------------------------------------------
# Phrasings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("maker", ALL)
def test_every_phrasing_fills_from_the_maker_slots(maker):
    task = maker.task
    assert len(TEMPLATES[task]) >= 8 and len(set(TEMPLATES[task])) == len(TEMPLATES[task])
    src = scene_source(2) if maker.needs_scene else photo_source()
    made = maker().make(src, np.random.default_rng(0))
    for template in TEMPLATES[task]:
        assert "{image}" in template and "{image1}" not in template
        assert slot_names(template) <= set(made.slots), template
        text = string.Template(template).substitute(made.slots)
        assert "$" not in text and "{image}" in text
