import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.instruct.templates import TEMPLATES, render_instruction, slot_names
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage
from dataengine.sources import shapes_world
from dataengine.synth import cutout
from dataengine.synth.base import PairError
from dataengine.synth.layer import PLAIN, ExtractBackground, ExtractForeground, MergeLayers

LAYER_MAKERS = (ExtractForeground, ExtractBackground, MergeLayers)


def photo(name: str = "astronaut", size: tuple[int, int] = (160, 128)) -> SourceImage:
    image = cv2.resize(getattr(skimage.data, name)(), size, interpolation=cv2.INTER_AREA)
    return SourceImage(id=name, group=name, image=image, caption=f"a photo of {name}")


SCENE = {
    "size": [192, 160],
    "background": {"kind": "checker", "color": "beige", "seed": 2},
    "objects": [
        {"shape": "diamond", "color": "green", "size": "large", "cell": "center left"},
        {"shape": "star", "color": "pink", "size": "medium", "cell": "top right"},
    ],
}


def scene_source(scene: dict = SCENE) -> SourceImage:
    return SourceImage(id="s", group="s", image=shapes_world.render(scene), meta={"scene": scene})


PARTNERS = [photo("chelsea", (140, 120))]


def make(maker, source, seed: int, partners=PARTNERS):
    return maker().make_with(source, partners, np.random.default_rng(seed))


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=2)


def test_layer_makers_are_registered():
    for maker in LAYER_MAKERS:
        assert MAKERS[maker.task] is maker
        assert maker.category == "layer_editing" and maker.partners == 1


# ============================================================================================
# Compositing and cut-outs (cutout.py)
# ============================================================================================


def test_a_scene_object_blended_onto_the_scene_without_it_is_the_scene():
    for index in range(2):
        layer = cutout.scene_object_layer(SCENE, index)
        removal = {"attribute": "remove", "object": index, "from": SCENE["objects"][index]}
        behind = shapes_world.apply_edit(SCENE, {**removal, "to": None})
        composite = cutout.blend(shapes_world.render(behind), layer)
        assert np.array_equal(composite, shapes_world.render(SCENE))
        assert np.array_equal(layer.mask, shapes_world.object_mask(SCENE, index))


@pytest.mark.parametrize("outline", cutout.OUTLINES)
def test_outlines_are_binary_fill_their_square_and_feather_inward(outline):
    rng = np.random.default_rng(0)
    params = {**cutout.draw_photo_cutout((128, 128), (128, 128), rng), "outline": outline}
    params |= {"ratio": 0.6, "harmonics": [[0.1, 0.0], [0.15, 1.0], [0.05, 2.0]], "side": 48}
    shape = cutout.outline_mask(params)
    assert shape.shape == (48, 48) and set(np.unique(shape)) == {0, 255}
    assert 0.25 < np.count_nonzero(shape) / shape.size < 0.95
    soft = cutout.feathered(shape, 4)
    assert np.array_equal(soft > 0, shape > 0) and (soft < 255).any() and (soft == 255).any()


def test_photo_cutout_places_the_partner_piece_and_blend_keeps_the_rest():
    src, partner = photo(), PARTNERS[0]
    params = cutout.draw_photo_cutout(
        src.image.shape[:2], partner.image.shape[:2], np.random.default_rng(3)
    )
    layer = cutout.photo_cutout(src.image.shape[:2], partner.image, params)
    composite = cutout.blend(src.image, layer)
    assert not changed(composite, src.image)[layer.mask == 0].any()
    assert np.count_nonzero(layer.mask) == np.count_nonzero(
        cutout.source_mask(partner.image.shape[:2], params)
    )
    plain = cutout.on_plain(layer, (255, 255, 255))
    assert (plain[layer.mask == 0] == 255).all()


