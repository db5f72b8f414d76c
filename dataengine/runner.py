"""Runs a recipe: plans work units, executes them on Ray Data (or in-process), writes shards.

This is the only module that knows Ray. A work unit is a fixed slice of the sources (a
split, and up to `unit_size` source references sorted by id) that becomes exactly one
shard; its id hashes the recipe and those references, so a rerun plans the same units and
`--resume` skips the ones whose stats file exists with the same id.

On Ray, consecutive stages without a model are fused into one task per unit; a stage whose
model is small and CPU-only (`Resources.max_actors` 0) joins that chain, which then runs as
actors as wide as the free CPUs; every other stage that holds a model runs as an actor pool
of its declared size and resources. Without Ray,
units run in this process or in a pool of local worker processes (`processes`): no cluster
start-up, which on one machine and a small job costs more than the work.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import logging
import multiprocessing
import pickle
import platform
import sys
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataengine import heap
from dataengine.mine.parallel import cores
from dataengine.recipe import Recipe, RecipeError
from dataengine.schema import SPLITS, Unit, canonical_json, derive_seed
from dataengine.sinks.layout import Layout
from dataengine.sinks.shard_writer import ShardWriter, remove_temporaries, write_run_info
from dataengine.sources.base import SourceRef
from dataengine.stage import Stage

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
# The run's context: where global passes run, whether bars show
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunContext:
    """How the run in progress executes, for the global passes its planning starts (a
    mining source embeds its whole pool): they follow the run's executor — in this process
    for `--in-process`, on as many local worker processes for `--processes`, on the run's
    own Ray (`--ray-address`) otherwise — and show progress only when the run does."""

    in_process: bool = False
    ray_address: str | None = None
    progress: bool = True
    processes: int | None = None  # `--processes N`: global passes use N local workers too


_RUN_CONTEXT = RunContext()
_RUN_CLEANUP: contextlib.ExitStack | None = None  # what the run in progress closes at its end


def run_context() -> RunContext:
    return _RUN_CONTEXT


@contextlib.contextmanager
def _running(context: RunContext):
    global _RUN_CONTEXT, _RUN_CLEANUP
    outer = _RUN_CONTEXT, _RUN_CLEANUP
    with contextlib.ExitStack() as cleanup:
        _RUN_CONTEXT, _RUN_CLEANUP = context, cleanup
        try:
            yield
        finally:
            _RUN_CONTEXT, _RUN_CLEANUP = outer


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


def plan_units(recipe: Recipe, limit: int | None = None) -> list[Unit]:
    """Cut the source references into work units, per split, in a fixed order."""
    try:
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
# Executing one unit
# --------------------------------------------------------------------------------------------


class StageChain:
    """Loads a unit's sources (when first in line) and runs stages on it. Picklable.

    Given the `writer` that will write the unit, a chain that loads its sources and whose
    stages all work per source (`Stage.per_source`) runs the unit `SLICE` sources at a
    time and has the writer pack each slice's pairs (encode their members, keep their
    index rows) before the next slice: a worker then holds a slice's pixels, not a unit's,
    and the next slice's decode buffers reuse the heap pages the last one freed."""

    SLICE = 8

    def __init__(self, stages: list[Stage], source=None, writer: ShardWriter | None = None):
        self.stages, self.source, self.writer = stages, source, writer

    def __call__(self, unit: Unit) -> Unit:
        heap.tune()  # every executor runs units through here, in whichever process
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


def _in_chain(stage: Stage) -> bool:
    """Runs in every worker's chain: a model-free stage, or one whose model is cheap to copy
    (CPU only, `max_actors` 0), set up once per worker. Other model stages get a pool."""
    resources = stage.resources
    return not resources.holds_model or (resources.num_gpus == 0 and resources.max_actors == 0)


def _segments(stages: list[Stage]) -> list[list[Stage]]:
    """Group consecutive chain stages; each other model stage stands alone (its actor pool)."""
    segments: list[list[Stage]] = []
    for stage in stages:
        if segments and _in_chain(stage) and all(map(_in_chain, segments[-1])):
            segments[-1].append(stage)
        else:
            segments.append([stage])
    return segments


