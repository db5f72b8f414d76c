"""Runs a recipe: plans its work units and hands them to an executor, which writes shards.

A work unit is a fixed slice of the sources (a split, and up to `unit_size` source
references sorted by id) that becomes exactly one shard; its id hashes the recipe and those
references, so a rerun plans the same units and `--resume` skips the ones whose stats file
exists with the same id. Where the units run (this process, local worker processes, Ray)
is the executor's business (dataengine/executors/); the shards are the same bytes on each.

Before the units: the source's own pass (`mined_pairs` mines its pool) and the vLLM engine
pass of a `ray_data_llm` writer run on the same executor.
"""

from __future__ import annotations

import logging
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataengine.chain import UnitJob
from dataengine.params import RecipeError
from dataengine.recipe import Recipe
from dataengine.schema import SPLITS, Unit, canonical_json, derive_seed
from dataengine.sinks.card import write_run_card
from dataengine.sinks.layout import Layout
from dataengine.sinks.lock import output_lock
from dataengine.sinks.shard_writer import ShardWriter, remove_temporaries, write_run_info
from dataengine.source import SourceRef
from dataengine.storage import as_path

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    out: Path
    shards: int
    skipped: int
    by_status: dict[str, int] = field(default_factory=dict)
    by_task: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    nodes: int = 0  # Ray nodes that wrote shards in this run (0 in-process)

    @property
    def samples(self) -> int:
        return self.by_status.get("ok", 0)


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------


