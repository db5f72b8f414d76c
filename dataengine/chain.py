"""Running a recipe's stages on one work unit: the chain every executor runs.

A `UnitJob` is what an executor needs to turn units into shards: the stages, the source
that loads a unit's references (when the job starts from sources) and the writer of its
shard. `StageChain` runs the stages on a unit; it is picklable, so an executor can hand it
to a worker process or a Ray task.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from dataengine.schema import Unit
from dataengine.stage import Stage


@dataclass
class UnitJob:
    stages: list[Stage]
    source: Any = None  # a Source, when the job starts by loading the unit's references
    writer: Any = None  # a ShardWriter, when the job ends by writing the unit's shard

    @property
    def holds_model(self) -> bool:
        return any(stage.resources.holds_model for stage in self.stages)

    def chain(self) -> StageChain:
        return StageChain(self.stages, self.source, self.writer)


class StageChain:
    """Loads a unit's sources (when first in line) and runs stages on it. Picklable.

    Given the `writer` that will write the unit, a chain that loads its sources and whose
    stages all work per source (`Stage.per_source`) runs the unit `SLICE` sources at a
    time and has the writer pack each slice's pairs (encode their members, keep their
    index rows) before the next slice: a worker then holds a slice's pixels, not a unit's,
    and the next slice's decode buffers reuse the heap pages the last one freed."""

    SLICE = 8

    def __init__(self, stages: list[Stage], source=None, writer=None):
        self.stages, self.source, self.writer = stages, source, writer

    def __call__(self, unit: Unit) -> Unit:
        if not self.streams:
            return self._run(unit)
        for start in range(0, len(unit.refs), self.SLICE):
            refs = unit.refs[start : start + self.SLICE]
            part = self._run(dataclasses.replace(unit, refs=refs, sources=[], pairs=[], packed=[]))
            unit.packed += map(self.writer.pack, part.pairs)
        return unit

    @property
    def streams(self) -> bool:
        return (
            self.writer is not None
            and self.source is not None
            and all(stage.per_source for stage in self.stages)
        )

    def _run(self, unit: Unit) -> Unit:
        if self.source is not None:
            unit.sources = [self.source.load(ref) for ref in unit.refs]
            for source in unit.sources:
                source.split = unit.split
        for stage in self.stages:
            unit = stage(unit)
        return unit
