"""`write_report`: the page's numbers against the index, its files, its size bound."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from dataengine.audit.report import write_report
from dataengine.audit.summary import Limits, Smallest, summarise
from tests.dataengine.audit.expected import accepted_by_task, expected_counts


class PageReader(HTMLParser):
    """The counts (data-count -> number), image sources and gallery sizes of a page."""

    def __init__(self):
        super().__init__()
        self.counts, self.images, self.galleries = {}, [], {}
        self._count, self._divs = None, []  # the open divs: the gallery each opens, or None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-count" in attrs:
            self._count = attrs["data-count"]
        if tag == "img":
            self.images.append(attrs["src"])
        if tag != "div":
            return
        gallery = next((g for g in reversed(self._divs) if g), None)
        if attrs.get("class") == "card" and gallery:
            self.galleries[gallery] += 1
        self._divs.append(attrs.get("data-gallery"))
        if attrs.get("data-gallery"):
            self.galleries[attrs["data-gallery"]] = 0

    def handle_endtag(self, tag):
        if tag == "div":
            self._divs.pop()

    def handle_data(self, data):
        if self._count is not None and data.strip():
            self.counts[self._count] = int(data)
            self._count = None


def read_page(path: Path) -> PageReader:
    reader = PageReader()
    reader.feed(path.read_text(encoding="utf-8"))
    return reader


@pytest.fixture(scope="module")
def report(tmp_path_factory, scored):
    """The report of a curated copy of the scored corpus, read back as it was written."""
    import shutil

    from dataengine.corpus.curation import decision_rows, record_decisions, rejected_keys
    from dataengine.corpus.read import read_index

    out = tmp_path_factory.mktemp("report") / "corpus"
    shutil.copytree(scored, out)
    taken = rejected_keys(out)
    rows = read_index(out, columns=["key", "status"]).to_pylist()
    key = min(r["key"] for r in rows if r["status"] == "ok" and r["key"] not in taken)
    record_decisions(out, decision_rows([key], "reject", "wrong colours", "ana"), "ana")
    index = write_report(out)
    files = {str(p.relative_to(index.parent)) for p in index.parent.rglob("*") if p.is_file()}
    return out, read_page(index), files


def test_the_counts_on_the_page_are_those_of_the_index(report):
    out, page, _ = report
    expected = expected_counts(out)
    shown = {k: v for k, v in page.counts.items() if not k.startswith(("category:", "reason:"))}
    assert {k: v for k, v in shown.items() if v} == expected
    assert expected["curated_out"] > 0 and expected["rejected"] > 0 and expected["failed"] > 0


def test_every_image_on_the_page_is_a_file_beside_it(report):
    _, page, files = report
    assert page.images, "the page shows no image"
    for src in page.images:
        assert not src.startswith(("/", "http:", "https:", "file:")), src
        assert src in files, src
    strips = {src for src in page.images if src.startswith("img/")}
    assert {f for f in files if f.startswith("img/")} == strips  # nothing stale, none missing
    assert {f for f in files if f.startswith("plots/")} == {
        src for src in page.images if src.startswith("plots/")
    }


def test_the_gallery_shows_each_task_with_accepted_samples(curated):
    page = read_page(write_report(curated, Limits(per_task=2)))
    assert page.galleries == {t: min(2, n) for t, n in accepted_by_task(curated).items()}


def test_what_selection_removed_is_counted_by_reason(report):
    _, page, _ = report
    reasons = {k.split(":", 1)[1]: v for k, v in page.counts.items() if k.startswith("reason:")}
    assert reasons["near_duplicate"] >= 1
    assert reasons["quota"] >= 1
    assert reasons["curated by ana"] == 1
    assert reasons["instruction_words"] >= 1


def test_the_report_is_bounded_by_its_limits(curated):
    limits = Limits(per_task=1, per_band=0, curated=2)
    index = write_report(curated, limits)
    tasks = len(accepted_by_task(curated))
    assert len(list((index.parent / "img").iterdir())) <= tasks + 2


def test_the_same_corpus_gives_the_same_page(curated):
    first = write_report(curated).read_bytes()
    plots = sorted((curated / "report" / "plots").iterdir())
    first_plots = [p.read_bytes() for p in plots]
    assert write_report(curated).read_bytes() == first
    assert [p.read_bytes() for p in plots] == first_plots


def test_a_directory_without_shards_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no complete shard"):
        write_report(tmp_path)


def test_samples_are_the_smallest_keys_whatever_the_order():
    keys = [f"{i:02d}" for i in range(50)]
    keep = Smallest(3)
    for key in keys[::-1][::2] + keys[::-1][1::2]:
        keep.add(key, key.upper())
    assert keep.result() == ["00", "01", "02"]


def test_score_histograms_count_every_scored_row(curated):
    import math

    from dataengine.corpus.read import read_index

    rows = [r for r in read_index(curated).to_pylist() if r["status"] in ("ok", "rejected")]
    summary = summarise(curated)
    assert summary.histograms
    for name, hist in summary.histograms.items():
        values = [r[f"score_{name}"] for r in rows]
        scored = sum(v is not None and math.isfinite(v) for v in values)
        assert hist.accepted.sum() + hist.rejected.sum() == scored, name
