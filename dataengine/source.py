"""Source: where source images come from, listed cheaply, loaded one at a time.

A source first lists references (`refs()`): small, picklable, sorted by id, so that the
runner can cut them into fixed work units before loading any pixels. `load(ref)` then
returns a SourceImage holding either encoded bytes (files, shards, tables) or pixels
already (generated images). A file that cannot be read becomes a SourceImage with a
status, never an exception.

A source that needs a pass over all its images before it can list them (`mined_pairs`
embeds and mines its pool) does it in `prepare(executor)`, which the runner calls once,
before `refs()`, with the run's executor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from dataengine.schema import SourceImage
from dataengine.stage import Resources


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

    name: ClassVar[str] = ""
    # True for a source with a pass of its own (prepare); only such a source takes a
    # `resources:` block, for the workers of that pass.
    runs_pass: ClassVar[bool] = False
    resources: Resources = Resources()

    def prepare(self, executor: Any, progress: bool = True) -> None:
        """Run the source's own pass over its images, on `executor` (an Executor)."""

    def refs(self) -> list[SourceRef]:
        raise NotImplementedError

    def load(self, ref: SourceRef) -> SourceImage:
        raise NotImplementedError
