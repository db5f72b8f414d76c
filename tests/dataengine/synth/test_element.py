import json
import re

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.fonts import text_extent
from dataengine.instruct.templates import TEMPLATES, render_instruction, slot_names
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage
from dataengine.sources import shapes_world
from dataengine.synth import cutout, element
from dataengine.synth.base import PairError
from dataengine.synth.element import (
    AddObject,
    AddObjectPhoto,
    RemoveObject,
    RemoveObjectPhoto,
    TextRemoval,
    TextRender,
)
from dataengine.synth.text_render import render_text

ELEMENT_MAKERS = (
    TextRender,
    TextRemoval,
    AddObject,
    RemoveObject,
    AddObjectPhoto,
    RemoveObjectPhoto,
)


def photo(
    name: str = "astronaut", size: tuple[int, int] = (160, 128), caption: str | None = "a photo"
):
    image = cv2.resize(getattr(skimage.data, name)(), size, interpolation=cv2.INTER_AREA)
    return SourceImage(id=name, group=name, image=image, caption=caption)


SCENE = {
    "size": [192, 160],
    "background": {"kind": "noise", "color": "sage", "seed": 11},
    "objects": [
        {"shape": "hexagon", "color": "orange", "size": "large", "cell": "top right"},
        {"shape": "square", "color": "purple", "size": "small", "cell": "bottom left"},
    ],
}


def scene_source(scene: dict = SCENE) -> SourceImage:
    image = shapes_world.render(scene)
    return SourceImage(
        id="s", group="s", image=image, caption=shapes_world.caption(scene), meta={"scene": scene}
    )


def rebuild(maker, source, made, partners=None):
    """The pair remade from its params after a trip through JSON."""
    params = json.loads(json.dumps(made.params))
    if partners is None:
        return maker.build(source, params)
    return maker.build(source, params, partners)


def same_pair(a, b) -> bool:
    frames = all(
        np.array_equal(x.image, y.image)
        and (x.mask is None) == (y.mask is None)
        and (x.mask is None or np.array_equal(x.mask, y.mask))
        for x, y in zip(a.frames, b.frames, strict=True)
    )
    return frames and np.array_equal(a.target, b.target) and a.params == b.params


def test_element_makers_are_registered():
    for maker in ELEMENT_MAKERS:
        assert MAKERS[maker.task] is maker and maker.category == "element_editing"
    assert AddObject.needs_scene and RemoveObject.needs_scene
    assert AddObjectPhoto.partners == RemoveObjectPhoto.partners == 1


# ============================================================================================
# Text
# ============================================================================================


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=2)


def test_text_render_target_is_the_text_drawn_with_the_recorded_params():
    src = photo()
    masked, spaced = set(), False
    for seed in range(40):
        made = TextRender().make(src, np.random.default_rng(seed))
        p = json.loads(json.dumps(made.params))
        color = element.TEXT_COLORS[p["color"]]
        expected, ink = render_text(
            src.image, p["text"], p["font"], p["size"], color, p["left"], p["top"]
        )
        assert np.array_equal(made.target, expected) and made.target_lossless
        (frame,) = made.frames
        assert np.array_equal(frame.image, src.image)
        assert changed(frame.image, made.target).any()
        assert not changed(frame.image, made.target)[ink == 0].any()
        if frame.mask is not None:  # the text box: all ink inside it
            assert set(np.unique(frame.mask)) == {0, 255} and (frame.mask[ink > 0] == 255).all()
        masked.add(frame.mask is not None)
        assert made.slots == {"text": p["text"], "color": p["color"]}
        spaced |= bool(re.fullmatch(r"(\w )+\w", p["text"]))
    assert masked == {True, False} and spaced


def test_text_colour_stands_out_from_the_photo_under_it():
    src = photo("coffee")
    colours = set()
    for seed in range(30):
        p = TextRender().make(src, np.random.default_rng(seed)).params
        width, height = text_extent(p["text"], p["font"], p["size"])
        under = src.image[p["top"] : p["top"] + height, p["left"] : p["left"] + width]
        text_luma = element.luma(element.TEXT_COLORS[p["color"]])
        assert abs(text_luma - element.luma(under.reshape(-1, 3).mean(axis=0))) >= 90
        colours.add(p["color"])
    assert len(colours) >= 3


def test_text_removal_differs_only_inside_the_text_mask():
    src = photo("chelsea", caption="a cat")
    masked = set()
    for seed in range(30):
        made = TextRemoval().make(src, np.random.default_rng(seed))
        (frame,) = made.frames
        assert frame.lossless and np.array_equal(made.target, src.image)
        diff = changed(frame.image, made.target)
        assert diff.any()
        if frame.mask is not None:
            assert not diff[frame.mask == 0].any()
        masked.add(frame.mask is not None)
        assert made.slots == {"text": made.params["text"]} and made.caption == "a cat"
    assert masked == {True, False}


@pytest.mark.parametrize("maker", [TextRender, TextRemoval])
def test_text_pairs_rebuild_from_params_and_follow_the_seed(maker):
    src = photo()
    a = maker().make(src, np.random.default_rng(9))
    assert same_pair(a, rebuild(maker(), src, a))
    assert same_pair(a, maker().make(src, np.random.default_rng(9)))
    assert a.params != maker().make(src, np.random.default_rng(10)).params


