import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.instruct.templates import TEMPLATES, render_instruction, slot_names
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage
from dataengine.sources import shapes_world
from dataengine.synth import filters, ops
from dataengine.synth.base import PairError
from dataengine.synth.low_level import (
    CannyExtraction,
    Contour,
    Degradation,
    Doodle,
    Grayscale,
    Mosaic,
    Scribble,
    Segmentation,
)


def source(image: np.ndarray | None = None) -> SourceImage:
    if image is None:
        image = cv2.resize(skimage.data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    return SourceImage(id="t", group="t", image=image, caption="an astronaut")


def test_makers_are_registered():
    assert MAKERS["canny_extraction"] is CannyExtraction
    assert MAKERS["grayscale"] is Grayscale
    assert CannyExtraction.category == Grayscale.category == "low_level_analysis"


def test_canny_target_is_the_canny_map_of_the_photo():
    src = source()
    made = CannyExtraction().make(src, np.random.default_rng(0))
    low, high = made.params["low"], made.params["high"]
    assert isinstance(low, int) and isinstance(high, int)
    assert 50 <= low <= 150 and min(255, 2 * low) <= high <= min(255, 3 * low)
    assert np.array_equal(made.target, ops.canny(src.image, **made.params))
    direct = cv2.Canny(src.image, low, high)
    assert np.array_equal(made.target, np.repeat(direct[:, :, None], 3, axis=2))
    assert len(made.frames) == 1 and made.frames[0].image is src.image
    assert made.target_lossless


def test_canny_is_deterministic_and_seed_dependent():
    src = source()
    a = CannyExtraction().make(src, np.random.default_rng(5))
    b = CannyExtraction().make(src, np.random.default_rng(5))
    c = CannyExtraction().make(src, np.random.default_rng(6))
    assert a.params == b.params and np.array_equal(a.target, b.target)
    assert a.params != c.params


def test_canny_build_remakes_the_pair_from_params():
    src = source()
    made = CannyExtraction().make(src, np.random.default_rng(1))
    again = CannyExtraction().build(src, dict(made.params))
    assert np.array_equal(made.target, again.target)


def test_canny_refuses_a_flat_image():
    flat = np.full((96, 96, 3), 120, np.uint8)
    with pytest.raises(PairError) as err:
        CannyExtraction().make(source(flat), np.random.default_rng(0))
    assert err.value.kind == "no_edges"


def test_grayscale_target_matches_cv2_gray():
    src = source()
    made = Grayscale().make(src, np.random.default_rng(0))
    gray = cv2.cvtColor(src.image, cv2.COLOR_RGB2GRAY)
    for c in range(3):
        assert np.array_equal(made.target[:, :, c], gray)
    assert made.frames[0].image is src.image
    assert made.params == {} and not made.target_lossless


def test_grayscale_refuses_a_gray_photo():
    gray = ops.grayscale(source().image)
    with pytest.raises(PairError) as err:
        Grayscale().make(source(gray), np.random.default_rng(0))
    assert err.value.kind == "already_gray"


# --------------------------------------------------------------------------------------------
# Mosaic, degradation and the drawn maps
# --------------------------------------------------------------------------------------------

MAP_MAKERS = {
    "mosaic": Mosaic,
    "degradation": Degradation,
    "segmentation": Segmentation,
    "contour": Contour,
    "scribble": Scribble,
    "doodle": Doodle,
}
# What each map is, as a pure function of the photo and the recorded params.
OPERATORS = {
    "mosaic": lambda image, p: filters.mosaic(image, p["blocks"]),
    "degradation": lambda image, p: filters.degrade(image, p["steps"], p["noise_seed"]),
    "segmentation": lambda image, p: filters.segmentation_map(image, p["method"], p["detail"]),
    "contour": lambda image, p: filters.contour_map(image, p["smooth"], p["sigma"], p["strength"]),
    "scribble": lambda image, p: filters.scribble_map(
        image, p["sigma"], p["thickness"], p["jitter"], p["noise_seed"]
    ),
    "doodle": lambda image, p: filters.doodle_map(
        image, p["scale"], p["thickness"], p["smoothness"]
    ),
}


def photo_source(size: tuple[int, int] = (128, 96), name: str = "astronaut") -> SourceImage:
    image = cv2.resize(getattr(skimage.data, name)(), size, interpolation=cv2.INTER_AREA)
    return SourceImage(id=name, group=name, image=image, caption="a photo")


def shapes_source() -> SourceImage:
    scene = shapes_world.random_scene(np.random.default_rng(3), size=(256, 256))
    return SourceImage(id="s", group="s", image=shapes_world.render(scene), meta={"scene": scene})


def test_map_makers_are_registered():
    for task, maker in MAP_MAKERS.items():
        assert MAKERS[task] is maker
        assert maker.category == "low_level_analysis" and maker.operator


@pytest.mark.parametrize("task", MAP_MAKERS)
@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_target_is_the_operator_applied_with_the_recorded_params(task, name):
    src = photo_source(name=name)
    made = MAP_MAKERS[task]().make(src, np.random.default_rng(0))
    (frame,) = made.frames
    assert frame.image is src.image and frame.mask is None
    assert made.target.shape == src.image.shape and made.target.dtype == np.uint8
    assert np.array_equal(made.target, OPERATORS[task](src.image, made.params))
    assert made.target_lossless == (task != "degradation")  # maps are png, photos jpg


@pytest.mark.parametrize("task", MAP_MAKERS)
def test_params_survive_json_and_rebuild_the_identical_pair(task):
    src = photo_source()
    made = MAP_MAKERS[task]().make(src, np.random.default_rng(1))
    params = json.loads(json.dumps(made.params))
    assert params == made.params  # plain ints, floats, strings and lists
    again = MAP_MAKERS[task]().build(src, params)
    assert np.array_equal(again.target, made.target)


@pytest.mark.parametrize("task", MAP_MAKERS)
def test_same_seed_same_pair_other_seeds_other_params(task):
    src = photo_source()
    a = MAP_MAKERS[task]().make(src, np.random.default_rng(7))
    b = MAP_MAKERS[task]().make(src, np.random.default_rng(7))
    assert a.params == b.params and np.array_equal(a.target, b.target)
    others = [MAP_MAKERS[task]().make(src, np.random.default_rng(s)).params for s in range(8)]
    assert len({json.dumps(p, sort_keys=True) for p in others}) > 1


@pytest.mark.parametrize("task", MAP_MAKERS)
@pytest.mark.parametrize("size", [(32, 48), (512, 384)])
def test_maps_work_at_every_source_size_and_on_shapes_world(task, size):
    for src in (photo_source(size), shapes_source()):
        made = MAP_MAKERS[task]().make(src, np.random.default_rng(2))
        assert made.target.shape == src.image.shape


def test_mosaic_is_coarse_blocks():
    src = photo_source((256, 192))
    for seed in range(10):
        made = Mosaic().make(src, np.random.default_rng(seed))
        blocks = made.params["blocks"]
        assert 11 <= blocks <= 21
        row_changes = np.any(np.diff(made.target.astype(int), axis=1) != 0, axis=(0, 2))
        assert row_changes.sum() + 1 == blocks  # exactly `blocks` cells across the long side


def test_degradation_shuffles_all_four_steps_within_the_ace_ranges():
    src = photo_source()
    orders = set()
    for seed in range(20):
        steps = Degradation().make(src, np.random.default_rng(seed)).params["steps"]
        assert sorted(s["op"] for s in steps) == ["blur", "jpeg", "noise", "resize"]
        values = {s["op"]: s for s in steps}
        assert 10 <= values["noise"]["sigma"] <= 20 and 0.5 <= values["resize"]["scale"] <= 0.8
        assert 50 <= values["jpeg"]["quality"] <= 75 and values["blur"]["kernel"] in (7, 9)
        orders.add(tuple(s["op"] for s in steps))
    assert len(orders) >= 8


def test_segmentation_uses_both_methods_and_paints_flat_regions():
    src = photo_source((192, 128))
    methods = set()
    for seed in range(8):
        made = Segmentation().make(src, np.random.default_rng(seed))
        methods.add(made.params["method"])
        assert 2 <= filters.region_count(made.target) < 0.1 * made.target[:, :, 0].size
    assert methods == {"felzenszwalb", "slic"}


@pytest.mark.parametrize(("task", "ink"), [("contour", 0), ("scribble", 255), ("doodle", 0)])
def test_drawings_are_two_tone_with_lines_in_the_ink_colour(task, ink):
    made = MAP_MAKERS[task]().make(photo_source((192, 128)), np.random.default_rng(0))
    assert set(np.unique(made.target)) == {0, 255}
    assert 0.005 < (made.target[:, :, 0] == ink).mean() < 0.5  # lines, on a plain ground


def test_stroke_sizes_scale_with_the_picture():
    small = Doodle().draw(photo_source((96, 96)), np.random.default_rng(0))
    large = Doodle().draw(photo_source((512, 512)), np.random.default_rng(0))
    assert large["thickness"] > small["thickness"]


@pytest.mark.parametrize("task", MAP_MAKERS)
def test_tiny_images_are_refused(task):
    with pytest.raises(PairError) as err:
        MAP_MAKERS[task]().make(photo_source((40, 24)), np.random.default_rng(0))
    assert err.value.kind == "too_small"


@pytest.mark.parametrize(
    ("task", "kind"),
    [
        ("mosaic", "no_change"),
        ("segmentation", "no_regions"),
        ("contour", "no_lines"),
        ("scribble", "no_lines"),
        ("doodle", "no_lines"),
    ],
)
def test_flat_images_are_refused(task, kind):
    flat = np.full((96, 96, 3), 120, np.uint8)
    with pytest.raises(PairError) as err:
        MAP_MAKERS[task]().make(source(flat), np.random.default_rng(0))
    assert err.value.kind == kind


@pytest.mark.parametrize("task", MAP_MAKERS)
def test_every_map_task_has_eight_phrasings_naming_the_image(task):
    phrasings = TEMPLATES[task]
    assert len(set(phrasings)) == len(phrasings) >= 8
    assert all("{image}" in p and not slot_names(p) for p in phrasings)
    text, _ = render_instruction(task, {}, np.random.default_rng(0))
    assert "{image}" in text
