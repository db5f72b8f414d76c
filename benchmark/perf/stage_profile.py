"""Where a recipe's CPU time goes: planning (the mining pass included), reading sources,
each stage, and the sink (encoding, tar, index), in CPU seconds of this process.

The recipe runs in-process, unit by unit, through the engine's own StageChain and
ShardWriter with a clock around each part, so the shares are those of a real run; the
decode+encode floor lies inside "decode" and "sink".
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path

from dataengine.chain import StageChain
from dataengine.executors import InProcess, heap
from dataengine.recipe import Recipe
from dataengine.runner import plan_units
from dataengine.sinks.shard_writer import ShardWriter


def stage_seconds(recipe: Recipe, out: Path, limit: int | None = None) -> dict[str, float]:
    """CPU seconds per part of the run, in the order the parts run."""
    seconds: Counter[str] = Counter()
    heap.tune()  # as every worker does before its first unit (executors/base.py run_unit)
    clock = time.process_time()
    units = plan_units(recipe, InProcess(), limit, progress=False)
    seconds["plan (source refs, mining)"] = time.process_time() - clock
    load = StageChain([], recipe.source)
    writer = ShardWriter(out, recipe.sink)
    for planned in units:
        unit = dataclasses.replace(planned, sources=[], pairs=[])
        clock = time.process_time()
        unit = load(unit)
        seconds["read sources"] += time.process_time() - clock
        for stage in recipe.stages:
            clock = time.process_time()
            unit = stage(unit)
            seconds[f"stage {stage.name}"] += time.process_time() - clock
        clock = time.process_time()
        writer.write(unit)
        seconds["sink (encode, tar, index)"] += time.process_time() - clock
    return dict(seconds)
