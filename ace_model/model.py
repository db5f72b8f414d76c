"""The LCU diffusion transformer: ACE's long-context condition unit on a PixArt-style DiT.

Every frame of a sample (history turns, current inputs, and the noisy target last) is
patchified with its mask as an extra channel, and all their tokens form one sequence with
3-D rotary positions (frame, row, column). Each block runs full self-attention across the
frames, then cross-attention in which each frame reads only its own instruction, then an MLP;
one timestep embedding modulates every block (adaLN-single). Image indicator embeddings are
added both to a frame's tokens and to the text tokens of the placeholder that names it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ace_model.attention import apply_rope, attention, rope_cos_sin
from ace_model.conditioning import ROLE_IDS, Condition
from ace_model.config import ModelConfig

# ============================================================================================
# Layers
# ============================================================================================


def modulate(x: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    return x * (1 + scale) + shift


def timestep_features(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal features of t in [0, 1], scaled to the 0..1000 range DiTs are tuned for."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = 1000.0 * t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class SelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.q_norm = nn.RMSNorm(hidden // heads)  # keeps scores bounded at high learning rates
        self.k_norm = nn.RMSNorm(hidden // heads)
        # Normalised queries bound every score by sqrt(head_dim); a gain per head lets a head
        # be as sharp as it needs (an aligned head starts sharp, see initialize_weights).
        self.gain = nn.Parameter(torch.ones(heads, 1, 1))
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor], mask: Tensor) -> Tensor:
        q, k, v = self.qkv(x).unflatten(-1, (3, self.heads, -1)).permute(2, 0, 3, 1, 4)
        q = apply_rope(self.q_norm(q), *rope) * self.gain  # (B, H, N, D)
        k = apply_rope(self.k_norm(k), *rope)
        return self.proj(attention(q, k, v, mask))  # (B, N, hidden)


class CrossAttention(nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(hidden, hidden)
        self.kv = nn.Linear(hidden, 2 * hidden)
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, x: Tensor, text: Tensor, mask: Tensor) -> Tensor:
        q = self.q(x).unflatten(-1, (self.heads, -1)).transpose(1, 2)  # (B, H, N, D)
        k, v = self.kv(text).unflatten(-1, (2, self.heads, -1)).permute(2, 0, 3, 1, 4)
        return self.proj(attention(q, k, v, mask))  # (B, N, hidden)


class Block(nn.Module):
    """Self-attention over all frames, each frame's own instruction, MLP; adaLN-single."""

    def __init__(self, hidden: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = SelfAttention(hidden, heads)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.cross = CrossAttention(hidden, heads)
        self.norm3 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        inner = int(hidden * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, inner), nn.GELU(approximate="tanh"), nn.Linear(inner, hidden)
        )
        self.scale_shift_table = nn.Parameter(torch.randn(6, hidden) / hidden**0.5)

    def forward(self, x: Tensor, t6: Tensor, text: Tensor, masks, rope) -> Tensor:
        mods = (self.scale_shift_table[None] + t6).chunk(6, dim=1)  # 6 x (B, 1, hidden)
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = mods
        x = x + gate_a * self.attn(modulate(self.norm1(x), shift_a, scale_a), rope, masks[0])
        x = x + self.cross(self.norm2(x), text, masks[1])
        return x + gate_m * self.mlp(modulate(self.norm3(x), shift_m, scale_m))


ALIGNED_GAIN = 6.0  # the starting sharpness of an aligned head: ~70x on its own place


@torch.no_grad()
def align_head(attn: SelfAttention, head: int, axes: tuple[int, int, int]) -> None:
    """Start `head` looking at the same (row, column) in every frame.

    Most of an edit is a copy of the input, and a target token finds "its" input token only
    once a head has learned to match positions, which a CPU-sized run barely reaches. With
    constant queries and keys, rotary scores are a sum of cos(angle * offset): highest at
    zero offset. The constant sits on the two fastest row and column rotations (the fastest
    alone would alias at ~6 tokens) and not on the frame axis, so every frame's token at
    that place is looked at; training then makes the head depend on content as well.
    """
    dim = attn.qkv.in_features // attn.heads
    hidden = attn.qkv.in_features
    c = torch.zeros(dim)
    for start in (axes[0], axes[0] + axes[1]):  # the first pairs of the row and column axes
        c[start : start + 4 : 2] = 1.0  # pairs 0 and 1: one value each, rotated as a pair
    for offset in (0, hidden):  # the query and the key of `head`
        rows = slice(offset + head * dim, offset + (head + 1) * dim)
        attn.qkv.weight[rows] = 0.0
        attn.qkv.bias[rows] = c
    attn.gain[head] = ALIGNED_GAIN


