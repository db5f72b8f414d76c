"""Phrasings for reference tasks. Slots use $name."""

PHRASINGS: dict[str, tuple[str, ...]] = {}
