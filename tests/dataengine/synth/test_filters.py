import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.synth import filters


def photo(size: tuple[int, int] = (128, 96)) -> np.ndarray:
    return cv2.resize(skimage.data.astronaut(), size, interpolation=cv2.INTER_AREA)


def two_halves(h: int = 96, w: int = 128) -> np.ndarray:
    """Red on the left, blue on the right: one border, in the middle."""
    image = np.zeros((h, w, 3), np.uint8)
    image[:, : w // 2] = (220, 40, 40)
    image[:, w // 2 :] = (40, 90, 220)
    return image


def is_binary_gray(image: np.ndarray) -> bool:
    same_channels = np.array_equal(image[:, :, 0], image[:, :, 1]) and np.array_equal(
        image[:, :, 0], image[:, :, 2]
    )
    return same_channels and set(np.unique(image)) <= {0, 255}


# --------------------------------------------------------------------------------------------
# Maps
# --------------------------------------------------------------------------------------------


def test_mosaic_is_a_grid_of_block_means():
    image = photo((128, 96))
    out = filters.mosaic(image, blocks=16)
    assert out.shape == image.shape and out.dtype == np.uint8
    cells = cv2.resize(image, (16, 12), interpolation=cv2.INTER_AREA)  # 128/16 = 8 px blocks
    assert np.array_equal(out, np.repeat(np.repeat(cells, 8, axis=0), 8, axis=1))


def test_paint_regions_paints_each_region_with_its_mean():
    image = photo((64, 48))
    labels = np.zeros((48, 64), np.int64)
    labels[:, 32:] = 1
    labels[30:, :] = 2
    out = filters.paint_regions(image, labels)
    for region in range(3):
        inside = labels == region
        expected = np.rint(image[inside].mean(axis=0))
        assert (out[inside] == expected).all()


@pytest.mark.parametrize(("method", "detail"), [("felzenszwalb", 200), ("slic", 100)])
def test_segmentation_map_is_flat_regions_of_mean_colour(method, detail):
    image = photo((256, 192))
    seg = filters.segmentation_map(image, method, detail)
    assert seg.shape == image.shape
    colours, labels = np.unique(seg.reshape(-1, 3), axis=0, return_inverse=True)
    assert 5 <= len(colours) <= 1000  # regions, not pixels
    labels = labels.reshape(seg.shape[:2])
    # The map's colour is the full-size mean of its region, up to the border pixels.
    errors = [np.abs(image[labels == i].mean(axis=0) - c).max() for i, c in enumerate(colours)]
    assert np.median(errors) < 4


def test_segmentation_map_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="watershed"):
        filters.segmentation_map(photo(), "watershed", 10)


def test_contour_map_draws_black_lines_on_white_along_edges():
    image = photo((256, 192))
    lines = filters.contour_map(image, smooth=5, sigma=1.5, strength=1.0)
    assert is_binary_gray(lines)
    ink = lines[:, :, 0] == 0
    assert 0.01 < ink.mean() < 0.4  # mostly paper
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gradient = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    near_ink = cv2.dilate(ink.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert gradient[near_ink].mean() > 2 * gradient[~near_ink].mean()


def test_contour_map_of_a_flat_image_is_blank_paper():
    flat = np.full((64, 64, 3), 90, np.uint8)
    assert (filters.contour_map(flat, 5, 1.5, 1.0) == 255).all()


def test_scribble_without_jitter_is_the_thickened_edges():
    image = photo((128, 128))
    scribble = filters.scribble_map(image, sigma=2.0, thickness=5, jitter=0.0, seed=0)
    assert is_binary_gray(scribble)
    edges = filters.smooth_canny(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), sigma=2.0)
    edges = filters.drop_small_components(edges, min_pixels=8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    assert np.array_equal(scribble[:, :, 0], cv2.dilate(edges, kernel))


def test_scribble_jitter_comes_from_the_seed():
    image = photo((128, 128))
    a = filters.scribble_map(image, 2.0, 5, 0.02, seed=1)
    b = filters.scribble_map(image, 2.0, 5, 0.02, seed=1)
    c = filters.scribble_map(image, 2.0, 5, 0.02, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert abs(int((a > 0).sum()) - int((c > 0).sum())) < 0.2 * (a > 0).sum()  # same strokes


def test_doodle_outlines_the_border_between_regions_and_not_the_frame():
    doodle = filters.doodle_map(two_halves(), scale=200, thickness=6, smoothness=0.02)
    assert is_binary_gray(doodle)
    ink_columns = np.flatnonzero((doodle[:, :, 0] == 0).any(axis=0))
    assert ink_columns.min() >= 64 - 6 and ink_columns.max() <= 64 + 6
    assert (doodle[:, 56:72, 0] == 0).sum(axis=1).min() >= 4  # one unbroken stroke down the middle


def test_doodle_of_a_flat_image_is_blank():
    flat = np.full((80, 120, 3), 200, np.uint8)
    assert (filters.doodle_map(flat, 200, 6, 0.02) == 255).all()


# --------------------------------------------------------------------------------------------
# Degradations
# --------------------------------------------------------------------------------------------


def test_gaussian_noise_has_the_asked_spread_and_comes_from_the_seed():
    grey = np.full((128, 128, 3), 128, np.uint8)
    noisy = filters.add_noise(grey, sigma=12.0, seed=3)
    residual = noisy.astype(np.float64) - 128
    assert abs(residual.mean()) < 0.3 and abs(residual.std() - 12.0) < 0.3
    assert np.array_equal(noisy, filters.add_noise(grey, 12.0, seed=3))
    assert not np.array_equal(noisy, filters.add_noise(grey, 12.0, seed=4))


def test_poisson_noise_grows_with_brightness():
    ramp = np.zeros((128, 128, 3), np.uint8)
    ramp[:64], ramp[64:] = 32, 200
    residual = filters.add_noise(ramp, sigma=10.0, seed=0, kind="poisson").astype(float) - ramp
    dark, bright = residual[:64].std(), residual[64:].std()
    assert dark == pytest.approx(10.0 * np.sqrt(32 / 128), rel=0.05)
    assert bright == pytest.approx(10.0 * np.sqrt(200 / 128), rel=0.05)
    with pytest.raises(ValueError, match="salt"):
        filters.add_noise(ramp, 10.0, 0, kind="salt")


def test_motion_blur_smears_a_dot_into_a_line_along_the_angle():
    dot = np.zeros((41, 41, 3), np.uint8)
    dot[20, 20] = 255
    horizontal = filters.motion_blur(dot, length=11, angle=0.0)[:, :, 0]
    ys, xs = np.nonzero(horizontal)
    assert set(ys) == {20} and xs.min() == 15 and xs.max() == 25
    vertical = filters.motion_blur(dot, length=11, angle=90.0)[:, :, 0]
    ys, xs = np.nonzero(vertical)
    assert set(xs) == {20} and ys.max() - ys.min() == 10
    flat = np.full((32, 32, 3), 77, np.uint8)
    assert np.array_equal(filters.motion_blur(flat, 9, 33.0), flat)  # the kernel sums to one


def test_resample_loses_more_detail_the_smaller_it_goes():
    image = photo((128, 128))
    error = [np.abs(filters.resample(image, s).astype(int) - image).mean() for s in (0.5, 0.25)]
    assert filters.resample(image, 0.5).shape == image.shape
    assert 0 < error[0] < error[1]


def test_jpeg_error_grows_as_quality_drops():
    image = photo((128, 128))
    error = [np.abs(filters.jpeg(image, q).astype(int) - image).mean() for q in (90, 40, 5)]
    assert 0 < error[0] < error[1] < error[2]


def test_darken_follows_gain_times_power():
    levels = np.array([[[0, 64, 255]]], np.uint8)
    out = filters.darken(levels, gamma=2.0, gain=0.5)
    assert out.tolist() == [[[0, round(0.5 * (64 / 255) ** 2 * 255), round(0.5 * 255)]]]


def test_haze_is_thicker_far_away_and_tends_to_the_airlight():
    black = np.zeros((64, 64, 3), np.uint8)
    hazy = filters.haze(black, beta=2.0, airlight=[0.9, 0.9, 1.0], near=0.1, seed=0)
    assert hazy[:8].mean() > hazy[-8:].mean()  # the top of the picture is far
    assert (hazy[:, :, 2] >= hazy[:, :, 0]).all()  # bluish airlight
    image = photo((64, 64))
    assert np.array_equal(filters.haze(image, 0.0, [1.0, 1.0, 1.0], 0.1, 0), image)
    depth = filters.synthetic_depth(64, 64, near=0.2, seed=0)
    assert depth.min() >= 0.2 and depth.max() <= 1.0


def test_degrade_applies_the_steps_in_the_given_order():
    image = photo((96, 96))
    steps = [{"op": "jpeg", "quality": 60}, {"op": "noise", "sigma": 15.0}]
    by_hand = filters.add_noise(filters.jpeg(image, 60), 15.0, seed=5)
    assert np.array_equal(filters.degrade(image, steps, seed=5), by_hand)
    assert not np.array_equal(filters.degrade(image, steps[::-1], seed=5), by_hand)
    blur_resize = [{"op": "blur", "kernel": 7}, {"op": "resize", "scale": 0.5}]
    expected = filters.resample(cv2.GaussianBlur(image, (7, 7), 0), 0.5, upscale="bilinear")
    assert np.array_equal(filters.degrade(image, blur_resize, seed=0), expected)
    with pytest.raises(ValueError, match="sharpen"):
        filters.degrade(image, [{"op": "sharpen"}], seed=0)
