"""Sources: where source images come from, listed cheaply, loaded one at a time.

A source first lists references (`refs()`): small, picklable, sorted by id, so that the
runner can cut them into fixed work units before loading any pixels. `load(ref)` then
returns a SourceImage holding either encoded bytes (files, shards, tables) or pixels
already (generated images). A file that cannot be read becomes a SourceImage with a
status, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dataengine.schema import SourceImage


@dataclass(frozen=True)
class SourceRef:
    """Where one source image lives. `locator` is source-specific (a path, an offset...)."""

    id: str
    group: str
    locator: tuple = ()
    caption: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Source:
    """Base class of the recipe's `source` block."""

    name: str = ""

    def refs(self) -> list[SourceRef]:
        raise NotImplementedError

    def load(self, ref: SourceRef) -> SourceImage:
        raise NotImplementedError
