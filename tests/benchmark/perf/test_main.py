"""`make bench`'s driver: a failing suite loses nothing measured and stops no other suite."""

from __future__ import annotations

import json

import pytest

from benchmark.perf.__main__ import main, run_suites
from benchmark.perf.report import Result


def test_a_failing_suite_is_reported_and_the_others_still_run(tmp_path, capsys):
    def broken():
        raise TypeError("an argument went missing")

    suites = [
        ("first", lambda: [Result("a", 1.0, "s")]),
        ("broken", broken),
        ("last", lambda: [Result("b", 2.0, "s")]),
    ]
    results, failed = run_suites(suites, tmp_path / "results.json")
    assert [r.name for r in results] == ["a", "b"] and failed == ["broken"]
    written = json.loads((tmp_path / "results.json").read_text())
    assert [row["name"] for row in written["results"]] == ["a", "b"]
    assert "TypeError: an argument went missing" in capsys.readouterr().err


def test_only_names_known_suites(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--only", "resize", "nonsense"])
    assert "no suite ['nonsense']" in capsys.readouterr().err
