"""The curation table, and `ace data curate | export | select | audit` through their parser."""

from __future__ import annotations

import argparse
import shutil
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataengine.commands.corpus import add_commands
from dataengine.corpus.curation import (
    SELECTION_FILE,
    decision_rows,
    read_decisions,
    read_keys_file,
    record_decisions,
    rejected_keys,
    write_selection,
)
from dataengine.corpus.read import read_index
from dataengine.corpus.validate import validate_output
from dataengine.params import RecipeError


def ace_data(*argv: str) -> int:
    """Run one of the subcommands as `ace data ...` would."""
    parser = argparse.ArgumentParser(prog="ace data")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([str(a) for a in argv])
    return args.handler(args)


@pytest.fixture
def corpus(reference, tmp_path):
    out = tmp_path / "corpus"
    shutil.copytree(reference, out)
    return out


def ok_keys(out) -> list[str]:
    rows = read_index(out, columns=["key", "status"]).to_pylist()
    return sorted(r["key"] for r in rows if r["status"] == "ok")


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def test_the_latest_decision_wins_and_people_override_the_selection(tmp_path):
    write_selection(tmp_path, decision_rows(["a", "b"], "reject", "quota: ...", "selection"))
    record_decisions(tmp_path, decision_rows(["a"], "accept", "keep it", "ana"), "ana")
    assert rejected_keys(tmp_path) == {"b"}
    record_decisions(tmp_path, decision_rows(["a"], "reject", "no, blurry", "bo"), "bo")
    assert rejected_keys(tmp_path) == {"a", "b"}
    assert read_decisions(tmp_path)["a"]["by"] == "bo"
    assert set(read_decisions(tmp_path, exclude=(SELECTION_FILE,))) == {"a"}


def test_decisions_are_checked(tmp_path):
    with pytest.raises(ValueError, match="'maybe' is not one of accept, reject"):
        decision_rows(["a"], "maybe", "", "ana")


def test_keys_files_in_text_csv_and_parquet(tmp_path):
    text = tmp_path / "keys.txt"
    text.write_text("# rejected on review\nk1 blurry target\n\nk2\tleaks\nk3  # no reason\n")
    assert [(r["key"], r["reason"]) for r in read_keys_file(text)] == [
        ("k1", "blurry target"),
        ("k2", "leaks"),
        ("k3", None),
    ]
    csv = tmp_path / "keys.csv"
    csv.write_text("key,decision,reason\nk1,accept,fine\nk2,,\n")
    assert [(r["key"], r["decision"]) for r in read_keys_file(csv)] == [
        ("k1", "accept"),
        ("k2", "reject"),
    ]
    table = tmp_path / "keys.parquet"
    pq.write_table(pa.table({"sample": ["k1"]}), table)
    with pytest.raises(ValueError, match="no `key` column"):
        read_keys_file(table)


# --------------------------------------------------------------------------------------------
# ace data curate
# --------------------------------------------------------------------------------------------


def test_curate_records_rejections_with_reason_and_author(corpus, capsys):
    keys = ok_keys(corpus)[:2]
    assert ace_data("curate", corpus, "--reject", *keys, "--reason", "blurry", "--by", "ana") == 0
    assert rejected_keys(corpus) == set(keys)
    decision = read_decisions(corpus)[keys[0]]
    assert (decision["reason"], decision["by"]) == ("blurry", "ana")
    assert "recorded 2 rejects by ana" in capsys.readouterr().out
    assert ace_data("curate", corpus, "--accept", keys[0], "--by", "bo") == 0
    assert rejected_keys(corpus) == {keys[1]}


def test_curate_from_a_file(corpus, tmp_path):
    keys = ok_keys(corpus)[:3]
    listing = tmp_path / "reject.txt"
    listing.write_text(f"{keys[0]} wrong colours\n{keys[1]}\n")
    assert ace_data("curate", corpus, "--from", listing, "--reason", "review 3") == 0
    decisions = read_decisions(corpus)
    assert decisions[keys[0]]["reason"] == "wrong colours"
    assert decisions[keys[1]]["reason"] == "review 3"
    assert keys[2] not in decisions


def test_curate_refuses_unknown_keys_and_writes_nothing(corpus):
    with pytest.raises(RecipeError, match=r"1 keys are not in .*: deadbeef"):
        ace_data("curate", corpus, "--reject", ok_keys(corpus)[0], "deadbeef")
    assert not (corpus / "curation").exists()


def test_curate_refuses_rows_that_are_not_samples(tmp_path):
    from dataengine.sinks.shard_writer import ShardWriter
    from tests.dataengine.quality.crafted import pair, scene, unit

    failed = pair(f"{1:032x}", scene(1), scene(2)).fail("rejected", "ssim 0.1 < min 0.5")
    ShardWriter(tmp_path).write(unit([failed, pair(f"{2:032x}", scene(1), scene(2))]))
    with pytest.raises(RecipeError, match=r"status rejected: ssim 0\.1 < min 0\.5"):
        ace_data("curate", tmp_path, "--accept", f"{1:032x}")


