"""Parallel work for the mining pass: many small independent jobs, one core each.

FAISS and numpy would each spread one small product over every core, and on a busy machine
their spinning threads wait on each other (measured: 2.5x slower with two threads than one
on a loaded 2-core box). Mining is made of many independent jobs instead (one per cluster,
one per block of rows), so each job runs single-threaded and a thread pool runs them side
by side: FAISS and BLAS release the GIL. Each job's result also no longer depends on how
many threads there are, which keeps mining deterministic across machines.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any


@contextlib.contextmanager
def one_thread_per_job() -> Iterator[None]:
    """BLAS and OpenMP (FAISS) limited to one thread each while mining runs."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def parallel_map(fn: Callable[[Any], Any], items: Iterable[Any], workers: int) -> Iterator[Any]:
    """fn over items on `workers` threads, results in input order."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(fn, items)
