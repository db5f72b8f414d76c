"""`make bench`: every performance measurement beside its baseline, in one run.

python -m benchmark.perf [--out data/bench] [--recipe pipelines/recipes/default.yaml]
                         [--only SUITE ...]

A suite that fails is reported and the others still run; data/bench/results.json is
rewritten after each suite, and the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import logging
import time
import traceback
from pathlib import Path

from benchmark.perf import (
    cluster,
    engine_overhead,
    families,
    latents,
    memory,
    mining,
    model,
    pairs_vs_floor,
    resize,
    scale,
)
from benchmark.perf.report import Result, print_report, write_results
from dataengine.machine import cores as parallel_cores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.perf", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    parser.add_argument("--recipe", type=Path, default=Path("pipelines/recipes/default.yaml"))
    parser.add_argument("--only", nargs="+", metavar="SUITE", help="run only these suites")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    work = args.out / "work"
    suites = [
        ("pairs", lambda: _on_ray(pairs_vs_floor.measure, args.recipe, work)),
        ("profile", lambda: pairs_vs_floor.profile(args.recipe, work)),
        ("engine-overhead", lambda: engine_overhead.measure(args.recipe, work, parallel_cores())),
        ("cluster", lambda: cluster.measure(args.recipe, work / "cluster", parallel_cores())),
        ("families", lambda: families.measure(work)),
        ("mining-truth", lambda: mining.measure_ground_truth(work)),
        ("mining-scale", lambda: mining.measure_scale(work)),
        ("resize", lambda: resize.measure(work, parallel_cores())),
        ("model", lambda: model.measure(work / "default")),
        ("latents", lambda: latents.measure(work / "default", work)),
        ("memory", lambda: memory.measure(args.recipe, work)),
        # every command at 1k and 10k samples; `make bench-scale` runs 10k against 100k
        ("scale", lambda: scale.measure_scale(work / "scale", (1000, 10000))),
    ]
    if args.only:
        unknown = sorted(set(args.only) - {name for name, _ in suites})
        if unknown:
            parser.error(f"no suite {unknown}; the suites: {', '.join(n for n, _ in suites)}")
        suites = [(name, suite) for name, suite in suites if name in args.only]
    results, failed = run_suites(suites, args.out / "results.json")
    print_report(results, args.out / "results.json")
    if failed:
        print(f"failed: {', '.join(failed)} (tracebacks above)")
    return 1 if failed else 0


def run_suites(suites, path: Path) -> tuple[list[Result], list[str]]:
    """Every suite in turn; one that fails is reported and the others still run. The
    results so far are written to `path` after each suite, so nothing measured is lost."""
    results: list[Result] = []
    failed: list[str] = []
    for name, suite in suites:
        try:
            results += suite()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        write_results(results, path)
        print(f"[{time.strftime('%H:%M:%S')}] {name}: {'failed' if name in failed else 'done'}")
    return results, failed


def _on_ray(measure, recipe: Path, work: Path) -> list[Result]:
    """A measurement that needs a running Ray (started here, stopped however it ends)."""
    import ray

    from dataengine.executors.ray import quiet_ray_logs

    quiet_ray_logs()
    cores = parallel_cores()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    try:
        return measure(recipe, work, cores)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    raise SystemExit(main())
