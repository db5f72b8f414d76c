"""CLIP-based metrics, when an open_clip checkpoint folder is given (nothing is downloaded).

The folder is open_clip's own layout: open_clip_config.json ({"model_cfg": ...}) beside
open_clip_model.safetensors (or open_clip_pytorch_model.bin), loaded as `local-dir:PATH`.

    clip_i     cos(E(output), E(target))                      image fidelity
    clip_out   cos(E(output), T(caption of the target))       agreement with the text
    clip_dir   cos(E(output) - E(input), E(target) - E(input)) did it move the right way
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dataengine.open_clip_model import load_open_clip


class ClipScorer:
    def __init__(self, path: str | Path, device: str | torch.device = "cpu"):
        folder = Path(path)
        if not (folder / "open_clip_config.json").is_file():
            raise FileNotFoundError(
                f"{folder} is not an open_clip folder: it needs open_clip_config.json and weights"
            )
        self.device = torch.device(device)
        loaded = load_open_clip(folder)
        self.model = loaded.model.to(self.device)
        self.preprocess, self.tokenizer = loaded.preprocess, loaded.tokenizer

    @torch.inference_mode()
    def images(self, images: list[np.ndarray]) -> torch.Tensor:
        batch = torch.stack([self.preprocess(Image.fromarray(im)) for im in images])
        features = self.model.encode_image(batch.to(self.device)).float()
        return torch.nn.functional.normalize(features, dim=-1).cpu()

    @torch.inference_mode()
    def texts(self, texts: list[str]) -> torch.Tensor:
        features = self.model.encode_text(self.tokenizer(texts).to(self.device)).float()
        return torch.nn.functional.normalize(features, dim=-1).cpu()

    def scores(
        self,
        output: np.ndarray,
        target: np.ndarray,
        source: np.ndarray | None,
        caption: str | None,
    ) -> dict[str, float]:
        images = [output, target] + ([source] if source is not None else [])
        feats = self.images(images)
        result = {"clip_i": float(feats[0] @ feats[1])}
        if caption:
            result["clip_out"] = float(feats[0] @ self.texts([caption])[0])
        if source is not None:
            moved, wanted = feats[0] - feats[2], feats[1] - feats[2]
            result["clip_dir"] = float(torch.nn.functional.cosine_similarity(moved, wanted, dim=0))
        return result
