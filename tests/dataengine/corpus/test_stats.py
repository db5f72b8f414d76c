"""`ace data stats`: what the counts say about a corpus that was curated, and then exported."""

from __future__ import annotations

import shutil

from dataengine.corpus.curation import decision_rows, record_decisions
from dataengine.corpus.read import read_index
from dataengine.corpus.stats import corpus_stats, format_stats
from dataengine.export.webdataset import export_accepted


def test_curated_out_and_rejected_rows_are_counted_apart_from_failed_ones(reference, tmp_path):
    """As the audit tells them apart: a sample the curation table rejects is still in the
    shards (curated out); once exported it is a `rejected` row. Neither is a failure."""
    corpus = tmp_path / "corpus"
    shutil.copytree(reference, corpus)
    rows = read_index(corpus, columns=["key", "status"]).to_pylist()
    ok = sorted(r["key"] for r in rows if r["status"] == "ok")
    record_decisions(corpus, decision_rows(ok[:2], "reject", "a near duplicate", "ana"), "ana")

    curated = corpus_stats(corpus)
    assert curated["samples"] == len(ok) and curated["rows"] == len(rows)  # the keys as before
    assert curated["curated_out"] == 2 and curated["accepted"] == len(ok) - 2
    assert curated["rejected"] == 0 and curated["failed"] == 0
    assert format_stats(curated).splitlines()[0] == (
        f"{len(ok)} samples ({len(ok) - 2} accepted, 2 curated out), "
        f"{len(rows)} rows (0 rejected, 0 failed)"
    )

    export_accepted(corpus, tmp_path / "new")
    exported = corpus_stats(tmp_path / "new")
    assert exported["by_status"] == {"ok": len(ok) - 2, "rejected": 2}
    assert exported["rejected"] == 2 and exported["failed"] == 0
    assert exported["curated_out"] == 0 and exported["accepted"] == len(ok) - 2
    assert "(2 rejected, 0 failed)" in format_stats(exported).splitlines()[0]
