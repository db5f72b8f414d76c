"""The report in a real browser: headless Chromium loads it from disk, every image renders,
and the counts it shows are those of the index."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from dataengine.audit.report import write_report
from tests.browser import Browser
from tests.dataengine.audit.expected import accepted_by_task, expected_counts

READ_PAGE = """(() => {
  const images = [...document.images];
  const counts = {};
  for (const e of document.querySelectorAll('[data-count]')) {
    counts[e.dataset.count] = Number(e.textContent);
  }
  const galleries = {};
  for (const g of document.querySelectorAll('[data-gallery]')) {
    galleries[g.dataset.gallery] = g.querySelectorAll('.card').length;
  }
  return {
    images: images.length,
    strips: images.filter(i => i.classList.contains('strip')).length,
    plots: images.filter(i => i.classList.contains('plot')).length,
    unrendered: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    counts: counts,
    galleries: galleries,
    rejectedRows: document.querySelectorAll('#rejected-rows tr[data-key]').length,
    title: document.title,
  };
})()"""


@pytest.fixture(scope="module")
def page_in_browser(chromium, scored, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "corpus"
    shutil.copytree(scored, out)
    index = write_report(out)
    shot = out / "screenshot.png"
    with Browser(chromium) as browser:
        browser.open(index.as_uri())
        seen = browser.evaluate(READ_PAGE)
        browser.screenshot(shot)
    return out, seen, shot


def test_every_image_renders(page_in_browser):
    out, seen, _ = page_in_browser
    assert seen["unrendered"] == []
    assert seen["strips"] > 0
    histograms = len(list((out / "report" / "plots").glob("*.png")))
    assert seen["plots"] == histograms > 0


def test_the_counts_shown_are_those_of_the_index(page_in_browser):
    out, seen, _ = page_in_browser
    shown = {
        k: v for k, v in seen["counts"].items() if v and not k.startswith(("category:", "reason:"))
    }
    assert shown == expected_counts(out)
    assert seen["rejectedRows"] == expected_counts(out)["rejected"]
    assert seen["galleries"] == {t: min(6, n) for t, n in accepted_by_task(out).items()}
    assert seen["title"] == "Audit: scored"


def test_the_screenshot_shows_a_page(page_in_browser):
    from PIL import Image

    _, _, shot = page_in_browser
    pixels = np.asarray(Image.open(shot).convert("L"))
    assert pixels.shape[1] == 1280
    assert pixels.std() > 10  # text and tables on white, not a blank or error page


def test_marks_made_on_the_page_download_as_decisions_curate_takes(chromium, scored, tmp_path):
    import argparse

    from dataengine.commands.corpus import add_commands
    from dataengine.corpus.curation import read_decisions

    out = tmp_path / "corpus"
    shutil.copytree(scored, out)
    index = write_report(out)
    with Browser(chromium) as browser:
        browser.open(index.as_uri())
        keys = browser.evaluate(
            "[...document.querySelectorAll('#gallery .card')].slice(0, 3).map(c => c.dataset.key)"
        )
        for key, decision in zip(keys, ("reject", "reject", "verify"), strict=True):
            browser.evaluate(
                f'document.querySelector(\'#gallery .card[data-key="{key}"] '
                f'button[data-decision="{decision}"]\').click()'
            )
        by = "document.getElementById('by')"
        browser.evaluate(f"{by}.value = 'ana'; {by}.dispatchEvent(new Event('change'))")
        csv = browser.evaluate(
            "fetch(document.getElementById('download').href).then(r => r.text())"
        )
    (tmp_path / "decisions.csv").write_text(csv)
    parser = argparse.ArgumentParser(prog="ace data")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["curate", str(out), "--from", str(tmp_path / "decisions.csv")])
    assert args.handler(args) == 0
    decisions = read_decisions(out)
    assert [(decisions[k]["decision"], decisions[k]["by"]) for k in keys] == [
        ("reject", "ana"),
        ("reject", "ana"),
        ("verify", "ana"),
    ]