def spread(refs: list[SourceRef], limit: int) -> list[SourceRef]:
    """`limit` references spread evenly over the sorted list. Sources list their kinds of
    image in runs (a mined pool's pairs sort before its photos, photos before shapes-world
    scenes): the first N alone would show one kind."""
    if limit >= len(refs):
        return refs
    return [refs[i * len(refs) // limit] for i in range(limit)]


def plan_units(
    recipe: Recipe, executor: Any, limit: int | None = None, progress: bool = True
) -> list[Unit]:
    """Cut the source references into work units, per split, in a fixed order. A source
    with a pass of its own runs it first, on `executor`."""
    try:
        recipe.source.prepare(executor, progress)
        refs = sorted(recipe.source.refs(), key=lambda r: r.id)
    except (ValueError, OSError) as exc:  # a missing folder, a table without the column...
        raise RecipeError(f"source ({recipe.source.name}): {exc}") from None
    if limit is not None:
        refs = spread(refs, limit)
    fingerprint = canonical_json(recipe.raw)
    units = []
    for split, members in _assign_splits(refs, recipe.splits, recipe.seed).items():
        for index, start in enumerate(range(0, len(members), recipe.unit_size)):
            chunk = members[start : start + recipe.unit_size]
            unit_id = f"{derive_seed(fingerprint, split, [r.id for r in chunk]):016x}"
            units.append(Unit(id=unit_id, split=split, index=index, refs=chunk))
    return units


def _assign_splits(refs: list, splits: dict[str, float], seed: int) -> dict[str, list]:
    """A source's split follows its group (all crops of one photo, one shapes family), drawn
    from a hash so it never depends on which other sources are present."""
    names, bounds, total = list(splits), [], 0.0
    for name in names:
        total += splits[name]
        bounds.append(total)
    out: dict[str, list] = {name: [] for name in SPLITS if name in splits}
    for ref in refs:
        u = (derive_seed(seed, "split", ref.group) % 1_000_000) / 1_000_000
        out[next((n for n, b in zip(names, bounds, strict=True) if u < b), names[-1])].append(ref)
    return out


# --------------------------------------------------------------------------------------------
# Running a recipe
# --------------------------------------------------------------------------------------------


def run_recipe(
    recipe: Recipe,
    out: str | Path,
    executor: Any,
    *,
    limit: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> RunSummary:
    """Run `recipe` into `out` on `executor` (an Executor: dataengine.executors); the
    shards are the same bytes whichever executor wrote them."""
    out = as_path(out)
    if out.exists() and not out.is_dir():
        raise RecipeError(f"--out {out} is a file; give a folder for the run's shards")
    # Planning reads only (a mining pass writes its own cache): a source that cannot be
    # listed stops the run before `out` exists. Everything after it holds the lock.
    units = plan_units(recipe, executor, limit, progress)
    with output_lock(out):
        return _run(recipe, out, executor, units, limit, resume, progress)


def _run(recipe, out: Path, executor, units, limit, resume, progress) -> RunSummary:
    writer = ShardWriter(out, recipe.sink)
    todo = _units_to_do(units, writer, out, resume)
    fill_llm_caches(recipe, todo, executor)
    started = time.time()
    log.info("%s: %d units planned, %d to do, output %s", recipe.name, len(units), len(todo), out)
    bar = _progress_bar(len(units), len(units) - len(todo), recipe.name, progress)
    nodes, samples = set(), 0
    for stats in executor.run_units(UnitJob(recipe.stages, recipe.source, writer), todo):
        nodes.add(stats.get("node"))
        samples += stats["samples"]
        bar.update(1)
        bar.set_postfix(samples=samples, refresh=False)  # written by this run so far
    bar.close()
    summary = _summarise(out, units, len(units) - len(todo), time.time() - started)
    summary.nodes = len(nodes - {None})
    info = _run_info(recipe, summary, started, limit, executor.record())
    write_run_info(out, info)
    write_run_card(out, info)
    return summary


def fill_llm_caches(recipe: Recipe, units: list[Unit], executor: Any) -> int:
    """The vLLM engine pass of each `ray_data_llm` writer (instruct/engine.py): answers
    every request its units will make into the response cache; -> answers stored."""
    stored = 0
    for i, stage in enumerate(recipe.stages):
        if getattr(stage.params, "backend", None) != "ray_data_llm" or not units:
            continue
        from dataengine.instruct.cache import ResponseCache
        from dataengine.instruct.engine import RequestsOfUnit, store_answers, writer_engine

        job = UnitJob(recipe.stages[:i], recipe.source)
        rows = executor.generate_llm(job, units, RequestsOfUnit(stage), writer_engine(stage))
        cache = ResponseCache(stage.params.cache_dir)
        stored += store_answers(rows, cache, stage.params.model)
        log.info("%s: %d answers from the vLLM engine pass", stage.name, stored)
    return stored


def _progress_bar(total: int, done: int, name: str, shown: bool):
    """A bar of shards, or, for a quiet run, one that shows nothing without importing tqdm
    (whose import reads package metadata: about 40 ms of a command's start-up)."""
    if not shown:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="shard", desc=name)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values) -> None:
        pass

    def close(self) -> None:
        pass


def _units_to_do(units: list[Unit], writer: ShardWriter, out: Path, resume: bool) -> list[Unit]:
    """The units whose shards are not on disk whole. Every refusal comes before anything in
    `out` is touched; a complete-looking shard whose tar is not what its stats record (cut,
    changed) loses its stats file, so no reader trusts it, and is redone."""
    layout = Layout(out)
    existing = layout.complete_shards()
    if existing and not resume:
        raise RecipeError(
            f"{out} already holds a run ({len(existing)} complete shards); pass "
            "--resume to continue it, or choose another --out"
        )
    _check_same_plan(units, existing, layout, out)
    remove_temporaries(out)
    todo = []
    for unit in units:
        problem = writer.problem(unit)
        if problem is not None and unit.shard_name in existing:
            log.warning("%s: %s; it is redone", unit.shard_name, problem)
            layout.stats(unit.shard_name).unlink()
        if problem is not None:
            todo.append(unit)
    return todo


def _check_same_plan(units: list[Unit], existing: list[str], layout: Layout, out: Path) -> None:
    """Every complete shard in `out` must be one this plan would write, from the same unit."""
    planned = {unit.shard_name: unit.id for unit in units}
    for shard in existing:
        if planned.get(shard) != layout.read_stats(shard).get("unit"):
            raise RecipeError(
                f"{out} was made by a different recipe or input (shard {shard} is not this "
                "recipe's); choose another --out"
            )


# --------------------------------------------------------------------------------------------
# The run record
# --------------------------------------------------------------------------------------------


def _summarise(out: Path, units: list[Unit], skipped: int, seconds: float) -> RunSummary:
    layout, by_status, by_task = Layout(out), Counter(), Counter()
    for unit in units:
        stats = layout.read_stats(unit.shard_name)
        by_status.update(stats["by_status"])
        by_task.update(stats["by_task"])
    return RunSummary(
        out=out,
        shards=len(units),
        skipped=skipped,
        by_status=dict(by_status),
        by_task=dict(sorted(by_task.items())),
        seconds=seconds,
    )


def _run_info(
    recipe: Recipe, summary: RunSummary, started: float, limit, executor: dict[str, Any]
) -> dict[str, Any]:
    return {
        "recipe": recipe.raw,
        "seed": recipe.seed,
        "limit": limit,
        **executor,
        "versions": _versions(),
        "host": platform.node(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "ended": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(summary.seconds, 3),
        "shards": summary.shards,
        "shards_skipped_on_resume": summary.skipped,
        "ray_nodes_used": summary.nodes,
        "counts": {"by_status": summary.by_status, "by_task": summary.by_task},
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = [
        "ace-data-engine",
        "numpy",
        "opencv-python-headless",
        "pillow",
        "pyarrow",
        "ray",
        "webdataset",
    ]
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
