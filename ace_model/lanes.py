"""Lanes: the disjoint streams a run reads its train split in, and which rank reads which.

A run has L lanes, fixed when it starts (one per rank unless `train.lanes` says otherwise).
Lane l reads its own shards of each epoch (ShardStream), so no two ranks read the same
bytes, from local disk or object storage. Rank r of W holds lanes r, r + W, ... and every
step takes one batch from each lane: one lane per rank is plain data parallelism, several
accumulate gradients. The step's math depends on the lanes, not on the ranks: two lanes on
one process take the steps of two ranks, and a run resumes exactly on any world size that
divides its lanes.
"""

from __future__ import annotations

import logging

import torch.distributed as dist

from ace_model.data import Position
from ace_model.distributed import World

log = logging.getLogger(__name__)


def lane_count(setting: int, world: World) -> int:
    """A new run's lanes: `setting`, or one per rank (0)."""
    lanes = setting or world.size
    if lanes % world.size:
        raise ValueError(
            f"--lanes {lanes} does not share out evenly over {world.size} ranks; pass a "
            f"multiple of {world.size}"
        )
    return lanes


def held(world: World, lanes: int) -> range:
    """The lanes this rank reads: its rank, then every world-th after it."""
    return range(world.rank, lanes, world.size)


def saved_lanes(payload: dict) -> tuple[int, list[Position]]:
    """A checkpoint's lanes and where each stood (one lane for checkpoints without lanes)."""
    positions = payload.get("positions") or [payload["position"]]
    lanes = int(payload["train"].get("lanes") or len(positions))
    return lanes, [Position(**p) for p in positions]


def resumed(payload: dict, world: World) -> tuple[int, list[Position]]:
    """The lanes a resumed run goes on with. On a world size that divides the saved lanes,
    each lane exactly where it stopped. On another, one lane per rank from the start of the
    earliest epoch any lane was in: nothing is skipped, but the global batch and the data
    order are no longer those of the run."""
    lanes, positions = saved_lanes(payload)
    if lanes % world.size == 0:
        return lanes, positions
    epoch = min(p.epoch for p in positions)
    log.warning(
        "resuming a run of %d lanes on %d ranks: exact resume needs a number of ranks that "
        "divides %d; going on with %d lanes from the start of epoch %d (the global batch "
        "and the data order change)",
        lanes,
        world.size,
        lanes,
        world.size,
        epoch,
    )
    return world.size, [Position(epoch, 0)] * world.size


def gathered(mine: dict[int, Position], lanes: int, world: World) -> list[Position]:
    """Every lane's position, from each rank's own lanes (every rank must call this)."""
    parts: list = [mine]
    if world.size > 1:
        parts = [None] * world.size
        dist.all_gather_object(parts, mine)
    merged = {lane: position for part in parts for lane, position in part.items()}
    return [merged[lane] for lane in range(lanes)]