def test_sized_scene_rerenders_at_the_size_of_the_pixels():
    image = shapes_world.render(SCENE)
    assert cutout.sized_scene(SCENE, image) == (SCENE, image)
    small = cv2.resize(image, (96, 80), interpolation=cv2.INTER_AREA)
    sized, pixels = cutout.sized_scene(SCENE, small)
    assert sized["size"] == [96, 80] and sized["objects"] == SCENE["objects"]
    assert np.array_equal(pixels, shapes_world.render(sized))


def test_position_words_follow_the_grid():
    assert cutout.position_word((90, 90), 10, 10) == "top left"
    assert cutout.position_word((90, 90), 45, 45) == "center"
    assert cutout.position_word((90, 90), 89.9, 89.9) == "bottom right"


# ============================================================================================
# extract_foreground
# ============================================================================================


def test_extract_foreground_of_a_scene_is_the_object_alone_on_plain():
    src = scene_source()
    plains = set()
    for seed in range(10):
        made = make(ExtractForeground, src, seed)
        p = made.params
        assert p["layer"] == "scene_object"
        (frame,) = made.frames
        exact = shapes_world.object_mask(SCENE, p["object"])
        assert np.array_equal(frame.image, src.image) and np.array_equal(frame.mask, exact)
        assert frame.mask_role == "layer"  # the object to keep, not the region to edit
        assert made.target_lossless
        assert (made.target[exact == 0] == PLAIN[p["plain"]]).all()
        obj = SCENE["objects"][p["object"]]
        core = cutout.scene_object_layer(SCENE, p["object"]).alpha == 255  # inside the rim
        assert np.count_nonzero(core) > 0.5 * np.count_nonzero(exact)
        assert (made.target[core] == shapes_world.COLORS[obj["color"]]).all()
        assert made.slots == {"background": p["plain"], "object": cutout.describe_object(obj)}
        assert made.scenes == {"frames": [SCENE], "target": None}
        plains.add(p["plain"])
    assert plains == set(PLAIN)


def test_extract_foreground_of_a_photo_composite_is_the_pasted_piece_on_plain():
    src = photo("coffee")
    for seed in range(10):
        made = make(ExtractForeground, src, seed)
        p = made.params
        assert p["layer"] == "photo_cutout"
        (frame,) = made.frames
        layer = cutout.photo_cutout(src.image.shape[:2], PARTNERS[0].image, p["cutout"])
        assert np.array_equal(frame.mask, layer.mask)
        assert np.array_equal(frame.image, cutout.blend(src.image, layer))
        assert not changed(frame.image, src.image)[layer.mask == 0].any()
        assert np.array_equal(made.target, cutout.on_plain(layer, PLAIN[p["plain"]]))
        assert (made.target[layer.mask == 0] == PLAIN[p["plain"]]).all()
        assert made.slots == {"background": p["plain"]} and made.scenes is None


# ============================================================================================
# extract_background
# ============================================================================================


def test_extract_background_of_a_scene_is_the_scene_without_the_object():
    src = scene_source()
    for seed in range(6):
        made = make(ExtractBackground, src, seed)
        i = made.params["object"]
        behind = {**SCENE, "objects": SCENE["objects"][:i] + SCENE["objects"][i + 1 :]}
        assert np.array_equal(made.target, shapes_world.render(behind))
        assert made.scenes == {"frames": [SCENE], "target": behind}
        (frame,) = made.frames
        assert not changed(frame.image, made.target)[frame.mask == 0].any()


def test_extract_background_of_a_photo_composite_is_the_photo():
    src = photo()
    made = make(ExtractBackground, src, 0)
    (frame,) = made.frames
    assert np.array_equal(made.target, src.image) and made.slots == {}
    diff = changed(frame.image, made.target)
    assert diff.any() and not diff[frame.mask == 0].any()


# ============================================================================================
# merge_layers
# ============================================================================================