def test_curate_needs_keys():
    with pytest.raises(SystemExit):
        ace_data("curate", "somewhere")


# --------------------------------------------------------------------------------------------
# ace data export
# --------------------------------------------------------------------------------------------


def test_export_writes_valid_shards_of_the_accepted_samples(corpus, tmp_path, capsys):
    keys = ok_keys(corpus)
    gone = keys[:3]
    ace_data("curate", corpus, "--reject", *gone, "--reason", "blurry", "--by", "ana")
    new = tmp_path / "exported"
    assert ace_data("export", corpus, "--out", new) == 0
    assert f"exported {len(keys) - 3} samples" in capsys.readouterr().out
    report = validate_output(new)
    assert report.ok, report.problems
    assert report.samples == len(keys) - 3
    rows = {r["key"]: r for r in read_index(new).to_pylist()}
    assert len(rows) == len(read_index(corpus))  # every row is still accounted for
    assert rows[gone[0]]["status"] == "rejected"
    assert rows[gone[0]]["error"] == "curation: blurry (by ana)"
    assert ok_keys(new) == keys[3:]


def test_exported_samples_are_byte_identical(corpus, tmp_path):
    ace_data("curate", corpus, "--reject", ok_keys(corpus)[0])
    new = tmp_path / "exported"
    ace_data("export", corpus, "--out", new)
    for tar_path in sorted((new / "shards").glob("*.tar")):
        with (
            tarfile.open(tar_path) as exported,
            tarfile.open(corpus / "shards" / tar_path.name) as original,
        ):
            before = {m.name: original.extractfile(m).read() for m in original}
            for member in exported:
                assert exported.extractfile(member).read() == before[member.name]


def test_export_refuses_a_full_or_the_same_directory(corpus, reference):
    with pytest.raises(RecipeError, match="already holds shards"):
        ace_data("export", corpus, "--out", reference)
    for inside in (corpus, corpus / "stats"):  # writing there would change the corpus
        with pytest.raises(RecipeError, match="is inside the corpus"):
            ace_data("export", corpus, "--out", inside)
    with pytest.raises(RecipeError, match="--out is empty"):
        ace_data("export", corpus, "--out", "")
    assert not (corpus / "stats" / "run.json").exists()


# --------------------------------------------------------------------------------------------
# ace data select, ace data audit
# --------------------------------------------------------------------------------------------


def test_select_and_audit_from_the_command_line(corpus, capsys):
    assert ace_data("select", corpus, "--in-process") == 0
    assert (corpus / "curation" / SELECTION_FILE).exists()
    assert "selection: " in capsys.readouterr().out
    assert ace_data("audit", corpus, "--per-task", "1", "--per-band", "0") == 0
    page = (corpus / "report" / "index.html").read_text()
    assert f'data-count="accepted">{len(ok_keys(corpus)) - len(rejected_keys(corpus))}<' in page


def test_audit_refuses_bad_flags_and_empty_directories(tmp_path):
    with pytest.raises(RecipeError, match="--per-task is negative"):
        ace_data("audit", tmp_path, "--per-task", "-1")
    with pytest.raises(RecipeError, match="no complete shard"):
        ace_data("audit", tmp_path)
    with pytest.raises(RecipeError, match=r"no run\.json"):
        ace_data("select", tmp_path, "--in-process")


def test_verify_clear_and_every_reviewers_decision_kept(corpus, capsys):
    from dataengine.corpus.curation import decision_files, read_decision_file, verified_keys

    def decision_history(out, key):
        return [r for p in decision_files(out) for r in read_decision_file(p) if r["key"] == key]

    keys = ok_keys(corpus)[:2]
    assert ace_data("curate", corpus, "--verify", *keys, "--by", "ana") == 0
    assert "recorded 2 verifications by ana" in capsys.readouterr().out
    assert set(verified_keys(corpus)) == set(keys)
    assert ace_data("curate", corpus, "--reject", keys[0], "--by", "bo") == 0
    assert set(verified_keys(corpus)) == {keys[1]}
    assert rejected_keys(corpus) == {keys[0]}
    history = decision_history(corpus, keys[0])
    assert [(r["decision"], r["by"]) for r in history] == [("verify", "ana"), ("reject", "bo")]
    record_decisions(corpus, decision_rows([keys[0]], "clear", "undo", "bo"), "bo")
    assert keys[0] not in read_decisions(corpus)
    assert len(decision_history(corpus, keys[0])) == 3


def test_curate_from_a_downloaded_csv_keeps_decisions_and_reviewers(corpus, tmp_path):
    keys = ok_keys(corpus)[:2]
    csv = tmp_path / "decisions.csv"
    csv.write_text(f'key,decision,reason,by\n{keys[0]},verify,,ana\n{keys[1]},reject,"a, b",bo\n')
    assert ace_data("curate", corpus, "--from", csv) == 0
    decisions = read_decisions(corpus)
    assert (decisions[keys[0]]["decision"], decisions[keys[0]]["by"]) == ("verify", "ana")
    assert (decisions[keys[1]]["reason"], decisions[keys[1]]["by"]) == ("a, b", "bo")
