import cv2
import numpy as np
import pytest
import skimage.data

from dataengine import fonts
from dataengine.fonts import FONT_FILES, text_extent
from dataengine.synth import text_render
from dataengine.synth.text_render import fit_size, render_text


def photo() -> np.ndarray:
    return cv2.resize(skimage.data.coffee(), (160, 120), interpolation=cv2.INTER_AREA)


def test_every_font_ships_with_matplotlib():
    for name in FONT_FILES:
        assert fonts.font_path(name).is_file(), name
    with pytest.raises(ValueError, match="unknown font 'comic'"):
        fonts.font_path("comic")


@pytest.mark.parametrize("font", list(FONT_FILES))
def test_text_changes_the_image_only_inside_its_exact_mask(font):
    image = photo()
    out, mask = render_text(image, "Hello 42", font, 24, (250, 215, 40), 10, 30)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert set(np.unique(mask)) == {0, 255}
    assert np.array_equal(out[mask == 0], image[mask == 0])
    coverage = text_render.text_coverage("Hello 42", font, 24)
    h, w = coverage.shape
    assert np.array_equal(mask[30 : 30 + h, 10 : 10 + w] > 0, coverage > 0)
    assert np.count_nonzero(mask) == np.count_nonzero(coverage)
    # Where the ink is solid the pixel is the text colour itself.
    solid = np.zeros_like(mask, bool)
    solid[30 : 30 + h, 10 : 10 + w] = coverage == 255
    assert solid.any() and (out[solid] == (250, 215, 40)).all()


def test_rendering_is_deterministic():
    a = render_text(photo(), "S A L E", "serif bold", 30, (255, 255, 255), 5, 5)
    b = render_text(photo(), "S A L E", "serif bold", 30, (255, 255, 255), 5, 5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_extent_matches_the_coverage_and_grows_with_the_size():
    small, large = text_extent("Welcome", "sans", 12), text_extent("Welcome", "sans", 36)
    assert text_render.text_coverage("Welcome", "sans", 12).shape == (small[1], small[0])
    assert large[0] > 2.5 * small[0] and large[1] > 2.5 * small[1]


def test_fit_size_gives_the_largest_size_that_fits():
    size = fit_size("Have a nice day", "mono", 80, 100)
    assert 0 < size < 80
    assert text_extent("Have a nice day", "mono", size)[0] <= 100
    assert text_extent("Have a nice day", "mono", size + 1)[0] > 100
    assert fit_size("Hi", "sans", 20, 500) == 20  # already fits: unchanged


def test_text_that_leaves_the_image_is_refused():
    with pytest.raises(ValueError, match="leaves the 160x120 image"):
        render_text(photo(), "Congratulations", "sans", 40, (0, 0, 0), 100, 10)
