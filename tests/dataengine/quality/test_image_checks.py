"""Checks of the target alone, on images whose answer is known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from dataengine.quality.image_checks import image_check_scores
from tests.dataengine.quality.crafted import scene


def test_blur_lowers_sharpness():
    image = scene(1, (192, 256))
    blurred = cv2.GaussianBlur(image, (0, 0), 3)
    assert image_check_scores(blurred)["sharpness"] < image_check_scores(image)["sharpness"] / 5


def test_sharpness_is_measured_at_one_working_size():
    image = scene(2, (256, 512))
    twice = cv2.resize(image, (1024, 512), interpolation=cv2.INTER_NEAREST)
    one, two = image_check_scores(image), image_check_scores(twice)
    assert two["sharpness"] == pytest.approx(one["sharpness"], rel=0.25)


def test_black_and_white_pictures_are_clipped_and_exposed_as_such():
    black = np.zeros((64, 64, 3), np.uint8)
    white = np.full((64, 64, 3), 255, np.uint8)
    assert image_check_scores(black)["exposure"] == 0.0
    assert image_check_scores(black)["clipped"] == 1.0
    assert image_check_scores(white)["exposure"] == 1.0
    mid = np.full((64, 64, 3), 128, np.uint8)
    assert image_check_scores(mid)["clipped"] == 0.0


def test_resolution_and_aspect():
    scores = image_check_scores(np.zeros((50, 200, 3), np.uint8))
    assert scores["min_side"] == 50.0
    assert scores["aspect"] == 4.0
    assert image_check_scores(np.zeros((40, 40), np.uint8))["aspect"] == 1.0