# --------------------------------------------------------------------------------------------
# Running a recipe
# --------------------------------------------------------------------------------------------


def run_recipe(
    recipe: Recipe,
    out: str | Path,
    *,
    limit: int | None = None,
    resume: bool = False,
    ray_address: str | None = None,
    in_process: bool = False,
    processes: int | None = None,
    progress: bool = True,
) -> RunSummary:
    """Run `recipe` into `out`: on Ray (a local one, or `ray_address`), on `processes` local
    worker processes, or `in_process`; the shards are the same bytes either way.

    Worker processes may be spawned (see `worker_start_method`), so a script that passes
    `processes` calls this under `if __name__ == "__main__":`.
    """
    check_executor(in_process, processes, ray_address)
    local = bool(in_process or processes)
    context = RunContext(
        in_process=local, ray_address=ray_address, progress=progress, processes=processes
    )
    with _running(context):
        return _run(recipe, Path(out), limit, resume, processes, context)


def _run(recipe, out, limit, resume, processes, context: RunContext) -> RunSummary:
    writer = ShardWriter(out, recipe.sink)
    units = plan_units(recipe, limit)
    todo = _units_to_do(units, writer, out, resume)
    started = time.time()
    log.info("%s: %d units planned, %d to do, output %s", recipe.name, len(units), len(todo), out)
    bar = _progress_bar(len(units), len(units) - len(todo), recipe.name, context.progress)
    start = worker_start_method(recipe) if processes else None
    if processes:
        runs = _execute_on_processes(recipe, todo, writer, processes, start)
    elif context.in_process:
        runs = _execute_in_process(recipe, todo, writer)
    else:
        runs = _execute_on_ray(recipe, todo, writer, context.ray_address)
    nodes = set()
    for stats in runs:
        nodes.add(stats.get("node"))
        bar.update(1)
        bar.set_postfix(samples=stats["samples"], refresh=False)
    bar.close()
    summary = _summarise(out, units, len(units) - len(todo), time.time() - started)
    summary.nodes = len(nodes - {None})
    executor = _executor_name(context.in_process, processes, context.ray_address)
    info = _run_info(recipe, summary, started, limit, executor)
    if start:
        info["workers_started_by"] = start
    write_run_info(out, info)
    return summary


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


def check_executor(in_process: bool, processes: int | None, ray_address: str | None) -> None:
    """At most one executor, and a positive number of processes: before any work."""
    if processes is not None and processes < 1:
        raise RecipeError(f"--processes is {processes}; give 1 or more worker processes")
    chosen = [name for name, on in [("--in-process", in_process), ("--processes", processes),
                                    ("--ray-address", ray_address)] if on]  # fmt: skip
    if len(chosen) > 1:
        raise RecipeError(f"{' and '.join(chosen)} choose different executors; give one")


def _executor_name(in_process: bool, processes: int | None, ray_address: str | None) -> str:
    if processes:
        return f"processes:{processes}"
    return "in_process" if in_process else f"ray:{ray_address or 'local'}"


def _units_to_do(units: list[Unit], writer: ShardWriter, out: Path, resume: bool) -> list[Unit]:
    layout = Layout(out)
    existing = layout.complete_shards()
    if existing and not resume:
        raise RecipeError(
            f"{out} already holds a run ({len(existing)} complete shards); pass "
            "--resume to continue it, or choose another --out"
        )
    remove_temporaries(out)
    for unit in units:
        if unit.shard_name in existing and not writer.is_complete(unit):
            raise RecipeError(
                f"{out} was made by a different recipe or input (shard "
                f"{unit.shard_name} differs); choose another --out"
            )
    return [u for u in units if not writer.is_complete(u)]


def _execute_in_process(recipe: Recipe, units: list[Unit], writer: ShardWriter):
    _ran_work_here()
    chain = StageChain(recipe.stages, recipe.source, writer)
    for unit in units:
        yield _run_and_write(chain, unit)