@pytest.mark.parametrize("maker", [TextRender, TextRemoval])
def test_text_instruction_quotes_the_exact_text(maker):
    made = maker().make(photo(), np.random.default_rng(1))
    for seed in range(40):
        text, _ = render_instruction(maker.task, made.slots, np.random.default_rng(seed))
        assert f'"{made.params["text"]}"' in text and "{image}" in text and "$" not in text


def test_text_on_a_tiny_image_is_refused():
    with pytest.raises(PairError) as err:
        TextRender().make(photo(size=(32, 32)), np.random.default_rng(0))
    assert err.value.kind == "text_does_not_fit"


def test_text_on_a_scene_keeps_the_scene_only_where_the_text_is_not():
    made = TextRender().make(scene_source(), np.random.default_rng(0))
    assert made.scenes == {"frames": [SCENE], "target": None}
    made = TextRemoval().make(scene_source(), np.random.default_rng(0))
    assert made.scenes == {"frames": [None], "target": SCENE}
    assert TextRender().make(photo(), np.random.default_rng(0)).scenes is None


# ============================================================================================
# Shapes-world objects
# ============================================================================================


def test_add_object_adds_exactly_one_object_and_changes_pixels_only_there():
    src = scene_source()
    for seed in range(12):
        made = AddObject().make(src, np.random.default_rng(seed))
        edit = made.params["edit"]
        before, after = made.scenes["frames"][0], made.scenes["target"]
        assert before == SCENE and after["objects"][:2] == SCENE["objects"]
        assert after["objects"][2] == edit["to"] and len(after["objects"]) == 3
        assert np.array_equal(made.target, shapes_world.render(after))  # exact target
        where = shapes_world.object_mask(after, edit["object"])
        diff = changed(made.frames[0].image, made.target)
        assert diff.any() and not diff[where == 0].any()
        mask = made.frames[0].mask
        assert mask is None or np.array_equal(mask, where)
        obj = edit["to"]
        described = f"{obj['size']} {obj['color']} {obj['shape']}"
        assert made.slots == {"object": described, "position": obj["cell"]}
        assert made.caption == shapes_world.caption(after)


def test_remove_object_removes_exactly_one_object_and_changes_pixels_only_there():
    src = scene_source()
    removed = set()
    for seed in range(8):
        made = RemoveObject().make(src, np.random.default_rng(seed))
        i = made.params["edit"]["object"]
        after = made.scenes["target"]
        assert after["objects"] == SCENE["objects"][:i] + SCENE["objects"][i + 1 :]
        assert np.array_equal(made.target, shapes_world.render(after))
        where = shapes_world.object_mask(SCENE, i)
        diff = changed(made.frames[0].image, made.target)
        assert diff.any() and not diff[where == 0].any()
        assert made.slots["object"] == cutout.describe_object(SCENE["objects"][i])
        removed.add(i)
    assert removed == {0, 1}


@pytest.mark.parametrize("maker", [AddObject, RemoveObject])
def test_scene_edits_rebuild_from_params_and_follow_the_seed(maker):
    src = scene_source()
    a = maker().make(src, np.random.default_rng(4))
    assert same_pair(a, rebuild(maker(), src, a))
    assert same_pair(a, maker().make(src, np.random.default_rng(4)))
    assert any(maker().make(src, np.random.default_rng(s)).params != a.params for s in range(5, 10))


def test_full_and_single_object_scenes_are_refused():
    full = {
        **SCENE,
        "objects": [
            *SCENE["objects"],
            *[
                {"shape": "circle", "color": c, "size": "small", "cell": cell}
                for c, cell in (("red", "center"), ("blue", "top left"))
            ],
        ],
    }
    assert not AddObject().accepts(scene_source(full)) and RemoveObject().accepts(
        scene_source(full)
    )
    with pytest.raises(PairError) as err:
        AddObject().make(scene_source(full), np.random.default_rng(0))
    assert err.value.kind == "scene_full"
    single = {**SCENE, "objects": SCENE["objects"][:1]}
    assert not RemoveObject().accepts(scene_source(single))
    with pytest.raises(PairError) as err:
        RemoveObject().make(scene_source(single), np.random.default_rng(0))
    assert err.value.kind == "last_object"


def test_an_edit_for_another_scene_is_refused():
    made = RemoveObject().make(scene_source(), np.random.default_rng(0))
    other = {**SCENE, "objects": SCENE["objects"][::-1]}
    with pytest.raises(PairError) as err:
        RemoveObject().build(scene_source(other), made.params)
    assert err.value.kind == "edit_mismatch"


# ============================================================================================
# Photos: pasted cut-outs
# ============================================================================================


