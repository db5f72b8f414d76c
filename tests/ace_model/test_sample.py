"""Building one request for the sampler from the user's images and masks (the sampler run
end to end: test_cli.py)."""

from __future__ import annotations

import numpy as np
import pytest

from ace_model.sample import check_masks, request_lcu


def _gray(h: int, w: int) -> np.ndarray:
    return np.zeros((h, w), np.uint8)


def test_a_mask_of_another_aspect_ratio_is_refused():
    image = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(ValueError, match=r"mask 1 is 48x64 but its image is 64x48; .* 64x48"):
        request_lcu([image], "Paint {image} blue.", [_gray(64, 48)], [], (32, 32))
    with pytest.raises(ValueError, match=r"^--mask m\.png is 64x64 but its image is 64x48; "):
        check_masks([image], [_gray(64, 64)], ["--mask m.png"])


def test_a_mask_at_another_scale_of_its_image_is_taken():
    image = np.zeros((48, 64, 3), np.uint8)
    check_masks([image, image], [_gray(24, 32), None])  # half the size
    check_masks([image], [_gray(47, 64)])  # a side rounded by a pixel
    lcu = request_lcu([image], "Paint {image} blue.", [_gray(24, 32)], [], (32, 32))
    assert lcu.masks[0].shape == (1, 32, 32)
