"""Generation with a trained checkpoint: batches of LCUs for evaluation, and `edit` for one
user request (images, masks, an instruction, and earlier turns as history).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from ace_model import checkpoint
from ace_model.conditioning import LCU, pack, text_plan
from ace_model.data import mask_tensor, rgb_tensor, tensor_rgb
from ace_model.encoders import TextEncoder, build_codec
from ace_model.flow import euler_sample
from ace_model.train import autocast, pick_device
from dataengine.sinks.latent_store import buckets, nearest_bucket


class Sampler:
    """A checkpoint ready to generate: its EMA network, its encoders, its buckets."""

    def __init__(self, ckpt: str | Path, device: str | None = None, weights: str = "ema"):
        payload = checkpoint.load(ckpt)
        self.path, self.step = payload["path"], int(payload["step"])
        self.spec = checkpoint.spec_of(payload)
        self.train = checkpoint.train_config_of(payload)
        self.device = pick_device(device)
        self.model = checkpoint.load_model(payload, weights).to(self.device)
        self.text = TextEncoder(self.spec.text, self.device)
        self.codec = build_codec(self.spec.codec, self.device)
        self.sizes = buckets(self.train.resolution, self.spec.model.patch * self.codec.factor)

    def generate(
        self,
        lcus: list[LCU],
        size: tuple[int, int],
        steps: int = 20,
        guidance: float = 1.0,
        seed: int = 0,
    ) -> Tensor:
        """Targets for LCUs of one bucket: (B, 3, H, W) in [-1, 1]."""
        cond = pack(lcus, size, self.text, self.codec).to(self.device)
        f = self.codec.factor
        shape = (len(lcus), self.codec.channels, size[0] // f, size[1] // f)
        generator = torch.Generator().manual_seed(seed)
        with autocast(self.device):
            latents = euler_sample(self.model, cond, shape, steps, guidance, generator)
        return self.codec.decode(latents.float())

    def edit(
        self,
        images: Sequence[np.ndarray],
        instruction: str,
        masks: Sequence[np.ndarray | None] = (),
        history: Sequence[tuple[np.ndarray, str]] = (),
        steps: int = 20,
        guidance: float = 1.0,
        seed: int = 0,
        keep_unmasked: bool = True,
    ) -> np.ndarray:
        """One request: uint8 RGB images (named {image}, {image1} ... in the instruction),
        optional uint8 masks (255 = edit) for them, and earlier turns as (image, their
        instruction naming it {image}). Returns uint8 RGB at the first image's size (the
        model works at its training resolution; the result is scaled up to it).

        keep_unmasked: when the edited image (the first, {image}) has a mask, the result
        keeps that image's own pixels outside it, at full resolution, and takes the
        network's only inside it. Turn it off where the mask marks something else than the
        region to edit (a layer to extract: docs/FORMAT.md)."""
        first = images[0] if images else (history[0][0] if history else None)
        h, w = first.shape[:2] if first is not None else (self.train.resolution,) * 2
        size = nearest_bucket(h, w, self.sizes)
        lcu = request_lcu(images, instruction, masks, history, size)
        text_plan(lcu)  # a placeholder naming a missing image fails here, with its name
        made = self.generate([lcu], size, steps, guidance, seed)
        out = cv2.resize(tensor_rgb(made[0]), (w, h), interpolation=cv2.INTER_CUBIC)
        return keep_outside_mask(out, images, masks, keep_unmasked)


def keep_outside_mask(
    out: np.ndarray, images: Sequence[np.ndarray], masks: Sequence[np.ndarray | None], keep: bool
) -> np.ndarray:
    """What `edit` returns of the network's image `out`: with `keep` and a mask on the edited
    image (the first), that image's own pixels outside the mask; else `out` as it is."""
    mask = masks[0] if keep and images and masks else None
    return out if mask is None else paste_unmasked(out, images[0], mask)


def paste_unmasked(out: np.ndarray, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`out` inside the mask (255 = edit, soft edges blend) and `image` outside it, at
    out's size: the untouched part keeps its full-resolution pixels."""
    h, w = out.shape[:2]
    image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    inside = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)[..., None] / 255.0
    return np.round(inside * out + (1.0 - inside) * image).astype(np.uint8)


def check_request(n_images: int, instruction: str, history: Sequence[str]) -> None:
    """Refuse a request whose text names a missing image, before any model is loaded."""
    blank = torch.zeros(3, 1, 1)
    text_plan(
        LCU(
            key="request",
            instruction=instruction,
            images=[blank] * (len(history) + n_images),
            roles=["history"] * len(history) + ["input"] * n_images,
            frame_instructions=[*history, *[None] * n_images],
        )
    )


# A mask saved at another scale of its image may have a side rounded by a pixel or two.
MASK_ASPECT_TOLERANCE = 0.03


def check_masks(
    images: Sequence[np.ndarray], masks: Sequence[np.ndarray | None], names: Sequence[str] = ()
) -> None:
    """Refuse a mask whose aspect ratio is not its image's: scaled to the image, it would be
    stretched and mark another region than the one drawn. `names` name the masks in the
    message (default: mask 1, mask 2 ...)."""
    for i, (image, mask) in enumerate(zip(images, masks, strict=False)):
        if mask is None:
            continue
        (ih, iw), (mh, mw) = image.shape[:2], mask.shape[:2]
        if abs((mw * ih) / (mh * iw) - 1) > MASK_ASPECT_TOLERANCE:
            name = names[i] if i < len(names) else f"mask {i + 1}"
            raise ValueError(
                f"{name} is {mw}x{mh} but its image is {iw}x{ih}; scaling it would stretch "
                f"the region it marks: give a mask of the image's size, {iw}x{ih}"
            )


def request_lcu(
    images: Sequence[np.ndarray],
    instruction: str,
    masks: Sequence[np.ndarray | None],
    history: Sequence[tuple[np.ndarray, str]],
    size: tuple[int, int],
) -> LCU:
    if len(masks) > len(images):
        raise ValueError(f"{len(masks)} masks for {len(images)} images; give at most one each")
    check_masks(images, masks)
    masks = list(masks) + [None] * (len(images) - len(masks))
    frames = [(img, None, "history", text) for img, text in history]
    frames += [(img, mask, "input", None) for img, mask in zip(images, masks, strict=True)]
    return LCU(
        key="request",
        instruction=instruction,
        images=[rgb_tensor(img, size) for img, _, _, _ in frames],
        masks=[mask_tensor(mask, size) for _, mask, _, _ in frames],
        roles=[role for _, _, role, _ in frames],
        frame_instructions=[text for _, _, _, text in frames],
    )
