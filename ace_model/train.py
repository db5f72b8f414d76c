"""Training: stream the train split, rectified-flow loss, AdamW, EMA, gradient clipping,
bf16 autocast on a GPU, metrics.jsonl and self-describing checkpoints with exact resume.

Everything random in step s (noise, times, instruction dropout) comes from a generator
seeded by (seed, s), and the data stream is replayed to the batch it stopped at; a run
stopped at step N and resumed to 2N therefore ends with the same weights, on the CPU, as a
run straight to 2N.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ace_model import checkpoint
from ace_model.conditioning import Condition, codec_targets, pack
from ace_model.config import CodecConfig, ModelConfig, RunSpec, TextConfig, TrainConfig, preset
from ace_model.data import Position, ShardStream, decode_batch
from ace_model.encoders import TextEncoder, build_codec
from ace_model.flow import flow_loss
from ace_model.model import LCUDiT, parameter_count
from ace_model.vae import vae_fingerprint
from dataengine.corpus.read import shard_paths
from dataengine.schema import derive_seed
from dataengine.sinks.latent_store import buckets, find_store
from dataengine.sinks.layout import Layout
from dataengine.storage import as_path

log = logging.getLogger(__name__)


@dataclass
class State:
    model: LCUDiT
    ema: LCUDiT
    optimizer: torch.optim.Optimizer
    step: int = 0
    position: Position = field(default_factory=Position)


@dataclass
class Encoders:
    text: TextEncoder
    codec: Any


def pick_device(device: str | None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(device: torch.device):
    """bf16 on a GPU; on the CPU full precision, which exact resume relies on."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def new_state(spec: RunSpec, train: TrainConfig, device: torch.device) -> State:
    torch.manual_seed(derive_seed(train.seed, "init"))
    model = LCUDiT(spec.model).to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    model.checkpoint_blocks = train.activation_checkpointing
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=train.lr,
        betas=train.betas,
        weight_decay=train.weight_decay,
        fused=device.type == "cuda",  # one kernel for all parameters
    )
    return State(model, ema, optimizer)


def restore_state(payload: dict, spec: RunSpec, train: TrainConfig, device) -> State:
    state = new_state(spec, train, device)
    state.model.load_state_dict(payload["model"])
    state.ema.load_state_dict(payload["ema"])
    state.optimizer.load_state_dict(payload["optimizer"])
    state.step = int(payload["step"])
    state.position = Position(**payload["position"])
    return state


def learning_rate(train: TrainConfig, step: int) -> float:
    """Linear warmup, then constant: no step depends on how long the run will be."""
    return train.lr * min(1.0, (step + 1) / max(1, train.warmup))


@torch.no_grad()
def update_ema(ema: LCUDiT, model: LCUDiT, decay: float, step: int) -> None:
    """EMA whose decay ramps up, so that short runs still average recent weights only."""
    rate = min(decay, (1 + step) / (10 + step))
    torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1.0 - rate)


# ============================================================================================
# One step
# ============================================================================================


def train_step(state: State, enc: Encoders, lcus, size, train: TrainConfig, device) -> dict:
    cond = pack(lcus, size, enc.text, enc.codec).to(device)
    x0 = codec_targets(lcus, enc.codec).to(device)
    return optimise(state, x0, cond, train, device)


def optimise(state: State, x0: torch.Tensor, cond: Condition, train: TrainConfig, device) -> dict:
    """One optimiser step on packed targets x0 (B, C, h, w) and their conditions."""
    generator = torch.Generator().manual_seed(derive_seed(train.seed, "step", state.step))
    for group in state.optimizer.param_groups:
        group["lr"] = learning_rate(train, state.step)
    state.model.train()
    with autocast(device):
        loss = flow_loss(state.model, x0, cond, train.drop_text, generator)
    state.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(state.model.parameters(), train.grad_clip)
    state.optimizer.step()
    update_ema(state.ema, state.model, train.ema_decay, state.step)
    state.step += 1
    return {"loss": loss.item(), "grad_norm": grad_norm.item()}


# ============================================================================================
# The run
# ============================================================================================


def prepare(
    data: Path,
    run: Path,
    preset_name: str,
    text: TextConfig,
    codec: CodecConfig,
    resume: bool,
    model: ModelConfig | None,
    overrides: dict[str, Any],
) -> tuple[RunSpec, TrainConfig, dict | None]:
    """The run's spec and settings: from its newest checkpoint when resuming, else new.
    Every setting is checked here, before a model is loaded."""
    if not shard_paths(data, "train"):
        raise FileNotFoundError(
            f"{data} has no complete train shard; build one with `ace data run`"
        )
    newest = checkpoint.latest(run)
    if newest is not None and not resume:
        raise FileExistsError(f"{run} already holds {newest.name}; pass --resume or another --out")
    if newest is not None:
        payload = checkpoint.load(newest)
        base = checkpoint.train_config_of(payload)
        changed = {k: v for k, v in overrides.items() if v is not None and k != "steps"}
        if changed or model is not None:
            raise ValueError(f"a resumed run keeps its settings; drop {sorted(changed)}")
        train = preset(payload["preset"], **{**vars(base), "steps": overrides.get("steps")})
        return checkpoint.spec_of(payload), train.train, payload
    chosen = preset(preset_name, **overrides)
    if chosen.codec == "vae" and codec.kind != "vae":
        raise ValueError(f"preset {preset_name} works on VAE latents: pass --vae PATH")
    return RunSpec(model=model or chosen.model, codec=codec, text=text), chosen.train, None


