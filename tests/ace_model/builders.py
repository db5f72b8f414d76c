"""Small LCUs built in memory, for tests of the network and its packing."""

from __future__ import annotations

import torch

from ace_model.conditioning import LCU


def image(seed: int, size: tuple[int, int] = (16, 16)) -> torch.Tensor:
    """A (3, H, W) image in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(3, *size, generator=generator) * 2 - 1


def lcu(
    n_inputs: int = 1,
    history: list[str] = (),
    instruction: str = "Make {image} brighter.",
    size: tuple[int, int] = (16, 16),
    seed: int = 0,
) -> LCU:
    """History turns (each a frame with its own instruction), then `n_inputs` inputs."""
    roles = ["history"] * len(history) + ["input"] * n_inputs
    n = len(roles)
    return LCU(
        key=f"sample{seed}",
        instruction=instruction,
        images=[image(seed * 10 + f, size) for f in range(n)],
        masks=[torch.ones(1, *size) for _ in range(n)],
        roles=roles,
        frame_instructions=[*history, *[None] * n_inputs],
        target=image(seed * 10 + 9, size),
    )
