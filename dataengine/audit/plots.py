"""Score histograms as PNG: kept samples, and rejected ones stacked on top, with the
recipe's default bounds drawn in. matplotlib's object API (no pyplot): no global figure
state, and the Agg canvas renders without a display."""

from __future__ import annotations

from pathlib import Path

from dataengine.audit.summary import Histogram

KEPT, REJECTED, BOUND = "#4c78a8", "#e45756", "#333333"


def write_histogram(name: str, hist: Histogram, bounds: dict[str, float], path: Path) -> Path:
    """`bounds` maps "min"/"max" to the default threshold on this score, where one exists."""
    from matplotlib.figure import Figure

    # Fixed margins: a layout engine would draw every figure twice to measure it.
    fig = Figure(figsize=(4.2, 2.4), dpi=80)
    fig.subplots_adjust(left=0.14, right=0.97, top=0.88, bottom=0.14)
    ax = fig.subplots()
    ax.stairs(hist.accepted, hist.edges, fill=True, color=KEPT, label="kept")
    total = hist.accepted + hist.rejected
    if hist.rejected.any():
        ax.stairs(
            total, hist.edges, baseline=hist.accepted, fill=True, color=REJECTED, label="rejected"
        )
    for kind, value in sorted(bounds.items()):
        ax.axvline(value, color=BOUND, linestyle="--", linewidth=1, label=f"{kind} {value:g}")
    ax.set_title(name, fontsize=10)
    ax.set_ylabel("samples", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    # No timestamp or software tag: the same corpus gives the same bytes.
    fig.savefig(path, format="png", metadata={"Software": None})
    return path
