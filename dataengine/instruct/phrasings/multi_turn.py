"""Phrasings for multi-turn tasks. Slots use $name."""

PHRASINGS: dict[str, tuple[str, ...]] = {}
