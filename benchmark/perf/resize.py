"""The resize job side by side: the codec floor, img2dataset, and our resize recipe.

All three read the same 5000 JPEGs of 1280x960 (made from the bundled photos, each with a
caption) and write long side 512 at JPEG quality 95:
- the floor: a plain decode -> resize -> encode loop (1 and 2 processes, full and
  reduced-size decoding), nothing written;
- img2dataset, from its own venv, reading file:// URLs, keep_ratio_largest, 2 processes,
  shards of 500, wandb off;
- ours: pipelines/recipes/resize.yaml on local worker processes (`--processes`) and on a
  Ray the run starts, each from launch to exit; and, for the runner's overhead on Ray, on a
  running Ray against the in-process path (on the first 1000 images);
- ours, img2dataset and the floor run in turn, REPEATS times (the machine's speed drifts
  within minutes; runs side by side share the drift), and the triple of median ratio is
  reported;
- the start-up of `ace data run` on an empty folder: launch to the exit that says so.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import cv2
import numpy as np

from benchmark.perf.cpu import timed
from benchmark.perf.report import Result
from dataengine.executors import heap

IMAGES = 5000
OVERHEAD_IMAGES = 1000  # the Ray against in-process comparison
SIZE = (1280, 960)
TARGET = 512
QUALITY = 95
IMG2DATASET = "img2dataset==1.47.0"
REPEATS = 3  # runs of each side of a ratio (odd: the middle one is reported)
STARTUP_BAR = 0.5  # seconds


# --------------------------------------------------------------------------------------------
# The source images
# --------------------------------------------------------------------------------------------


def make_sources(folder: Path, count: int = IMAGES) -> list[Path]:
    """count JPEGs of 1280x960 with a caption beside each; kept between runs."""
    from dataengine.sources.sample_photos import BASE_PHOTOS, base_pixels

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(0)
    for i in range(count):
        path = folder / f"{i:05d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        photo = BASE_PHOTOS[i % len(BASE_PHOTOS)]
        base = base_pixels(photo.name)
        h, w = base.shape[:2]
        crop_h, crop_w = int(h * rng.uniform(0.7, 1.0)), int(w * rng.uniform(0.7, 1.0))
        y, x = int(rng.integers(0, h - crop_h + 1)), int(rng.integers(0, w - crop_w + 1))
        crop = np.ascontiguousarray(base[y : y + crop_h, x : x + crop_w])
        pixels = cv2.resize(crop, SIZE, interpolation=cv2.INTER_CUBIC)
        bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
        path.with_suffix(".txt").write_text(photo.caption + "\n")
    return paths


# --------------------------------------------------------------------------------------------
# The floor
# --------------------------------------------------------------------------------------------


def _resize_one(job: tuple[str, bool]) -> int:
    path, reduced = job
    flags = cv2.IMREAD_REDUCED_COLOR_2 if reduced else cv2.IMREAD_COLOR
    bgr = cv2.imread(path, flags)
    h, w = bgr.shape[:2]
    scale = TARGET / max(h, w)
    small = cv2.resize(bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    _, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    return len(buf)


def floor(paths: list[Path], processes: int, reduced: bool) -> tuple[float, float]:
    """Images per second of the plain loop, and per busy CPU second.

    Its workers keep image buffers on glibc's heap (`heap.tune`, as ours do): otherwise
    the floor's speed would depend on what this process did before forking them (a parent
    that had imported torch left glibc's adaptive thresholds high and the floor 5-25%
    faster than a fresh one)."""
    jobs = [(str(p), reduced) for p in paths]
    with ProcessPoolExecutor(processes, initializer=heap.tune) as pool:
        list(pool.map(_resize_one, jobs[:processes]))  # workers started
        _, wall, cpu = timed(lambda: list(pool.map(_resize_one, jobs, chunksize=16)))
        return len(paths) / wall, len(paths) / cpu


# --------------------------------------------------------------------------------------------
# img2dataset
# --------------------------------------------------------------------------------------------


def img2dataset_venv(root: Path) -> Path | None:
    """img2dataset in its own venv (its pins clash with ours); None if it cannot install."""
    python = root / "bin" / "python"
    stamp = root / ".installed"
    if not stamp.exists():
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", IMG2DATASET], capture_output=True
        )
        if done.returncode != 0:
            print(done.stderr.decode()[-2000:], file=sys.stderr)
            return None
        stamp.touch()
    return root / "bin" / "img2dataset"


def run_img2dataset(tool: Path, paths: list[Path], work: Path, processes: int) -> float:
    """Images per second, from launching the command to its exit (as a user sees it)."""
    table = work / "urls.csv"
    with open(table, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["url", "caption"])
        for p in paths:
            writer.writerow([p.resolve().as_uri(), p.with_suffix(".txt").read_text().strip()])
    out = work / "img2dataset"
    shutil.rmtree(out, ignore_errors=True)
    command = [
        str(tool), "--url_list", str(table), "--input_format", "csv",
        "--url_col", "url", "--caption_col", "caption",
        "--output_format", "webdataset", "--output_folder", str(out),
        "--image_size", str(TARGET), "--resize_mode", "keep_ratio_largest",
        "--resize_only_if_bigger", "True", "--encode_quality", str(QUALITY),
        "--processes_count", str(processes), "--thread_count", "4",
        "--number_sample_per_shard", "500", "--enable_wandb", "False",
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    written = sum(1 for _ in out.glob("*.tar"))
    if written == 0:
        raise RuntimeError("img2dataset wrote no shard")
    return len(paths) / seconds


# --------------------------------------------------------------------------------------------
# Ours
# --------------------------------------------------------------------------------------------


RECIPE = Path("pipelines/recipes/resize.yaml")


@dataclass
class OursRun:
    """One `ace data run` of the resize recipe, in images per second."""

    speed: float  # from launch to exit
    per_cpu: float  # per busy CPU second, start-up included
    run_speed: float  # by the run's own clock (run.json `seconds`): imports and planning out
    samples: int


def run_ours(source: Path, work: Path, executor: list[str]) -> OursRun:
    """`ace data run` on the resize recipe with the executor flags given (none: a local
    Ray started by the run)."""
    out = work / ("ours" + "".join(executor).replace("-", "_"))
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "ace_cli", "-q", "data", "run", str(RECIPE)]
    command += ["--input", str(source), "--out", str(out), *executor]
    _, wall, cpu = timed(lambda: subprocess.run(command, check=True, capture_output=True))
    samples = _ok_samples(out)
    run_seconds = json.loads((out / "run.json").read_text())["seconds"]
    return OursRun(samples / wall, samples / cpu, samples / run_seconds, samples)


def _ok_samples(out: Path) -> int:
    from dataengine.corpus.read import read_index

    return sum(s == "ok" for s in read_index(out, ["status"])["status"].to_pylist())


def ray_vs_in_process(source: Path, work: Path, cores: int) -> Result:
    """The runner's own overhead on Ray: the same job on a Ray already running (workers
    warmed by a first slice, as on a cluster) against the in-process path, in images per
    busy CPU second of the machine (Ray's daemons included); medians of REPEATS runs each
    (Ray's back to back on one session, then the in-process ones with Ray shut down)."""
    import ray

    from dataengine.executors import InProcess
    from dataengine.executors.ray import RayExecutor, quiet_ray_logs
    from dataengine.recipe import load_recipe
    from dataengine.runner import run_recipe

    recipe = load_recipe(RECIPE, {"source": {"kind": "folder", "path": str(source)}})

    def run(name: str, executor) -> tuple[int, float, float]:
        out = work / f"ours-{name}"
        shutil.rmtree(out, ignore_errors=True)
        summary, wall, cpu = timed(
            lambda: run_recipe(recipe, out, executor, limit=OVERHEAD_IMAGES, progress=False)
        )
        return summary.samples, wall, cpu

    quiet_ray_logs()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    try:
        warm, on_cluster = work / "ours-warm-up", RayExecutor()  # uses the running session
        run_recipe(recipe, warm, on_cluster, limit=recipe.unit_size * cores, progress=False)
        on_ray = [run("ray-warm", on_cluster) for _ in range(REPEATS)]
    finally:
        ray.shutdown()
        shutil.rmtree(work / "ours-warm-up", ignore_errors=True)
    local = [run("in-process", InProcess()) for _ in range(REPEATS)]
    samples = on_ray[0][0]
    ray_wall, ray_cpu = median(r[1] for r in on_ray), median(r[2] for r in on_ray)
    local_wall, local_cpu = median(r[1] for r in local), median(r[2] for r in local)
    return Result(
        "resize: Ray (running) / in-process, images per CPU second",
        samples / ray_cpu,
        "img/CPU s",
        samples / local_cpu,
        "in-process",
        f"{samples} images, medians of {REPEATS} runs each; Ray on {cores} cores "
        f"{ray_wall:.1f} s wall, {ray_cpu:.1f} CPU s (runs: "
        f"{', '.join(f'{r[2]:.1f}' for r in on_ray)}); in-process {local_wall:.1f} s wall, "
        f"{local_cpu:.1f} CPU s (runs: {', '.join(f'{r[2]:.1f}' for r in local)})",
    )


def _middle_pair(pairs: list, field: str) -> tuple[float, float, OursRun, str]:
    """The floor's speed and speed per CPU second, and our run, of the pair whose ratio
    (our `field` / the floor's speed) is the median; and every pair's ratio, as text."""
    ratios = [getattr(ours, field) / floor_run[0] for floor_run, ours in pairs]
    middle = sorted(range(len(pairs)), key=ratios.__getitem__)[len(pairs) // 2]
    (floor_speed, floor_per_cpu), ours = pairs[middle]
    return floor_speed, floor_per_cpu, ours, ", ".join(f"{r:.2f}" for r in ratios)


def measure(work: Path, cores: int) -> list[Result]:
    work.mkdir(parents=True, exist_ok=True)
    paths = make_sources(work / "resize-sources")
    results = []
    floors, configs = {}, {}
    for processes in sorted({1, cores}):
        for reduced in (False, True):
            name = f"floor, {processes} process{'es' * (processes > 1)}" + (
                ", reduced decode" if reduced else ""
            )
            configs[name] = (processes, reduced)
            floors[name], _ = floor(paths, processes, reduced)
            results.append(Result(f"resize: {name}", floors[name], "img/s"))
    best = max(floors, key=floors.get)
    tool = img2dataset_venv(work / "venv-img2dataset")
    source = work / "resize-sources"
    # Ours, the floor and img2dataset in turn, and the turn of median ratio: this machine's
    # speed drifts by a fifth within minutes (one run against one run swung from 0.56 to
    # 0.76), and runs back to back share the drift.
    pairs, peers = [], []
    for _ in range(REPEATS):
        pairs.append(
            (floor(paths, *configs[best]), run_ours(source, work, ["--processes", str(cores)]))
        )
        peers.append(run_img2dataset(tool, paths, work, cores) if tool else None)
    floor_speed, floor_per_cpu, ours, ratios = _middle_pair(pairs, "speed")
    run_clock_floor, _, ours_by_run_clock, run_clock_ratios = _middle_pair(pairs, "run_speed")
    ours_ray = run_ours(source, work, [])
    note = f"{ours.samples} images, launch to exit; ours with --processes {cores}"
    if tool is not None:
        peer_ratios = [o.speed / p for (_, o), p in zip(pairs, peers, strict=True)]
        middle = sorted(range(REPEATS), key=peer_ratios.__getitem__)[REPEATS // 2]
        peer, ours_beside = peers[middle], pairs[middle][1]
        results.append(Result("resize: img2dataset", peer, "img/s", note=IMG2DATASET))
        results.append(
            Result(
                "resize: ours / img2dataset",
                ours_beside.speed,
                "img/s",
                peer,
                "img2dataset",
                f"{note}; runs in turn, the middle of {REPEATS} ratios "
                f"({', '.join(f'{r:.2f}' for r in peer_ratios)})",
            )
        )
        results.append(
            Result(
                "resize: ours on a Ray it starts / img2dataset",
                ours_ray.speed,
                "img/s",
                peer,
                "img2dataset",
                f"{ours.samples} images, launch to exit, Ray start-up included",
            )
        )
    results.append(
        Result(
            "resize: ours / floor",
            ours.speed,
            "img/s",
            floor_speed,
            best,
            f"{note}; the middle of {REPEATS} interleaved pairs, whose ratios were {ratios}",
        )
    )
    results.append(
        Result(
            "resize: ours by the run's own clock / floor",
            ours_by_run_clock.run_speed,
            "img/s",
            run_clock_floor,
            best,
            "ours by run.json `seconds`: from the plan made to the last shard written, "
            "workers' start and stop included, the command's imports and planning not (as "
            f"the floor's pool start is not); the middle of the same {REPEATS} pairs, whose "
            f"ratios were {run_clock_ratios}",
        )
    )
    results.append(
        Result(
            "resize: ours / floor, images per CPU second",
            ours.per_cpu,
            "img/CPU s",
            floor_per_cpu,
            best,
            "ours from launch to exit (start-up included), the floor in warmed processes",
        )
    )
    results.append(ray_vs_in_process(source, work, cores))
    results.append(startup(work))
    return results


def startup(work: Path, launches: int = 5) -> Result:
    """Launch to exit of `ace data run` on an empty folder (it plans, finds no image and
    says so): the command's imports and checks, the floor of every run."""
    empty = work / "empty-input"
    empty.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "ace_cli", "-q", "data", "run", str(RECIPE), "--input"]
    command += [str(empty), "--out", str(work / "empty-out"), "--processes", "2"]
    seconds = []
    for _ in range(launches):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds.append(time.perf_counter() - start)
        if "no images found" not in done.stderr:
            raise RuntimeError(f"the empty run did not stop as expected: {done.stderr[-500:]}")
    value = median(seconds)
    verdict = "holds" if value <= STARTUP_BAR else "does not hold"
    return Result(
        "run: start-up on an empty folder", value, "s",
        note=f"median of {launches} launches ({', '.join(f'{s:.2f}' for s in seconds)}); "
        f"bar {STARTUP_BAR} s {verdict}",
    )  # fmt: skip


if __name__ == "__main__":
    from benchmark.perf.report import format_table
    from dataengine.machine import cores as parallel_cores

    cores = parallel_cores()

    print(format_table(measure(Path("data/bench/work"), cores)))
