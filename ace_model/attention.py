"""Attention and 3-D rotary positions as pure functions (the shape of FLUX's math.py).

A token's position is (frame, row, column). Rotary embeddings make attention scores depend
on position differences only, so a target token finds "the same place one frame back"
equally well at any resolution and frame count.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def rope_angles(positions: Tensor, axes: tuple[int, ...], theta: float) -> Tensor:
    """Rotation angles per token: positions (B, N, 3) -> (B, N, head_dim / 2)."""
    parts = []
    for axis, dim in enumerate(axes):
        scale = torch.arange(0, dim, 2, dtype=torch.float64, device=positions.device) / dim
        omega = 1.0 / theta**scale  # (dim/2,)
        parts.append(positions[..., axis, None].double() * omega)  # (B, N, dim/2)
    return torch.cat(parts, dim=-1)


def rope_cos_sin(positions: Tensor, axes: tuple[int, ...], theta: float) -> tuple[Tensor, Tensor]:
    """cos and sin of the angles, (B, 1, N, head_dim / 2), ready to broadcast over heads."""
    angles = rope_angles(positions, axes, theta)[:, None]
    return angles.cos().float(), angles.sin().float()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate consecutive pairs of x (B, H, N, D) by the angles."""
    pairs = x.float().unflatten(-1, (-1, 2))  # (B, H, N, D/2, 2)
    first, second = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack((first * cos - second * sin, first * sin + second * cos), dim=-1)
    return rotated.flatten(-2).type_as(x)


def attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None) -> Tensor:
    """Scaled dot-product attention; q (B, H, N, D), k and v (B, H, M, D), mask (B, 1, N, M)
    True where a query may look. Heads are merged back: (B, N, H * D)."""
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out.transpose(1, 2).flatten(2)
