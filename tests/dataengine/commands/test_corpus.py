"""The commands on a finished corpus: `ace data validate` and `ace data stats`."""

from __future__ import annotations

import json

from ace_cli.main import main
from dataengine.corpus.read import read_index


def test_validate_catches_a_damaged_shard_and_stats_prints_counts(reference, tmp_path, capsys):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(reference, out)
    assert main(["data", "stats", str(out)]) == 0
    table = capsys.readouterr().out
    assert "canny_extraction" in table and "inpainting" in table
    assert main(["data", "stats", str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert sum(stats["by_status"].values()) == len(read_index(out))

    tar = sorted(out.glob("shards/*.tar"))[0]
    tar.write_bytes(tar.read_bytes()[:-2048])
    assert main(["data", "validate", str(out)]) == 1
    assert "INVALID (1 problem):" in capsys.readouterr().out  # one damaged shard


def test_validate_and_stats_of_a_folder_that_is_not_there(tmp_path, capsys):
    for command in ("validate", "stats"):
        assert main(["data", command, str(tmp_path / "nowhere")]) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: ") and "nowhere does not exist" in error, command
        assert "run.json" not in error and error.count("\n") == 1
