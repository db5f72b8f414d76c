import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.instruct.templates import TEMPLATES, render_instruction, slot_names
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage
from dataengine.sources import shapes_world
from dataengine.synth import masks, ops
from dataengine.synth.base import PairError
from dataengine.synth.repainting import Inpainting, ObjectInpainting, Outpainting


def source(size: tuple[int, int] = (128, 128), caption: str | None = "an astronaut"):
    image = cv2.resize(skimage.data.astronaut(), size, interpolation=cv2.INTER_AREA)
    return SourceImage(id="t", group="t", image=image, caption=caption)


def test_inpainting_is_registered():
    assert MAKERS["inpainting"] is Inpainting
    assert Inpainting.category == "repainting"


@pytest.mark.parametrize("size", [(128, 128), (160, 96)])
def test_frame_is_the_photo_blanked_under_a_mask_rebuilt_from_params(size):
    src = source(size)
    h, w = src.image.shape[:2]
    kinds = set()
    for seed in range(20):
        made = Inpainting().make(src, np.random.default_rng(seed))
        (frame,) = made.frames
        mask = frame.mask
        params = json.loads(json.dumps(made.params))  # params survive the json member
        assert np.array_equal(ops.mask_from_params(h, w, params), mask)
        assert set(np.unique(mask)) <= {0, 255}
        assert 0.05 <= ops.mask_fraction(mask) <= 0.40
        outside, inside = mask == 0, mask == 255
        assert np.array_equal(frame.image[outside], made.target[outside])
        assert (frame.image[inside] == 0).all()
        assert np.array_equal(made.target, src.image)
        kinds.add(made.params["kind"])
    assert kinds == {"rectangle", "strokes"}


def test_inpainting_is_deterministic_and_seed_dependent():
    a = Inpainting().make(source(), np.random.default_rng(2))
    b = Inpainting().make(source(), np.random.default_rng(2))
    c = Inpainting().make(source(), np.random.default_rng(3))
    assert a.params == b.params
    assert np.array_equal(a.frames[0].image, b.frames[0].image)
    assert np.array_equal(a.frames[0].mask, b.frames[0].mask)
    assert a.params != c.params


def test_inpainting_build_remakes_the_pair_from_params():
    src = source()
    made = Inpainting().make(src, np.random.default_rng(4))
    again = Inpainting().build(src, made.params)
    assert np.array_equal(made.frames[0].image, again.frames[0].image)


def test_caption_slot_only_when_the_source_has_one():
    assert Inpainting().make(source(), np.random.default_rng(0)).slots == {
        "caption": "an astronaut"
    }
    made = Inpainting().make(source(caption=None), np.random.default_rng(0))
    assert made.slots == {} and made.caption is None


def test_inpainting_refuses_a_small_image():
    with pytest.raises(PairError) as err:
        Inpainting().make(source((63, 200)), np.random.default_rng(0))
    assert err.value.kind == "too_small"


# --------------------------------------------------------------------------------------------
# object_inpainting: shapes-world scenes
# --------------------------------------------------------------------------------------------

SCENE = {
    "size": [192, 160],
    "background": {"kind": "wood", "color": "tan", "seed": 5},
    "objects": [
        {"shape": "star", "color": "red", "size": "large", "cell": "top left"},
        {"shape": "circle", "color": "blue", "size": "medium", "cell": "center"},
        {"shape": "triangle", "color": "yellow", "size": "small", "cell": "bottom right"},
    ],
}


def scene_source(scene: dict = SCENE, image: np.ndarray | None = None) -> SourceImage:
    pixels = shapes_world.render(scene) if image is None else image
    return SourceImage(id="s", group="s", image=pixels, meta={"scene": scene})


def test_object_inpainting_is_registered_for_scenes_only():
    assert MAKERS["object_inpainting"] is ObjectInpainting
    assert ObjectInpainting.category == "repainting" and ObjectInpainting.needs_scene


def test_object_inpainting_blanks_one_object_under_its_grown_mask():
    src = scene_source()
    seen = set()
    for seed in range(30):
        made = ObjectInpainting().make(src, np.random.default_rng(seed))
        (frame,) = made.frames
        p = json.loads(json.dumps(made.params))
        exact = shapes_world.object_mask(SCENE, p["object"])
        assert np.array_equal(frame.mask, masks.grow(exact, p["grow"], p["radius"]))
        assert (frame.mask[exact > 0] == 255).all()  # the whole object is hidden
        outside = frame.mask == 0
        assert np.array_equal(frame.image[outside], made.target[outside])
        assert (frame.image[frame.mask > 0] == 0).all()
        assert np.array_equal(made.target, src.image)
        seen.add((p["grow"], p["hint"]))
    assert seen == {(g, h) for g in masks.GROW_KINDS for h in (True, False)}


def test_object_inpainting_hint_names_the_hidden_object():
    for seed in range(10):
        made = ObjectInpainting().make(scene_source(), np.random.default_rng(seed))
        obj = SCENE["objects"][made.params["object"]]
        expected = {"object": f"{obj['size']} {obj['color']} {obj['shape']}"}
        assert made.slots == (expected if made.params["hint"] else {})
        assert made.scenes == {"frames": [SCENE], "target": SCENE}
        assert made.caption == shapes_world.caption(SCENE)
        rng = np.random.default_rng(seed)
        text, index = render_instruction("object_inpainting", made.slots, rng)
        assert "{image}" in text and "$" not in text
        if "object" in slot_names(TEMPLATES["object_inpainting"][index]):
            assert expected["object"] in text


