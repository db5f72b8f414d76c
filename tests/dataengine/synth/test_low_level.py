import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.schema import SourceImage
from dataengine.synth import ops
from dataengine.synth.base import MAKERS, PairError
from dataengine.synth.low_level import CannyExtraction, Grayscale


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
