"""The Long-context Condition Unit as tensors: frames, their instructions, and the ties
between the {image}/{imageN} placeholders of the text and the frames they name.

An LCU is decoded by data.py (or built by sample.py from the user's files) into `LCU`, and a
list of them is packed by `pack` into one `Condition`: every sample's condition frames padded
to the batch's largest frame count, and the instruction texts of its frames concatenated into
one text sequence with a segment id per token, so that each frame attends to its own
instruction. Frame f of a sample sits at sequence position f (history first, then inputs);
its target sits at position n_frames. That position is the frame's rotary coordinate and its
image indicator id, and a placeholder token carries the id of the frame it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from dataengine.schema import IMAGE_PLACEHOLDER, frame_number

ROLE_IDS = {"history": 0, "input": 1, "target": 2}
PLACEHOLDER_WORD = "image"  # what the text encoder reads in place of {image} and {imageN}


class ConditionError(ValueError):
    """A sample whose text and frames do not fit together (e.g. {image2} with two inputs)."""


@dataclass
class LCU:
    """One sample, decoded: images (3, H, W) in [-1, 1], masks (1, H, W) in [0, 1].

    With `encoded`, images and target are already in the codec's space (C, H / f, W / f):
    latents that `ace data latents` computed ahead of training."""

    key: str
    instruction: str
    images: list[Tensor] = field(default_factory=list)
    masks: list[Tensor] = field(default_factory=list)  # ones where the record has no mask
    roles: list[str] = field(default_factory=list)  # "history" | "input"
    frame_instructions: list[str | None] = field(default_factory=list)
    target: Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # the sample's json, for evaluation
    encoded: bool = False

    @property
    def n_frames(self) -> int:
        return len(self.images)


# --------------------------------------------------------------------------------------------
# Placeholders
# --------------------------------------------------------------------------------------------


def plain_text(text: str) -> tuple[str, list[tuple[int, int, int]]]:
    """The text the encoder reads, and (start, end, N) spans where {imageN} stood."""
    pieces, spans, cursor, length = [], [], 0, 0
    for match in IMAGE_PLACEHOLDER.finditer(text):
        before = text[cursor : match.start()]
        pieces.append(before)
        length += len(before)
        spans.append((length, length + len(PLACEHOLDER_WORD), frame_number(match)))
        pieces.append(PLACEHOLDER_WORD)
        length += len(PLACEHOLDER_WORD)
        cursor = match.end()
    pieces.append(text[cursor:])
    return "".join(pieces), spans


@dataclass(frozen=True)
class TextPlan:
    """Which texts a sample's frames read, and which frame each placeholder names.

    texts[s] is segment s; frame_segment[f] for f in 0..n_frames (the target last);
    names[s][N] is the sequence position of the frame that {imageN} of segment s names.
    """

    texts: list[str]
    frame_segment: list[int]
    names: list[dict[int, int]]


def text_plan(lcu: LCU) -> TextPlan:
    """History frames read their own turn's instruction, which calls them {image}; the
    current inputs and the target read the current instruction, whose {imageN} is the N-th
    current input."""
    texts, frame_segment, names = [], [], []
    inputs = [f for f, role in enumerate(lcu.roles) if role == "input"]
    for f, role in enumerate(lcu.roles):
        if role == "history":
            if not lcu.frame_instructions[f]:
                raise ConditionError(f"history frame {f} has no instruction")
            frame_segment.append(len(texts))
            texts.append(lcu.frame_instructions[f])
            names.append({0: f})
        else:
            frame_segment.append(-1)  # the current instruction, numbered below
    current = len(texts)
    texts.append(lcu.instruction)
    names.append(dict(enumerate(inputs)))
    frame_segment = [current if s < 0 else s for s in frame_segment] + [current]
    _check_names(texts, names)
    return TextPlan(texts, frame_segment, names)


def _check_names(texts: list[str], names: list[dict[int, int]]) -> None:
    for text, named in zip(texts, names, strict=True):
        for match in IMAGE_PLACEHOLDER.finditer(text):
            if frame_number(match) not in named:
                raise ConditionError(
                    f"{match.group(0)} in {text!r} names no frame ({len(named)} available)"
                )


# --------------------------------------------------------------------------------------------
# Packing a batch
# --------------------------------------------------------------------------------------------


@dataclass
class Condition:
    """A batch of LCUs without their targets, in the codec's space.

    frames       (B, F, C + 1, h, w)  condition frames with the mask as the last channel
    frame_valid  (B, F)               False for padding frames
    frame_pos    (B, F + 1)           sequence position: rotary frame coordinate, indicator id
    frame_role   (B, F + 1)           ROLE_IDS; the target is the last column
    frame_segment (B, F + 1)          which text segment each frame attends to
    target_mask  (B, 1, h, w)         the target frame's mask channel (ones: all of it is made)
    text         (B, L, D)            token features of every segment, concatenated
    text_segment (B, L)               segment of each token, -1 for padding
    text_ref     (B, L)               sequence position of the frame a token names, or -1
    """

    frames: Tensor
    frame_valid: Tensor
    frame_pos: Tensor
    frame_role: Tensor
    frame_segment: Tensor
    target_mask: Tensor
    text: Tensor
    text_segment: Tensor
    text_ref: Tensor

    @property
    def batch_size(self) -> int:
        return self.frames.shape[0]

    def to(self, device: torch.device | str) -> Condition:
        return Condition(**{k: v.to(device) for k, v in vars(self).items()})

    def repeat(self, times: int) -> Condition:
        """The batch stacked `times` over (for conditional and unconditional passes)."""
        return Condition(**{k: torch.cat([v] * times) for k, v in vars(self).items()})


def pack(lcus: list[LCU], size: tuple[int, int], text_encoder, codec) -> Condition:
    """Pad and stack LCUs whose images are all `size` (H, W): one resolution bucket.

    text_encoder.encode(text) -> (features (L, D), slots (L,): N where {imageN} stood, else
    -1); codec.encode(images (n, 3, H, W)) -> (n, C, H / factor, W / factor).
    """
    plans = [text_plan(lcu) for lcu in lcus]
    frames, frame_valid, target_mask = _pack_frames(lcus, size, codec)
    n_max = frames.shape[1]
    pos = torch.zeros(len(lcus), n_max + 1, dtype=torch.long)
    role = torch.zeros_like(pos)
    segment = torch.zeros_like(pos)
    for b, (lcu, plan) in enumerate(zip(lcus, plans, strict=True)):
        n = lcu.n_frames
        pos[b, :n], pos[b, n:] = torch.arange(n), n  # padding shares the target's coordinate
        role[b, :n] = torch.tensor([ROLE_IDS[r] for r in lcu.roles], dtype=torch.long)
        role[b, n:] = ROLE_IDS["target"]
        segment[b, :n] = torch.tensor(plan.frame_segment[:n], dtype=torch.long)
        segment[b, n:] = plan.frame_segment[-1]  # padding reads the current instruction
    text, text_segment, text_ref = _pack_text(plans, text_encoder)
    return Condition(
        frames, frame_valid, pos, role, segment, target_mask, text, text_segment, text_ref
    )


def _pack_frames(lcus: list[LCU], size: tuple[int, int], codec) -> tuple[Tensor, Tensor, Tensor]:
    _check_sizes(lcus, size, codec.factor)
    n_max = max(lcu.n_frames for lcu in lcus)
    masks = [m for lcu in lcus for m in lcu.masks]
    channels, h, w = codec.channels, size[0] // codec.factor, size[1] // codec.factor
    frames = torch.zeros(len(lcus), n_max, channels + 1, h, w)
    valid = torch.zeros(len(lcus), n_max, dtype=torch.bool)
    if masks:
        latents = in_codec_space([lcu.images for lcu in lcus], [lcu.encoded for lcu in lcus], codec)
        small_masks = torch.nn.functional.interpolate(torch.stack(masks), (h, w), mode="area")
        cursor = 0
        for b, lcu in enumerate(lcus):
            n = lcu.n_frames
            frames[b, :n, :channels] = latents[cursor : cursor + n]
            frames[b, :n, channels:] = small_masks[cursor : cursor + n]
            valid[b, :n] = True
            cursor += n
    return frames, valid, torch.ones(len(lcus), 1, h, w)


def in_codec_space(images: list[list[Tensor]], encoded: list[bool], codec) -> Tensor:
    """Every sample's images, in order, in the codec's space (N, C, h, w): precomputed
    latents as they are, the others through the codec in one batch."""
    raw = [img for imgs, done in zip(images, encoded, strict=True) if not done for img in imgs]
    fresh = iter(codec.encode(torch.stack(raw))) if raw else iter(())
    out = [
        img if done else next(fresh)
        for imgs, done in zip(images, encoded, strict=True)
        for img in imgs
    ]
    return torch.stack(out)


def codec_targets(lcus: list[LCU], codec) -> Tensor:
    """The batch's targets in the codec's space (B, C, h, w)."""
    return in_codec_space([[lcu.target] for lcu in lcus], [lcu.encoded for lcu in lcus], codec)


def _check_sizes(lcus: list[LCU], size: tuple[int, int], factor: int = 1) -> None:
    small = (size[0] // factor, size[1] // factor)
    wrong, keys = set(), []
    for lcu in lcus:
        images = [*lcu.images, lcu.target] if lcu.target is not None else list(lcu.images)
        found = {tuple(t.shape[-2:]) for t in lcu.masks} - {tuple(size)}
        found |= {tuple(t.shape[-2:]) for t in images} - {small if lcu.encoded else tuple(size)}
        if found:
            wrong |= found
            keys.append(f"{lcu.key} ({'latents' if lcu.encoded else 'pixels'})")
    if wrong:
        raise ValueError(
            f"a batch must share one resolution bucket {size}, got {sorted(wrong)} "
            f"in {', '.join(keys)}"
        )


def _pack_text(plans: list[TextPlan], text_encoder) -> tuple[Tensor, Tensor, Tensor]:
    rows = []
    for plan in plans:
        feats, segs, refs = [], [], []
        for s, (text, named) in enumerate(zip(plan.texts, plan.names, strict=True)):
            features, slots = text_encoder.encode(text)
            feats.append(features)
            segs.append(torch.full((len(slots),), s, dtype=torch.long))
            refs.append(torch.tensor([named.get(int(k), -1) if k >= 0 else -1 for k in slots]))
        rows.append((torch.cat(feats), torch.cat(segs), torch.cat(refs).long()))
    length = max(len(r[1]) for r in rows)
    dim = rows[0][0].shape[1]
    text = torch.zeros(len(plans), length, dim)
    segment = torch.full((len(plans), length), -1, dtype=torch.long)
    ref = torch.full((len(plans), length), -1, dtype=torch.long)
    for b, (f, s, r) in enumerate(rows):
        text[b, : len(s)], segment[b, : len(s)], ref[b, : len(s)] = f, s, r
    return text, segment, ref
