"""The open_clip image embedder: any open_clip architecture, weights from a local path.

Nothing is downloaded. `path` is either a folder in open_clip's own layout
(`open_clip_config.json` beside `open_clip_model.safetensors` or `open_clip_pytorch_model.bin`,
as saved from the Hugging Face hub) or a checkpoint file, with `architecture` naming one of
open_clip's built-in configs (`ViT-B-32`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataengine.mine.embedders.base import Embedder, files_identity, unit_rows
from dataengine.schema import SourceImage


@dataclass
class OpenClipParams:
    path: str
    architecture: str | None = None  # only with a checkpoint file; a folder has its config
    device: str = "cpu"
    batch_size: int = 32  # images per forward pass


class OpenClipEmbedder(Embedder):
    kind = "open_clip"
    holds_model = True
    Params = OpenClipParams

    @classmethod
    def validate(cls, params: OpenClipParams) -> None:
        path = Path(params.path)
        if not path.exists():
            raise ValueError(f"path: {params.path} does not exist; give a local open_clip model")
        if path.is_dir() and not (path / "open_clip_config.json").is_file():
            raise ValueError(
                f"path: {params.path} has no open_clip_config.json; give a folder in "
                "open_clip's layout, or a checkpoint file with `architecture`"
            )
        if path.is_file() and not params.architecture:
            raise ValueError(
                f"path: {params.path} is a checkpoint file; name its `architecture` "
                "(an open_clip config such as ViT-B-32)"
            )
        if params.batch_size < 1:
            raise ValueError(f"batch_size: {params.batch_size} must be at least 1")

    def setup(self) -> None:
        from dataengine.open_clip_model import load_open_clip

        p = self.params
        loaded = load_open_clip(p.path, p.architecture, p.device)
        self.model, self.preprocess = loaded.model, loaded.preprocess

    def embed(self, sources: list[SourceImage]) -> np.ndarray:
        import torch
        from PIL import Image

        out = []
        for start in range(0, len(sources), self.params.batch_size):
            batch = sources[start : start + self.params.batch_size]
            pixels = torch.stack([self.preprocess(Image.fromarray(s.image)) for s in batch])
            with torch.inference_mode():
                features = self.model.encode_image(pixels.to(self.params.device))
            out.append(features.float().cpu().numpy())
        return unit_rows(np.concatenate(out))

    def model_identity(self):
        return files_identity(self.params.path)
