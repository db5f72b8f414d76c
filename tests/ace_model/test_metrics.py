"""Edit-aware metrics: the changed region (an edit mask, or where the target moved) and the
kept region, measured apart."""

from __future__ import annotations

import numpy as np

from ace_model.metrics import changed_region, edit_aware, region_metrics


def picture(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(40, 200, (32, 48, 3), dtype=np.uint8)


def test_an_edit_mask_is_the_changed_region_and_other_roles_are_not():
    source = picture()
    mask = np.zeros((32, 48), np.uint8)
    mask[4:12, 6:20] = 255
    region = changed_region(source, mask, "edit", source)
    assert region.sum() == 8 * 14
    target = source.copy()
    target[20:30, 30:40] += 50  # a layer mask says nothing of the edit: the pixels do
    assert changed_region(source, mask, "layer", target).sum() == 10 * 10


def test_without_a_mask_the_changed_region_is_where_the_target_moved_beyond_noise():
    source = picture()
    target = source.copy()
    target[:, :] += np.random.default_rng(1).integers(0, 4, target.shape, dtype=np.uint8)  # noise
    target[10:20, 10:20] = 255 - target[10:20, 10:20]
    region = changed_region(source, None, "edit", target)
    assert region[10:20, 10:20].all() and region.sum() <= 10 * 10 + 20
    assert changed_region(None, None, "edit", target) is None  # text to image: no input


def test_a_copy_of_the_input_keeps_everything_and_changes_nothing():
    source = picture()
    target = source.copy()
    target[8:24, 8:24] = 0
    scores = edit_aware(source, target, changed_region(source, None, "edit", target))
    assert scores["kept"]["l1"] == 0 and scores["kept"]["psnr"] == 100.0
    assert scores["changed"]["l1"] > 0.1
    assert region_metrics(target, target, np.ones((32, 48), bool))["ssim"] > 0.99
    assert region_metrics(source, target, np.zeros((32, 48), bool)) is None  # no pixels
