"""Every command at two corpus sizes: is it linear in time and flat in memory?

python -m benchmark.perf.scale [--sizes 10000 100000] [--out data/bench/scale]

A corpus of each size is built by a cheap recipe (pipelines' `pairs` on small generated
images held in a Parquet table, so nothing is committed or downloaded), then each command
runs on it as a user runs it, one process each (`ace ...`, or `python -c` for the readers
that are libraries): wall time, CPU seconds (of the command and every process it waited
for) and peak memory (the PSS of its whole process tree, sampled every 20 ms). The bars, larger size
against smaller: time ratio <= 1.1 x the size ratio (linear within noise), peak memory
ratio <= 1.3.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from benchmark.perf.report import Result, print_report

ROWS_PER_FILE = 5000
PAIRS_PER_SOURCE = 2
TIME_SLACK = 1.1  # a time ratio up to 1.1 x the size ratio counts as linear
MEMORY_BAR = 1.3
EXPORTS = ("webdataset", "hf", "instructpix2pix", "ace", "ace-plus")


# --------------------------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------------------------


def write_sources(folder: Path, count: int, seed: int = 0) -> Path:
    """`count` small JPEGs (64x48: smooth colour fields with a rectangle) with captions, in
    Parquet files of ROWS_PER_FILE rows, as img2dataset writes them."""
    import cv2
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:64]
    for start in range(0, count, ROWS_PER_FILE):
        keys, images, captions = [], [], []
        for i in range(start, min(count, start + ROWS_PER_FILE)):
            a, b, c = rng.integers(0, 256, 3)
            image = np.stack([(xx * 3 + a) % 256, (yy * 4 + b) % 256, (xx + yy + c) % 256], -1)
            x, y = rng.integers(4, 40), rng.integers(4, 28)
            image[y : y + 16, x : x + 20] = rng.integers(0, 256, 3)
            images.append(
                cv2.imencode(".jpg", image.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])[
                    1
                ].tobytes()
            )
            keys.append(f"gen-{i:07d}")
            captions.append(f"a generated picture number {i} with a coloured box")
        table = pa.table({"key": keys, "jpg": images, "caption": captions})
        pq.write_table(table, folder / f"part-{start // ROWS_PER_FILE:05d}.parquet")
    return folder


def write_recipe(sources: Path, path: Path) -> Path:
    recipe = {
        "name": "scale",
        "seed": 0,
        "source": {"kind": "parquet", "paths": [str(sources)]},
        "splits": {"train": 0.9, "val": 0.05, "bench": 0.05},
        "unit_size": 500,
        "stages": [
            {"stage": "decode", "max_side": 64, "min_side": 32},
            {
                "stage": "pairs",
                "per_source": PAIRS_PER_SOURCE,
                "tasks": {
                    "grayscale": 1.0,
                    "colorization": 1.0,
                    "canny_extraction": 1.0,
                    "inpainting": 1.0,
                    "brightness_contrast": 1.0,
                },
            },
            {"stage": "template_instructions"},
            {"stage": "quality_scores"},
            {"stage": "select", "thresholds": {"default": {"min_instruction_words": 4}}},
        ],
        "sink": {"jpeg_quality": 90},
    }
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


# --------------------------------------------------------------------------------------------
# Measuring one command
# --------------------------------------------------------------------------------------------


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    peak_mb: float


def measure(command: list[str], env: dict | None = None) -> Measured:
    """Run `command` to its end; its wall time, CPU seconds and the peak memory of its
    process tree (PSS)."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        peak = max(peak, _tree_memory(root))
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        tail = process.stderr.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(seconds, cpu, peak / 2**20)


def _tree_memory(root) -> int:
    """The memory of a process and its descendants: the sum of their proportional set sizes
    (PSS), each shared page split between the processes that share it. Summing RSS would
    count a page that forked workers share with their parent once per process."""
    import psutil

    total = 0
    with contextlib.suppress(psutil.Error):
        for process in [root, *root.children(recursive=True)]:
            total += _pss(process.pid)
    return total


