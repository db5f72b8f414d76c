"""Training: stream the train split, rectified-flow loss, AdamW, EMA, gradient clipping,
bf16 autocast on a GPU, metrics.jsonl and self-describing checkpoints with exact resume.

Everything random in step s (noise, times, instruction dropout) comes from a generator
seeded by (seed, s), and the data stream is replayed to the batch it stopped at; a run
stopped at step N and resumed to 2N therefore ends with the same weights, on the CPU, as a
run straight to 2N.

The same code runs data-parallel under torchrun (ace_model/distributed.py). The train split
is read in lanes (ace_model/lanes.py), disjoint streams of batch_size samples a step each,
shared out over the ranks; each lane's randomness is drawn from (seed, step, lane). A step
is the same on any number of ranks that divides the lanes: more lanes per rank accumulate
gradients. Only rank 0 logs and saves.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ace_model import checkpoint, distributed, lanes, sharding
from ace_model.conditioning import Condition, codec_targets, pack
from ace_model.config import CodecConfig, ModelConfig, RunSpec, TextConfig, TrainConfig, preset
from ace_model.data import Position, ShardStream, decode_batch, lane_seed_parts
from ace_model.distributed import World
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
    positions: list[Position] = field(default_factory=lambda: [Position()])  # one per lane
    net: torch.nn.Module | None = None  # model's DDP wrapper, which the forward goes through


@dataclass
class Encoders:
    text: TextEncoder
    codec: Any


def pick_device(device: str | None) -> torch.device:
    """`device`, else cuda when present, else cpu (one process; see distributed.device_for)."""
    return distributed.device_for(World(), device)


def autocast(device: torch.device):
    """bf16 on a GPU; on the CPU full precision, which exact resume relies on."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def new_state(
    spec: RunSpec, train: TrainConfig, device: torch.device, world: World | None = None
) -> State:
    torch.manual_seed(derive_seed(train.seed, "init"))
    model = LCUDiT(spec.model).to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    return _assembled(model, ema, train, device, world or World())


def restore_state(
    payload: dict, spec: RunSpec, train: TrainConfig, device, world: World | None = None
) -> State:
    """A saved run's state: the whole network loaded before it is sharded (if it is), the
    optimizer's state after."""
    torch.manual_seed(derive_seed(train.seed, "init"))  # the random state of a new run
    model = LCUDiT(spec.model).to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    model.load_state_dict(payload["model"])
    ema.load_state_dict(payload["ema"])
    state = _assembled(model, ema, train, device, world or World())
    sharding.load_optimizer_state(state.model, state.optimizer, payload["optimizer"])
    state.step = int(payload["step"])
    state.positions = lanes.saved_lanes(payload)[1]
    return state


def _assembled(model: LCUDiT, ema: LCUDiT, train: TrainConfig, device, world: World) -> State:
    """The network, its EMA and the optimizer, for data parallelism over `world`: sharded
    (FSDP2, `train.shard`) before the optimizer sees the parameters, or wrapped in DDP."""
    model.checkpoint_blocks = train.activation_checkpointing
    sharded = train.shard and world.size > 1
    if sharded:
        sharding.shard(model)
        sharding.shard(ema)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=train.lr,
        betas=train.betas,
        weight_decay=train.weight_decay,
        fused=device.type == "cuda",  # one kernel for all parameters
    )
    state = State(model, ema, optimizer)
    state.net = model if sharded else distributed.wrap(model, world, device)
    return state


def learning_rate(train: TrainConfig, step: int) -> float:
    """Linear warmup, then constant: no step depends on how long the run will be."""
    return train.lr * min(1.0, (step + 1) / max(1, train.warmup))


@torch.no_grad()
def update_ema(ema: LCUDiT, model: LCUDiT, decay: float, step: int) -> None:
    """EMA whose decay ramps up, so that short runs still average recent weights only."""
    rate = min(decay, (1 + step) / (10 + step))
    shards = sharding.local(list(ema.parameters())), sharding.local(list(model.parameters()))
    torch._foreach_lerp_(*shards, 1.0 - rate)


# ============================================================================================
# One step
# ============================================================================================


@dataclass
class LaneBatch:
    """One lane's batch of a step, packed for the network."""

    x0: torch.Tensor  # (B, C, h, w) targets
    cond: Condition
    seed_parts: tuple = ()  # what the lane adds to the step's seed (data.lane_seed_parts)

    @property
    def samples(self) -> int:
        return self.x0.shape[0]


def lane_batch(enc: Encoders, lcus, size, device, seed_parts: tuple = ()) -> LaneBatch:
    cond = pack(lcus, size, enc.text, enc.codec).to(device)
    return LaneBatch(codec_targets(lcus, enc.codec).to(device), cond, seed_parts)


def train_step(state: State, enc: Encoders, lcus, size, train: TrainConfig, device) -> dict:
    """One optimiser step on one batch, in one process."""
    return optimise_lanes(state, [lane_batch(enc, lcus, size, device)], train, device)