def _run_and_write(chain: StageChain, unit: Unit) -> dict[str, Any]:
    """One unit on a local executor, written by the chain's writer. A fresh unit per run
    of the chain: the plan keeps only references, so the pixels and pairs of a written
    shard are freed (memory stays flat as the corpus grows). Then glibc's whole free pages
    go back to the kernel: freed buffers of units of different shapes would otherwise
    fragment the heap and the resident set creep up unit after unit (the written unit's
    own pixels, still held, stay mapped for the next unit to reuse). On Ray, `_PickledCall`
    releases after each unit."""
    done = chain(dataclasses.replace(unit, sources=[], pairs=[], packed=[]))
    stats = chain.writer.write(done)
    heap.release()
    return stats


def worker_start_method(recipe: Recipe) -> str:
    """How `--processes` starts its workers: "fork" where that is safe, else "spawn".

    A forked worker starts with the engine already imported: on the resize job (1000
    images, 2 workers) a run took 6.8 s against 7.9 s spawned (mean of four each) and 2.3
    CPU s less. Forking is safe on Linux while neither side runs torch (OpenMP's thread
    pool, once used, does not survive a fork, and a stage holding a model may use torch in
    the worker) and while this process has run no work itself: OpenCV's thread pool, once
    started, does not survive a fork either (see `_WORK_RAN_HERE`). BLAS and Arrow pools
    re-create themselves in a forked child."""
    return _start_method(any(stage.resources.holds_model for stage in recipe.stages))


def _start_method(holds_model: bool) -> str:
    if platform.system() != "Linux" or "torch" in sys.modules or holds_model:
        return "spawn"
    return "spawn" if _WORK_RAN_HERE else "fork"


# Whether this process has run units or a global pass itself. Their OpenCV calls start its
# thread pool, and a child forked after that inherits the pool's state without its threads:
# its first call that touches the pool (cv2.setNumThreads in `_codec_threads`) never
# returns. Seen in a process that ran a recipe in-process, then with `processes`.
_WORK_RAN_HERE = False


def _ran_work_here() -> None:
    global _WORK_RAN_HERE
    _WORK_RAN_HERE = True


def _execute_on_processes(
    recipe: Recipe, units: list[Unit], writer: ShardWriter, processes: int, start: str
):
    """Units on `processes` local workers, each holding its own chain (and its models, set
    up once per worker); at most two units per worker are queued, so memory stays flat."""
    if not units:
        return
    chain = StageChain(recipe.stages, recipe.source, writer)
    with _worker_pool(processes, start, functools.partial(_unit_runner, chain)) as pool:
        queue, waiting = iter(units), set()
        for unit in itertools.islice(queue, 2 * processes):
            waiting.add(pool.submit(_in_worker, unit))
        while waiting:
            done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()  # a unit that failed stops the run, as in-process
                for unit in itertools.islice(queue, 1):
                    waiting.add(pool.submit(_in_worker, unit))


def _unit_runner(chain: StageChain):
    return functools.partial(_run_and_write, chain)


def _worker_pool(workers: int, start: str, make_fn) -> ProcessPoolExecutor:
    """`workers` local processes started by `start`; each builds make_fn() once (a chain
    and its models, an embedder) and runs OpenCV on its share of the machine's cores."""
    context = multiprocessing.get_context(start)
    job = (pickle.dumps(make_fn), cores() / workers)
    return ProcessPoolExecutor(workers, context, _start_worker, job)


_WORKER_FN = None  # what make_fn built in this pool worker


def _start_worker(job: bytes, cpus: float) -> None:
    global _WORKER_FN
    _codec_threads(cpus)
    _WORKER_FN = pickle.loads(job)()


def _in_worker(item):
    return _WORKER_FN(item)


def _codec_threads(cpus: float) -> None:
    """OpenCV's helper threads in a worker of a pool: as many as the CPUs the worker holds.

    OpenCV sizes its thread pool to the whole machine in every process (its pthreads pool
    ignores OMP_NUM_THREADS, which Ray sets to an actor's CPUs). With one worker per core
    those threads only take CPU from the other workers: on the resize job (1000 images,
    2 workers on 2 cores, 12 alternating rounds) one thread per worker was faster in 9,
    even in 2, slower in 1, by about 6% at the median, and used less CPU in 10. A run in
    this process keeps OpenCV's own setting: there its threads use idle cores."""
    import cv2

    threads = max(1, int(cpus))
    if cv2.getNumThreads() != threads:
        cv2.setNumThreads(threads)


