"""What changes between two captions, phrase by phrase: the raw material of a mined pair's
instruction.

Captions are cut into phrases at commas, semicolons and the words "and", "with" and "on";
phrases found in only one caption are what was removed and what was added. For the shapes
world, "a red circle at the top left and a blue star at the center on a tan paper
background" against the same scene with a green star gives removed = ("a blue star at the
center",), added = ("a green star at the center",).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"\s*[,;]\s*|\s+(?:and|with|on)\s+", re.IGNORECASE)

ADD, REMOVE, REPLACE = "add", "remove", "replace"
SAME, UNKNOWN = "same", "unknown"  # nothing to say: an MLLM has to look at the images


@dataclass(frozen=True)
class CaptionChange:
    kind: str  # add | remove | replace | same | unknown
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()

    @property
    def describable(self) -> bool:
        return self.kind in (ADD, REMOVE, REPLACE)

    def slots(self) -> dict[str, str]:
        """Template slots: what goes ($removed, named as a thing already there) and what
        comes ($added)."""
        return {
            "removed": " and ".join(definite(p) for p in self.removed),
            "added": " and ".join(self.added),
        }


def caption_change(before: str | None, after: str | None) -> CaptionChange:
    if not before or not after:
        return CaptionChange(UNKNOWN)
    old, new = phrases(before), phrases(after)
    removed = tuple(p for p in old if p not in new)
    added = tuple(p for p in new if p not in old)
    if removed and added:
        return CaptionChange(REPLACE, removed, added)
    if added:
        return CaptionChange(ADD, (), added)
    if removed:
        return CaptionChange(REMOVE, removed, ())
    return CaptionChange(SAME)


def phrases(caption: str) -> list[str]:
    parts = (p.strip(" .").lower() for p in _SEPARATORS.split(caption.strip()))
    return list(dict.fromkeys(p for p in parts if p))  # unique, in caption order


def definite(phrase: str) -> str:
    """'a red circle' -> 'the red circle': what is removed or replaced is already there."""
    return re.sub(r"^(?:a|an)\s+", "the ", phrase)
