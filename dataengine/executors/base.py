"""The executor interface, and what every executor does around one unit or batch.

An executor decides *where* work runs; the runner and the passes say *what* runs and with
which resources. Two kinds of work reach it:

- `run_units(job, units)`: each work unit through the job's stage chain and into its shard;
  yields each written shard's stats as it finishes (any order).
- `map_batches(batches, make_fn, resources)`: a global pass (embedding a pool, hashing
  shards, encoding latents): `make_fn()` builds the callable once per worker (it loads the
  model), which maps each batch; yields the results in input order.

An executor is a context manager: what it starts (a Ray session, worker pools) it stops in
`close()`. One executor serves a whole command, planning passes and units alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from dataengine.chain import StageChain, UnitJob
from dataengine.executors import heap
from dataengine.params import RecipeError
from dataengine.schema import Unit
from dataengine.stage import ONE_WORKER, Resources


class Executor:
    """Base class of the three executors (in-process, local processes, Ray)."""

    name: str = ""
    # Whether a worker sees only the devices it asked for (Ray hides the GPUs of a node
    # from a worker that asked for none); elsewhere every worker sees the machine's.
    isolates_devices: bool = False

    def run_units(self, job: UnitJob, units: list[Unit]) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def map_batches(
        self,
        batches: list[Any],
        make_fn: Callable[[], Callable],
        resources: Resources = ONE_WORKER,
    ) -> Iterator[Any]:
        raise NotImplementedError

    def generate_llm(
        self, job: UnitJob, units: list[Unit], rows_of, engine: dict
    ) -> Iterator[dict]:
        """Answer chat requests on vLLM engines inside Ray Data (ray.data.llm)."""
        raise RecipeError(
            f"the ray_data_llm backend runs its vLLM engines on Ray, not {self.name}; run on "
            "Ray (drop --processes / --in-process, or pass --ray-address) or use backend: openai"
        )

    def record(self) -> dict[str, Any]:
        """What run.json says of how the run executed."""
        return {"executor": self.name}

    def close(self) -> None:
        """Stop what this executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_unit(chain: StageChain, unit: Unit) -> dict[str, Any]:
    """One unit through `chain`, written by the chain's writer; -> the shard's stats.

    A fresh unit per run of the chain: the plan keeps only references, so the pixels and
    pairs of a written shard are freed (memory stays flat as the corpus grows). Then glibc's
    whole free pages go back to the kernel: freed buffers of units of different shapes would
    otherwise fragment the heap and the resident set creep up unit after unit."""
    heap.tune()
    done = chain(dataclasses.replace(unit, sources=[], pairs=[], packed=[]))
    stats = chain.writer.write(done)
    heap.release()
    return stats


def codec_threads(cpus: float) -> None:
    """OpenCV's helper threads in a worker of a pool: as many as the CPUs the worker holds.

    OpenCV sizes its thread pool to the whole machine in every process (its pthreads pool
    ignores OMP_NUM_THREADS, which Ray sets to an actor's CPUs); with one worker per core
    those threads only take CPU from the other workers (docs/PERFORMANCE.md, "What limits
    them"). A run in this process keeps OpenCV's own setting: there its threads use idle
    cores."""
    import cv2

    threads = max(1, int(cpus))
    if cv2.getNumThreads() != threads:
        cv2.setNumThreads(threads)


# Whether this interpreter has run units or a pass itself: a fact about the process, not
# about a run. Their OpenCV calls start its thread pool, and a child forked after that
# inherits the pool's state without its threads: its first call that touches the pool
# never returns. The local-processes executor then spawns its workers instead of forking.
_work_ran_here = False


def note_work_ran_here() -> None:
    global _work_ran_here
    _work_ran_here = True


def work_ran_here() -> bool:
    return _work_ran_here
