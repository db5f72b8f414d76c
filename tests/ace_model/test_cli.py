"""`ace model train|edit|eval` through the argparse commands that `ace` mounts."""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest
from PIL import Image

from ace_model.cli import add_commands
from tests.builders import without_split


def ace(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ace")
    add_commands(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture(scope="module")
def cli_run(reference, tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "run"
    code = ace(
        [
            "model",
            "train",
            "--data",
            str(reference),
            "--preset",
            "tiny",
            "--out",
            str(run),
            "--steps",
            "2",
            "--batch-size",
            "4",
        ]
    )
    assert code == 0
    return run


def test_train_writes_a_checkpoint_and_metrics(cli_run, capsys):
    assert (cli_run / "checkpoint-0000002.pt").is_file()
    assert (cli_run / "metrics.jsonl").read_text().count("\n") == 1


def test_edit_with_mask_and_history(cli_run, tmp_path, capsys):
    image, mask, older = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "old.png"
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(image)
    Image.fromarray(np.full((48, 64), 255, np.uint8)).save(mask)
    Image.fromarray(np.full((48, 64, 3), 30, np.uint8)).save(older)
    out = tmp_path / "out" / "edited.png"
    code = ace(
        [
            "model",
            "edit",
            "--ckpt",
            str(cli_run),
            "--image",
            str(image),
            "--mask",
            str(mask),
            "--instruction",
            "Paint {image} blue.",
            "--history",
            str(older),
            "Brighten {image}.",
            "--steps",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    with Image.open(out) as result:
        assert result.size == (64, 48) and result.mode == "RGB"
    assert "wrote" in capsys.readouterr().out


def test_a_masked_edit_keeps_the_rest_of_the_image_at_full_resolution(cli_run, tmp_path):
    """The model works at 32 px; outside the mask the result is the input's own pixels,
    inside it the model's, also with a reference image after it. --no-keep-unmasked leaves
    the whole image to the model."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    mask = np.zeros((48, 64), np.uint8)
    mask[8:24, 8:32] = 255
    image, mask_path = tmp_path / "in.png", tmp_path / "mask.png"
    Image.fromarray(pixels).save(image)
    Image.fromarray(mask).save(mask_path)

    def edited(*flags: str) -> np.ndarray:
        out = tmp_path / f"out{len(flags)}.png"
        argv = ["model", "edit", "--ckpt", str(cli_run), "--image", str(image)]
        argv += ["--mask", str(mask_path), "--instruction", "Paint {image} blue."]
        assert ace([*argv, "--steps", "2", *flags, "--out", str(out)]) == 0
        with Image.open(out) as result:
            return np.asarray(result).astype(int)

    kept, free = edited(), edited("--no-keep-unmasked")
    Image.fromarray(255 - pixels).save(tmp_path / "reference.png")
    referenced = edited("--image", str(tmp_path / "reference.png"))  # the mask is {image}'s
    outside = mask == 0
    assert (kept[outside] == pixels[outside]).all()
    assert (referenced[outside] == pixels[outside]).all()
    assert np.abs(free[outside] - pixels[outside]).mean() > 20
    assert np.abs(kept[mask == 255] - pixels[mask == 255]).mean() > 20


@pytest.mark.parametrize(
    ("flags", "ckpt_is_run", "message"),
    [
        (["--mask", "IMAGE", "--instruction", "x"], True, "1 --mask for 0 --image"),
        (["--image", "IMAGE", "--instruction", "Put {image1} on {image}."], True, "{image1}"),
        (["--image", "IMAGE", "--instruction", "x"], False, "no checkpoint"),
        (["--image", "IMAGE", "--instruction", "x", "--steps", "0"], True, "--steps is 0; "),
        (["--image", "IMAGE", "--instruction", "x", "--steps", "-2"], True, "--steps is -2; "),
        (
            ["--image", "IMAGE", "--mask", "WIDE", "--instruction", "x"],
            True,
            "wide.png is 32x16 but its image is 32x32",
        ),
        (
            ["--image", "IMAGE", "--instruction", "x", "--no-keep-unmasked"],
            True,
            "--no-keep-unmasked acts on the mask of the first --image, which has none",
        ),
    ],
)
def test_edit_refuses_what_does_not_fit(cli_run, tmp_path, capsys, flags, ckpt_is_run, message):
    image, wide = tmp_path / "in.png", tmp_path / "wide.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(image)
    Image.fromarray(np.zeros((16, 32), np.uint8)).save(wide)
    ckpt = cli_run if ckpt_is_run else tmp_path
    flags = [{"IMAGE": str(image), "WIDE": str(wide)}.get(f, f) for f in flags]
    argv = ["model", "edit", "--ckpt", str(ckpt), *flags, "--out", str(tmp_path / "o.png")]
    assert ace(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "o.png").exists()


def test_eval_prints_the_table(cli_run, reference, tmp_path, capsys):
    out = tmp_path / "report"
    assert (
        ace(
            [
                "model",
                "eval",
                "--ckpt",
                str(cli_run),
                "--data",
                str(reference),
                "--out",
                str(out),
                "--steps",
                "2",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "| task | n |" in printed and "beats identity on whole images on" in printed
    assert re.search(r"wins inside the edit on \d+ of [1-9]\d* tasks", printed)
    assert (out / "report.md").is_file() and (out / "examples.png").is_file()


@pytest.mark.parametrize(
    ("data", "out", "steps", "message"),
    [
        ("no bench", "report", "1", "split (it has train, val); evaluate one of them with --split"),
        ("nowhere", "report", "1", "nowhere does not exist"),
        ("reference", "a file", "1", "a file is a file; choose a folder for the report"),
        ("reference", "report", "0", "--steps is 0; "),
    ],
)
def test_eval_refuses_what_does_not_fit_before_writing(
    cli_run, reference, tmp_path, capsys, data, out, steps, message
):
    corpora = {"reference": lambda: reference, "nowhere": lambda: tmp_path / "nowhere"}
    corpora["no bench"] = lambda: without_split(reference, tmp_path / "corpus", "bench")
    out = tmp_path / out
    if out.name == "a file":
        out.write_text("a file\n")
    argv = ["model", "eval", "--ckpt", str(cli_run), "--data", str(corpora[data]())]
    assert ace([*argv, "--out", str(out), "--steps", steps]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1  # one line
    assert not out.is_dir()  # nothing written


def test_train_errors_name_the_fix(reference, tmp_path, capsys):
    assert ace(["model", "train", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "ace data run" in capsys.readouterr().err
    assert (
        ace(
            [
                "model",
                "train",
                "--data",
                str(reference),
                "--preset",
                "ace-0.6b",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 2
    )
    assert "--vae PATH" in capsys.readouterr().err


def test_nproc_per_node_relaunches_the_same_train_command(tmp_path, monkeypatch, capsys):
    """`--nproc-per-node N` runs torch.distributed.run on the same flags, less its own."""
    import subprocess

    from ace_model import cli

    argv = ["--data", str(tmp_path), "--out", str(tmp_path / "r"), "--steps", "3"]
    argv += ["--no-activation-checkpointing", "--resume", "--nproc-per-node", "2"]
    parser = argparse.ArgumentParser(prog="ace")
    add_commands(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(["model", "train", *argv])
    flags = cli._train_flags(args)
    assert "--nproc-per-node" not in flags and "--no-activation-checkpointing" in flags
    again = parser.parse_args(["model", "train", *flags])
    assert vars(again) == {**vars(args), "nproc_per_node": None}
    launched = []
    monkeypatch.setattr(
        subprocess,
        "run",
        lambda command, check: launched.append(command) or argparse.Namespace(returncode=0),
    )
    assert args.handler(args) == 0
    assert launched[0][1:6] == [
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        "-m",
    ]
    assert launched[0][6:9] == ["ace_cli", "model", "train"] and launched[0][9:] == flags

    monkeypatch.setenv("RANK", "0")
    assert args.handler(args) == 2
    assert "under torchrun leave it out" in capsys.readouterr().err
    monkeypatch.delenv("RANK")
    args.nproc_per_node = 0
    assert args.handler(args) == 2
    assert "give 1 or more ranks" in capsys.readouterr().err
    args.nproc_per_node, args.lanes = 2, 3
    assert args.handler(args) == 2 and len(launched) == 1  # stopped before any rank started
    assert "--lanes 3 does not share out evenly over 2 ranks" in capsys.readouterr().err


def test_eval_on_a_frozen_benchmark_checks_it_first(cli_run, reviewable, tmp_path, capsys):
    import json
    import shutil

    from dataengine.corpus.bench import freeze_bench
    from dataengine.corpus.curation import decision_rows, record_decisions
    from dataengine.corpus.read import read_index

    corpus = tmp_path / "corpus"
    shutil.copytree(reviewable, corpus)
    rows = read_index(corpus).to_pylist()
    keys = [r["key"] for r in rows if r["split"] == "bench" and r["status"] == "ok"][:5]
    record_decisions(corpus, decision_rows(keys, "verify", None, "ana"), "ana")
    bench = tmp_path / "bench"
    freeze_bench(corpus, bench, "bench", None)
    argv = ["model", "eval", "--ckpt", str(cli_run), "--bench", str(bench), "--steps", "1"]
    assert ace([*argv, "--out", str(tmp_path / "report")]) == 0
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["benchmark"]["samples"] == 5 and report["settings"]["split"] is None
    assert sum(task["n"] for task in report["tasks"].values()) == 5

    manifest = json.loads((bench / "manifest.json").read_text())
    key = keys[0]
    manifest["samples"][key]["members"]["json"] = "0" * 64
    (bench / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert ace([*argv, "--out", str(tmp_path / "again")]) == 2
    error = capsys.readouterr().err
    assert f"{key}.json changed" in error and not (tmp_path / "again").exists()
