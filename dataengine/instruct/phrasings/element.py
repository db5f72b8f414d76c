"""Phrasings for element tasks. Slots use $name."""

PHRASINGS: dict[str, tuple[str, ...]] = {}
