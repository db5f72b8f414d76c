"""`ace model ablate`: per corpus the edit-aware figures over seeds, and a difference that
counts only beyond the seeds' spread."""

from __future__ import annotations

import json

import pytest

from ace_model.ablate import AblationSettings, ablate, compare, figures
from dataengine.corpus.damage import Damage, damage_corpus


def run(wins: int, changed: float, kept: float, **tasks: float) -> dict:
    return {"wins": wins, "of": 5, "changed_l1": changed, "kept_l1": kept,
            "per_task_changed_l1": tasks}  # fmt: skip


def test_a_difference_counts_only_beyond_the_spread():
    results = {
        "clean": [run(3, 0.20, 0.02), run(4, 0.22, 0.03)],
        "damaged": [run(1, 0.30, 0.09), run(3, 0.21, 0.10)],
    }
    versus = compare(results, "clean")["corpora"]["damaged"]["against_clean"]
    assert versus["kept_l1"] == {"delta": pytest.approx(0.07), "beyond_spread": True,
                                 "verdict": "worse"}  # fmt: skip
    assert versus["changed_l1"]["verdict"] == "within the spread"  # 0.21 lies in 0.20..0.22
    assert versus["wins"]["verdict"] == "within the spread"  # 3 is in both ranges


def test_each_task_is_compared_on_its_changed_region_where_every_run_judged_it():
    results = {
        "clean": [run(1, 0.2, 0.0, deblur=0.10, inpaint=0.30), run(1, 0.2, 0.0, deblur=0.12)],
        "damaged": [run(1, 0.2, 0.0, deblur=0.20, inpaint=0.10), run(1, 0.2, 0.0, deblur=0.11)],
    }
    tasks = compare(results, "clean")["tasks"]
    assert list(tasks) == ["deblur"]  # inpaint: not judged in every run
    assert tasks["deblur"]["changed_l1"]["damaged"] == {"mean": pytest.approx(0.155),
                                                       "min": 0.11, "max": 0.20}  # fmt: skip
    assert tasks["deblur"]["against_clean"]["damaged"]["verdict"] == "within the spread"


def test_figures_read_the_edit_aware_headline_of_a_report():
    report = {
        "edit_aware": {"tasks": 1, "of": 2},
        "tasks": {
            "a": {"edit": {"win": True, "model": {"changed": {"l1": 0.1}, "kept": {"l1": 0.01}}}},
            "b": {"edit": {"win": False, "model": {"changed": {"l1": 0.3}, "kept": None}}},
            "c": {"edit": None},
        },
    }
    got = figures(report)
    assert (got["wins"], got["of"]) == (1, 2)
    assert got["changed_l1"] == pytest.approx(0.2) and got["kept_l1"] == pytest.approx(0.01)


def test_settings_are_checked_before_any_training(tmp_path):
    with pytest.raises(ValueError, match="give two corpora or more"):
        ablate([tmp_path], tmp_path / "out", AblationSettings())
    with pytest.raises(ValueError, match="distinct seeds"):
        ablate([tmp_path, tmp_path], tmp_path / "out", AblationSettings(seeds=(1, 1)))
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_an_ablation_trains_evaluates_and_compares_every_run(reference, tmp_path):
    damage_corpus(reference, tmp_path / "damaged", Damage(swap_targets=True))
    settings = AblationSettings(steps=2, seeds=(0, 1), eval_steps=1, names=("clean", "damaged"))
    report = ablate([reference, tmp_path / "damaged"], tmp_path / "out", settings)
    assert set(report["corpora"]) == {"clean", "damaged"}
    assert len(report["corpora"]["damaged"]["runs"]) == 2
    assert "against_clean" in report["corpora"]["damaged"]
    for name in ("clean-seed0", "clean-seed1", "damaged-seed0", "damaged-seed1"):
        assert (tmp_path / "out" / "runs" / name / "eval" / "report.json").exists()
    assert json.loads((tmp_path / "out" / "ablation.json").read_text())["baseline"] == "clean"
    assert "| damaged |" in (tmp_path / "out" / "ablation.md").read_text()
    again = ablate([reference, tmp_path / "damaged"], tmp_path / "out", settings)  # reused
    assert again["corpora"]["clean"]["runs"] == report["corpora"]["clean"]["runs"]
