"""Benchmark results: one row per measurement, with the baseline measured beside it.

Machines are noisy, so every figure that matters is a ratio against a baseline run in the
same process, on the same inputs, minutes apart at most.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Result:
    name: str
    value: float
    unit: str
    baseline: float | None = None  # the same quantity, measured for the baseline
    baseline_name: str | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def format_table(results: list[Result]) -> str:
    """A markdown table, so the same text goes to the terminal and into docs."""
    lines = [
        "| measurement | value | unit | baseline | baseline value | ratio |",
        "|---|---:|---|---|---:|---:|",
    ]
    for r in results:
        base = "" if r.baseline is None else f"{r.baseline:.4g}"
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}"
        lines.append(
            f"| {r.name} | {r.value:.4g} | {r.unit} | {r.baseline_name or ''} | {base} | {ratio} |"
        )
    return "\n".join(lines)


def write_results(results: list[Result], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "host": platform.node(),
        "machine": platform.machine(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "results": [r.as_dict() for r in results],
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")


def print_report(results: list[Result], path: Path | None = None) -> None:
    """The table and each row's note on stdout; the results to `path` when given."""
    print(format_table(results))
    for r in results:
        if r.note:
            print(f"- {r.name}: {r.note}")
    if path is not None:
        write_results(results, path)
        print(f"wrote {path}")
