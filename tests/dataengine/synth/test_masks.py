import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.synth import masks


def blob() -> np.ndarray:
    """An L-shaped mask: concave, so its hull and box differ from it."""
    mask = np.zeros((60, 80), np.uint8)
    mask[10:40, 20:30] = 255
    mask[30:40, 20:55] = 255
    return mask


def is_binary(mask: np.ndarray) -> bool:
    return mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}


def test_binary_turns_any_truth_into_0_and_255():
    out = masks.binary(np.array([[True, False], [False, True]]))
    assert out.tolist() == [[255, 0], [0, 255]] and out.dtype == np.uint8
    assert masks.binary(np.array([[3, 0]], np.uint8)).tolist() == [[255, 0]]


@pytest.mark.parametrize("radius", [1, 4, 9])
def test_dilate_grows_by_a_disc_of_the_radius(radius):
    mask = blob()
    grown = masks.dilate(mask, radius)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    assert np.array_equal(grown, cv2.dilate(mask, disc))  # cropping to the box changes nothing
    assert is_binary(grown) and (grown[mask > 0] == 255).all()
    distance = cv2.distanceTransform((mask == 0).astype(np.uint8), cv2.DIST_L2, 5)
    assert distance[grown > 0].max() <= radius + 0.5  # nothing further than the radius


def test_dilate_by_nothing_and_of_nothing_is_a_copy():
    mask = blob()
    same = masks.dilate(mask, 0)
    assert np.array_equal(same, mask) and same is not mask
    assert not masks.dilate(np.zeros((8, 8), np.uint8), 3).any()


def test_convex_hull_fills_the_corner_of_an_l():
    mask = blob()
    hull = masks.convex_hull(mask)
    assert is_binary(hull) and (hull[mask > 0] == 255).all()
    assert hull[15, 45] == 0 and hull[33, 35] == 255  # outside the diagonal, inside the bend
    assert np.count_nonzero(hull) > np.count_nonzero(mask)
    square = np.zeros_like(mask)
    square[5:25, 10:30] = 255
    assert np.array_equal(masks.convex_hull(square), square)  # convex already: unchanged


def test_bounding_box_and_box_mask_with_a_margin_clipped_to_the_image():
    mask = blob()
    assert masks.bounding_box(mask) == (10, 20, 40, 55)
    box = masks.box_mask(mask)
    assert np.count_nonzero(box) == 30 * 35 and (box[10:40, 20:55] == 255).all()
    edge = np.zeros((20, 20), np.uint8)
    edge[0:3, 15:20] = 255
    grown = masks.box_mask(edge, margin=4)
    assert masks.bounding_box(grown) == (0, 11, 7, 20)


def test_grow_dispatches_and_refuses_unknown_kinds_and_empty_masks():
    mask = blob()
    assert np.array_equal(masks.grow(mask, "dilate", 3), masks.dilate(mask, 3))
    assert np.array_equal(masks.grow(mask, "hull"), masks.convex_hull(mask))
    assert np.array_equal(masks.grow(mask, "box"), masks.box_mask(mask))
    with pytest.raises(ValueError, match="unknown grow kind 'blur'"):
        masks.grow(mask, "blur")
    empty = np.zeros((8, 8), np.uint8)
    for helper in (masks.convex_hull, masks.box_mask, masks.bounding_box):
        with pytest.raises(ValueError, match="empty mask"):
            helper(empty)


def test_border_mask_covers_exactly_the_margins():
    mask = masks.border_mask(40, 50, top=5, bottom=0, left=7, right=3)
    assert is_binary(mask)
    assert (mask[:5] == 255).all() and (mask[:, :7] == 255).all() and (mask[:, -3:] == 255).all()
    assert not mask[5:, 7:47].any()
    assert np.count_nonzero(mask) == 40 * 50 - 35 * 40


def test_border_mask_refuses_margins_that_leave_nothing():
    with pytest.raises(ValueError, match="leave nothing"):
        masks.border_mask(40, 50, top=20, bottom=20, left=0, right=0)
    with pytest.raises(ValueError, match="leave nothing"):
        masks.border_mask(40, 50, top=0, bottom=0, left=-1, right=0)


def test_grown_object_masks_on_a_real_photo_keep_the_object():
    # A real segmentation: the bright coins of skimage's coins photo.
    coins = skimage.data.coins()[:120, :160]
    mask = masks.binary(coins > 150)
    for kind in masks.GROW_KINDS:
        grown = masks.grow(mask, kind, 5)
        assert is_binary(grown) and (grown[mask > 0] == 255).all()
        assert np.count_nonzero(grown) > np.count_nonzero(mask)
