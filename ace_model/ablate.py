"""`ace model ablate`: did the data help? The same preset trained on two or more corpora
(say the default one and a curated, exported or damaged copy of it) with K seeds each, every
run evaluated on one frozen bench split, and per corpus the edit-aware figures with their
spread over seeds; a difference counts only where it exceeds that spread.

OUT/runs/<corpus>-seed<k>/           each run (its checkpoints, and eval/ its report)
OUT/ablation.json, OUT/ablation.md   the comparison

A rerun continues: a finished run's checkpoint and report are reused.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ace_model import checkpoint
from ace_model.evaluate import EvalSettings, evaluate

log = logging.getLogger(__name__)

# The figures compared: the number of tasks won inside the edit (higher is better), and the
# model's mean L1 inside the changed region and in the kept region (lower is better).
FIGURES = {"wins": True, "changed_l1": False, "kept_l1": False}


@dataclass(frozen=True)
class AblationSettings:
    preset: str = "tiny"
    steps: int | None = None  # the preset's when None
    seeds: tuple[int, ...] = (0, 1)
    eval_steps: int = 20
    guidance: float = 3.0
    bench: str | None = None  # the corpus whose bench split judges every run (the first's)
    names: tuple[str, ...] = field(default_factory=tuple)  # one per corpus (folder names)

    def check(self, corpora: list) -> None:
        if len(corpora) < 2:
            raise ValueError("give two corpora or more (--data A --data B): an ablation compares")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"--seeds {list(self.seeds)}: give distinct seeds, two or more")
        if self.names and len(self.names) != len(corpora):
            raise ValueError(f"{len(self.names)} names for {len(corpora)} corpora; give one each")


def ablate(corpora: list[str | Path], out: str | Path, settings: AblationSettings) -> dict:
    settings.check(corpora)
    out = Path(out)
    names = list(settings.names) or _names(corpora)
    bench = settings.bench or str(corpora[0])
    results = {
        name: [_one_run(corpus, bench, out / "runs" / f"{name}-seed{seed}", seed, settings)
               for seed in settings.seeds]
        for name, corpus in zip(names, corpora, strict=True)
    }  # fmt: skip
    report = compare(results, names[0])
    report["settings"] = asdict(settings) | {"corpora": [str(c) for c in corpora]}
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "ablation.md").write_text(markdown(report))
    return report


def _names(corpora: list) -> list[str]:
    names = [Path(str(c)).name or "corpus" for c in corpora]
    return [f"{n}-{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def _one_run(corpus, bench: str, run: Path, seed: int, settings: AblationSettings) -> dict:
    """Train (or reuse) one run and evaluate (or reuse) it on the bench; -> its figures."""
    from ace_model.train import train

    report_path = run / "eval" / "report.json"
    if not report_path.exists():
        if checkpoint.latest(run) is None or not _finished(run, settings):
            log.info("ablation: training %s", run.name)
            train(corpus, run, settings.preset, resume=checkpoint.latest(run) is not None,
                  progress=False, steps=settings.steps, seed=seed)  # fmt: skip
        evaluation = EvalSettings(steps=settings.eval_steps, guidance=settings.guidance, seed=seed)
        evaluate(run, bench, run / "eval", evaluation)
    return figures(json.loads(report_path.read_text()))


def _finished(run: Path, settings: AblationSettings) -> bool:
    payload = checkpoint.load(checkpoint.latest(run))
    wanted = settings.steps or checkpoint.train_config_of(payload).steps
    return int(payload["step"]) >= wanted


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """One run's edit-aware figures, from its evaluation report."""
    judged = {
        task: s["edit"] for task, s in report["tasks"].items() if s["edit"] and "win" in s["edit"]
    }
    changed = [e["model"]["changed"]["l1"] for e in judged.values()]
    kept = [e["model"]["kept"]["l1"] for e in judged.values() if e["model"]["kept"]]
    return {
        "wins": report["edit_aware"]["tasks"],
        "of": report["edit_aware"]["of"],
        "changed_l1": float(np.mean(changed)) if changed else None,
        "kept_l1": float(np.mean(kept)) if kept else None,
        "per_task_changed_l1": {t: e["model"]["changed"]["l1"] for t, e in judged.items()},
    }