def optimise(state: State, x0: torch.Tensor, cond: Condition, train: TrainConfig, device) -> dict:
    """One optimiser step on packed targets x0 (B, C, h, w) and their conditions."""
    return optimise_lanes(state, [LaneBatch(x0, cond)], train, device)


def optimise_lanes(
    state: State,
    parts: list[LaneBatch],
    train: TrainConfig,
    device,
    drawn: int | None = None,
    world_size: int = 1,
) -> dict:
    """One optimiser step on one batch from each of this rank's lanes, of `drawn` samples
    over every rank. Each lane's mean loss is weighted by its share of them and the
    gradients accumulate, so the update is that of the mean over all `drawn` samples
    (DDP's average over the ranks undone by `world_size`). Returns that mean loss."""
    drawn = drawn or sum(part.samples for part in parts)
    for group in state.optimizer.param_groups:
        group["lr"] = learning_rate(train, state.step)
    state.model.train()
    state.optimizer.zero_grad(set_to_none=True)
    net = state.net or state.model  # through DDP or FSDP2: their backward averages
    total = torch.zeros((), device=device)
    for i, part in enumerate(parts):
        generator = torch.Generator().manual_seed(
            derive_seed(train.seed, "step", state.step, *part.seed_parts)
        )
        share = part.samples / drawn
        with _gradients_kept_local(net, last=i == len(parts) - 1):
            with autocast(device):
                loss = flow_loss(net, part.x0, part.cond, train.drop_text, generator)
            (loss * share * world_size).backward()
        total += loss.detach().float() * share
    grad_norm = sharding.whole(
        torch.nn.utils.clip_grad_norm_(state.model.parameters(), train.grad_clip)
    )
    state.optimizer.step()
    update_ema(state.ema, state.model, train.ema_decay, state.step)  # alike on every rank
    state.step += 1
    return {"loss": distributed.all_sum(total).item(), "grad_norm": grad_norm.item()}


def _gradients_kept_local(net: torch.nn.Module, last: bool):
    """DDP's no_sync for every lane's backward but the last, whose sync carries them all
    (a sharded network reduces each backward's gradients, which also sums them right)."""
    no_sync = getattr(net, "no_sync", None)
    return contextlib.nullcontext() if last or no_sync is None else no_sync()


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
        free = ("steps", "shard")  # how far, and how the ranks hold it: no change to the math
        changed = {k: v for k, v in overrides.items() if v is not None and k not in free}
        if changed or model is not None:
            raise ValueError(f"a resumed run keeps its settings; drop {sorted(changed)}")
        shard = overrides.get("shard")
        given = {"steps": overrides.get("steps"), **({"shard": shard} if shard is not None else {})}
        train = preset(payload["preset"], **{**vars(base), **given})
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


@dataclass
class Run:
    """One training run as the loop sees it."""

    data: Path
    folder: Path
    preset: str
    spec: RunSpec
    settings: TrainConfig
    enc: Encoders
    device: torch.device
    world: World = field(default_factory=World)
    progress: bool = True


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
    encoders); `overrides` replace TrainConfig fields. Under torchrun every rank calls this
    alike (`batch_size` is then per rank) and gets the same summary."""
    data, folder = as_path(data), Path(run)  # the corpus may be a URL; the run is local
    world = distributed.from_env()
    spec, train_cfg, payload = prepare(
        data,
        folder,
        preset_name,
        text or TextConfig(),
        codec or CodecConfig(),
        resume,
        model,
        overrides,
    )
    train_cfg, positions = _lanes_of(train_cfg, payload, world)
    dev = distributed.device_for(world, device)
    with distributed.process_group(world, dev):
        enc = Encoders(TextEncoder(spec.text, dev), build_codec(spec.codec, dev))
        spec = complete_spec(spec, enc)
        name = payload["preset"] if payload else preset_name
        setup = Run(data, folder, name, spec, train_cfg, enc, dev, world, progress and world.main)
        return _loop(setup, _start(setup, payload, positions))


def _lanes_of(
    settings: TrainConfig, payload: dict | None, world: World
) -> tuple[TrainConfig, list[Position]]:
    """The run's lanes, written into its settings so that checkpoints keep them, and where
    each lane starts."""
    if payload is None:
        count = lanes.lane_count(settings.lanes, world)
        return dataclasses.replace(settings, lanes=count), [Position()] * count
    count, positions = lanes.resumed(payload, world)
    return dataclasses.replace(settings, lanes=count), positions


def _start(run: Run, payload: dict | None, positions: list[Position]) -> State:
    """The state to train from, on this rank's device, wrapped for data parallelism."""
    if payload is None:
        state = new_state(run.spec, run.settings, run.device, run.world)
    else:
        state = restore_state(payload, run.spec, run.settings, run.device, run.world)
    state.positions = list(positions)
    run.folder.mkdir(parents=True, exist_ok=True)
    log.info(
        "%s: %s, %.2fM parameters, on %s x %d, %d lanes of %d (%d samples a step), "
        "from step %d to %d",
        run.folder,
        run.preset,
        parameter_count(state.model) / 1e6,
        run.device.type,
        run.world.size,
        run.settings.lanes,
        run.settings.batch_size,
        run.settings.batch_size * run.settings.lanes,
        state.step,
        run.settings.steps,
    )
    return state


