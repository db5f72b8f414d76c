"""Training a VAE preset on latents that `ace data latents` precomputed, against the same
trainer encoding every frame and target as batches are formed, in one run.

The VAE has Stable Diffusion's shape (four levels of 128 to 512 channels, two layers each,
8x down, four latent channels) with random weights: encoding costs what the real one costs,
and nothing is downloaded. One train shard of the corpus is enough to time both.
"""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path

import torch

from ace_model.config import CodecConfig, RunSpec, TextConfig, preset
from ace_model.data import Position, ShardStream, decode_batch
from ace_model.encoders import TextEncoder, build_codec
from ace_model.latents import precompute_latents
from ace_model.train import Encoders, complete_spec, new_state, precomputed_latents, train_step
from benchmark.perf.report import Result
from dataengine.executors import InProcess
from dataengine.sinks.latent_store import buckets
from dataengine.sinks.layout import Layout


def sd_shaped_vae(folder: Path) -> Path:
    from diffusers import AutoencoderKL

    if not (folder / "config.json").exists():
        torch.manual_seed(0)
        AutoencoderKL(
            block_out_channels=[128, 256, 512, 512],
            down_block_types=["DownEncoderBlock2D"] * 4,
            up_block_types=["UpDecoderBlock2D"] * 4,
            layers_per_block=2,
            latent_channels=4,
            scaling_factor=0.18215,
        ).save_pretrained(folder)
    return folder


def one_train_shard(data: Path, out: Path) -> Path:
    """A corpus holding only the fullest train shard of `data` (its tar, index and stats)."""
    shutil.rmtree(out, ignore_errors=True)
    source, copy = Layout(data), Layout(out)
    train = [s for s in source.complete_shards() if s.startswith("train-")]
    shard = max(train, key=lambda s: (source.read_stats(s)["samples"], s))
    for path, target in (
        (source.tar(shard), copy.tar(shard)),
        (source.index(shard), copy.index(shard)),
        (source.stats(shard), copy.stats(shard)),
    ):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return out


def steps_per_s(corpus: Path, vae: Path, resolution: int, batch: int, steps: int, cached: bool):
    chosen = preset("small", resolution=resolution, batch_size=batch)
    device = torch.device("cpu")
    codec = build_codec(CodecConfig("vae", str(vae)), device)
    enc = Encoders(TextEncoder(TextConfig(), device), codec)
    spec = complete_spec(RunSpec(chosen.model, CodecConfig("vae", str(vae))), enc)
    multiple = spec.model.patch * codec.factor
    tars = precomputed_latents(corpus, spec, resolution, multiple) if cached else {}
    if cached and not tars:
        raise RuntimeError(f"no current latents in {corpus}/latents: the comparison is void")
    sizes = buckets(resolution, multiple)
    stream = ShardStream(corpus, "train", batch, sizes, chosen.train.seed, latent_tars=tars)
    batches = stream.batches(Position())
    state = new_state(spec, chosen.train, device)

    def step() -> None:
        _, size, raws = next(batches)
        lcus, _ = decode_batch(raws, size)
        train_step(state, enc, lcus, size, chosen.train, device)

    step()  # the first step pays for allocations; time the rest
    start = time.perf_counter()
    for _ in itertools.repeat(None, steps):
        step()
    return steps / (time.perf_counter() - start)


def measure(
    data: Path,
    work: Path,
    resolution: int = 128,
    batch: int = 8,
    steps: int = 4,
    vae: Path | None = None,
):
    """Steps/s with and without precomputed latents, and the encoding rate; `vae` defaults
    to one of Stable Diffusion's shape (random weights)."""
    corpus = one_train_shard(data, work / "latents-corpus")
    vae = vae or sd_shaped_vae(work / "sd-shaped-vae")
    patch = preset("small").model.patch
    summary = precompute_latents(
        corpus, vae, resolution, patch, InProcess(), device="cpu", progress=False
    )
    cached = steps_per_s(corpus, vae, resolution, batch, steps, cached=True)
    fresh = steps_per_s(corpus, vae, resolution, batch, steps, cached=False)
    where = f"cpu, {torch.get_num_threads()} threads, {resolution} px, batch {batch}"
    return [
        Result(
            "ace model small: trainer steps/s on precomputed latents",
            cached,
            "steps/s",
            baseline=fresh,
            baseline_name="encoding with the VAE as batches are formed",
            note=f"SD-shaped VAE (random weights), {where}",
        ),
        Result(
            "ace data latents: images encoded per s",
            summary.images / summary.seconds,
            "img/s",
            note=(
                f"{summary.images} images of {summary.samples} samples (one train shard) "
                f"in {summary.seconds:.1f} s (loading the VAE included), {where}"
            ),
        ),
    ]
