"""Executors: where units and passes run. The only package of the engine that knows Ray
or process pools.

    base.py       the Executor interface; what runs around one unit (heap, OpenCV threads)
    local.py      InProcess: in the calling process
    processes.py  Processes: N local worker processes, forked or spawned
    ray.py        RayExecutor: Ray Data on a local Ray or a cluster; ray_llm.py: vLLM engines
    heap.py       glibc's heap tuned for streaming images

A command chooses one executor from its flags (`make_executor`) and passes it explicitly
to everything that needs parallel work: source planning, the mining embedding pass, the
vLLM engine pass, the units, corpus selection, latents.
"""

from __future__ import annotations

from dataengine.executors.base import Executor
from dataengine.executors.local import InProcess
from dataengine.executors.processes import Processes, check_workers
from dataengine.params import RecipeError


def make_executor(
    *,
    in_process: bool = False,
    processes: int | None = None,
    ray_address: str | None = None,
    default: str = "ray",
) -> Executor:
    """The executor a command's flags choose: at most one of them, checked before any work;
    none chooses `default` ("ray": a local Ray, or "in_process")."""
    if processes is not None:
        check_workers(processes)
    chosen = [name for name, on in [("--in-process", in_process),
                                    ("--processes", processes is not None),
                                    ("--ray-address", ray_address)] if on]  # fmt: skip
    if len(chosen) > 1:
        raise RecipeError(f"{' and '.join(chosen)} choose different executors; give one")
    if processes is not None:
        return Processes(processes)
    if in_process or (default == "in_process" and not ray_address):
        return InProcess()
    from dataengine.executors.ray import RayExecutor

    return RayExecutor(ray_address)


__all__ = ["Executor", "InProcess", "Processes", "make_executor"]
