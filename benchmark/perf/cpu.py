"""CPU seconds the whole machine spent busy, from /proc/stat (Linux).

A run's "per core" cost is its busy CPU seconds, not wall time x cores: a process whose
libraries use helper threads (OpenCV, libjpeg through Pillow) uses more than one core, and
an executor's daemons (Ray's GCS and raylet) use some too. Reading the machine's counters
charges all of that to the run being timed, so nothing else should run meanwhile.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def busy_seconds() -> float:
    """Busy CPU seconds since boot, all cores together (idle and iowait excluded)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """fn(), its wall seconds and the machine's busy CPU seconds meanwhile."""
    wall, cpu = time.perf_counter(), busy_seconds()
    result = fn()
    return result, time.perf_counter() - wall, busy_seconds() - cpu
