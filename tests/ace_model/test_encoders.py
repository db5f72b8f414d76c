"""The encoders from local folders: T5 for text, a diffusers AutoencoderKL for latents, and
a run of the VAE presets' code path end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ace_model import checkpoint
from ace_model.config import CodecConfig, TextConfig
from ace_model.encoders import TextEncoder, VaeCodec
from ace_model.sample import Sampler
from ace_model.train import train
from tests.builders import MICRO, build_t5, build_vae


@pytest.fixture(scope="module")
def vae_path(tmp_path_factory) -> Path:
    return build_vae(tmp_path_factory.mktemp("vae"))


def test_t5_from_a_local_folder(tmp_path):
    encoder = TextEncoder(TextConfig("t5", str(build_t5(tmp_path))))
    features, slots = encoder.encode("Make {image} red.")
    assert encoder.dim == 32 and features.shape == (len(slots), 32)
    assert slots.tolist().count(0) == 1  # the word standing for {image}
    assert torch.isfinite(features).all()


def test_t5_needs_its_path():
    with pytest.raises(ValueError, match="--text-path"):
        TextConfig("t5")


def test_vae_codec_round_trip_shapes(vae_path):
    codec = VaeCodec(str(vae_path))
    assert (codec.channels, codec.factor) == (4, 2)
    images = torch.rand(2, 3, 16, 24) * 2 - 1
    latents = codec.encode(images)
    assert latents.shape == (2, 4, 8, 12)
    assert torch.equal(latents, codec.encode(images))  # the posterior mean: deterministic
    assert codec.decode(latents).shape == (2, 3, 16, 24)


def test_vae_preset_needs_a_vae(reference, tmp_path):
    with pytest.raises(ValueError, match="pass --vae PATH"):
        train(reference, tmp_path / "run", "small", steps=1, progress=False)


def test_training_and_sampling_on_latents(reference, vae_path, tmp_path):
    """The latent presets' path (small, ace-0.6b) with a micro network: frames and targets
    go through the VAE, the checkpoint names it, and sampling decodes back to pixels."""
    run = tmp_path / "latent"
    train(
        reference,
        run,
        "small",
        codec=CodecConfig("vae", str(vae_path)),
        model=MICRO,
        steps=2,
        batch_size=4,
        resolution=32,
        progress=False,
    )
    spec = checkpoint.spec_of(checkpoint.load(run))
    assert spec.codec == CodecConfig("vae", str(vae_path))
    assert spec.model.image_channels == 4
    sampler = Sampler(run)
    out = sampler.edit([np.full((40, 40, 3), 128, np.uint8)], "Make {image} red.", steps=2)
    assert out.shape == (40, 40, 3) and out.dtype == np.uint8