def test_object_inpainting_params_rebuild_the_pair_and_depend_on_the_seed():
    src = scene_source()
    a = ObjectInpainting().make(src, np.random.default_rng(3))
    again = ObjectInpainting().build(src, json.loads(json.dumps(a.params)))
    assert np.array_equal(a.frames[0].image, again.frames[0].image)
    assert np.array_equal(a.frames[0].mask, again.frames[0].mask)
    b = ObjectInpainting().make(src, np.random.default_rng(3))
    assert a.params == b.params
    others = [ObjectInpainting().make(src, np.random.default_rng(s)).params for s in range(4, 9)]
    assert any(p != a.params for p in others)


def test_object_inpainting_on_a_shrunk_scene_rerenders_it_at_that_size():
    big = shapes_world.make_family(1, seed=0)["members"][0]["scene"]  # 512 x 512
    small = cv2.resize(shapes_world.render(big), (256, 256), interpolation=cv2.INTER_AREA)
    made = ObjectInpainting().make(scene_source(big, small), np.random.default_rng(0))
    sized = {**big, "size": [256, 256]}
    assert made.target.shape == (256, 256, 3)
    assert np.array_equal(made.target, shapes_world.render(sized))
    exact = shapes_world.object_mask(sized, made.params["object"])
    assert (made.frames[0].mask[exact > 0] == 255).all()
    assert made.scenes["target"]["size"] == [256, 256]


def test_object_inpainting_error_paths():
    empty = {**SCENE, "objects": []}
    with pytest.raises(PairError) as err:
        ObjectInpainting().make(scene_source(empty), np.random.default_rng(0))
    assert err.value.kind == "no_object"
    params = {"object": 7, "grow": "box", "radius": 0, "hint": False}
    with pytest.raises(PairError) as err:
        ObjectInpainting().build(scene_source(), params)
    assert err.value.kind == "no_such_object"


# --------------------------------------------------------------------------------------------
# outpainting
# --------------------------------------------------------------------------------------------


def test_outpainting_is_registered():
    assert MAKERS["outpainting"] is Outpainting and Outpainting.category == "repainting"


@pytest.mark.parametrize("size", [(128, 128), (160, 96)])
def test_outpainting_shows_the_inner_box_on_black_at_its_place(size):
    src = source(size)
    h, w = src.image.shape[:2]
    padded_sides = set()
    for seed in range(30):
        made = Outpainting().make(src, np.random.default_rng(seed))
        (frame,) = made.frames
        m = json.loads(json.dumps(made.params))
        assert set(m) == {"top", "bottom", "left", "right"}
        assert any(m.values()) and all(v >= 0 for v in m.values())
        padded_sides |= {side for side, v in m.items() if v}
        inner = slice(m["top"], h - m["bottom"]), slice(m["left"], w - m["right"])
        assert np.array_equal(frame.image[inner], src.image[inner])
        assert np.array_equal(frame.mask, masks.border_mask(h, w, **m))
        assert (frame.image[frame.mask > 0] == 0).all()
        outside = frame.mask == 0
        assert np.array_equal(frame.image[outside], made.target[outside])
        assert np.array_equal(made.target, src.image)
        assert 0.3 * h <= h - m["top"] - m["bottom"] and 0.3 * w <= w - m["left"] - m["right"]
    assert padded_sides == {"top", "bottom", "left", "right"}


def test_outpainting_is_deterministic_and_rebuilds_from_params():
    src = source()
    a = Outpainting().make(src, np.random.default_rng(5))
    b = Outpainting().make(src, np.random.default_rng(5))
    assert a.params == b.params and np.array_equal(a.frames[0].image, b.frames[0].image)
    again = Outpainting().build(src, json.loads(json.dumps(a.params)))
    assert np.array_equal(a.frames[0].mask, again.frames[0].mask)
    assert a.slots == {"caption": "an astronaut"}
    assert Outpainting().make(source(caption=None), np.random.default_rng(5)).slots == {}


def test_outpainting_error_paths():
    with pytest.raises(PairError) as err:
        Outpainting().make(source((48, 200)), np.random.default_rng(0))
    assert err.value.kind == "too_small"
    with pytest.raises(PairError) as err:
        Outpainting().build(source(), {"top": 70, "bottom": 70, "left": 0, "right": 0})
    assert err.value.kind == "margins_too_large"


# --------------------------------------------------------------------------------------------
# phrasings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "optional"), [("object_inpainting", "object"), ("outpainting", "caption")]
)
def test_repainting_phrasings(task, optional):
    phrasings = TEMPLATES[task]
    assert len(set(phrasings)) == len(phrasings) >= 8
    assert all("{image}" in t and slot_names(t) <= {optional} for t in phrasings)
    uses = [optional in slot_names(t) for t in phrasings]
    assert sum(uses) >= 6 and uses.count(False) >= 6
    if optional == "caption":
        assert all('"$caption"' in t for t in phrasings if "caption" in slot_names(t))
