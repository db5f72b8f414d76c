"""`ace data audit DIR`: write DIR/report/index.html, a static page with its images beside it.

    DIR/report/index.html     counts, what selection removed, histograms, galleries
    DIR/report/plots/*.png    one histogram per score
    DIR/report/img/*.jpg      one strip per sampled pair

The report is built in a temporary folder and swapped in whole, so a reader never sees a
page whose images belong to an older run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from dataengine.audit.page import render
from dataengine.audit.plots import write_histogram
from dataengine.audit.strips import write_strips
from dataengine.audit.summary import Limits, Summary, summarise
from dataengine.quality.catalogue import SCORES
from dataengine.schema import SCORE_NAME
from dataengine.sinks.layout import Layout
from dataengine.storage import as_path, is_local

REPORT = "report"
STRIP_HEIGHT = 96


def write_report(out: str | Path, limits: Limits | None = None) -> Path:
    """Build the report of the corpus in `out`; return the path of its index.html.

    The report is built in a staging folder and swapped in whole: beside a local corpus
    (renamed into place), or on this machine and then uploaded beside a corpus in object
    storage."""
    out, limits = as_path(out), limits or Limits()
    if not Layout(out).complete_shards():
        raise FileNotFoundError(f"{out} holds no complete shard; run `ace data run` first")
    if not is_local(out):
        with tempfile.TemporaryDirectory() as local:
            _build(out, Path(local) / REPORT, limits)
            final = out / REPORT
            if final.exists():
                final.fs.rm(final.path, recursive=True)
            final.fs.put(str(Path(local) / REPORT), final.path, recursive=True)
        return final / "index.html"
    staging = out / f".{REPORT}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    _build(out, staging, limits)
    final = out / REPORT
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    return final / "index.html"


def _build(out, staging: Path, limits: Limits) -> None:
    summary = summarise(out, limits)
    strips = write_strips(out, summary.sampled(), staging / "img", STRIP_HEIGHT)
    plots = _plots(summary, _default_bounds(out), staging / "plots")
    page = render(_context(out, summary, limits, strips, plots))
    (staging / "index.html").write_text(page, encoding="utf-8")


def _plots(summary: Summary, bounds: dict[str, dict[str, float]], folder: Path):
    plots = []
    for name, hist in summary.histograms.items():
        if not SCORE_NAME.match(name):  # a crafted index's column: it names no file
            continue
        path = write_histogram(name, hist, bounds.get(name, {}), folder / f"{name}.png")
        plots.append((name, f"{folder.name}/{path.name}", SCORES.get(name, "")))
    return plots


def _context(out: Path, s: Summary, limits: Limits, strips: dict, plots: list) -> dict:
    run = _run_info(out)
    return {
        "name": run.get("recipe", {}).get("name", out.name),
        "ended": run.get("ended"),
        "shards": len(Layout(out).complete_shards()),
        "s": s,
        "limits": limits,
        "strips": strips,
        "plots": plots,
        "by_status": sorted(s.by_status.items()),
        "by_split": sorted(s.by_split.items()),
        "by_category": sorted(s.by_category.items()),
        "tasks": sorted(s.tasks.items()),
        "reasons": s.reasons.most_common(),
        "curated_out": sum(t.curated_out for t in s.tasks.values()),
        "rejected": sum(t.rejected for t in s.tasks.values()),
        "failed": sum(t.failed for t in s.tasks.values()),
    }


def _run_info(out: Path) -> dict:
    path = Layout(out).run_info
    return json.loads(path.read_text()) if path.exists() else {}


def _default_bounds(out: Path) -> dict[str, dict[str, float]]:
    """score -> {"min"|"max": value} from the recipe's `select` thresholds.default."""
    stages = _run_info(out).get("recipe", {}).get("stages", [])
    select = next((s for s in stages if s.get("stage") == "select"), {})
    bounds: dict[str, dict[str, float]] = {}
    for key, value in select.get("thresholds", {}).get("default", {}).items():
        kind, _, name = key.partition("_")
        bounds.setdefault(name, {})[kind] = value
    return bounds
