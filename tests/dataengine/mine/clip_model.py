"""A tiny, randomly initialised open_clip model saved in open_clip's local folder layout.

The real classes and the real loading path (`local-dir:`), with weights no one trained:
tests check that vectors come out of a model loaded from disk, not what they mean.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 8, "vocab_size": 512, "width": 16, "heads": 2, "layers": 1},
}


def build_tiny_clip(folder: Path, seed: int = 0) -> Path:
    import open_clip

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CLIP)
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    config = {
        "model_cfg": TINY_CLIP,
        "preprocess_cfg": {"mean": [0.48, 0.46, 0.41], "std": [0.27, 0.26, 0.28]},
    }
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    return folder
