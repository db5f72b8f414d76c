"""A pool's stored embeddings at scale: the parts the embedding pass writes (one Parquet part
per batch of 256 images, float32), matched to the pool's ids and read into one float16 array,
as a recipe's mining step does before it mines.

    python -m benchmark.perf.store_at_scale [--sizes 1000000 10000000] [--out data/bench/store]

Each size is loaded in a fresh process, so its peak memory is its own. Bars: loading is
linear in the pool (time ratio at most 1.1 x the size ratio) and its peak stays near the
float16 result (at most 1.3 x it, plus the ids), where reading every part at once in float32
needed three times the result.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from benchmark.perf.mining import DIM, _size, in_fresh_process
from benchmark.perf.report import Result, print_report
from dataengine.machine import cores
from dataengine.mine.store import EmbeddedBatch, EmbeddingStore

SIZES = (1_000_000, 10_000_000)
PART_ROWS = 256  # the embedding pass's default batch


def image_id(i: int) -> str:
    return f"pool/{i // 1000:06d}/{i:09d}.jpg"


def part_vectors(part: int, rows: int) -> np.ndarray:
    v = np.random.default_rng([part]).standard_normal((rows, DIM), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def write_store(root: Path, n: int) -> None:
    """n images in parts of PART_ROWS, as the embedding pass leaves them (written by one
    process per core, which changes nothing in what is written)."""
    starts = range(0, n, PART_ROWS)
    with multiprocessing.get_context("spawn").Pool(cores()) as pool:
        pool.starmap(write_part, [(str(root), part, start, n) for part, start in enumerate(starts)])


def write_part(root: str, part: int, start: int, n: int) -> None:
    ids = [image_id(i) for i in range(start, min(n, start + PART_ROWS))]
    batch = EmbeddedBatch(ids, part_vectors(part, len(ids)), ["ok"] * len(ids), [None] * len(ids))
    EmbeddingStore(Path(root), "clip", "bench").write(batch)


def load_run(root: str, n: int) -> dict:
    """Load all n ids, shuffled, as float16; time, peak memory, and a check of some rows."""
    order = np.random.default_rng(1).permutation(n)
    ids = [image_id(i) for i in order]
    store = EmbeddingStore(Path(root), "clip", "bench")
    started = time.perf_counter()
    lacking = int(store.missing(ids).sum())
    missing_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors, status, _ = store.load(ids, np.float16)
    seconds = time.perf_counter() - started
    for row in (0, n // 2, n - 1):  # each row is its image's vector, wherever it was asked
        part, start = divmod(int(order[row]), PART_ROWS)
        expected = part_vectors(part, min(PART_ROWS, n - part * PART_ROWS))[start]
        assert np.array_equal(vectors[row], expected.astype(np.float16))
    return {
        "n": n,
        "parts": len(store.parts()),
        "seconds": seconds,
        "missing_s": missing_s,
        "lacking": lacking,
        "ok": status.count("ok"),
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "result_gb": vectors.nbytes / 2**30,
    }


def measure(out: Path, sizes=SIZES) -> list[Result]:
    runs = []
    for n in sizes:
        root = out / f"store-{_size(n)}"
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        write_store(root, n)
        written = time.perf_counter() - started
        runs.append({**in_fresh_process(load_run, str(root), n), "written_s": written})
        shutil.rmtree(root)
    small, big = runs[0], runs[-1]
    return [
        Result(
            f"stored embeddings, {_size(big['n'])} ids into float16: load time",
            big["seconds"],
            "s",
            small["seconds"],
            f"{_size(small['n'])} ids",
            note=(
                f"{big['parts']} parts; which ids are missing: {big['missing_s']:.1f} s "
                f"({small['missing_s']:.1f} s); {big['ok']} of {big['n']} loaded ok, "
                f"{big['lacking']} missing; writing the store took {big['written_s']:.0f} s "
                f"(bar: ratio at most {1.1 * big['n'] / small['n']:.0f})"
            ),
        ),
        Result(
            f"stored embeddings, {_size(big['n'])}: peak memory",
            big["peak_gb"],
            "GB",
            big["result_gb"],
            "the float16 result",
            note=f"at {_size(small['n'])}: {small['peak_gb']:.2f} GB for {small['result_gb']:.2f}",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.perf.store_at_scale")
    parser.add_argument("--sizes", type=int, nargs=2, default=SIZES)
    parser.add_argument("--out", type=Path, default=Path("data/bench/store"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print_report(measure(args.out, tuple(args.sizes)), args.out / "results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
