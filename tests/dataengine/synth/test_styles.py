import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.synth import styles


def photo(size: tuple[int, int] = (96, 80)) -> np.ndarray:
    return cv2.resize(skimage.data.astronaut(), size, interpolation=cv2.INTER_AREA)


def saturation(image: np.ndarray) -> float:
    return float(cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[:, :, 1].mean())


@pytest.mark.parametrize("style", styles.STYLES)
def test_every_style_is_a_seeded_json_able_look_of_the_same_size(style):
    image = photo()
    params = styles.draw_style_params(np.random.default_rng(0), style)
    assert params["style"] == style
    assert json.loads(json.dumps(params)) == params  # plain ints, floats and strings
    out = styles.apply_style(image, params)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert styles.mean_abs_change(image, out) > 5  # a style is a visible change
    again = styles.apply_style(image, styles.draw_style_params(np.random.default_rng(0), style))
    assert np.array_equal(out, again)
    tiny = styles.apply_style(photo((32, 40)), params)  # the smallest source the engine makes
    assert tiny.shape == (40, 32, 3)


def test_draw_style_params_spreads_over_every_style():
    drawn = {styles.draw_style_params(np.random.default_rng(s))["style"] for s in range(80)}
    assert drawn == set(styles.STYLES)
    assert len(styles.STYLES) >= 6 and set(styles.STYLE_WORDS) == set(styles.STYLES)


def test_unknown_style_says_which_exist():
    with pytest.raises(ValueError, match="pencil_sketch"):
        styles.apply_style(photo(), {"style": "cubism"})
    with pytest.raises(ValueError, match="cubism"):
        styles.draw_style_params(np.random.default_rng(0), "cubism")


def test_sepia_is_the_sepia_matrix():
    image = photo()
    expected = np.minimum(image.astype(np.float64) @ styles.SEPIA_MATRIX.T.astype(np.float64), 255)
    out = styles.sepia(image, 1.0)
    assert np.abs(out.astype(np.float64) - expected).max() <= 1.0
    assert np.array_equal(styles.sepia(image, 0.0), image)


def test_pencil_sketch_is_grey_white_where_flat_and_dark_on_edges():
    image = np.full((64, 64, 3), 140, np.uint8)
    image[:, 32:] = 30  # one vertical edge
    out = styles.pencil_sketch(image, blur=0.05, darkness=1.5)
    assert (out[:, :, 0] == out[:, :, 1]).all() and (out[:, :, 1] == out[:, :, 2]).all()
    assert out[:, :8].min() >= 250 and out[:, -8:].min() >= 250  # flat areas go white
    assert out[:, 30:34].min() < 150  # the edge stays as a stroke


def test_oil_paint_keeps_flat_areas_and_sharp_edges():
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, 20:] = (200, 100, 50)
    out = styles.oil_paint(image, radius=0.1)
    assert np.array_equal(out, image)  # Kuwahara picks the window on the edge's own side


def test_cartoon_has_few_colours_and_black_lines():
    image = photo((128, 128))
    out = styles.cartoon(image, levels=4, line_block=0.03, line_offset=6)
    levels = set(np.unique(out)) - {0}
    assert levels <= {32, 96, 160, 224}  # 4 steps per channel, centred
    assert 0.01 < float((out.max(axis=2) == 0).mean()) < 0.6


def test_watercolor_and_vintage_textures_follow_their_seed():
    image = photo()
    wc = styles.draw_style_params(np.random.default_rng(1), "watercolor")
    other = dict(wc, seed=wc["seed"] + 1)
    assert not np.array_equal(styles.apply_style(image, wc), styles.apply_style(image, other))


@pytest.mark.parametrize("grade", styles.GRADES)
def test_every_grade_changes_the_photo_in_its_direction(grade):
    image = photo()
    low, high = styles.GRADE_STRENGTHS[grade]
    out = styles.color_grade(image, grade, high)
    assert out.shape == image.shape and styles.mean_abs_change(image, out) > 3
    mean_in, mean_out = image.reshape(-1, 3).mean(0), out.reshape(-1, 3).mean(0)
    if grade == "warm":
        assert mean_out[0] > mean_in[0] and mean_out[2] < mean_in[2]
    if grade == "cool":
        assert mean_out[0] < mean_in[0] and mean_out[2] > mean_in[2]
    if grade == "desaturate":
        assert saturation(out) < saturation(image)
    if grade == "vivid":
        assert saturation(out) > saturation(image)
    if grade == "faded":
        assert out.min() > image.min() and out.max() < image.max()
    weaker = styles.color_grade(image, grade, low)
    assert styles.mean_abs_change(image, weaker) < styles.mean_abs_change(image, out)


def test_grade_params_name_a_level_that_matches_the_strength():
    for seed in range(60):
        p = styles.draw_grade_params(np.random.default_rng(seed))
        low, high = styles.GRADE_STRENGTHS[p["grade"]]
        third = styles.GRADE_LEVELS.index(p["level"])
        width = (high - low) / 3
        assert low + third * width - 1e-3 <= p["strength"] <= low + (third + 1) * width + 1e-3


def test_tone_directions_do_what_they_say():
    image = photo()
    grey = styles.luma(image)
    brighter = styles.adjust_tone(image, "brighter", 0.2)  # + 0.2 of full scale: 51 levels
    assert np.array_equal(brighter, np.clip(image.astype(int) + 51, 0, 255).astype(np.uint8))
    assert styles.luma(styles.adjust_tone(image, "darker", 0.1)).mean() < grey.mean()
    more = styles.luma(styles.adjust_tone(image, "more_contrast", 0.4))
    less = styles.luma(styles.adjust_tone(image, "less_contrast", 0.4))
    assert less.std() < grey.std() < more.std()
    assert abs(less.mean() - grey.mean()) < 2  # contrast pivots on the mean brightness
    with pytest.raises(ValueError, match="brighter"):
        styles.adjust_tone(image, "sideways", 0.1)


def test_tone_params_are_json_able_and_seeded():
    a = styles.draw_tone_params(np.random.default_rng(3))
    assert a == styles.draw_tone_params(np.random.default_rng(3))
    assert json.loads(json.dumps(a)) == a
    assert a["direction"] in styles.TONE_DIRECTIONS and a["level"] in styles.TONE_LEVELS
