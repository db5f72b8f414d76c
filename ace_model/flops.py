"""Floating-point operations of one training step, counted from the shapes (dense layers
and attention; norms and element-wise work are left out, as MFU figures usually do).

A multiply-add is 2 FLOPs; a training step is 3 forward passes' worth (forward, and the
backward pass's two products per layer).
"""

from __future__ import annotations

from ace_model.config import ModelConfig


def forward_flops(config: ModelConfig, batch: int, frames: int, tokens: int, text: int) -> float:
    """One forward pass: `frames` frames (the target included) of `tokens` tokens each, and
    `text` text tokens per sample."""
    h, n = config.hidden, frames * tokens
    inner = int(h * config.mlp_ratio)
    per_block = (
        2 * n * (3 * h * h + h * h)  # self-attention projections
        + 2 * 2 * n * n * h  # scores and weighted sum
        + 2 * n * 2 * h * h  # cross-attention query and output
        + 2 * text * 2 * h * h  # cross-attention keys and values
        + 2 * 2 * n * text * h  # cross-attention scores and sum
        + 2 * n * 2 * h * inner  # MLP
    )
    edges = 2 * n * h * (config.token_in + config.token_out)
    text_in = 2 * text * (config.text_dim * h + h * h)
    return float(batch * (config.depth * per_block + edges + text_in))


def train_step_flops(config: ModelConfig, batch: int, frames: int, tokens: int, text: int):
    return 3 * forward_flops(config, batch, frames, tokens, text)