@pytest.mark.parametrize(
    "source", [photo(), photo("chelsea"), scene_source()], ids=["astronaut", "cat", "scene"]
)
def test_merge_layers_target_is_the_composite_of_its_inputs(source):
    for seed in range(10):
        made = make(MergeLayers, source, seed, [photo("coffee")])
        background, layer = made.frames
        assert np.array_equal(background.image, source.image) and background.mask is None
        assert layer.mask_role == "layer"
        assert made.params["layer"] == "photo_cutout" and made.params["cutout"]["feather"] == 0
        on = layer.mask > 0
        assert np.array_equal(made.target, np.where(on[:, :, None], layer.image, background.image))
        assert (layer.image[~on] == PLAIN[made.params["plain"]]).all()
        assert changed(made.target, background.image).any()
    scenes = made.scenes
    assert (
        scenes is None
        if "scene" not in source.meta
        else scenes
        == {
            "frames": [SCENE, None],
            "target": None,
        }
    )


# ============================================================================================
# All three: params, determinism, errors, phrasings
# ============================================================================================


@pytest.mark.parametrize("maker", LAYER_MAKERS)
@pytest.mark.parametrize("source", [photo(), scene_source()], ids=["photo", "scene"])
def test_layer_pairs_rebuild_from_params_and_follow_the_seed(maker, source):
    a = make(maker, source, 5)
    again = maker().build(source, json.loads(json.dumps(a.params)), PARTNERS)
    for x, y in zip(a.frames, again.frames, strict=True):
        assert np.array_equal(x.image, y.image) and np.array_equal(x.mask, y.mask)
    assert np.array_equal(a.target, again.target)
    assert make(maker, source, 5).params == a.params
    assert any(make(maker, source, s).params != a.params for s in range(6, 10))


@pytest.mark.parametrize("maker", LAYER_MAKERS)
def test_layer_error_paths(maker):
    with pytest.raises(PairError) as err:
        make(maker, photo(), 0, [photo("chelsea", (30, 60))])
    assert err.value.kind == "too_small"
    assert not maker().accepts(photo(size=(31, 80)))
    flat = SourceImage(id="f", group="f", image=np.full((64, 64, 3), 40, np.uint8))
    with pytest.raises(PairError) as err:
        make(maker, flat, 0, [SourceImage(id="g", group="g", image=flat.image + 2)])
    assert err.value.kind == "invisible_cutout"


def test_a_missing_scene_object_is_refused():
    params = {"layer": "scene_object", "object": 5, "plain": "white"}
    with pytest.raises(PairError) as err:
        ExtractForeground().build(scene_source(), params, PARTNERS)
    assert err.value.kind == "no_such_object"


LAYER_SLOTS = {
    "extract_foreground": ({"background", "object"}, "object"),
    "extract_background": ({"object"}, "object"),
    "merge_layers": ({"background"}, "background"),
}


@pytest.mark.parametrize("task", list(LAYER_SLOTS))
def test_layer_phrasings(task):
    allowed, optional = LAYER_SLOTS[task]
    phrasings = TEMPLATES[task]
    assert len(set(phrasings)) == len(phrasings) >= 8
    for t in phrasings:
        assert "{image}" in t and slot_names(t) <= allowed, t
        assert ("{image1}" in t) == (task == "merge_layers"), t
    uses = [optional in slot_names(t) for t in phrasings]
    assert sum(uses) >= 3 and uses.count(False) >= 6  # photos have no object name
    if task == "extract_foreground":
        assert all("background" in slot_names(t) for t in phrasings)  # the target depends on it


@pytest.mark.parametrize("maker", LAYER_MAKERS)
@pytest.mark.parametrize("source", [photo(), scene_source()], ids=["photo", "scene"])
def test_every_layer_pair_renders_an_instruction(maker, source):
    made = make(maker, source, 0)
    for seed in range(20):
        text, _ = render_instruction(maker.task, made.slots, np.random.default_rng(seed))
        assert "{image}" in text and "$" not in text
