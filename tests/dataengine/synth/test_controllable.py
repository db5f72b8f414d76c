import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.instruct.templates import TEMPLATES, render_instruction
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage
from dataengine.synth import ops
from dataengine.synth.base import PairError
from dataengine.synth.controllable import (
    CannyToImage,
    Colorization,
    ContourToImage,
    DoodleToImage,
    ScribbleToImage,
    SegmentationToImage,
)
from dataengine.synth.low_level import Contour, Doodle, Scribble, Segmentation


def source(caption: str | None = "an astronaut") -> SourceImage:
    image = cv2.resize(skimage.data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    return SourceImage(id="t", group="t", image=image, caption=caption)


def test_makers_are_registered():
    assert MAKERS["canny_to_image"] is CannyToImage
    assert MAKERS["colorization"] is Colorization
    assert CannyToImage.needs_caption and not Colorization.needs_caption


def test_canny_to_image_goes_from_the_edge_map_to_the_photo():
    src = source()
    made = CannyToImage().make(src, np.random.default_rng(0))
    (frame,) = made.frames
    assert np.array_equal(frame.image, ops.canny(src.image, **made.params))
    assert frame.lossless and frame.mask is None
    assert np.array_equal(made.target, src.image)
    assert made.slots == {"caption": "an astronaut"} and made.caption == "an astronaut"


def test_canny_to_image_is_deterministic_and_seed_dependent():
    a = CannyToImage().make(source(), np.random.default_rng(9))
    b = CannyToImage().make(source(), np.random.default_rng(9))
    c = CannyToImage().make(source(), np.random.default_rng(10))
    assert a.params == b.params and np.array_equal(a.frames[0].image, b.frames[0].image)
    assert a.params != c.params


@pytest.mark.parametrize("caption", [None, "", "   "])
def test_canny_to_image_needs_a_caption(caption):
    with pytest.raises(PairError) as err:
        CannyToImage().make(source(caption), np.random.default_rng(0))
    assert err.value.kind == "missing_caption"


def test_colorization_goes_from_gray_to_the_photo():
    src = source()
    made = Colorization().make(src, np.random.default_rng(0))
    gray = cv2.cvtColor(src.image, cv2.COLOR_RGB2GRAY)
    frame = made.frames[0].image
    for c in range(3):
        assert np.array_equal(frame[:, :, c], gray)
    assert np.array_equal(made.target, src.image)
    assert made.slots == {"caption": "an astronaut"} and made.caption == "an astronaut"


def test_colorization_without_a_caption_has_no_caption_slot():
    made = Colorization().make(source(None), np.random.default_rng(0))
    assert made.slots == {} and made.caption is None


def test_colorization_refuses_a_gray_photo():
    src = source()
    src.image = ops.grayscale(src.image)
    with pytest.raises(PairError) as err:
        Colorization().make(src, np.random.default_rng(0))
    assert err.value.kind == "already_gray"


# --------------------------------------------------------------------------------------------
# Segmentation, contour, scribble and doodle to image
# --------------------------------------------------------------------------------------------

TO_IMAGE = {
    "segmentation_to_image": (SegmentationToImage, Segmentation),
    "contour_to_image": (ContourToImage, Contour),
    "scribble_to_image": (ScribbleToImage, Scribble),
    "doodle_to_image": (DoodleToImage, Doodle),
}


def photo_source(name: str, caption: str | None = "a photo") -> SourceImage:
    image = cv2.resize(getattr(skimage.data, name)(), (128, 96), interpolation=cv2.INTER_AREA)
    return SourceImage(id=name, group=name, image=image, caption=caption)


def test_to_image_makers_are_registered_and_need_a_caption():
    for task, (maker, analysis) in TO_IMAGE.items():
        assert MAKERS[task] is maker
        assert maker.category == "controllable_generation" and maker.needs_caption
        assert maker.operator == analysis.operator


@pytest.mark.parametrize("task", TO_IMAGE)
@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_frame_is_the_analysis_map_and_target_the_photo(task, name):
    maker, analysis = TO_IMAGE[task]
    src = photo_source(name)
    made = maker().make(src, np.random.default_rng(3))
    (frame,) = made.frames
    # The same map, from the same params, as the analysis pair shows.
    assert np.array_equal(frame.image, analysis().build(src, made.params).target)
    assert frame.lossless and frame.mask is None
    assert made.target is src.image
    assert made.slots == {"caption": "a photo"} and made.caption == "a photo"


@pytest.mark.parametrize("task", TO_IMAGE)
def test_to_image_draws_like_its_analysis(task):
    maker, analysis = TO_IMAGE[task]
    src = photo_source("chelsea")
    made = maker().make(src, np.random.default_rng(4))
    assert made.params == analysis().make(src, np.random.default_rng(4)).params


@pytest.mark.parametrize("task", TO_IMAGE)
def test_to_image_params_survive_json_and_rebuild_the_pair(task):
    maker, _ = TO_IMAGE[task]
    src = photo_source("astronaut")
    made = maker().make(src, np.random.default_rng(5))
    again = maker().build(src, json.loads(json.dumps(made.params)))
    assert np.array_equal(again.frames[0].image, made.frames[0].image)
    assert np.array_equal(again.target, made.target)


@pytest.mark.parametrize("task", TO_IMAGE)
def test_to_image_is_deterministic(task):
    maker, _ = TO_IMAGE[task]
    a = maker().make(photo_source("coffee"), np.random.default_rng(6))
    b = maker().make(photo_source("coffee"), np.random.default_rng(6))
    assert a.params == b.params and np.array_equal(a.frames[0].image, b.frames[0].image)


@pytest.mark.parametrize("task", TO_IMAGE)
@pytest.mark.parametrize("caption", [None, "", "  "])
def test_to_image_needs_a_caption(task, caption):
    maker, _ = TO_IMAGE[task]
    with pytest.raises(PairError) as err:
        maker().make(photo_source("astronaut", caption), np.random.default_rng(0))
    assert err.value.kind == "missing_caption"


@pytest.mark.parametrize("task", TO_IMAGE)
def test_to_image_refuses_a_map_that_says_nothing(task):
    maker, _ = TO_IMAGE[task]
    flat = SourceImage(id="f", group="f", image=np.full((96, 96, 3), 90, np.uint8), caption="x")
    with pytest.raises(PairError) as err:
        maker().make(flat, np.random.default_rng(0))
    assert err.value.kind in {"no_lines", "no_regions"}


@pytest.mark.parametrize("task", TO_IMAGE)
def test_to_image_phrasings_quote_the_caption(task):
    phrasings = TEMPLATES[task]
    assert len(set(phrasings)) == len(phrasings) >= 8
    assert all("{image}" in p and '"$caption"' in p for p in phrasings)
    made = TO_IMAGE[task][0]().make(photo_source("astronaut"), np.random.default_rng(0))
    for seed in range(20):
        text, _ = render_instruction(task, made.slots, np.random.default_rng(seed))
        assert '"a photo"' in text and "{image}" in text and "$" not in text
