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
from dataengine.synth.reference import ObjectReference, StyleReference


def photo(name: str, image: np.ndarray, size=(96, 80), caption: str | None = None):
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return SourceImage(id=name, group=name, image=image, caption=caption)


def content_and_partner(caption: str | None = "a cup of coffee"):
    content = photo("coffee", skimage.data.coffee(), caption=caption)
    partner = photo("cat", skimage.data.chelsea(), size=(64, 72))
    return content, partner


def scene_source(scene: dict, shown: int | None = None) -> SourceImage:
    image = sw.render(scene)
    image = fit_long_side(image, shown) if shown else image
    return SourceImage(id="scene", group="g", image=image, meta={"scene": scene})


def small_scene(seed: int) -> dict:
    scene = sw.random_scene(np.random.default_rng(seed), (256, 256))
    return {**scene, "objects": scene["objects"][:2]}  # room to add one


def test_makers_are_registered():
    assert MAKERS["style_reference"] is StyleReference and StyleReference.partners == 1
    assert MAKERS["object_reference"] is ObjectReference and ObjectReference.needs_scene
    assert StyleReference.category == ObjectReference.category == "reference_generation"


# --------------------------------------------------------------------------------------------
# Style reference
# --------------------------------------------------------------------------------------------


def test_style_reference_shows_the_style_on_the_partner_and_asks_for_it_on_the_photo():
    content, partner = content_and_partner()
    seen = set()
    for seed in range(20):
        made = StyleReference().make_with(content, [partner], np.random.default_rng(seed))
        photo_frame, example = made.frames
        assert photo_frame.image is content.image
        assert np.array_equal(example.image, styles.apply_style(partner.image, made.params))
        assert np.array_equal(made.target, styles.apply_style(content.image, made.params))
        assert (
            example.image.shape == partner.image.shape and made.target.shape == content.image.shape
        )
        seen.add(made.params["style"])
    assert len(seen) >= 5


def test_style_reference_round_trips_and_is_seeded():
    content, partner = content_and_partner()
    made = StyleReference().make_with(content, [partner], np.random.default_rng(3))
    again = StyleReference().build(content, [partner], json.loads(json.dumps(made.params)))
    assert np.array_equal(again.target, made.target)
    assert np.array_equal(again.frames[1].image, made.frames[1].image)
    same = StyleReference().make_with(content, [partner], np.random.default_rng(3))
    assert same.params == made.params
    other = StyleReference().make_with(content, [partner], np.random.default_rng(4))
    assert other.params != made.params


def test_style_reference_caption_is_an_optional_slot():
    content, partner = content_and_partner()
    made = StyleReference().make_with(content, [partner], np.random.default_rng(0))
    assert made.slots == {"caption": "a cup of coffee"}
    bare, _ = content_and_partner(caption=None)
    assert StyleReference().make_with(bare, [partner], np.random.default_rng(0)).slots == {}
    uses = [("caption" in slot_names(t)) for t in TEMPLATES["style_reference"]]
    assert sum(uses) >= 6 and uses.count(False) >= 6


def test_style_reference_refuses_a_content_photo_the_style_leaves_unchanged():
    white = SourceImage(id="white", group="w", image=np.full((48, 48, 3), 255, np.uint8))
    _, partner = content_and_partner()
    params = styles.draw_style_params(np.random.default_rng(0), "pencil_sketch")
    with pytest.raises(PairError) as err:  # a sketch of a blank page is the blank page
        StyleReference().build(white, [partner], params)
    assert err.value.kind == "no_visible_change"


# --------------------------------------------------------------------------------------------
# Object reference
# --------------------------------------------------------------------------------------------


def test_object_reference_adds_the_shown_object_at_the_named_cell():
    for seed in range(6):
        scene = small_scene(seed)
        src = scene_source(scene)
        made = ObjectReference().make(src, np.random.default_rng(seed))
        added = made.params["edit"]["to"]
        before, alone = made.scenes["frames"]
        after = made.scenes["target"]
        # Scenes: the target is the scene plus exactly the added object, nothing else.
        assert before == scene and after["background"] == scene["background"]
        assert [o for o in after["objects"] if o != added] == scene["objects"]
        assert added["cell"] not in {o["cell"] for o in scene["objects"]}
        assert alone["objects"] == [dict(added, cell="center")]
        # Pixels: frame 0 is the scene, the target its render with the object, which
        # differs from the frame only where the object is.
        assert made.frames[0].image is src.image
        assert np.array_equal(made.target, sw.render(after))
        outside = sw.object_mask(after, after["objects"].index(added)) == 0
        assert np.array_equal(made.target[outside], src.image[outside])
        # The reference: the same object on a flat backdrop of the recorded colour.
        reference = made.frames[1].image
        flat = sw.object_mask(alone, 0) == 0  # the mask reads objects only, not the backdrop
        assert (reference[flat] == sw.BACKGROUND_COLORS[made.params["backdrop"]]).all()
        assert (reference[~flat] != reference[flat][0]).any(axis=-1).mean() > 0.9
        assert made.slots == {
            "where": added["cell"],
            "size": added["size"],
            "object": f"{added['color']} {added['shape']}",
        }


def test_object_reference_matches_a_downscaled_source_and_round_trips():
    src = scene_source(small_scene(7), shown=120)
    made = ObjectReference().make(src, np.random.default_rng(1))
    assert made.frames[1].image.shape == made.target.shape == src.image.shape
    again = ObjectReference().build(src, json.loads(json.dumps(made.params)))
    assert np.array_equal(again.target, made.target)
    assert np.array_equal(again.frames[1].image, made.frames[1].image)
    assert again.scenes == made.scenes
    assert ObjectReference().make(src, np.random.default_rng(1)).params == made.params


def test_object_reference_refuses_a_full_scene_a_photo_and_foreign_params():
    full = sw.random_scene(np.random.default_rng(0), (256, 256))
    while len(full["objects"]) < sw.MAX_OBJECTS:
        full = sw.apply_edit(full, sw.random_edit(full, np.random.default_rng(1), "add"))
    src = scene_source(full)
    assert not ObjectReference().accepts(src)
    with pytest.raises(PairError) as err:
        ObjectReference().make(src, np.random.default_rng(0))
    assert err.value.kind == "scene_full"
    content, _ = content_and_partner()
    with pytest.raises(PairError) as err:
        ObjectReference().make(content, np.random.default_rng(0))
    assert err.value.kind == "no_scene"
    scene = small_scene(2)
    taken = {**sw.random_edit(scene, np.random.default_rng(0), "add")}
    taken["to"] = dict(taken["to"], cell=scene["objects"][0]["cell"])
    with pytest.raises(PairError) as err:
        ObjectReference().build(scene_source(scene), {"edit": taken, "backdrop": "gray"})
    assert err.value.kind == "edit_mismatch"


# --------------------------------------------------------------------------------------------
# Phrasings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["style_reference", "object_reference"])
def test_phrasings_name_both_images_and_fill_from_the_maker_slots(task):
    content, partner = content_and_partner()
    if task == "style_reference":
        slots = StyleReference().make_with(content, [partner], np.random.default_rng(0)).slots
    else:
        slots = ObjectReference().make(scene_source(small_scene(1)), np.random.default_rng(0)).slots
    assert len(TEMPLATES[task]) >= 8 and len(set(TEMPLATES[task])) == len(TEMPLATES[task])
    for template in TEMPLATES[task]:
        assert "{image}" in template and "{image1}" in template, template
        text = string.Template(template).substitute(slots)
        assert "$" not in text