def _execute_on_ray(recipe: Recipe, units: list[Unit], writer: ShardWriter, address):
    if not units:
        return
    with _ray_session(address):
        yield from _ray_plan(recipe, units, writer)


@contextlib.contextmanager
def _ray_session(address: str | None):
    """Ray for a pass: a running session is reused (tests, benchmarks, a cluster driver).
    One started here is shut down at the end of the run in progress (so the planning's
    global passes and the units share it), or at the end of the pass outside a run."""
    import ray

    if ray.is_initialized():
        yield
        return
    quiet_ray_logs()
    ray.init(
        address=address,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    with contextlib.ExitStack() as this_pass:
        (_RUN_CLEANUP or this_pass).callback(ray.shutdown)
        yield


def quiet_ray_logs() -> None:
    """Our progress bar and summary tell the story; Ray's start-up and per-dataset notices
    (token set-up, execution plans, "progress bars disabled") would bury it. Errors still show."""
    import ray.data  # noqa: F401  (Ray Data configures its loggers on import: quiet them after)

    for name in ("ray.data", "ray._private.authentication"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _ray_plan(recipe: Recipe, units: list[Unit], writer: ShardWriter):
    import ray

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # one bar per run, ours
    ds = ray.data.from_items(
        [{"unit": pickle.dumps(u)} for u in units], override_num_blocks=len(units)
    )
    segments = _segments(recipe.stages) or [[]]
    pools = [segment[0].resources for segment in segments if _is_pool(segment)]
    for i, segment in enumerate(segments):
        source = recipe.source if i == 0 else None
        # The last chain segment writes its shard itself: a unit's pixels then never
        # become a Ray Data block (a copy into Arrow and the object store per unit).
        writes = i == len(segments) - 1 and not _is_pool(segment)
        ds = _map_segment(ds, segment, source, writer if writes else None, pools)
    if _is_pool(segments[-1]):
        ds = ds.map_batches(_PickledCall(_WriteOnNode(writer), 1), batch_size=1, num_cpus=1)
    for row in ds.iter_rows():
        yield pickle.loads(row["unit"])


def _is_pool(segment: list[Stage]) -> bool:
    return bool(segment) and not _in_chain(segment[0])


def _map_segment(ds, segment, source, writer: ShardWriter | None, pools: list) -> Any:
    """A model stage of its own: an actor pool of its `max_actors`. A chain: one task per
    unit, or, where it sets up a model, an actor pool as wide as the CPUs the pools leave
    (on two cores, with the OCR stage in the chain, the default recipe took 40% less time)."""
    if _is_pool(segment):
        resources = segment[0].resources
        return ds.map_batches(
            _ActorCall,
            fn_constructor_args=(StageChain(segment, source), resources.num_cpus),
            batch_size=1,
            concurrency=(1, max(1, resources.max_actors)),
            num_cpus=resources.num_cpus,
            num_gpus=resources.num_gpus,
        )
    chain = StageChain(segment, source, writer)
    fn = _WriteOnNode(writer, chain) if writer else chain
    num_cpus = max([s.resources.num_cpus for s in segment], default=1)
    if not any(s.resources.holds_model for s in segment):
        return ds.map_batches(_PickledCall(fn, num_cpus), batch_size=1, num_cpus=num_cpus)
    return ds.map_batches(
        _ActorCall,
        fn_constructor_args=(fn, num_cpus),
        batch_size=1,
        concurrency=(1, _chain_actors(num_cpus, pools)),
        num_cpus=num_cpus,
    )


def _chain_actors(num_cpus: float, pools: list) -> int:
    """Actors for a chain that sets up a model: the cluster's CPUs less what the model pools
    may hold at their widest (actors keep their CPUs; a GPU pool left none would idle)."""
    import ray

    held = sum(max(1, r.max_actors) * r.num_cpus for r in pools)
    free = ray.cluster_resources().get("CPU", 1) - held
    return max(1, int(free // num_cpus)) if num_cpus > 0 else max(1, int(free))


class _PickledCall:
    """Adapts fn(unit) -> x to Ray Data's batch of one pickled unit, in a Ray worker that
    holds `cpus` CPUs."""

    def __init__(self, fn, cpus: float):
        self.fn, self.cpus = fn, cpus

    def __call__(self, batch: dict) -> dict:
        _codec_threads(self.cpus)  # here, in the worker: a task's __init__ runs in the driver
        result = pickle.dumps(self.fn(pickle.loads(batch["unit"][0])))
        heap.release()  # after every unit on Ray, written or handed to the next stage
        return {"unit": [result]}


class _ActorCall(_PickledCall):
    """Same, as an actor: the chain's models are set up once per actor, not per unit."""


class _WriteOnNode:
    """Runs the chain (if any), writes the shard, and says which Ray node did (for
    run.json, not for the stats file)."""

    def __init__(self, writer: ShardWriter, chain: StageChain | None = None):
        self.writer, self.chain = writer, chain

    def __call__(self, unit: Unit) -> dict[str, Any]:
        import ray

        stats = self.writer.write(self.chain(unit) if self.chain else unit)
        return {**stats, "node": ray.get_runtime_context().get_node_id()}


# --------------------------------------------------------------------------------------------
# Global steps: one callable mapped over batches of a whole pool
# --------------------------------------------------------------------------------------------


def map_batches(
    batches: list[Any],
    make_fn,
    *,
    holds_model: bool = False,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    max_actors: int = 1,
    in_process: bool = False,
    ray_address: str | None = None,
    processes: int | None = None,
):
    """Yield make_fn()(batch) for every batch, in input order.

    For global steps that need the whole pool (embedding every image before clustering):
    the caller cuts the pool into batches (lists of source refs, say), persists what comes
    back, and skips batches already persisted on a rerun. `make_fn` builds the callable once
    per worker (it loads the model); with `holds_model` it runs as an actor pool of up to
    `max_actors`, else as plain tasks. With `processes`, on that many local worker
    processes instead, each building its own callable. Batches and results must pickle.
    Inside a run, the run's executor decides (see RunContext).
    """
    processes = None if in_process else processes or _RUN_CONTEXT.processes
    in_process = in_process or _RUN_CONTEXT.in_process
    ray_address = ray_address or _RUN_CONTEXT.ray_address
    if processes and processes > 1 and len(batches) > 1:
        yield from _map_on_processes(batches, make_fn, processes, holds_model)
        return
    if not batches:
        return
    if in_process or processes:
        _ran_work_here()
        fn = make_fn()
        for batch in batches:
            yield fn(batch)
        return
    import ray

    with _ray_session(ray_address):
        ds = ray.data.from_items(
            [{"i": i, "batch": pickle.dumps(b)} for i, b in enumerate(batches)],
            override_num_blocks=len(batches),
        )
        options = {"batch_size": 1, "num_cpus": num_cpus, "num_gpus": num_gpus}
        if holds_model:
            ds = ds.map_batches(
                _BatchActor, fn_constructor_args=(make_fn,), concurrency=(1, max_actors), **options
            )
        else:
            ds = ds.map_batches(_BatchTask(make_fn), **options)
        pending, next_i = {}, 0
        for row in ds.iter_rows():  # rows come back as they finish; hand them out in order
            pending[row["i"]] = pickle.loads(row["result"])
            while next_i in pending:
                yield pending.pop(next_i)
                next_i += 1


def _map_on_processes(batches: list[Any], make_fn, processes: int, holds_model: bool):
    workers = min(processes, len(batches))
    with _worker_pool(workers, _start_method(holds_model), make_fn) as pool:
        yield from pool.map(_in_worker, batches)


class _BatchTask:
    def __init__(self, make_fn):
        self.make_fn = make_fn
        self.fn = None

    def __call__(self, batch: dict) -> dict:
        if self.fn is None:
            self.fn = self.make_fn()
        result = self.fn(pickle.loads(batch["batch"][0]))
        return {"i": [batch["i"][0]], "result": [pickle.dumps(result)]}


class _BatchActor(_BatchTask):
    """Same, as an actor: the model is built once per actor."""


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
    recipe: Recipe, summary: RunSummary, started: float, limit, executor: str
) -> dict[str, Any]:
    return {
        "recipe": recipe.raw,
        "seed": recipe.seed,
        "limit": limit,
        "executor": executor,
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
