import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.synth import ops


def photo() -> np.ndarray:
    return cv2.resize(skimage.data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)


def test_canny_is_cv2_canny_on_three_channels():
    image = photo()
    edges = ops.canny(image, 100, 200)
    assert edges.shape == (128, 128, 3) and edges.dtype == np.uint8
    assert np.array_equal(edges[:, :, 0], cv2.Canny(image, 100, 200))
    assert np.array_equal(edges[:, :, 0], edges[:, :, 1])
    assert np.array_equal(edges[:, :, 0], edges[:, :, 2])
    assert set(np.unique(edges)) == {0, 255}


def test_grayscale_is_cv2_luma_on_three_channels():
    image = photo()
    gray = ops.grayscale(image)
    expected = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    for c in range(3):
        assert np.array_equal(gray[:, :, c], expected)
    assert ops.is_grayscale(gray) and not ops.is_grayscale(image)


def test_blank_out_sets_only_masked_pixels():
    image = photo()
    mask = np.zeros((128, 128), np.uint8)
    mask[10:20, 30:50] = 255
    out = ops.blank_out(image, mask, fill=7)
    assert (out[10:20, 30:50] == 7).all()
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert not (image[10:20, 30:50] == 7).all()  # the input was not touched


@pytest.mark.parametrize("draw", [ops.draw_rectangle_params, ops.draw_stroke_params])
@pytest.mark.parametrize("shape", [(128, 128), (96, 200), (300, 64)])
def test_masks_are_binary_in_band_and_remade_from_params(draw, shape):
    h, w = shape
    for seed in range(25):
        params = draw(h, w, np.random.default_rng(seed), 0.05, 0.4)
        params = json.loads(json.dumps(params))  # what a json member gives back
        mask = ops.mask_from_params(h, w, params)
        assert mask.shape == (h, w) and mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 255}
        assert 0.05 <= ops.mask_fraction(mask) <= 0.4


def test_mask_functions_are_deterministic_and_seed_dependent():
    for make in (ops.rectangle_mask, ops.stroke_mask):
        a = make(128, 128, np.random.default_rng(3))
        b = make(128, 128, np.random.default_rng(3))
        c = make(128, 128, np.random.default_rng(4))
        assert np.array_equal(a, b)
        assert not np.array_equal(a, c)


def test_rectangle_mask_is_one_box():
    params = ops.draw_rectangle_params(128, 128, np.random.default_rng(0), 0.1, 0.2)
    mask = ops.mask_from_params(128, 128, params)
    ys, xs = np.nonzero(mask)
    assert (ys.min(), xs.min()) == (params["top"], params["left"])
    assert np.count_nonzero(mask) == params["height"] * params["width"]


def test_stroke_mask_narrow_band_is_still_met():
    for seed in range(10):
        mask = ops.stroke_mask(128, 128, np.random.default_rng(seed), 0.20, 0.22)
        assert 0.20 <= ops.mask_fraction(mask) <= 0.22


def test_unknown_mask_kind_is_refused():
    with pytest.raises(ValueError, match="unknown mask kind"):
        ops.mask_from_params(8, 8, {"kind": "ellipse"})
