"""A diffusers AutoencoderKL from a local folder, and the fingerprint that names it.

The same class encodes for `ace data latents` and for the trainer and sampler of the VAE
presets, so precomputed latents are the trainer's own encoding (to float32 rounding across
batch sizes and devices; `float16` storage rounds them further, to about 1e-3).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import Tensor


def vae_fingerprint(path: str | Path) -> str:
    """sha256 over the folder's files (names and bytes): the same weights give the same
    name wherever the folder lives; retrained or swapped weights give another."""
    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"{folder} is not a diffusers AutoencoderKL folder (no config.json); "
            "give the folder `AutoencoderKL.save_pretrained` wrote"
        )
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(str(file.relative_to(folder)).encode() + b"\0")
        with file.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def vae_shape(path: str | Path) -> tuple[int, int]:
    """(latent channels, pixels per latent along a side), from the folder's config alone."""
    return shape_of(json.loads((Path(path) / "config.json").read_text()))


def shape_of(config) -> tuple[int, int]:
    """(latent channels, pixels per latent along a side) of an AutoencoderKL config: each
    level of `block_out_channels` but the last halves the side."""
    return int(config["latent_channels"]), 2 ** (len(config["block_out_channels"]) - 1)


class VaeCodec:
    """A diffusers AutoencoderKL from a local folder; latents scaled to unit variance.

    Encoding takes the posterior mean, not a sample: the same image always gives the same
    latents, so a resumed run sees the data an uninterrupted run saw, and latents can be
    computed once, ahead of training.
    """

    def __init__(self, path: str, device: str | torch.device = "cpu"):
        try:
            from diffusers import AutoencoderKL
        except ImportError as exc:
            raise ImportError(
                f"diffusers is needed here: .venv/bin/pip install diffusers ({exc})"
            ) from None
        self.device = torch.device(device)
        self.vae = AutoencoderKL.from_pretrained(path).eval().requires_grad_(False).to(device)
        config = self.vae.config
        self.channels, self.factor = shape_of(config)
        self.scale = float(config.scaling_factor)
        self.shift = float(getattr(config, "shift_factor", None) or 0.0)

    @torch.inference_mode()
    def encode(self, images: Tensor) -> Tensor:
        posterior = self.vae.encode(images.to(self.device)).latent_dist
        return ((posterior.mean - self.shift) * self.scale).float().cpu()

    @torch.inference_mode()
    def decode(self, latents: Tensor) -> Tensor:
        z = latents.to(self.device) / self.scale + self.shift
        return self.vae.decode(z).sample.clamp(-1, 1).float().cpu()
