"""Stage `clip_scores`: image-image, directional and caption similarity with open_clip.

    - stage: clip_scores
      model: models/clip-vit-b-32      # a local folder: open_clip_config.json + weights

The folder is what open_clip's hub repositories hold (open_clip_config.json and
open_clip_model.safetensors), loaded with open_clip's `local-dir:` schema; nothing is
downloaded. InstructPix2Pix filtered its pairs on the cosine between the edit's image
direction and its caption direction; with only the instruction known, `clip_direction` takes
the cosine between (target - input) image embeddings and the instruction's text embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataengine.quality.pixel_change import as_rgb, edited_frame
from dataengine.schema import Pair, Unit, replace_placeholders
from dataengine.stage import Resources, Stage

CONFIG_FILE = "open_clip_config.json"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pth")
STILL = 1e-6  # an image direction shorter than this is no edit: its direction score is 0


@dataclass
class ClipParams:
    model: str = ""  # a local open_clip folder
    batch_size: int = 32
    device: str = "cpu"


class ClipScores(Stage):
    name = "clip_scores"
    Params = ClipParams
    requires = frozenset({"instructions"})
    provides = frozenset({"scores"})
    resources = Resources(holds_model=True)  # an actor pool; `resources:` sizes it

    @classmethod
    def validate(cls, params: ClipParams) -> None:
        folder = Path(params.model)
        if not params.model or not (folder / CONFIG_FILE).is_file():
            raise ValueError(
                f"model: {params.model!r} is not an open_clip folder; give a local folder "
                f"holding {CONFIG_FILE} and its weights (open_clip_model.safetensors)"
            )
        if not any(any(folder.glob(p)) for p in WEIGHT_PATTERNS):
            raise ValueError(f"model: {folder} has no weights ({', '.join(WEIGHT_PATTERNS)})")
        if params.batch_size < 1:
            raise ValueError(f"batch_size is {params.batch_size}; give at least 1")

    def setup(self) -> None:
        import torch

        from dataengine.open_clip_model import load_open_clip

        loaded = load_open_clip(self.params.model, device=self.params.device)
        self.torch = torch
        self.model, self.preprocess = loaded.model, loaded.preprocess
        self.tokenizer = loaded.tokenizer

    def process(self, unit: Unit) -> Unit:
        pairs = [p for p in unit.pairs if p.ok]
        for start in range(0, len(pairs), self.params.batch_size):
            self.score_batch(pairs[start : start + self.params.batch_size])
        return unit

    def score_batch(self, pairs: list[Pair]) -> None:
        targets = self.embed_images([p.target for p in pairs])
        texts = self.embed_texts([instruction_text(p.instruction) for p in pairs])
        edited = [(i, edited_frame(p)) for i, p in enumerate(pairs)]
        edited = [(i, f) for i, f in edited if f is not None]
        inputs = self.embed_images([f.image for _, f in edited]) if edited else None
        for row, (i, _) in enumerate(edited):
            scores = pairs[i].scores
            scores["clip_image_similarity"] = float(inputs[row] @ targets[i])
            scores["clip_direction"] = direction_score(inputs[row], targets[i], texts[i])
        captioned = [i for i, p in enumerate(pairs) if p.caption]
        if captioned:
            captions = self.embed_texts([pairs[i].caption for i in captioned])
            for row, i in enumerate(captioned):
                pairs[i].scores["clip_caption"] = float(captions[row] @ targets[i])

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        from PIL import Image

        batch = self.torch.stack([self.preprocess(Image.fromarray(as_rgb(im))) for im in images])
        with self.torch.no_grad():
            features = self.model.encode_image(batch.to(self.params.device))
        return _unit_rows(features.float().cpu().numpy())

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        with self.torch.no_grad():
            tokens = self.tokenizer(texts).to(self.params.device)
            features = self.model.encode_text(tokens)
        return _unit_rows(features.float().cpu().numpy())


def instruction_text(instruction: str | None) -> str:
    """The instruction as CLIP reads it: frames named in words, not placeholders."""
    return replace_placeholders(instruction or "", "the image")


def direction_score(source: np.ndarray, target: np.ndarray, text: np.ndarray) -> float:
    """Cosine of the image edit direction (unit embeddings) and the instruction embedding."""
    direction = target - source
    norm = float(np.linalg.norm(direction))
    if norm < STILL:
        return 0.0
    return float(direction @ text / norm)


def _unit_rows(features: np.ndarray) -> np.ndarray:
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