def compare(results: dict[str, list[dict]], baseline: str) -> dict[str, Any]:
    """Per corpus: each figure's mean and range over seeds; against the baseline corpus, the
    difference and whether it is beyond the spread (the two ranges do not overlap)."""
    corpora = {}
    for name, runs in results.items():
        corpora[name] = {
            figure: _spread([run[figure] for run in runs if run[figure] is not None])
            for figure in FIGURES
        }
        corpora[name]["runs"] = runs
    for name, summary in corpora.items():
        if name == baseline:
            continue
        summary["against_" + baseline] = {
            figure: _difference(corpora[baseline][figure], summary[figure], higher)
            for figure, higher in FIGURES.items()
        }
    return {"baseline": baseline, "corpora": corpora, "tasks": per_task(results, baseline)}


def per_task(results: dict[str, list[dict]], baseline: str) -> dict[str, dict]:
    """task -> per corpus its changed-region L1 over seeds, and against the baseline the
    difference and whether it is beyond the spread (tasks every run judged)."""
    tables = {name: [run["per_task_changed_l1"] for run in runs] for name, runs in results.items()}
    shared = set.intersection(*(set(t) for runs in tables.values() for t in runs))
    tasks = {}
    for task in sorted(shared):
        spreads = {name: _spread([t[task] for t in runs]) for name, runs in tables.items()}
        tasks[task] = {"changed_l1": spreads, "against_" + baseline: {
            name: _difference(spreads[baseline], spread, higher_is_better=False)
            for name, spread in spreads.items() if name != baseline
        }}  # fmt: skip
    return tasks


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"mean": float(np.mean(values)), "min": float(min(values)), "max": float(max(values))}


def _difference(base: dict | None, other: dict | None, higher_is_better: bool) -> dict | None:
    if base is None or other is None:
        return None
    delta = other["mean"] - base["mean"]
    apart = other["min"] > base["max"] or other["max"] < base["min"]
    better = (delta > 0) == higher_is_better
    verdict = ("better" if better else "worse") if apart and delta else "within the spread"
    return {"delta": float(delta), "beyond_spread": bool(apart), "verdict": verdict}


def markdown(report: dict[str, Any]) -> str:
    base, settings = report["baseline"], report["settings"]
    steps = settings["steps"] or "the preset's"
    lines = [
        "# Ablation",
        "",
        f"Preset `{settings['preset']}`, {steps} steps, seeds "
        f"{', '.join(map(str, settings['seeds']))}; every run judged on the bench split of "
        f"`{settings['bench'] or settings['corpora'][0]}`. A difference counts only beyond the "
        "spread: the seeds' ranges of the two corpora do not overlap.",
        "",
        f"| corpus | tasks won inside the edit (of {_judged(report)}) | changed L1 | kept L1 "
        f"| against {base} |",
        "|---|---|---|---|---|",
    ]
    for name, s in report["corpora"].items():
        versus = s.get(f"against_{base}")
        verdict = "—" if versus is None else "; ".join(
            f"{figure}: {v['verdict']} ({v['delta']:+.3f})"
            for figure, v in versus.items() if v is not None
        )  # fmt: skip
        lines.append(
            f"| {name} | {_cell(s['wins'], 1)} | {_cell(s['changed_l1'], 3)} | "
            f"{_cell(s['kept_l1'], 3)} | {verdict} |"
        )
    return "\n".join([*lines, *_task_lines(report)]) + "\n"


def _task_lines(report: dict[str, Any]) -> list[str]:
    """Per task, the changed-region L1 of each corpus, and how each compares with the base."""
    base, names = report["baseline"], list(report["corpora"])
    lines = ["", "Per task: the model's L1 inside the changed region (lower is better).", "",
             f"| task | {' | '.join(names)} | against {base} |",
             "|---|" + "---|" * (len(names) + 1)]  # fmt: skip
    for task, row in report.get("tasks", {}).items():
        cells = [_cell(row["changed_l1"][name], 3) for name in names]
        verdicts = "; ".join(
            f"{name}: {v['verdict']} ({v['delta']:+.3f})"
            for name, v in row["against_" + base].items() if v is not None
        )  # fmt: skip
        lines.append(f"| {task} | {' | '.join(cells)} | {verdicts} |")
    return lines


def _judged(report: dict[str, Any]) -> str:
    """How many tasks the runs judged inside the edit (a range where runs differ)."""
    counts = sorted({run["of"] for s in report["corpora"].values() for run in s["runs"]})
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}..{counts[-1]}"


def _cell(spread: dict | None, digits: int) -> str:
    if spread is None:
        return "—"
    return f"{spread['mean']:.{digits}f} ({spread['min']:.{digits}f}..{spread['max']:.{digits}f})"
