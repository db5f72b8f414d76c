"""Self-describing checkpoints: one file holds the network's configuration, its encoders,
the training settings, where the data stream stood, and every tensor needed to resume.

RUN/checkpoint-0000600.pt ...; `latest(RUN)` finds the newest. Written to a temporary name
and renamed, so a killed run never leaves half a checkpoint behind.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch

from ace_model import sharding
from ace_model.config import RunSpec, TrainConfig, from_dict
from ace_model.data import Position
from ace_model.model import LCUDiT

FORMAT = "ace_model.checkpoint"
VERSION = 1
KEEP = 3  # checkpoints kept per run: the newest ones


def checkpoint_path(run: Path, step: int) -> Path:
    return Path(run) / f"checkpoint-{step:07d}.pt"


def latest(run: str | Path) -> Path | None:
    found = sorted(Path(run).glob("checkpoint-*.pt"))
    return found[-1] if found else None


def resolve(ckpt: str | Path) -> Path:
    """A checkpoint file, or a run folder (its newest checkpoint)."""
    path = Path(ckpt)
    if path.is_dir():
        newest = latest(path)
        if newest is None:
            raise FileNotFoundError(
                f"{path} holds no checkpoint-*.pt; train with `ace model train`"
            )
        return newest
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    return path


def save(run: Path, payload: dict[str, Any]) -> Path:
    path = checkpoint_path(run, payload["step"])
    tmp = path.with_suffix(".tmp")
    torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)
    os.replace(tmp, path)
    for old in sorted(Path(run).glob("checkpoint-*.pt"))[:-KEEP]:
        old.unlink()
    return path


def training_payload(
    spec: RunSpec,
    train: TrainConfig,
    preset: str,
    step: int,
    positions: list[Position],
    state,
    world_size: int = 1,
) -> dict[str, Any]:
    """What a checkpoint holds. The weights are the bare network's (state.model, never its
    DDP wrapper), so that a run saved by N ranks loads anywhere; `positions` (one per lane,
    ace_model/lanes.py) is where each of the run's streams goes on."""
    return {
        "spec": spec.as_dict(),
        "train": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(train).items()},
        "preset": preset,
        "step": step,
        "positions": [{"epoch": p.epoch, "batch": p.batch} for p in positions],
        "world_size": world_size,
        "parallel": _parallel(state.model, world_size),
        "model": sharding.full_weights(state.model),
        "ema": sharding.full_weights(state.ema),
        "optimizer": sharding.full_optimizer_state(state.model, state.optimizer),
        "versions": {"torch": str(torch.__version__), "python": platform.python_version()},
    }


def _parallel(model, world_size: int) -> str:
    """How the ranks held the network that saved this: one process, DDP replicas, FSDP2."""
    if sharding.is_sharded(model):
        return "fsdp2"
    return "ddp" if world_size > 1 else "single"


def load(ckpt: str | Path) -> dict[str, Any]:
    path = resolve(ckpt)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not an ace_model checkpoint (format {payload.get('format')})")
    if payload.get("version", 0) > VERSION:
        raise ValueError(f"{path} is checkpoint version {payload['version']}; upgrade ace_model")
    payload["path"] = str(path)
    return payload


def spec_of(payload: dict[str, Any]) -> RunSpec:
    return RunSpec.from_dict(payload["spec"])


def train_config_of(payload: dict[str, Any]) -> TrainConfig:
    return from_dict(TrainConfig, payload["train"])


def load_model(payload: dict[str, Any], weights: str = "ema") -> LCUDiT:
    """The network of a checkpoint, in eval mode: its EMA weights by default."""
    model = LCUDiT(spec_of(payload).model)
    model.load_state_dict(payload[weights])
    return model.eval().requires_grad_(False)
