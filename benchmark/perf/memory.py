"""Flat memory: peak RSS of the default recipe at 1x and 10x its source count.

Each run is a fresh `ace data run --in-process` process, so its peak resident set (the
kernel's ru_maxrss of the finished child) is the whole pipeline's: the mining pass (run
afresh each time), sources, pair makers, the sink. Work units stream through one at a
time, so the peak should not grow with the corpus; the ratio 10x / 1x says whether it does.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from benchmark.perf.report import Result

SMALL = {"photos": 48, "shape_families": 12}


def scaled_recipe(base: Path, factor: int, work: Path) -> Path:
    raw = yaml.safe_load(base.read_text())
    raw = copy.deepcopy(raw)
    raw["name"] = f"{raw['name']}-x{factor}"
    # The default recipe mines pairs from a pool of sample sources: scale the pool, and mine
    # it afresh in the measured run (a cache of its own, emptied first), as a first run would.
    corpus = raw["source"]
    if raw["source"]["kind"] == "mined_pairs":
        corpus = raw["source"]["pool"]
        cache = work / f"mining-cache-x{factor}"
        shutil.rmtree(cache, ignore_errors=True)
        raw["source"]["cache"] = str(cache)
    corpus["photos"] = SMALL["photos"] * factor
    corpus["shape_families"] = SMALL["shape_families"] * factor
    path = work / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# Runs the command given as arguments and prints its peak RSS in KB: a fresh parent per
# measurement, because ru_maxrss of RUSAGE_CHILDREN is a maximum over all waited children.
_WRAPPER = (
    "import resource, subprocess, sys; "
    "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_rss_mb(recipe: Path, out: Path) -> float:
    """Peak RSS of one in-process run, in MB, read from the kernel after it exits."""
    shutil.rmtree(out, ignore_errors=True)
    run = [sys.executable, "-m", "ace_cli", "-q", "data", "run", str(recipe)]
    run += ["--out", str(out), "--in-process"]
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *run], check=True, capture_output=True, text=True
    )
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def measure(base: Path, work: Path) -> list[Result]:
    work.mkdir(parents=True, exist_ok=True)
    one = peak_rss_mb(scaled_recipe(base, 1, work), work / "memory-x1")
    ten = peak_rss_mb(scaled_recipe(base, 10, work), work / "memory-x10")
    sources = SMALL["photos"] + 4 * SMALL["shape_families"]
    return [
        Result(
            "default recipe: peak RSS at 10x the sources",
            ten,
            "MB",
            baseline=one,
            baseline_name=f"at 1x ({sources} sources)",
            note="in-process runs; ratio <= 1.2 means memory is flat",
        )
    ]
