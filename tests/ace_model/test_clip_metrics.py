"""CLIP metrics from an open_clip folder: a tiny randomly initialised CLIP saved in
open_clip's own local layout (tests/builders.py), loaded by the real `local-dir:` code path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ace_model.clip_metrics import ClipScorer
from ace_model.evaluate import EvalSettings, evaluate
from tests.builders import build_tiny_clip


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


def test_scores_have_their_meaning(clip_folder):
    scorer = ClipScorer(clip_folder)
    rng = np.random.default_rng(0)
    source, target = (rng.integers(0, 256, (40, 40, 3)).astype(np.uint8) for _ in range(2))
    perfect = scorer.scores(target, target, source, "a red circle")
    assert perfect["clip_i"] == pytest.approx(1.0, abs=1e-5)
    assert perfect["clip_dir"] == pytest.approx(1.0, abs=1e-5)  # moved exactly as wanted
    stayed = scorer.scores(source, target, source, None)
    assert stayed["clip_i"] < 1.0 and "clip_out" not in stayed
    assert -1.0 <= perfect["clip_out"] <= 1.0


def test_not_an_open_clip_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"open_clip_config\.json"):
        ClipScorer(tmp_path)


def test_report_carries_clip_metrics(reference, micro_run, clip_folder, tmp_path):
    report = evaluate(
        micro_run,
        reference,
        tmp_path / "r",
        EvalSettings(steps=2, examples=0, clip=str(clip_folder)),
    )
    assert set(report["overall"]["clip"]) == {"clip_i", "clip_out", "clip_dir"}
    assert "CLIP: clip_dir" in (tmp_path / "r" / "report.md").read_text()
