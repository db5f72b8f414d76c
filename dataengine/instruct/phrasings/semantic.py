"""Phrasings for semantic tasks. Slots use $name."""

PHRASINGS: dict[str, tuple[str, ...]] = {}
