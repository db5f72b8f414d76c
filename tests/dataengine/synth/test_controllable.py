import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.schema import SourceImage
from dataengine.synth import ops
from dataengine.synth.base import MAKERS, PairError
from dataengine.synth.controllable import CannyToImage, Colorization


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
