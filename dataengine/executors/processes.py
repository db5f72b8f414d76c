"""The local-processes executor (`--processes N`): N worker processes on this machine, no
cluster start-up; for one machine and a job of minutes the fastest choice.

Each worker builds its chain (and its models) or its pass's callable once, when it starts,
and runs OpenCV on its share of the machine's cores. Workers are forked where that is
safe, else spawned (`start_method`), so a script that uses this executor calls it under
`if __name__ == "__main__":`.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import multiprocessing
import os
import pickle
import platform
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from dataengine.chain import UnitJob
from dataengine.executors.base import Executor, codec_threads, run_unit, work_ran_here
from dataengine.executors.local import InProcess
from dataengine.machine import cores
from dataengine.params import RecipeError
from dataengine.schema import Unit
from dataengine.stage import ONE_WORKER, Resources


class Processes(Executor):
    def __init__(self, workers: int):
        self.workers = check_workers(workers)
        self.started_by: str | None = None  # how the last pool's workers started

    @property
    def name(self) -> str:
        return f"processes:{self.workers}"

    def record(self) -> dict[str, Any]:
        started = {"workers_started_by": self.started_by} if self.started_by else {}
        return {"executor": self.name, **started}

    def run_units(self, job: UnitJob, units: list[Unit]) -> Iterator[dict[str, Any]]:
        """At most two units per worker are queued, so memory stays flat."""
        self.started_by = start_method(job.holds_model)
        if not units:
            return
        make = functools.partial(_unit_runner, job)
        with worker_pool(self.workers, self.started_by, make) as pool:
            queue, waiting = iter(units), set()
            for unit in itertools.islice(queue, 2 * self.workers):
                waiting.add(pool.submit(_in_worker, unit))
            while waiting:
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()  # a unit that failed stops the run, as in-process
                    for unit in itertools.islice(queue, 1):
                        waiting.add(pool.submit(_in_worker, unit))

    def map_batches(
        self,
        batches: list[Any],
        make_fn: Callable[[], Callable],
        resources: Resources = ONE_WORKER,
    ) -> Iterator[Any]:
        if self.workers > 1 and len(batches) > 1:
            workers = min(self.workers, len(batches))
            with worker_pool(workers, start_method(resources.holds_model), make_fn) as pool:
                yield from pool.map(_in_worker, batches)
            return
        yield from InProcess().map_batches(batches, make_fn)  # no pool is worth starting


def check_workers(workers: int) -> int:
    if workers < 1:
        raise RecipeError(f"--processes is {workers}; give 1 or more worker processes")
    return workers


def start_method(holds_model: bool) -> str:
    """How workers start: "fork" where that is safe, else "spawn".

    A forked worker starts with the engine already imported (docs/PERFORMANCE.md,
    "Executors": a second off a 7-second job). Forking is safe on Linux while neither side
    runs torch (OpenMP's thread pool, once used, does not survive a fork, and a stage
    holding a model may use torch in the worker) and while this process has run no work
    itself (OpenCV's thread pool does not survive a fork either: see `work_ran_here`). BLAS
    and Arrow pools re-create themselves in a forked child."""
    if platform.system() != "Linux" or "torch" in sys.modules or holds_model:
        return "spawn"
    return "spawn" if work_ran_here() else "fork"


def _unit_runner(job: UnitJob):
    return functools.partial(run_unit, job.chain())


def worker_pool(workers: int, start: str, make_fn) -> ProcessPoolExecutor:
    """`workers` local processes started by `start`; each builds make_fn() once (a chain
    and its models, an embedder) and runs OpenCV on its share of the machine's cores."""
    context = multiprocessing.get_context(start)
    job = (pickle.dumps(make_fn), cores() / workers, os.getpid())
    return ProcessPoolExecutor(workers, context, _start_worker, job)


# The callable this worker process built at its start. Set only inside pool workers, by
# the pool's initializer: each worker holds its own.
_worker_fn: Callable | None = None


def _start_worker(job: bytes, cpus: float, parent: int) -> None:
    global _worker_fn
    die_with(parent)
    codec_threads(cpus)
    _worker_fn = pickle.loads(job)()


def die_with(parent: int) -> None:
    """Have the kernel kill this worker when the run that started it dies, however it dies
    (SIGKILL included): a worker left behind would go on writing into the output. Linux
    only (prctl's parent-death signal); elsewhere a pool's workers exit when they find
    their parent gone at their next task."""
    if platform.system() != "Linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(1)


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _in_worker(item):
    return _worker_fn(item)
