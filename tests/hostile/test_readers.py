"""Keys, score names and destinations from a corpus are untrusted: a reader never builds a
path outside its own folder from them, and a writer never writes into its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataengine.audit.report import write_report
from dataengine.audit.summary import Limits
from dataengine.export.webdataset import export_accepted
from tests.hostile import make


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_the_audit_builds_no_path_from_a_crafted_key_or_score(reference, tmp_path):
    crafted = make.crafted_key_corpus(reference, tmp_path / "home" / "corpus")
    before = files_under(tmp_path)
    page = write_report(crafted, Limits(per_task=1000, per_band=1000))  # every sample shown
    written = files_under(tmp_path) - before
    assert written and all(crafted / "report" in p.parents for p in written)
    assert page.exists()
    assert not list(tmp_path.rglob("escaped*")) and not list(tmp_path.rglob("plotted*"))


@pytest.mark.parametrize("destination", ["", ".", "corpus", "corpus/stats", "corpus/a/b"])
def test_export_refuses_a_destination_that_would_change_its_source(
    reference, tmp_path, monkeypatch, destination
):
    corpus = make.crafted_key_corpus(reference, tmp_path / "corpus")
    monkeypatch.chdir(tmp_path if destination != "." else corpus)
    before = {p: p.read_bytes() for p in files_under(corpus)}
    with pytest.raises(ValueError, match=r"is empty|is inside the corpus"):
        export_accepted(corpus, destination)
    assert {p: p.read_bytes() for p in files_under(corpus)} == before
