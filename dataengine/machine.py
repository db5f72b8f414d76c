"""Facts about the machine a process runs on."""

from __future__ import annotations

import os


def cores() -> int:
    """The CPUs this process may run on: its affinity where the OS has one (a container or
    a Ray worker may hold fewer than the machine's), else the CPU count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no sched_getaffinity
        return os.cpu_count() or 1
