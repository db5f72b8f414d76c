"""Hostile files and members in a source: each becomes a row with a status (or a sample),
the run finishes, the corpus validates, and no read hangs or exhausts memory."""

from __future__ import annotations

import pytest

from dataengine.corpus.read import read_index
from dataengine.corpus.validate import validate_output
from dataengine.executors import InProcess
from dataengine.params import RecipeError
from dataengine.recipe import build_recipe
from dataengine.runner import run_recipe
from tests.hostile import make

pytestmark = pytest.mark.timeout(120)  # a FIFO read without the fix waits forever

STAGES = [
    {"stage": "decode", "max_side": 128, "min_side": 16},
    {"stage": "pairs", "tasks": {"grayscale": 1.0}},
    {"stage": "template_instructions"},
]


def run(source: dict, out) -> dict[str, dict]:
    """The source through a model-free recipe; -> index rows by source id."""
    recipe = build_recipe({"name": "hostile", "source": source, "stages": STAGES})
    run_recipe(recipe, out, InProcess(), progress=False)
    report = validate_output(out)
    assert report.ok, report.problems
    return {row["provenance_source_ids"][0]: row for row in read_index(out).to_pylist()}


def statuses(rows: dict[str, dict], prefix: str) -> dict[str, str]:
    return {ref.removeprefix(prefix): row["status"] for ref, row in rows.items()}


def test_a_folder_of_hostile_files_gives_a_row_for_each(tmp_path):
    expected = make.folder_of_bad_files(tmp_path / "in")
    rows = run({"kind": "folder", "path": str(tmp_path / "in")}, tmp_path / "out")
    assert statuses(rows, "folder:") == expected
    assert "is not a regular file" in rows["folder:fifo.jpg"]["error"]
    assert "more than the 65536 read" in rows["folder:long.jpg"]["error"]
    for row in rows.values():  # errors name files relative to the input, not this machine
        assert str(tmp_path) not in (row["error"] or "")


def test_hostile_webdataset_members_give_rows_and_names_stay_valid_text(tmp_path):
    expected = make.webdataset_of_bad_members(tmp_path / "bad.tar")
    rows = run({"kind": "webdataset", "paths": [str(tmp_path / "bad.tar")]}, tmp_path / "out")
    assert statuses(rows, "bad/") == expected
    assert all(row["key"].isascii() for row in rows.values())


def test_a_caption_of_megabytes_in_a_parquet_table_gets_its_row(tmp_path):
    expected = make.parquet_with_huge_caption(tmp_path / "table.parquet")
    source = {"kind": "parquet", "paths": [str(tmp_path / "table.parquet")]}
    rows = run(source, tmp_path / "out")
    assert statuses(rows, "table/") == expected


def test_a_webdataset_source_with_no_readable_sample_stops_before_any_work(tmp_path):
    make.webdataset_of_bad_members(tmp_path / "bad.tar")
    source = {"kind": "webdataset", "paths": [str(tmp_path / "bad.tar")], "image_ext": ["webp"]}
    recipe = build_recipe({"name": "hostile", "source": source, "stages": STAGES})
    with pytest.raises(RecipeError, match="no readable sample in 1 shards"):
        run_recipe(recipe, tmp_path / "out", InProcess(), progress=False)
    assert not (tmp_path / "out").exists()