# ============================================================================================
# The model
# ============================================================================================


class LCUDiT(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = c = config
        self.patch_embed = nn.Linear(c.token_in, c.hidden)
        self.indicator = nn.Embedding(c.max_frames, c.hidden)  # image indicator embeddings
        self.role = nn.Embedding(len(ROLE_IDS), c.hidden)
        self.text_proj = nn.Sequential(
            nn.LayerNorm(c.text_dim),
            nn.Linear(c.text_dim, c.hidden),
            nn.GELU(approximate="tanh"),
            nn.Linear(c.hidden, c.hidden),
        )
        self.null_text = nn.Parameter(torch.randn(c.hidden) / c.hidden**0.5)  # dropped text
        self.t_embed = nn.Sequential(
            nn.Linear(256, c.hidden), nn.SiLU(), nn.Linear(c.hidden, c.hidden)
        )
        self.t_block = nn.Sequential(nn.SiLU(), nn.Linear(c.hidden, 6 * c.hidden))
        self.blocks = nn.ModuleList(Block(c.hidden, c.heads, c.mlp_ratio) for _ in range(c.depth))
        self.norm_out = nn.LayerNorm(c.hidden, elementwise_affine=False, eps=1e-6)
        self.out_table = nn.Parameter(torch.randn(2, c.hidden) / c.hidden**0.5)
        self.out = nn.Linear(c.hidden, c.token_out)
        self.checkpoint_blocks = False  # recompute block activations in backward (memory)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """Xavier for linear layers; the cross-attention outputs and the output layer start
        at zero, so an untrained model reads no text and predicts zero velocity; the first
        `aligned_heads` heads of each block start looking at the same place in every frame."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.indicator.weight, std=0.02)
        nn.init.normal_(self.role.weight, std=0.02)
        for layer in (self.t_embed[0], self.t_embed[2], self.t_block[1]):
            nn.init.normal_(layer.weight, std=0.02)
        for block in self.blocks:
            nn.init.zeros_(block.cross.proj.weight)
            for head in range(self.config.aligned_heads):
                align_head(block.attn, head, self.config.rope_axes)
        nn.init.zeros_(self.out.weight)

    # ----------------------------------------------------------------------------------------

    def forward(self, x_t: Tensor, t: Tensor, cond: Condition, drop_text: Tensor) -> Tensor:
        """Velocity for every token: x_t (B, C, h, w) noisy targets, t (B,), drop_text (B,)
        bool (instruction dropped: classifier-free guidance) -> (B, N, C * patch**2); the
        target's tokens are the last h * w / patch**2."""
        p = self.config.patch
        target = torch.cat([x_t, cond.target_mask], dim=1)[:, None]  # (B, 1, C + 1, h, w)
        frames = torch.cat([cond.frames.to(x_t.dtype), target], dim=1)  # (B, F + 1, C + 1, h, w)
        tokens = patchify(frames, p)  # (B, F + 1, T, token_in)
        rows, cols = frames.shape[-2] // p, frames.shape[-1] // p
        per_frame = self.indicator(cond.frame_pos) + self.role(cond.frame_role)  # (B, F+1, hid)
        x = (self.patch_embed(tokens) + per_frame[:, :, None]).flatten(1, 2)  # (B, N, hidden)
        text = self.embed_text(cond, drop_text)  # (B, L, hidden)
        masks = attention_masks(cond, rows * cols)
        rope = rope_cos_sin(
            token_positions(cond.frame_pos, rows, cols),
            self.config.rope_axes,
            self.config.rope_theta,
        )
        t_emb = self.t_embed(timestep_features(t, 256))  # (B, hidden)
        t6 = self.t_block(t_emb).unflatten(1, (6, -1))  # (B, 6, hidden)
        recompute = self.checkpoint_blocks and torch.is_grad_enabled()
        for block in self.blocks:
            if recompute:
                x = checkpoint(block, x, t6, text, masks, rope, use_reentrant=False)
            else:
                x = block(x, t6, text, masks, rope)
        shift, scale = (self.out_table[None] + t_emb[:, None]).chunk(2, dim=1)
        return self.out(modulate(self.norm_out(x), shift, scale))  # (B, N, token_out)

    def embed_text(self, cond: Condition, drop_text: Tensor) -> Tensor:
        """Projected text, plus the indicator of the frame each placeholder token names.
        A dropped instruction becomes the null token everywhere: what the model then sees
        does not depend on the text or its length."""
        text = self.text_proj(cond.text)  # (B, L, hidden)
        named = self.indicator(cond.text_ref.clamp(min=0)) * (cond.text_ref >= 0)[..., None]
        text = text + named
        return torch.where(drop_text[:, None, None], self.null_text.to(text.dtype), text)

    def target_velocity(self, x_t: Tensor, t: Tensor, cond: Condition, drop_text: Tensor):
        """The velocity of the target image: (B, C, h, w)."""
        tokens = self(x_t, t, cond, drop_text)
        rows, cols = x_t.shape[-2] // self.config.patch, x_t.shape[-1] // self.config.patch
        out = unpatchify(tokens[:, -rows * cols :], self.config.patch, rows, cols)
        if self.config.prediction == "velocity":
            return out
        x0 = anchor_frame(cond, self.config.anchor).to(out.dtype) + out
        # x_t = (1 - t) x0 + t noise  =>  v = noise - x0 = (x_t - x0) / t
        return (x_t - x0) / t.clamp(min=MIN_T)[:, None, None, None]


MIN_T = 1e-3  # the sampler never asks for t = 0; this only guards the division


def anchor_frame(cond: Condition, anchor: str) -> Tensor:
    """The image channels of each sample's anchor frame (ModelConfig.anchor), zeros for a
    sample without one: (B, C, h, w). Frames are packed from the front, so the last is
    frame n - 1, and the edited image is the first whose role is "input"."""
    frames = cond.frames[:, :, :-1]  # drop the mask channel
    b, _, c, h, w = frames.shape
    if frames.shape[1] == 0:
        return frames.new_zeros(b, c, h, w)
    if anchor == "last":
        count = cond.frame_valid.sum(dim=1)  # (B,)
        index, present = (count - 1).clamp(min=0), count > 0
    else:
        inputs = (cond.frame_role[:, :-1] == ROLE_IDS["input"]) & cond.frame_valid
        index, present = inputs.int().argmax(dim=1), inputs.any(dim=1)
    chosen = frames[torch.arange(b, device=frames.device), index]
    return chosen * present[:, None, None, None]


# ============================================================================================
# Tokens: patches, positions, masks
# ============================================================================================


def patchify(frames: Tensor, p: int) -> Tensor:
    """(B, F, C, h, w) -> (B, F, h/p * w/p, C * p * p), row-major over patches."""
    b, f, c, h, w = frames.shape
    x = frames.reshape(b, f, c, h // p, p, w // p, p)
    return x.permute(0, 1, 3, 5, 2, 4, 6).reshape(b, f, (h // p) * (w // p), c * p * p)


def unpatchify(tokens: Tensor, p: int, rows: int, cols: int) -> Tensor:
    """(B, rows * cols, C * p * p) -> (B, C, rows * p, cols * p)."""
    b = tokens.shape[0]
    x = tokens.reshape(b, rows, cols, -1, p, p)
    return x.permute(0, 3, 1, 4, 2, 5).reshape(b, -1, rows * p, cols * p)


def token_positions(frame_pos: Tensor, rows: int, cols: int) -> Tensor:
    """(frame, row, column) of every token: frame_pos (B, F) -> (B, F * rows * cols, 3)."""
    b, f = frame_pos.shape
    rr, cc = torch.meshgrid(
        torch.arange(rows, device=frame_pos.device),
        torch.arange(cols, device=frame_pos.device),
        indexing="ij",
    )
    grid = torch.stack([rr.flatten(), cc.flatten()], dim=-1)  # (T, 2)
    frame = frame_pos[:, :, None, None].expand(b, f, rows * cols, 1)
    return torch.cat([frame, grid[None, None].expand(b, f, -1, 2)], dim=-1).flatten(1, 2)


def attention_masks(cond: Condition, tokens_per_frame: int) -> tuple[Tensor, Tensor]:
    """Self-attention: every token sees every real frame's tokens (B, 1, 1, N), or None
    when every frame is real.
    Cross-attention: a frame's tokens see its own instruction's text (B, 1, N, L)."""
    target_valid = cond.frame_valid.new_ones(cond.batch_size, 1)
    valid = torch.cat([cond.frame_valid, target_valid], dim=1)  # (B, F + 1)
    keys = valid.repeat_interleave(tokens_per_frame, dim=1)[:, None, None]
    if bool(valid.all()):  # no padding frame: without a mask SDPA may use its flash kernel
        keys = None
    segment = cond.frame_segment.repeat_interleave(tokens_per_frame, dim=1)  # (B, N)
    reads = segment[:, :, None] == cond.text_segment[:, None, :]  # (B, N, L)
    return keys, reads[:, None]


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