def _loop(run: Run, state: State) -> dict[str, Any]:
    settings, world = run.settings, run.world
    multiple = run.spec.model.patch * run.enc.codec.factor
    latent_tars = precomputed_latents(run.data, run.spec, settings.resolution, multiple)
    streams = {
        lane: ShardStream(
            run.data,
            "train",
            settings.batch_size,
            buckets(settings.resolution, multiple),
            settings.seed,
            settings.shuffle_buffer,
            latent_tars,
            lane=lane,
            lanes=settings.lanes,
        )
        for lane in lanes.held(world, settings.lanes)
    }
    meter = Meter(run.folder / "metrics.jsonl" if world.main else None, world.size)
    bar = tqdm(total=settings.steps, initial=state.step, disable=not run.progress, desc="train")
    batches = {lane: s.batches(state.positions[lane]) for lane, s in streams.items()}
    while state.step < settings.steps:
        drawn = []
        for lane, lane_batches in batches.items():
            state.positions[lane], size, raws = next(lane_batches)
            drawn.append((lane, size, raws))
        if not _step_on(run, state, drawn, meter):
            continue
        bar.update(1)
        if state.step % settings.log_every == 0 or state.step == settings.steps:
            bar.set_postfix(loss=f"{meter.write(state.step, state.positions[0]):.4f}")
        if state.step % settings.checkpoint_every == 0 or state.step == settings.steps:
            _save(run, state)
    bar.close()
    distributed.barrier(world)  # rank 0's last checkpoint is on disk before any rank returns
    return {"step": state.step, "checkpoint": str(checkpoint.latest(run.folder)), **meter.last}


def _save(run: Run, state: State) -> None:
    """Rank 0 writes the checkpoint, with every lane's position gathered from the ranks; a
    sharded network is gathered for it by every rank."""
    held = {lane: state.positions[lane] for lane in lanes.held(run.world, run.settings.lanes)}
    positions = lanes.gathered(held, run.settings.lanes, run.world)
    if not (run.world.main or sharding.is_sharded(state.model)):
        return
    payload = checkpoint.training_payload(
        run.spec, run.settings, run.preset, state.step, positions, state, run.world.size
    )
    if run.world.main:
        checkpoint.save(run.folder, payload)


def _step_on(run: Run, state: State, drawn: list[tuple[int, Any, list[dict]]], meter) -> bool:
    """Decode this rank's batch of each of its lanes, (lane, bucket, raw samples), and take
    the step on them. False, on every rank alike, when some lane's batch decodes nothing:
    the step would otherwise weigh the lanes differently on different numbers of ranks."""
    decoded = [(lane, size, *decode_batch(raws, size)) for lane, size, raws in drawn]
    reasons = [reason for *_, failed in decoded for reason in failed]
    samples, failed, empty = distributed.all_sum_counts(
        [
            sum(len(lcus) for _, _, lcus, _ in decoded),
            len(reasons),
            sum(1 for _, _, lcus, _ in decoded if not lcus),
        ]
    )
    if empty:
        meter.skipped(reasons, failed + samples)
        return False
    meter.skipped(reasons, failed)
    count = run.settings.lanes
    parts = [
        lane_batch(run.enc, lcus, size, run.device, lane_seed_parts(lane, count))
        for lane, size, lcus, _ in decoded
    ]
    values = optimise_lanes(state, parts, run.settings, run.device, samples, run.world.size)
    meter.add(values, samples)
    return True


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

    def __init__(self, path: Path | None, world_size: int = 1):
        self.path, self.world_size = path, world_size  # no path: a rank that does not write
        self.last: dict[str, Any] = {}
        self._reset()

    def _reset(self) -> None:
        self.losses, self.norms, self.samples, self.skips = [], [], 0, 0
        self.since = time.perf_counter()

    def add(self, values: dict[str, float], samples: int) -> None:
        self.losses.append(values["loss"])
        self.norms.append(values["grad_norm"])
        self.samples += samples

    def skipped(self, reasons: list[str], count: int | None = None) -> None:
        """Warn of this rank's skipped samples; count those of every rank (`count`)."""
        for reason in reasons[:3]:
            log.warning("skipped sample %s", reason)
        self.skips += len(reasons) if count is None else count

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
            "world_size": self.world_size,
        }
        if self.path is not None:
            with self.path.open("a") as f:
                f.write(json.dumps(self.last) + "\n")
        self._reset()
        return self.last["loss"]
