"""Phrasings for restoration tasks. Slots use $name."""

PHRASINGS: dict[str, tuple[str, ...]] = {}
