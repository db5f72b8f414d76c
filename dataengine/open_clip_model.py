"""Loading an open_clip model from local files: one place for the mining embedder, the
quality scorer and the model evaluation. Nothing is downloaded: `path` is a folder saved in
open_clip's hub layout (open_clip_config.json + weights), or a checkpoint file with the
name of its `architecture` (an open_clip config such as ViT-B-32)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class OpenClip:
    model: Any  # in eval mode
    preprocess: Any  # PIL image -> tensor
    tokenizer: Any  # list[str] -> token tensor


def load_open_clip(path: str | Path, architecture: str | None = None, device: str = "cpu"):
    try:
        import open_clip
    except ImportError as exc:
        raise ImportError("open_clip models need `pip install open_clip_torch`") from exc
    if Path(path).is_dir():
        name = f"local-dir:{Path(path).resolve()}"
        model, _, preprocess = open_clip.create_model_and_transforms(name, device=device)
        tokenizer = open_clip.get_tokenizer(name)
    else:
        if not architecture:
            raise ValueError(f"{path} is a checkpoint file: name its open_clip architecture")
        model, _, preprocess = open_clip.create_model_and_transforms(
            architecture, pretrained=str(path), device=device
        )
        tokenizer = open_clip.get_tokenizer(architecture)
    return OpenClip(model.eval(), preprocess, tokenizer)
