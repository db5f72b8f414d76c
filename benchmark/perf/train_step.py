"""Step time and model FLOPs utilisation of a preset's network, on packed synthetic LCUs.

The optimiser step is the trainer's own (`ace_model.train.optimise`: bf16 autocast on a GPU,
rectified-flow loss on the target tokens, clipping, AdamW, EMA); only the inputs are random
latents and text features of the preset's shapes, so no VAE or text encoder is needed. Model
FLOPs come from `ace_model.flops`; the peak beside them is a dense bf16 matmul measured in
the same process (and the card's datasheet figure when one is given).

    python -m benchmark.perf.train_step --preset ace-0.6b --frames 2 --out results.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ace_model.conditioning import ROLE_IDS, Condition
from ace_model.config import PRESETS, RunSpec
from ace_model.flops import train_step_flops
from ace_model.model import parameter_count
from ace_model.train import new_state, optimise
from benchmark.perf.model import matmul_flops_per_s, sync

VAE_FACTOR = 8  # SD-style AutoencoderKL: 8x smaller latents
TEXT_TOKENS = 64  # the text encoder's max_tokens


def synthetic_batch(preset_name: str, batch: int, frames: int, device: torch.device):
    """Targets x0 and a Condition: `frames - 1` real condition frames, one instruction that
    names the first of them, all on `device`."""
    chosen = PRESETS[preset_name]
    config = chosen.model
    side = chosen.train.resolution // (VAE_FACTOR if chosen.codec == "vae" else 1)
    c, n = config.image_channels, frames - 1
    roles = torch.tensor([ROLE_IDS["input"]] * n + [ROLE_IDS["target"]])
    text_ref = torch.full((batch, TEXT_TOKENS), -1, dtype=torch.long)
    text_ref[:, 1] = 0
    cond = Condition(
        frames=torch.randn(batch, n, c + 1, side, side),
        frame_valid=torch.ones(batch, n, dtype=torch.bool),
        frame_pos=torch.arange(frames).expand(batch, -1).clone(),
        frame_role=roles.expand(batch, -1).clone(),
        frame_segment=torch.zeros(batch, frames, dtype=torch.long),
        target_mask=torch.ones(batch, 1, side, side),
        text=torch.randn(batch, TEXT_TOKENS, config.text_dim),
        text_segment=torch.zeros(batch, TEXT_TOKENS, dtype=torch.long),
        text_ref=text_ref,
    )
    return torch.randn(batch, c, side, side).to(device), cond.to(device), side


def time_steps(preset_name: str, batch: int, frames: int, steps: int, compile_model: bool):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    chosen = PRESETS[preset_name]
    state = new_state(RunSpec(chosen.model), chosen.train, device)
    if compile_model:
        state.model = torch.compile(state.model)
    x0, cond, side = synthetic_batch(preset_name, batch, frames, device)
    for _ in range(3):  # warm-up (and compilation)
        optimise(state, x0, cond, chosen.train, device)
    sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        optimise(state, x0, cond, chosen.train, device)
    sync(device)
    seconds = (time.perf_counter() - start) / steps
    tokens = (side // chosen.model.patch) ** 2
    flops = train_step_flops(chosen.model, batch, frames, tokens, TEXT_TOKENS)
    return {
        "preset": preset_name,
        "compiled": compile_model,
        "params": parameter_count(state.model),
        "batch": batch,
        "frames": frames,
        "tokens_per_frame": tokens,
        "step_s": seconds,
        "samples_per_s": batch / seconds,
        "model_tflop_per_s": flops / seconds / 1e12,
        "peak_memory_gib": (torch.cuda.max_memory_allocated() / 2**30)
        if device.type == "cuda"
        else None,
    }


def measure(preset_name, batches, frames, steps, compile_model, peak, datasheet):
    """The first batch size in `batches` that fits in memory."""
    for batch in batches:
        try:
            row = time_steps(preset_name, batch, frames, steps, compile_model)
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            print(f"{preset_name}: batch {batch} does not fit, trying a smaller one", flush=True)
            continue
        row["mfu_vs_measured_matmul"] = row["model_tflop_per_s"] * 1e12 / peak
        if datasheet:
            row["mfu_vs_datasheet"] = row["model_tflop_per_s"] / datasheet
        return row
    return {"preset": preset_name, "error": f"no batch of {batches} fits"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", choices=sorted(PRESETS), required=True)
    parser.add_argument("--batch", type=int, action="append", help="tried largest first")
    parser.add_argument("--frames", type=int, default=2, help="condition frames + the target")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--datasheet-tflops", type=float, help="e.g. 989 for an H100 SXM")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    peak = matmul_flops_per_s(device, size=8192 if device.type == "cuda" else 1024)
    rows = []
    for name in args.preset:
        batches = sorted(args.batch or [PRESETS[name].train.batch_size], reverse=True)
        for compile_model in [False, True] if args.compile else [False]:
            row = measure(
                name, batches, args.frames, args.steps, compile_model, peak, args.datasheet_tflops
            )
            print(json.dumps(row), flush=True)
            rows.append(row)
    report = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "matmul_tflop_per_s": peak / 1e12,
        "rows": rows,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "rows"}))


if __name__ == "__main__":
    main()