def _pss(pid: int) -> int:
    """From /proc/PID/smaps_rollup: one short read (the full smaps costs the sampler, and
    so the measured command, far more CPU)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # the process has ended
        pass
    return 0


# --------------------------------------------------------------------------------------------
# The commands
# --------------------------------------------------------------------------------------------

LOAD_DATASET = """
import sys, datasets
datasets.disable_progress_bars()
ds = datasets.load_dataset(sys.argv[1])
print(sum(len(split) for split in ds.values()))
"""

TRAINER_EPOCH = """
import sys
from ace_model.data import ShardStream, decode_batch
from dataengine.sinks.latent_store import buckets
stream = ShardStream(sys.argv[1], "train", 16, buckets(32, 8), seed=0)
n = 0
for size, raws in stream.epoch_plan(0):
    lcus, _ = decode_batch(raws, size)
    n += len(lcus)
print(n)
"""


def commands(corpus: Path, work: Path) -> dict[str, list[str]]:
    ace, python = [sys.executable, "-m", "ace_cli", "-q", "data"], sys.executable
    table = {
        "validate": [*ace, "validate", str(corpus)],
        "validate --no-decode": [*ace, "validate", str(corpus), "--no-decode"],
        "stats": [*ace, "stats", str(corpus)],
        "select": [*ace, "select", str(corpus), "--processes", "2"],
        "audit": [*ace, "audit", str(corpus)],
    }
    for fmt in EXPORTS:
        table[f"export {fmt}"] = [
            *ace,
            "export",
            str(corpus),
            "--format",
            fmt,
            "--out",
            str(work / f"export-{fmt}"),
        ]
    table["datasets.load_dataset"] = [python, "-c", LOAD_DATASET, str(corpus)]
    table["trainer: one epoch read"] = [python, "-c", TRAINER_EPOCH, str(corpus)]
    return table


def measure_size(size: int, work: Path) -> tuple[int, dict[str, Measured]]:
    """Build a corpus of about `size` samples and measure every command on it; return the
    samples it holds and the measurements."""
    folder = work / f"n{size}"
    shutil.rmtree(folder, ignore_errors=True)
    sources = write_sources(folder / "sources", size // PAIRS_PER_SOURCE)
    recipe = write_recipe(sources, folder / "scale.yaml")
    corpus = folder / "corpus"
    ace = [sys.executable, "-m", "ace_cli", "-q", "data"]
    env = {**os.environ, "HF_DATASETS_CACHE": str(folder / "hf-cache")}
    found = {
        "run --processes 2": measure(
            [*ace, "run", str(recipe), "--out", str(corpus), "--processes", "2"]
        )
    }
    for name, command in commands(corpus, folder).items():
        found[name] = measure(command, env)
        print(f"  n={size} {name}: {found[name].seconds:.1f} s", flush=True)
    samples = json.loads((corpus / "run.json").read_text())["counts"]["by_status"].get("ok", 0)
    return samples, found


def compare(small: tuple[int, dict], large: tuple[int, dict]) -> list[Result]:
    """One row per command: the larger corpus against the smaller (samples, measurements)."""
    (n_small, a), (n_large, b) = small, large
    results, sizes = [], n_large / n_small
    for name in a:
        time_ratio = b[name].seconds / a[name].seconds
        memory_ratio = b[name].peak_mb / a[name].peak_mb
        per_sample_ms = 1000 * b[name].seconds / n_large
        verdict = []
        if time_ratio > TIME_SLACK * sizes:
            verdict.append(f"time ratio {time_ratio:.1f} > {TIME_SLACK * sizes:.1f}")
        if memory_ratio > MEMORY_BAR:
            verdict.append(f"memory ratio {memory_ratio:.2f} > {MEMORY_BAR}")
        note = (
            f"{a[name].seconds:.1f} s -> {b[name].seconds:.1f} s ({per_sample_ms:.2f} ms/sample), "
            f"CPU {a[name].cpu_seconds:.0f} -> {b[name].cpu_seconds:.0f} s, peak memory "
            f"{a[name].peak_mb:.0f} -> {b[name].peak_mb:.0f} MB (x{memory_ratio:.2f}); "
            + ("; ".join(verdict) if verdict else "bars hold")
        )
        results.append(
            Result(
                f"scale: {name}, {n_large} vs {n_small} samples (time)",
                b[name].seconds,
                "s",
                a[name].seconds,
                f"{n_small} samples",
                note,
            )
        )
    return results


def measure_scale(work: Path, sizes: tuple[int, int]) -> list[Result]:
    return compare(*(measure_size(size, work) for size in sizes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.perf.scale", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs=2, default=(10000, 100000))
    parser.add_argument("--out", type=Path, default=Path("data/bench/scale"))
    args = parser.parse_args(argv)
    results = measure_scale(args.out / "work", tuple(args.sizes))
    print_report(results, args.out / "results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
