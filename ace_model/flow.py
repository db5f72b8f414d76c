"""Rectified flow: the straight path from the target (t = 0) to noise (t = 1), the velocity
objective on target tokens only, and the Euler sampler with classifier-free guidance.

    x_t = (1 - t) * x_0 + t * noise        v = noise - x_0        dx/dt = v

The network predicts v itself, or (ModelConfig.prediction "anchored_x0") x_0 as a change
from the last condition frame, from which v = (x_t - x_0) / t. The second trains on the x_0
error (the velocity error weighted by t^2) and starts out as the identity edit, which a
small model on little data otherwise spends most of its steps learning to copy.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from ace_model.conditioning import Condition
from ace_model.config import ModelConfig
from ace_model.model import LCUDiT, anchor_frame, patchify


def sample_t(batch: int, generator: torch.Generator) -> Tensor:
    """Logit-normal times (SD3): most weight mid-path, where the velocity is hardest."""
    return torch.sigmoid(torch.randn(batch, generator=generator))


def shift_times(t: Tensor, shift: float) -> Tensor:
    """SD3's time shift: shift > 1 moves times towards 1 (noise); 0 and 1 stay put."""
    if shift == 1.0:
        return t
    return shift * t / (1 + (shift - 1) * t)


def interpolate(x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
    t = t[:, None, None, None]
    return (1 - t) * x0 + t * noise


def drop_instructions(batch: int, p: float, generator: torch.Generator) -> Tensor:
    """Which samples train without their instruction (bool (B,)), for guidance."""
    return torch.rand(batch, generator=generator) < p


def target_token_mask(tokens: Tensor, target_tokens: int) -> Tensor:
    """(B, N) True on the target's tokens, which the sequence keeps last."""
    mask = torch.zeros(tokens.shape[:2], dtype=torch.bool, device=tokens.device)
    mask[:, -target_tokens:] = True
    return mask


def masked_mse(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over the tokens where mask (B, N) is True; others count nothing."""
    per_token = (pred.float() - target.float()).pow(2).mean(dim=-1)  # (B, N)
    return (per_token * mask).sum() / mask.sum()


def flow_loss(
    model: LCUDiT,
    x0: Tensor,
    cond: Condition,
    drop_p: float,
    generator: torch.Generator,
) -> Tensor:
    """One rectified-flow training loss: random t, noise and instruction dropout from
    `generator`, velocity error on the target's tokens only (conditions are given, not made).
    `model` may be wrapped in DDP, which keeps the network as `.module`."""
    config = getattr(model, "module", model).config
    draws = draw_step(x0.shape, config.time_shift, drop_p, generator)
    noise, t, drop = (d.to(x0.device) for d in draws)
    pred = model(interpolate(x0, noise, t), t, cond, drop)  # (B, N, token_out)
    goal = training_goal(config, x0, noise, cond)
    goal = patchify(goal[:, None], config.patch)[:, 0]  # (B, T, token_out)
    mask = target_token_mask(pred, goal.shape[1])
    full = torch.zeros_like(pred)
    full[:, -goal.shape[1] :] = goal.to(pred.dtype)
    return masked_mse(pred, full, mask)


def training_goal(config: ModelConfig, x0: Tensor, noise: Tensor, cond: Condition) -> Tensor:
    """What the network should return on the target: the velocity, or the change from the
    anchor frame (the loss is then the error in x0: the velocity's, times t)."""
    if config.prediction == "velocity":
        return noise - x0
    return x0 - anchor_frame(cond, config.anchor).to(x0.dtype)


def draw_step(
    shape: torch.Size, time_shift: float, drop_p: float, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """Noise (shape), times (batch,) and dropped instructions (batch,), drawn in this order:
    the order decides which sample gets which draw."""
    batch = shape[0]
    noise = torch.randn(shape, generator=generator)
    t = shift_times(sample_t(batch, generator), time_shift)
    return noise, t, drop_instructions(batch, drop_p, generator)


def guided_velocity(
    model: LCUDiT, x: Tensor, t: Tensor, cond: Condition, guidance: float, both: Condition
) -> Tensor:
    """v_uncond + guidance * (v_cond - v_uncond), in one batched pass; guidance 1 = no CFG."""
    b = x.shape[0]
    if guidance == 1.0:
        return model.target_velocity(x, t, cond, torch.zeros(b, dtype=torch.bool, device=x.device))
    drop = torch.cat([torch.zeros(b, dtype=torch.bool), torch.ones(b, dtype=torch.bool)])
    v = model.target_velocity(torch.cat([x, x]), torch.cat([t, t]), both, drop.to(x.device))
    v_cond, v_uncond = v.chunk(2)
    return v_uncond + guidance * (v_cond - v_uncond)


@torch.no_grad()
def euler_sample(
    model: LCUDiT,
    cond: Condition,
    shape: tuple[int, ...],
    steps: int = 20,
    guidance: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Integrate dx/dt = v from noise at t = 1 to the image at t = 0 in `steps` Euler steps."""
    if steps < 1:  # no step would return the starting noise as if it were the image
        raise ValueError(f"steps is {steps}; give at least 1 Euler step")
    device = cond.frames.device
    x = torch.randn(shape, generator=generator).to(device)
    both = cond.repeat(2) if guidance != 1.0 else cond
    times = shift_times(torch.linspace(1.0, 0.0, steps + 1, device=device), model.config.time_shift)
    for t_now, t_next in itertools.pairwise(times):
        t = torch.full((shape[0],), float(t_now), device=device)
        x = x + (t_next - t_now) * guided_velocity(model, x, t, cond, guidance, both)
    return x
