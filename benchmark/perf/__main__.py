"""`make bench`: every performance measurement beside its baseline, in one run.

python -m benchmark.perf [--out data/bench] [--recipe pipelines/recipes/default.yaml]
"""

from __future__ import annotations

import argparse
import logging
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
from benchmark.perf.report import print_report
from dataengine.machine import cores as parallel_cores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.perf", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    parser.add_argument("--recipe", type=Path, default=Path("pipelines/recipes/default.yaml"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import ray

    from dataengine.executors.ray import quiet_ray_logs

    quiet_ray_logs()
    cores = parallel_cores()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    try:
        results = pairs_vs_floor.measure(args.recipe, args.out / "work", cores)
    finally:
        ray.shutdown()
    results += pairs_vs_floor.profile(args.recipe, args.out / "work")
    results += engine_overhead.measure(args.recipe, args.out / "work", cores)
    results += cluster.measure(args.recipe, args.out / "work" / "cluster", cores)
    results += families.measure(args.out / "work")
    results += mining.measure_ground_truth(args.out / "work")
    results += mining.measure_scale(args.out / "work")
    results += resize.measure(args.out / "work", cores)
    results += model.measure(args.out / "work" / "default")
    results += latents.measure(args.out / "work" / "default", args.out / "work")
    results += memory.measure(args.recipe, args.out / "work")
    # every command at 1k and 10k samples; `make bench-scale` runs 10k against 100k
    results += scale.measure_scale(args.out / "work" / "scale", (1000, 10000))

    print_report(results, args.out / "results.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