def test_add_object_photo_pastes_the_marked_piece_of_the_partner():
    src, partner = photo("astronaut"), photo("chelsea", size=(120, 100))
    outlines = set()
    for seed in range(30):
        made = AddObjectPhoto().make_with(src, [partner], np.random.default_rng(seed))
        cut = made.params["cutout"]
        into, cut_from = made.frames
        assert np.array_equal(into.image, src.image) and np.array_equal(
            cut_from.image, partner.image
        )
        assert (into.mask_role, cut_from.mask_role) == ("edit", "take")
        diff = changed(src.image, made.target)
        assert diff.any() and not diff[into.mask == 0].any()
        # The marks agree: same outline, at the piece's place in each image.
        (fx, fy), (tx, ty), side = cut["from"], cut["to"], cut["side"]
        assert np.array_equal(
            into.mask[ty : ty + side, tx : tx + side], cut_from.mask[fy : fy + side, fx : fx + side]
        )
        assert np.count_nonzero(into.mask) == np.count_nonzero(cut_from.mask)
        # Where the piece is fully opaque the target is the partner's pixels.
        alpha = cutout.feathered(cutout.outline_mask(cut), cut["feather"])
        solid = alpha == 255
        patch = made.target[ty : ty + side, tx : tx + side]
        assert np.array_equal(patch[solid], partner.image[fy : fy + side, fx : fx + side][solid])
        assert made.slots["shape"] == cutout.OUTLINE_WORDS[cut["outline"]]
        outlines.add(cut["outline"])
    assert len(outlines) >= 5


def test_remove_object_photo_differs_only_inside_the_pasted_piece():
    src, partner = photo("coffee", caption="a cup of coffee"), photo("chelsea")
    masked = set()
    for seed in range(20):
        made = RemoveObjectPhoto().make_with(src, [partner], np.random.default_rng(seed))
        (frame,) = made.frames
        assert np.array_equal(made.target, src.image) and made.caption == "a cup of coffee"
        layer = cutout.photo_cutout(src.image.shape[:2], partner.image, made.params["cutout"])
        diff = changed(frame.image, made.target)
        assert diff.any() and not diff[layer.mask == 0].any()
        if frame.mask is not None:
            assert np.array_equal(frame.mask, layer.mask)
        masked.add(frame.mask is not None)
    assert masked == {True, False}


@pytest.mark.parametrize("maker", [AddObjectPhoto, RemoveObjectPhoto])
def test_photo_pastes_rebuild_from_params_and_follow_the_seed(maker):
    src, partners = photo(), [photo("chelsea")]
    a = maker().make_with(src, partners, np.random.default_rng(2))
    assert same_pair(a, rebuild(maker(), src, a, partners))
    assert same_pair(a, maker().make_with(src, partners, np.random.default_rng(2)))
    assert a.params != maker().make_with(src, partners, np.random.default_rng(3)).params


@pytest.mark.parametrize("maker", [AddObjectPhoto, RemoveObjectPhoto])
def test_photo_paste_error_paths(maker):
    with pytest.raises(PairError) as err:
        maker().make_with(photo(), [photo("chelsea", size=(24, 40))], np.random.default_rng(0))
    assert err.value.kind == "too_small"
    assert not maker().accepts(photo(size=(20, 64)))
    grey = SourceImage(id="g", group="g", image=np.full((64, 64, 3), 128, np.uint8))
    twin = SourceImage(id="h", group="h", image=np.full((64, 64, 3), 130, np.uint8))
    with pytest.raises(PairError) as err:
        maker().make_with(grey, [twin], np.random.default_rng(0))
    assert err.value.kind == "invisible_cutout"


def test_a_paste_onto_a_scene_keeps_the_scene_only_for_the_clean_image():
    made = RemoveObjectPhoto().make_with(scene_source(), [photo()], np.random.default_rng(0))
    assert made.scenes == {"frames": [None], "target": SCENE}
    made = AddObjectPhoto().make_with(scene_source(), [photo()], np.random.default_rng(0))
    assert made.scenes == {"frames": [SCENE, None], "target": None}


# ============================================================================================
# Phrasings
# ============================================================================================


TASK_SLOTS = {
    "text_render": {"text", "color"},
    "text_removal": {"text"},
    "add_object": {"object", "position"},
    "remove_object": {"object", "position"},
    "add_object_photo": {"shape", "position"},
    "remove_object_photo": {"shape", "position"},
}


@pytest.mark.parametrize("task", list(TASK_SLOTS))
def test_element_phrasings(task):
    phrasings = TEMPLATES[task]
    assert len(set(phrasings)) == len(phrasings) >= 8
    for t in phrasings:
        assert "{image}" in t and slot_names(t) <= TASK_SLOTS[task], t
        if task.startswith("text_"):
            assert '"$text"' in t, t
        if task == "add_object_photo":
            assert "{image1}" in t, t


def test_every_element_pair_renders_an_instruction():
    partners = [photo("chelsea")]
    for maker in ELEMENT_MAKERS:
        src = scene_source() if maker.needs_scene else photo()
        rng = np.random.default_rng(0)
        made = maker().make_with(src, partners, rng) if maker.partners else maker().make(src, rng)
        for seed in range(20):
            text, _ = render_instruction(maker.task, made.slots, np.random.default_rng(seed))
            assert "{image}" in text and "$" not in text
