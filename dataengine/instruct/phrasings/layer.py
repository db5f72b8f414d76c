"""Phrasings for layer tasks. Slots use $name."""

PHRASINGS: dict[str, tuple[str, ...]] = {}
