"""Data parallelism in one place: who this process is, its device, the process group's start
and end, and the sums the ranks agree on.

torchrun (`torch.distributed.run`) sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
MASTER_PORT; without them this process is rank 0 of 1 and nothing here talks to anyone, so
the same trainer runs on one CPU and under torchrun, on one node or many (SLURM included).
NCCL on GPUs (rank r of a node on cuda:LOCAL_RANK), gloo on the CPU.

Which rank reads which data is ace_model/lanes.py's to say.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

# Longest wait for the other ranks in one collective: more than any step or checkpoint
# save takes, so that a rank that died outside torchrun (which would stop the others
# itself) ends its peers with an error instead of leaving them waiting forever.
TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one that logs, writes metrics.jsonl and saves checkpoints."""
        return self.rank == 0


def from_env(environ: Mapping[str, str] = os.environ) -> World:
    """This process's place in the world, from torchrun's variables (none: rank 0 of 1)."""
    if "RANK" not in environ and "WORLD_SIZE" not in environ:
        return World()
    try:
        world = World(
            int(environ["RANK"]), int(environ["WORLD_SIZE"]), int(environ.get("LOCAL_RANK", 0))
        )
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"RANK and WORLD_SIZE must both be integers ({exc}); start the ranks with "
            "torchrun or `ace model train --nproc-per-node N`"
        ) from None
    if not 0 <= world.rank < world.size:
        raise ValueError(f"RANK {world.rank} is outside WORLD_SIZE {world.size}; fix the launcher")
    return world


def device_for(world: World, requested: str | None) -> torch.device:
    """The device this rank trains on: `requested` alone, or cuda:LOCAL_RANK under torchrun
    when the GPU is asked for or present (several ranks cannot share one named GPU)."""
    if world.size == 1:
        if requested:
            return torch.device(requested)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    chosen = torch.device(requested) if requested else None
    if chosen is not None and chosen.type == "cuda" and chosen.index is not None:
        raise ValueError(
            f"--device {requested} names one GPU for all {world.size} ranks; pass --device "
            "cuda (rank r of a node takes cuda:LOCAL_RANK) or cpu"
        )
    wants_gpu = chosen.type == "cuda" if chosen else torch.cuda.is_available()
    if not wants_gpu:
        return chosen or torch.device("cpu")
    if world.local_rank >= torch.cuda.device_count():
        raise ValueError(
            f"LOCAL_RANK {world.local_rank} needs GPU {world.local_rank}, and this node has "
            f"{torch.cuda.device_count()}; start at most that many ranks per node "
            "(--nproc-per-node), or pass --device cpu"
        )
    return torch.device("cuda", world.local_rank)


@contextlib.contextmanager
def process_group(world: World, device: torch.device) -> Iterator[None]:
    """The default process group for the length of the block, torn down however it ends
    (one rank only: no group at all)."""
    if world.size == 1:
        yield
        return
    gpu = device.type == "cuda"
    if gpu:
        torch.cuda.set_device(device)
    dist.init_process_group(
        "nccl" if gpu else "gloo",
        rank=world.rank,
        world_size=world.size,
        timeout=TIMEOUT,
        device_id=device if gpu else None,  # NCCL binds this rank's GPU at once
    )
    try:
        with _warnings_only_off_main(world):
            yield
    finally:
        dist.destroy_process_group()


@contextlib.contextmanager
def _warnings_only_off_main(world: World) -> Iterator[None]:
    """Progress is rank 0's to log; the other ranks still warn (a sample of theirs skipped)."""
    loggers = [logging.getLogger(name) for name in ("ace_model", "dataengine")]
    levels = [logger.level for logger in loggers]
    if not world.main:
        for logger in loggers:
            logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def wrap(model: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
    """The module the training forward pass goes through: DDP, which averages gradients
    over the ranks in the backward pass, or the model itself on one rank (a sharded model,
    ace_model/sharding.py, is its own wrapper)."""
    if world.size == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None
    )


def all_sum(values: torch.Tensor) -> torch.Tensor:
    """The sum over the ranks of `values` (on one rank: `values`)."""
    if dist.is_available() and dist.is_initialized():
        values = values.clone()
        dist.all_reduce(values)
    return values


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()


def all_sum_counts(counts: list[int]) -> list[int]:
    """Each count summed over the ranks (on one rank: `counts`)."""
    if not (dist.is_available() and dist.is_initialized()):
        return list(counts)
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # where the backend reduces
    return [int(v) for v in all_sum(torch.tensor(counts, dtype=torch.int64, device=device))]
