"""Training throughput of the bundled ACE model, beside baselines measured in the same run.

- trainer steps/s: the whole loop (stream the shards, decode, encode the text, pack, step)
  against the same network stepping on one batch packed in advance: the ratio is the share
  of the time the network gets (1.0: the input pipeline costs nothing).
- model FLOP/s during the network-only steps, against a dense matmul of the same precision
  measured in the same process: the ratio is the model FLOPs utilisation against the
  machine's measured peak (bf16 on a GPU, fp32 on the CPU).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import torch

from ace_model.conditioning import pack
from ace_model.config import PRESETS, RunSpec, TextConfig
from ace_model.data import Position, ShardStream, decode_batch
from ace_model.encoders import PixelCodec, TextEncoder
from ace_model.flops import train_step_flops
from ace_model.train import Encoders, complete_spec, new_state, pick_device, train_step
from benchmark.perf.report import Result
from dataengine.sinks.latent_store import buckets


def matmul_flops_per_s(device: torch.device, size: int = 1024, repeats: int = 20) -> float:
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    for _ in range(3):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(data: Path, steps: int = 20, preset_name: str = "tiny") -> list[Result]:
    """A pixel-space preset (tiny) on a corpus's train split."""
    device = pick_device(None)
    chosen = PRESETS[preset_name]
    if chosen.codec != "pixel":
        raise ValueError(f"{preset_name} works on VAE latents; this measures pixel presets")
    enc = Encoders(TextEncoder(TextConfig(), device), PixelCodec())
    spec = complete_spec(RunSpec(chosen.model), enc)
    train_cfg = chosen.train
    sizes = buckets(train_cfg.resolution, spec.model.patch)
    stream = ShardStream(data, "train", train_cfg.batch_size, sizes, train_cfg.seed)
    batches = stream.batches(Position())

    state = new_state(spec, train_cfg, device)
    start = time.perf_counter()
    for _, size, raws in itertools.islice(batches, steps):
        lcus, _ = decode_batch(raws, size)
        train_step(state, enc, lcus, size, train_cfg, device)
    sync(device)
    full = steps / (time.perf_counter() - start)

    # The network alone, on the largest batch of the same stream, packed once.
    _, size, raws = max(itertools.islice(batches, 8), key=lambda b: len(b[2]))
    lcus, _ = decode_batch(raws, size)
    cond = pack(lcus, size, enc.text, enc.codec)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(state, enc, lcus, size, train_cfg, device)
    sync(device)
    alone = steps / (time.perf_counter() - start)

    tokens = (size[0] // spec.model.patch) * (size[1] // spec.model.patch)
    frames = cond.frames.shape[1] + 1
    flops = train_step_flops(spec.model, len(lcus), frames, tokens, cond.text.shape[1]) * alone
    peak = matmul_flops_per_s(device)
    where = f"{device.type}, {torch.get_num_threads()} threads"
    return [
        Result(
            f"ace model {preset_name}: trainer steps/s",
            full,
            "steps/s",
            baseline=alone,
            baseline_name="network alone on a packed batch",
            note=f"batch {train_cfg.batch_size}, {train_cfg.resolution} px, {where}",
        ),
        Result(
            f"ace model {preset_name}: model FLOP/s (MFU)",
            flops,
            "FLOP/s",
            baseline=peak,
            baseline_name="dense matmul, same precision",
            note=f"{len(lcus)} samples x {frames} frames x {tokens} tokens, {where}",
        ),
    ]
