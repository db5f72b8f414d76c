"""What two captions say changed: the slots of a mined pair's instruction."""

from __future__ import annotations

import pytest

from dataengine.mine.caption_diff import caption_change, phrases

BASE = (
    "a large red circle at the top left and a small blue star at the center "
    "on a tan paper background"
)


def test_phrases_split_at_commas_and_joining_words():
    assert phrases(BASE) == [
        "a large red circle at the top left",
        "a small blue star at the center",
        "a tan paper background",
    ]


def test_one_object_changed_is_a_replacement():
    change = caption_change(BASE, BASE.replace("blue star", "green star"))
    assert change.kind == "replace"
    assert change.slots() == {
        "removed": "the small blue star at the center",
        "added": "a small green star at the center",
    }


def test_an_object_more_or_less():
    more = BASE.replace(" and a small", ", a medium pink hexagon at the bottom right and a small")
    added = caption_change(BASE, more)
    assert (added.kind, added.added) == ("add", ("a medium pink hexagon at the bottom right",))
    removed = caption_change(more, BASE)
    assert removed.kind == "remove"
    assert removed.slots()["removed"] == "the medium pink hexagon at the bottom right"


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        (BASE, BASE, "same"),
        (BASE, None, "unknown"),
        ("", BASE, "unknown"),
        (BASE, BASE.upper(), "same"),
    ],
)
def test_nothing_to_describe(before, after, kind):
    change = caption_change(before, after)
    assert change.kind == kind and not change.describable
