"""FSDP2: parameters, gradients and optimizer state sharded over the ranks (`train.shard`,
on for ace-0.6b), instead of DDP's whole replica per rank.

Each transformer block is one unit of sharding (gathered for its forward and backward, then
freed), the rest of the network one more. The EMA copy is sharded alike, so that its update
is a local lerp of each rank's shards. Gradients are averaged over the ranks as DDP averages
them, so a step is the same step either way.

Checkpoints hold the whole network and the optimizer state keyed as a one-process
optimizer keys it: gathered for saving (a collective: every rank calls it, rank 0 writes),
loaded whole into the network before it is sharded. A checkpoint of N sharded ranks loads
in `edit`, in `eval` and in a run of any world size, sharded or not.
"""

from __future__ import annotations

import torch
from torch import nn


def shard(model: nn.Module) -> None:
    """Shard `model` in place over the default process group."""
    from torch.distributed.fsdp import fully_shard

    for block in model.blocks:
        fully_shard(block)
    fully_shard(model)


def is_sharded(model: nn.Module) -> bool:
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in model.parameters())


def local(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """This rank's shards of DTensors (plain tensors as they are)."""
    from torch.distributed.tensor import DTensor

    return [t.to_local() if isinstance(t, DTensor) else t for t in tensors]


def whole(value: torch.Tensor) -> torch.Tensor:
    """A DTensor gathered whole (the same on every rank); a plain tensor as it is."""
    from torch.distributed.tensor import DTensor

    return value.full_tensor() if isinstance(value, DTensor) else value


def full_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The whole network's state dict on the CPU (rank 0's; other ranks get {})."""
    if not is_sharded(model):
        return model.state_dict()
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(model, options=options)


def full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """The optimizer's state dict as a one-process optimizer of `model` has it (parameters
    numbered in `model.parameters()` order), gathered on rank 0."""
    if not is_sharded(model):
        return optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_optimizer_state_dict,
    )

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    by_name = get_optimizer_state_dict(model, optimizer, options=options)
    if not by_name:
        return {}
    number = {name: i for i, (name, _) in enumerate(model.named_parameters())}
    return {
        "state": {number[name]: value for name, value in by_name["state"].items()},
        "param_groups": [
            {**group, "params": [number[name] for name in group["params"]]}
            for group in by_name["param_groups"]
        ],
    }


def load_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, saved: dict) -> None:
    """Load a one-process optimizer state dict (see full_optimizer_state) into `optimizer`,
    whose parameters may be sharded."""
    if not is_sharded(model):
        optimizer.load_state_dict(saved)
        return
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        set_optimizer_state_dict,
    )

    names = [name for name, _ in model.named_parameters()]
    by_name = {
        "state": {names[i]: value for i, value in saved["state"].items()},
        "param_groups": [
            {**group, "params": [names[i] for i in group["params"]]}
            for group in saved["param_groups"]
        ],
    }
    options = StateDictOptions(full_state_dict=True)
    set_optimizer_state_dict(model, optimizer, optim_state_dict=by_name, options=options)
