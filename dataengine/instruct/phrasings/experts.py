"""Phrasings for model-backed tasks (depth, pose, generative pipelines)."""

PHRASINGS: dict[str, tuple[str, ...]] = {}
