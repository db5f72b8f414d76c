"""Make the mined_pairs source, its makers and phrasings known for a test, and forget them
after: in the product, registry.py and instruct/templates.py list them."""

from __future__ import annotations

import pytest


def register_mining(mp: pytest.MonkeyPatch) -> None:
    from dataengine.instruct import templates
    from dataengine.mine.phrasings import PHRASINGS
    from dataengine.mine.source import MinedPairs
    from dataengine.registry import SOURCES, all_makers

    MAKERS = all_makers()  # the product's own registrations come first

    unlisted = [task for task in PHRASINGS if task not in MAKERS]
    from dataengine.mine import pair_maker  # its first import registers the makers

    for cls in (pair_maker.MinedEdit, pair_maker.MinedAdd, pair_maker.MinedRemove):
        if cls.task in unlisted:  # registered by this test, not by the product: undo after
            MAKERS.pop(cls.task, None)
            mp.setitem(MAKERS, cls.task, cls)
    if MinedPairs.name not in SOURCES:
        mp.setitem(SOURCES, MinedPairs.name, MinedPairs)
    for task, phrasings in PHRASINGS.items():
        if task not in templates.TEMPLATES:
            mp.setitem(templates.TEMPLATES, task, phrasings)