def complete_spec(spec: RunSpec, enc: Encoders) -> RunSpec:
    """The model's text width and image channels are the encoders'."""
    import dataclasses

    model = dataclasses.replace(
        spec.model, text_dim=enc.text.dim, image_channels=enc.codec.channels
    )
    return dataclasses.replace(spec, model=model)


def train(
    data: str | Path,
    run: str | Path,
    preset_name: str = "tiny",
    *,
    text: TextConfig | None = None,
    codec: CodecConfig | None = None,
    model: ModelConfig | None = None,
    resume: bool = False,
    device: str | None = None,
    progress: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """Train (or resume) a run into `run`; returns a summary of the last logged interval.

    `model` replaces the preset's network (its text width and channels still come from the
    encoders); `overrides` replace TrainConfig fields."""
    data, run = as_path(data), Path(run)  # the corpus may be a URL; the run is local
    spec, train_cfg, payload = prepare(
        data,
        run,
        preset_name,
        text or TextConfig(),
        codec or CodecConfig(),
        resume,
        model,
        overrides,
    )
    dev = pick_device(device)
    enc = Encoders(TextEncoder(spec.text, dev), build_codec(spec.codec, dev))
    spec = complete_spec(spec, enc)
    state = (
        restore_state(payload, spec, train_cfg, dev) if payload else new_state(spec, train_cfg, dev)
    )
    name = payload["preset"] if payload else preset_name
    run.mkdir(parents=True, exist_ok=True)
    log.info(
        "%s: %s, %.2fM parameters, on %s, from step %d to %d",
        run,
        name,
        parameter_count(state.model) / 1e6,
        dev,
        state.step,
        train_cfg.steps,
    )
    return _loop(data, run, name, spec, train_cfg, state, enc, dev, progress)


def _loop(data, run, name, spec, train_cfg, state, enc, dev, progress) -> dict[str, Any]:
    multiple = spec.model.patch * enc.codec.factor
    stream = ShardStream(
        data,
        "train",
        train_cfg.batch_size,
        buckets(train_cfg.resolution, multiple),
        train_cfg.seed,
        train_cfg.shuffle_buffer,
        precomputed_latents(data, spec, train_cfg.resolution, multiple),
    )
    meter = Meter(run / "metrics.jsonl")
    bar = tqdm(total=train_cfg.steps, initial=state.step, disable=not progress, desc="train")
    batches = stream.batches(state.position)
    while state.step < train_cfg.steps:
        position, size, raws = next(batches)
        lcus, skipped = decode_batch(raws, size)
        state.position = position
        meter.skipped(skipped)
        if not lcus:
            continue
        meter.add(train_step(state, enc, lcus, size, train_cfg, dev), len(lcus))
        bar.update(1)
        if state.step % train_cfg.log_every == 0 or state.step == train_cfg.steps:
            bar.set_postfix(loss=f"{meter.write(state.step, position):.4f}")
        if state.step % train_cfg.checkpoint_every == 0 or state.step == train_cfg.steps:
            checkpoint.save(
                run,
                checkpoint.training_payload(spec, train_cfg, name, state.step, position, state),
            )
    bar.close()
    return {"step": state.step, "checkpoint": str(checkpoint.latest(run)), **meter.last}


def precomputed_latents(data: Path, spec: RunSpec, resolution: int, multiple: int) -> dict:
    """Corpus tar -> latent tar for the train shards whose latents `ace data latents`
    computed with this run's VAE at its buckets; the other shards are encoded as batches
    are formed."""
    if spec.codec.kind != "vae":
        return {}
    store = find_store(data, vae_fingerprint(spec.codec.path), resolution, multiple)
    shards = [s for s in Layout(data).complete_shards() if s.startswith("train-")]
    tars = store.current_tars(shards) if store else {}
    if tars:
        log.info("latents of %d of %d train shards from %s", len(tars), len(shards), store.root)
    else:
        log.info(
            "no precomputed latents for this VAE at %d px: encoding as batches are formed "
            "(`ace data latents %s --vae %s` computes them once)",
            resolution,
            data,
            spec.codec.path,
        )
    return tars


class Meter:
    """Averages over a logging interval, appended to metrics.jsonl as one line each."""

    def __init__(self, path: Path):
        self.path = path
        self.last: dict[str, Any] = {}
        self._reset()

    def _reset(self) -> None:
        self.losses, self.norms, self.samples, self.skips = [], [], 0, 0
        self.since = time.perf_counter()

    def add(self, values: dict[str, float], samples: int) -> None:
        self.losses.append(values["loss"])
        self.norms.append(values["grad_norm"])
        self.samples += samples

    def skipped(self, reasons: list[str]) -> None:
        for reason in reasons[:3]:
            log.warning("skipped sample %s", reason)
        self.skips += len(reasons)

    def write(self, step: int, position: Position) -> float:
        seconds = time.perf_counter() - self.since
        self.last = {
            "step": step,
            "loss": sum(self.losses) / max(1, len(self.losses)),
            "grad_norm": sum(self.norms) / max(1, len(self.norms)),
            "steps_per_s": len(self.losses) / seconds if seconds > 0 else None,
            "samples_per_s": self.samples / seconds if seconds > 0 else None,
            "skipped": self.skips,
            "epoch": position.epoch,
        }
        with self.path.open("a") as f:
            f.write(json.dumps(self.last) + "\n")
        self._reset()
        return self.last["loss"]
