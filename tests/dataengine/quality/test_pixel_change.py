"""Pixel change on crafted edits: an edit inside its mask, one that leaks, none at all."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.quality.pixel_change import edited_frame, pixel_change_scores
from dataengine.schema import Frame
from tests.dataengine.quality.crafted import box_mask, pair, scene

SIZE = (96, 128)
BOX = (20, 30, 60, 90)


def repainted(image: np.ndarray, box, value: int = 0) -> np.ndarray:
    out = image.copy()
    top, left, bottom, right = box
    out[top:bottom, left:right] = value
    return out


def test_an_edit_inside_its_mask_does_not_leak():
    image, mask = scene(1, SIZE), box_mask(SIZE, BOX)
    scores = pixel_change_scores(repainted(image, BOX), image, mask)
    assert scores["change_outside_mask"] == 0.0
    assert scores["change_inside_mask"] > 0.9
    assert 0 < scores["changed"] < 0.3


def test_an_edit_that_leaks_outside_its_mask_is_caught():
    image, mask = scene(1, SIZE), box_mask(SIZE, BOX)
    leaky = repainted(image, BOX)
    leaky[:, :20] = 255 - leaky[:, :20]  # the left band, far from the mask, repainted too
    scores = pixel_change_scores(image, leaky, mask)
    outside = 1 - (mask > 0).mean()
    # The band is 20 of 128 columns; almost all of its pixels change visibly.
    assert scores["change_outside_mask"] == pytest.approx(20 * 96 / (outside * 96 * 128), 0.1)


def test_a_feathered_edge_next_to_the_mask_is_not_a_leak():
    image, mask = scene(2, SIZE), box_mask(SIZE, BOX)
    ringed = repainted(image, (BOX[0] - 1, BOX[1] - 1, BOX[2] + 1, BOX[3] + 1))
    assert pixel_change_scores(image, ringed, mask)["change_outside_mask"] == 0.0


def test_no_edit_scores_zero_change_and_full_similarity():
    image = scene(3, SIZE)
    scores = pixel_change_scores(image, image.copy())
    assert scores == {"l1": 0.0, "changed": 0.0, "ssim": pytest.approx(1.0)}


def test_a_smaller_input_is_compared_at_the_target_size():
    image = scene(4, (96, 128))
    small = image[::2, ::2]
    scores = pixel_change_scores(small, image, box_mask((48, 64), (10, 10, 20, 20)))
    assert scores["ssim"] > 0.5
    assert scores["l1"] < 0.05
    assert "change_outside_mask" in scores


def test_the_edited_frame_is_the_first_masked_input():
    a, b, mask = scene(5), scene(6), box_mask((96, 128), BOX)
    p = pair("0" * 32, a, b)
    p.frames = [Frame(image=a, role="history"), Frame(image=a), Frame(image=b, mask=mask)]
    assert edited_frame(p) is p.frames[2]
    p.frames = [Frame(image=a, role="history"), Frame(image=b)]
    assert edited_frame(p) is p.frames[1]
    p.frames = []
    assert edited_frame(p) is None


def test_ssim_is_skimages_on_the_grey_images():
    """The score is computed with OpenCV in float32 for speed; it is skimage's uint8 figure."""
    from skimage.metrics import structural_similarity

    from dataengine.quality.pixel_change import grey_at_work_size

    image = scene(2, (300, 400))
    edited = repainted(image, (40, 60, 200, 300), value=90)
    expected = structural_similarity(
        grey_at_work_size(image), grey_at_work_size(edited), data_range=255
    )
    assert pixel_change_scores(image, edited)["ssim"] == pytest.approx(expected, abs=1e-6)
    assert expected < 0.9  # a real edit, not a trivial 1.0


@pytest.mark.parametrize("shape", [(7, 7), (7, 30), (33, 17), (256, 192)])
def test_structural_similarity_matches_skimage_at_every_size(shape):
    from skimage.metrics import structural_similarity as skimage_ssim

    from dataengine.quality.pixel_change import structural_similarity

    rng = np.random.default_rng(shape[0])
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    noisy = np.clip(a.astype(int) + rng.integers(-40, 40, shape), 0, 255).astype(np.uint8)
    for b in (noisy, 255 - a, a):
        expected = skimage_ssim(a, b, data_range=255)
        assert structural_similarity(a, b) == pytest.approx(expected, abs=1e-6)


def test_an_image_thinner_than_the_window_has_no_ssim():
    image = np.random.default_rng(3).integers(0, 256, (6, 40, 3), dtype=np.uint8)
    assert "ssim" not in pixel_change_scores(image, image)
