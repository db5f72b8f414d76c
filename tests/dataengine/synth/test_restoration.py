import json

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.instruct.templates import TEMPLATES, render_instruction, slot_names
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage
from dataengine.synth import filters
from dataengine.synth.base import PairError
from dataengine.synth.restoration import (
    Deblur,
    Dehaze,
    Denoise,
    JpegArtifactRemoval,
    LowLightEnhancement,
    SuperResolution,
    mean_dark_channel,
    mean_luma,
)

RESTORATION = {
    "denoise": Denoise,
    "deblur": Deblur,
    "super_resolution": SuperResolution,
    "jpeg_artifact_removal": JpegArtifactRemoval,
    "low_light_enhancement": LowLightEnhancement,
    "dehaze": Dehaze,
}


def source(name: str = "astronaut", size=(128, 96), caption: str | None = "a photo"):
    image = cv2.resize(getattr(skimage.data, name)(), size, interpolation=cv2.INTER_AREA)
    return SourceImage(id=name, group=name, image=image, caption=caption)


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian: high for crisp detail, low for blur."""
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def made_with(task: str, want: dict, seeds=range(40)):
    """The first pair of `task` whose params contain `want` (to reach each branch)."""
    src = source()
    for seed in seeds:
        made = RESTORATION[task]().make(src, np.random.default_rng(seed))
        if want.items() <= made.params.items():
            return src, made
    raise AssertionError(f"no seed gives {want}")


def test_restoration_makers_are_registered():
    for task, maker in RESTORATION.items():
        assert MAKERS[task] is maker
        assert maker.category == "controllable_generation" and maker.operator
        assert not maker.needs_caption


@pytest.mark.parametrize("task", RESTORATION)
def test_frame_is_degraded_and_target_is_the_clean_photo(task):
    src = source()
    made = RESTORATION[task]().make(src, np.random.default_rng(0))
    (frame,) = made.frames
    assert made.target is src.image and frame.mask is None
    assert frame.image.shape == src.image.shape and frame.image.dtype == np.uint8
    assert np.abs(frame.image.astype(int) - src.image).mean() >= 0.5
    assert made.caption == "a photo" and made.slots == {}


@pytest.mark.parametrize("task", RESTORATION)
def test_params_survive_json_and_rebuild_the_identical_pair(task):
    src = source("coffee")
    made = RESTORATION[task]().make(src, np.random.default_rng(1))
    params = json.loads(json.dumps(made.params))
    assert params == made.params
    again = RESTORATION[task]().build(src, params)
    assert np.array_equal(again.frames[0].image, made.frames[0].image)


@pytest.mark.parametrize("task", RESTORATION)
def test_same_seed_same_pair_other_seeds_other_pairs(task):
    src = source("chelsea")
    a = RESTORATION[task]().make(src, np.random.default_rng(2))
    b = RESTORATION[task]().make(src, np.random.default_rng(2))
    assert a.params == b.params and np.array_equal(a.frames[0].image, b.frames[0].image)
    others = [RESTORATION[task]().make(src, np.random.default_rng(s)).params for s in range(6)]
    assert len({json.dumps(p, sort_keys=True) for p in others}) > 1


@pytest.mark.parametrize("kind", ["gaussian", "poisson"])
def test_denoise_input_is_the_photo_plus_noise_of_the_recorded_sigma(kind):
    src, made = made_with("denoise", {"kind": kind})
    p = made.params
    assert 10 <= p["sigma"] <= 50
    noisy = made.frames[0].image
    assert np.array_equal(noisy, filters.add_noise(src.image, p["sigma"], p["noise_seed"], kind))
    residual = noisy.astype(float) - src.image
    unclipped = (src.image > 60) & (src.image < 195)  # mid tones: clipping leaves them alone
    brightness = src.image / 128.0 if kind == "poisson" else np.ones(src.image.shape)
    expected = p["sigma"] * np.sqrt(brightness)
    assert (residual[unclipped] / expected[unclipped]).std() == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("kind", ["gaussian", "motion"])
def test_deblur_input_is_the_photo_blurred(kind):
    src, made = made_with("deblur", {"kind": kind})
    p, blurred = made.params, made.frames[0].image
    if kind == "gaussian":
        assert np.array_equal(blurred, cv2.GaussianBlur(src.image, (0, 0), p["sigma"]))
    else:
        assert 0 <= p["angle"] <= 180 and p["length"] >= 3
        assert np.array_equal(blurred, filters.motion_blur(src.image, p["length"], p["angle"]))
    assert sharpness(blurred) < 0.5 * sharpness(src.image)


def test_super_resolution_input_is_downscaled_then_bicubic_upscaled():
    src = source()
    h, w = src.image.shape[:2]
    made = SuperResolution().make(src, np.random.default_rng(0))
    factor = made.params["factor"]
    assert 2.0 <= factor <= 4.0
    small = cv2.resize(
        src.image, (round(w / factor), round(h / factor)), interpolation=cv2.INTER_AREA
    )
    expected = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    assert np.array_equal(made.frames[0].image, expected)
    assert sharpness(made.frames[0].image) < 0.5 * sharpness(src.image)


def test_jpeg_artifact_removal_input_is_a_low_quality_jpeg():
    src = source()
    made = JpegArtifactRemoval().make(src, np.random.default_rng(0))
    quality = made.params["quality"]
    assert 5 <= quality <= 25
    bgr = cv2.cvtColor(src.image, cv2.COLOR_RGB2BGR)
    _, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.array_equal(made.frames[0].image, decoded)


@pytest.mark.parametrize("noisy", [False, True])
def test_low_light_input_is_the_photo_darkened(noisy):
    src = source()
    for seed in range(40):
        made = LowLightEnhancement().make(src, np.random.default_rng(seed))
        if (made.params["noise_sigma"] > 0) == noisy:
            break
    p, dark = made.params, made.frames[0].image
    expected = filters.darken(src.image, p["gamma"], p["gain"])
    if noisy:
        expected = filters.add_noise(expected, p["noise_sigma"], p["noise_seed"])
    assert np.array_equal(dark, expected)
    assert mean_luma(dark) < 0.6 * mean_luma(src.image)


def test_dehaze_input_follows_the_scattering_model():
    src = source()
    made = Dehaze().make(src, np.random.default_rng(0))
    p, hazy = made.params, made.frames[0].image
    h, w = src.image.shape[:2]
    t = np.exp(-p["beta"] * filters.synthetic_depth(h, w, p["near"], p["depth_seed"]))[..., None]
    expected = src.image * t + np.array(p["airlight"]) * 255 * (1 - t)
    assert np.abs(hazy - expected).max() <= 0.5 + 1e-3  # only the rounding to uint8
    assert mean_dark_channel(hazy) > mean_dark_channel(src.image) + 20  # washed out
    assert hazy.std() < src.image.std()  # less contrast


@pytest.mark.parametrize("task", RESTORATION)
def test_tiny_images_are_refused(task):
    with pytest.raises(PairError) as err:
        RESTORATION[task]().make(source(size=(48, 24)), np.random.default_rng(0))
    assert err.value.kind == "too_small"
    assert not RESTORATION[task]().accepts(source(size=(48, 24)))


@pytest.mark.parametrize(
    ("task", "params"),
    [
        ("deblur", {"kind": "gaussian", "sigma": 3.0}),
        ("deblur", {"kind": "motion", "length": 9, "angle": 30.0}),
        ("super_resolution", {"factor": 4.0}),
        ("jpeg_artifact_removal", {"quality": 25}),
    ],
)
def test_a_flat_image_that_the_degradation_leaves_alone_is_refused(task, params):
    flat = SourceImage(id="f", group="f", image=np.full((64, 64, 3), 100, np.uint8))
    with pytest.raises(PairError) as err:
        RESTORATION[task]().build(flat, params)
    assert err.value.kind == "no_change"


def test_low_light_refuses_a_dark_photo():
    dark = source()
    dark.image = (dark.image // 5).astype(np.uint8)
    assert not LowLightEnhancement().accepts(dark)
    with pytest.raises(PairError) as err:
        LowLightEnhancement().make(dark, np.random.default_rng(0))
    assert err.value.kind == "already_dark"


def test_dehaze_refuses_a_hazy_photo():
    src = source()
    hazy = source()
    hazy.image = filters.haze(src.image, 3.0, [0.95, 0.95, 0.95], 0.8, seed=0)
    assert Dehaze().accepts(src) and not Dehaze().accepts(hazy)
    with pytest.raises(PairError) as err:
        Dehaze().make(hazy, np.random.default_rng(0))
    assert err.value.kind == "already_hazy"


def test_undecoded_sources_are_accepted_so_their_error_rows_name_the_task():
    undecoded = SourceImage(id="u", group="u", data=b"", status="decode_error")
    assert all(maker().accepts(undecoded) for maker in RESTORATION.values())


@pytest.mark.parametrize("task", RESTORATION)
def test_every_restoration_task_has_eight_phrasings_naming_the_image(task):
    phrasings = TEMPLATES[task]
    assert len(set(phrasings)) == len(phrasings) >= 8
    assert all("{image}" in p and not slot_names(p) for p in phrasings)
    made = RESTORATION[task]().make(source(), np.random.default_rng(0))
    text, _ = render_instruction(task, made.slots, np.random.default_rng(0))
    assert "{image}" in text and "$" not in text
