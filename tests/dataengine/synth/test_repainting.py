import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.schema import SourceImage
from dataengine.synth import ops
from dataengine.synth.base import MAKERS, PairError
from dataengine.synth.repainting import Inpainting


def source(size: tuple[int, int] = (128, 128), caption: str | None = "an astronaut"):
    image = cv2.resize(skimage.data.astronaut(), size, interpolation=cv2.INTER_AREA)
    return SourceImage(id="t", group="t", image=image, caption=caption)


def test_inpainting_is_registered():
    assert MAKERS["inpainting"] is Inpainting
    assert Inpainting.category == "repainting"


@pytest.mark.parametrize("size", [(128, 128), (160, 96)])
def test_frame_is_the_photo_blanked_under_a_mask_rebuilt_from_params(size):
    src = source(size)
    h, w = src.image.shape[:2]
    kinds = set()
    for seed in range(20):
        made = Inpainting().make(src, np.random.default_rng(seed))
        (frame,) = made.frames
        mask = frame.mask
        params = json.loads(json.dumps(made.params))  # params survive the json member
        assert np.array_equal(ops.mask_from_params(h, w, params), mask)
        assert set(np.unique(mask)) <= {0, 255}
        assert 0.05 <= ops.mask_fraction(mask) <= 0.40
        outside, inside = mask == 0, mask == 255
        assert np.array_equal(frame.image[outside], made.target[outside])
        assert (frame.image[inside] == 0).all()
        assert np.array_equal(made.target, src.image)
        kinds.add(made.params["kind"])
    assert kinds == {"rectangle", "strokes"}


def test_inpainting_is_deterministic_and_seed_dependent():
    a = Inpainting().make(source(), np.random.default_rng(2))
    b = Inpainting().make(source(), np.random.default_rng(2))
    c = Inpainting().make(source(), np.random.default_rng(3))
    assert a.params == b.params
    assert np.array_equal(a.frames[0].image, b.frames[0].image)
    assert np.array_equal(a.frames[0].mask, b.frames[0].mask)
    assert a.params != c.params


def test_inpainting_build_remakes_the_pair_from_params():
    src = source()
    made = Inpainting().make(src, np.random.default_rng(4))
    again = Inpainting().build(src, made.params)
    assert np.array_equal(made.frames[0].image, again.frames[0].image)


def test_caption_slot_only_when_the_source_has_one():
    assert Inpainting().make(source(), np.random.default_rng(0)).slots == {
        "caption": "an astronaut"
    }
    made = Inpainting().make(source(caption=None), np.random.default_rng(0))
    assert made.slots == {} and made.caption is None


def test_inpainting_refuses_a_small_image():
    with pytest.raises(PairError) as err:
        Inpainting().make(source((63, 200)), np.random.default_rng(0))
    assert err.value.kind == "too_small"
