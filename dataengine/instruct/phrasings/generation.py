"""Phrasings for generation tasks. Slots use $name."""

PHRASINGS: dict[str, tuple[str, ...]] = {}
