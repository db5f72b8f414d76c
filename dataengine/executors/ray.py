"""The Ray executor: units and passes on Ray Data, on a local Ray or a cluster
(`--ray-address`). The only module of the product that imports Ray, with ray_llm.py.

Units: consecutive stages without a model are fused into one task per unit; a stage whose
model is small and CPU-only (`Resources.actors` 0) joins that chain, which then runs as
actors as wide as the free CPUs; every other stage that holds a model runs as an actor pool
of its declared size and resources. The last chain segment writes its shard itself, on the
node that ran it.

Passes: one Ray Data `map_batches` over the batches, as tasks, or as an actor pool of up to
`resources.actors` when the callable holds a model; results are handed back in input order.

A Ray session already running is reused (tests, benchmarks, a cluster driver); one this
executor starts is shut down when it closes, so a command's planning passes and its units
share one session.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterator
from typing import Any

from dataengine.chain import StageChain, UnitJob
from dataengine.executors import heap
from dataengine.executors.base import Executor, codec_threads
from dataengine.schema import Unit
from dataengine.sinks.shard_writer import ShardWriter
from dataengine.stage import ONE_WORKER, Resources, Stage
from dataengine.storage import store_environment


class RayExecutor(Executor):
    isolates_devices = True

    def __init__(self, address: str | None = None):
        self.address = address
        self._started = False

    @property
    def name(self) -> str:
        return f"ray:{self.address or 'local'}"

    def run_units(self, job: UnitJob, units: list[Unit]) -> Iterator[dict[str, Any]]:
        if not units:
            return
        self._session()
        for row in _unit_dataset(job, units).iter_rows():
            yield pickle.loads(row["unit"])

    def map_batches(
        self,
        batches: list[Any],
        make_fn: Callable[[], Callable],
        resources: Resources = ONE_WORKER,
    ) -> Iterator[Any]:
        if not batches:
            return
        self._session()
        import ray

        ds = ray.data.from_items(
            [{"i": i, "batch": pickle.dumps(b)} for i, b in enumerate(batches)],
            override_num_blocks=len(batches),
        )
        options = {"batch_size": 1, "num_cpus": resources.cpus, "num_gpus": resources.gpus}
        if resources.holds_model:
            pool = (1, max(1, resources.actors))
            ds = ds.map_batches(
                _BatchActor, fn_constructor_args=(make_fn,), concurrency=pool, **options
            )
        else:
            ds = ds.map_batches(_BatchTask(make_fn), **options)
        pending, next_i = {}, 0
        for row in ds.iter_rows():  # rows come back as they finish; hand them out in order
            pending[row["i"]] = pickle.loads(row["result"])
            while next_i in pending:
                yield pending.pop(next_i)
                next_i += 1

    def generate_llm(
        self, job: UnitJob, units: list[Unit], rows_of, engine: dict
    ) -> Iterator[dict]:
        """Run each unit through `job`, turn it into request rows with `rows_of(unit)`, and
        generate on vLLM engines inside Ray Data (engine: see ray_llm.build_processor)."""
        from dataengine.executors.ray_llm import build_processor

        self._session()
        import ray

        items = ray.data.from_items([{"unit": pickle.dumps(u)} for u in units])
        rows = items.flat_map(_RowsOfUnit(job.chain(), rows_of))
        yield from build_processor(engine)(rows).iter_rows()

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def _session(self) -> None:
        import ray

        if not ray.is_initialized():
            quiet_ray_logs()
            ray.init(
                # None would join a cluster `ray start` left running here (or a stale
                # record of one); without an address the command starts its own Ray
                address=self.address or "local",
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=False,
                # workers on other nodes reach the same object store as this command
                runtime_env={"env_vars": store_environment()},
            )
            self._started = True
        ray.data.DataContext.get_current().enable_progress_bars = False  # one bar per run, ours


def quiet_ray_logs() -> None:
    """Our progress bar and summary tell the story; Ray's start-up and per-dataset notices
    (token set-up, execution plans, "progress bars disabled") would bury it. Errors still show."""
    import ray.data  # noqa: F401  (Ray Data configures its loggers on import: quiet them after)

    for name in ("ray.data", "ray._private.authentication"):
        logging.getLogger(name).setLevel(logging.ERROR)


# --------------------------------------------------------------------------------------------
# Units: the stage chain cut into segments
# --------------------------------------------------------------------------------------------


def _unit_dataset(job: UnitJob, units: list[Unit]):
    import ray

    ds = ray.data.from_items(
        [{"unit": pickle.dumps(u)} for u in units], override_num_blocks=len(units)
    )
    segments = segments_of(job.stages) or [[]]
    pools = [segment[0].resources for segment in segments if _is_pool(segment)]
    for i, segment in enumerate(segments):
        source = job.source if i == 0 else None
        # The last chain segment writes its shard itself: a unit's pixels then never
        # become a Ray Data block (a copy into Arrow and the object store per unit).
        writes = i == len(segments) - 1 and not _is_pool(segment)
        ds = _map_segment(ds, segment, source, job.writer if writes else None, pools)
    if _is_pool(segments[-1]):
        ds = ds.map_batches(_PickledCall(_WriteOnNode(job.writer), 1), batch_size=1, num_cpus=1)
    return ds


def in_chain(stage: Stage) -> bool:
    """Runs in every worker's chain: a model-free stage, or one whose model is cheap to copy
    (CPU only, `actors` 0), set up once per worker. Other model stages get a pool."""
    resources = stage.resources
    return not resources.holds_model or (resources.gpus == 0 and resources.actors == 0)


def segments_of(stages: list[Stage]) -> list[list[Stage]]:
    """Group consecutive chain stages; each other model stage stands alone (its actor pool)."""
    segments: list[list[Stage]] = []
    for stage in stages:
        if segments and in_chain(stage) and all(map(in_chain, segments[-1])):
            segments[-1].append(stage)
        else:
            segments.append([stage])
    return segments


def _is_pool(segment: list[Stage]) -> bool:
    return bool(segment) and not in_chain(segment[0])


def _map_segment(ds, segment, source, writer: ShardWriter | None, pools: list) -> Any:
    """A model stage of its own: an actor pool of its `actors`. A chain: one task per unit,
    or, where it sets up a model, an actor pool as wide as the CPUs the pools leave (on two
    cores, with the OCR stage in the chain, the default recipe took 40% less time)."""
    if _is_pool(segment):
        resources = segment[0].resources
        return ds.map_batches(
            _ActorCall,
            fn_constructor_args=(StageChain(segment, source), resources.cpus),
            batch_size=1,
            concurrency=(1, max(1, resources.actors)),
            num_cpus=resources.cpus,
            num_gpus=resources.gpus,
        )
    chain = StageChain(segment, source, writer)
    fn = _WriteOnNode(writer, chain) if writer else chain
    num_cpus = max([s.resources.cpus for s in segment], default=1)
    if not any(s.resources.holds_model for s in segment):
        return ds.map_batches(_PickledCall(fn, num_cpus), batch_size=1, num_cpus=num_cpus)
    return ds.map_batches(
        _ActorCall,
        fn_constructor_args=(fn, num_cpus),
        batch_size=1,
        concurrency=(1, _chain_actors(num_cpus, pools)),
        num_cpus=num_cpus,
    )


def _chain_actors(num_cpus: float, pools: list[Resources]) -> int:
    """Actors for a chain that sets up a model: the cluster's CPUs less what the model pools
    may hold at their widest (actors keep their CPUs; a GPU pool left none would idle)."""
    import ray

    held = sum(max(1, r.actors) * r.cpus for r in pools)
    free = ray.cluster_resources().get("CPU", 1) - held
    return max(1, int(free // num_cpus)) if num_cpus > 0 else max(1, int(free))


class _PickledCall:
    """Adapts fn(unit) -> x to Ray Data's batch of one pickled unit, in a Ray worker that
    holds `cpus` CPUs."""

    def __init__(self, fn, cpus: float):
        self.fn, self.cpus = fn, cpus

    def __call__(self, batch: dict) -> dict:
        codec_threads(self.cpus)  # here, in the worker: a task's __init__ runs in the driver
        heap.tune()
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
# Passes and the LLM engine's requests
# --------------------------------------------------------------------------------------------


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


class _RowsOfUnit:
    """Runs the stages before the writer on one unit and yields its request rows."""

    def __init__(self, chain: StageChain, rows_of):
        self.chain, self.rows_of = chain, rows_of

    def __call__(self, item: dict[str, Any]):
        yield from self.rows_of(self.chain(pickle.loads(item["unit"])))
