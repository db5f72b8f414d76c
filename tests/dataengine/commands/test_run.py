"""`ace data run` end to end: a folder of the user's own (partly broken) images, --limit,
shard and Parquet pools, and errors before any work."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import webdataset as wds
import yaml
from PIL import Image

from ace_cli.main import main
from dataengine.corpus.read import iter_samples, read_index
from tests.builders import TINY_RECIPE, photo


def save(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    return save(Image.fromarray(photo(3, (96, 128))), "JPEG", exif=exif, quality=92)


def animated_gif() -> bytes:
    frames = [Image.fromarray(photo(i)).convert("P") for i in range(3)]
    return save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)


def deep_png() -> bytes:
    import cv2

    _, buf = cv2.imencode(".png", photo(4).astype(np.uint16) * 257)
    return buf.tobytes()


# file name -> (bytes, the status its row must have)
BAD_AND_ODD = {
    "truncated.jpg": (lambda: save(Image.fromarray(photo(1)), "JPEG")[:900], "truncated_image"),
    "empty.jpg": (lambda: b"", "empty_file"),
    "notes.jpg": (lambda: b"shopping list: eggs, milk\n" * 20, "not_an_image"),
    "png_named.jpg": (lambda: save(Image.fromarray(photo(2)), "PNG"), "ok"),
    "cmyk.jpg": (lambda: save(Image.fromarray(photo(5)).convert("CMYK"), "JPEG"), "ok"),
    "deep16.png": (deep_png, "ok"),
    "palette.png": (lambda: save(Image.fromarray(photo(6)).convert("P"), "PNG"), "ok"),
    "alpha.png": (lambda: save(Image.fromarray(photo(7)).convert("RGBA"), "PNG"), "ok"),
    "rotated.jpg": (rotated_jpeg, "ok"),
    "animated.gif": (animated_gif, "ok"),
    "bomb.png": (lambda: png_claiming(60_000, 60_000), "decompression_bomb"),
    "tiny.png": (lambda: save(Image.fromarray(photo(8, (12, 12))), "PNG"), "too_small"),
}


def recipe_file(tmp_path: Path, **changes) -> Path:
    raw = {**json.loads(json.dumps(TINY_RECIPE)), **changes}
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    root = tmp_path / "mine"
    root.mkdir()
    for name, (make, _) in BAD_AND_ODD.items():
        (root / name).write_bytes(make())
    return root


def test_every_bad_input_becomes_a_sample_or_an_error_row(odd_folder, tmp_path, capsys):
    recipe = recipe_file(
        tmp_path,
        splits={"train": 1.0},
        stages=[
            {"stage": "decode", "max_side": 160, "min_side": 32},
            {"stage": "pairs", "per_source": 1, "tasks": {"inpainting": 1.0}},
            {"stage": "template_instructions"},
        ],
    )
    out = tmp_path / "out"
    args = ["-q", "data", "run", str(recipe), "--input", str(odd_folder), "--out", str(out)]
    assert main([*args, "--in-process"]) == 0
    assert "7 samples (5 failed rows)" in capsys.readouterr().out

    rows = read_index(out).to_pylist()
    by_file = {r["provenance_source_ids"][0].removeprefix("folder:"): r for r in rows}
    assert sorted(by_file) == sorted(BAD_AND_ODD)
    for name, (_, status) in BAD_AND_ODD.items():
        assert by_file[name]["status"] == status, (name, by_file[name]["error"])
        if status != "ok":
            assert by_file[name]["error"], name

    samples = {s["json"]["provenance"]["source_ids"][0]: s for s in iter_samples(out)}
    upright = Image.open(io.BytesIO(samples["folder:rotated.jpg"]["tgt.jpg"]))
    assert upright.size == (96, 128)  # the EXIF rotation was applied: 128x96 stored, shown tall
    assert main(["data", "validate", str(out)]) == 0


def test_limit_and_input_captions(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    recipe = recipe_file(tmp_path)
    argv = ["-q", "data", "run", str(recipe), "--input", str(image_folder), "--out", str(out)]
    assert main([*argv, "--limit", "4", "--in-process"]) == 0
    sources = {r[0] for r in read_index(out)["provenance_source_ids"].to_pylist()}
    # four of the six, spread over the sorted list: positions 0, 1, 3, 4
    assert sources == {"folder:a/img0.jpg", "folder:a/img1.jpg", "folder:b/c/img3.jpg",
                       "folder:b/c/img4.jpg"}  # fmt: skip
    captions = {s["json"]["caption"] for s in iter_samples(out)} - {None}
    assert captions <= {"a test picture number 1", "a test picture number 4"}
    assert captions


def img2dataset_layout(root: Path, n: int) -> list[tuple[str, bytes, str]]:
    items = [
        (f"{i:09d}", save(Image.fromarray(photo(i)), "JPEG"), f"picture {i}") for i in range(n)
    ]
    root.mkdir(parents=True)
    with wds.TarWriter(str(root / "00000.tar")) as sink:
        for key, jpg, caption in items:
            meta = json.dumps({"key": key, "caption": caption, "status": "success"})
            sink.write({"__key__": key, "jpg": jpg, "txt": caption, "json": meta.encode()})
    return items


@pytest.mark.parametrize("kind", ["webdataset", "parquet"])
def test_recipes_read_pools_in_the_img2dataset_layout(kind, tmp_path):
    items = img2dataset_layout(tmp_path / "pool", 5)
    if kind == "parquet":
        table = pa.table(
            {
                "key": [k for k, _, _ in items],
                "jpg": [b for _, b, _ in items],
                "caption": [c for _, _, c in items],
            }
        )
        pq.write_table(table, tmp_path / "pool" / "00000.parquet")
    pattern = "*.tar" if kind == "webdataset" else "*.parquet"
    source = {"kind": kind, "paths": [str(tmp_path / "pool" / pattern)]}
    recipe = recipe_file(tmp_path, source=source, splits={"train": 1.0})
    out = tmp_path / "out"
    assert main(["-q", "data", "run", str(recipe), "--out", str(out), "--in-process"]) == 0
    index = read_index(out)
    assert len(index) == 5 * TINY_RECIPE["stages"][1]["per_source"]
    captions = {s["json"]["caption"] for s in iter_samples(out)} - {None}
    assert captions and captions <= {c for _, _, c in items}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--limit", "0"], "--limit is 0"),
        (["--input", "/no/such/folder"], "/no/such/folder"),
        (["--processes", "0"], "--processes is 0"),
        (["--processes", "2"], "--in-process and --processes choose different executors"),
    ],
)
def test_bad_flags_stop_before_any_work(argv, message, tmp_path, capsys):
    out = tmp_path / "out"
    recipe = recipe_file(tmp_path)
    code = main(["data", "run", str(recipe), "--out", str(out), "--in-process", *argv])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_bad_recipe_names_the_stage_and_key(tmp_path, capsys):
    raw = json.loads(json.dumps(TINY_RECIPE))
    raw["stages"][0]["max_sidee"] = 100
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["data", "run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "decode" in err and "max_sidee" in err and "max_side" in err


def test_an_out_that_is_a_file_stops_the_run_before_any_work(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("a file\n")
    recipe = Path(__file__).resolve().parents[3] / "pipelines/recipes/default.yaml"
    assert main(["data", "run", str(recipe), "--out", str(taken), "--in-process"]) == 2
    assert "is a file" in capsys.readouterr().err
    assert taken.read_text() == "a file\n"


def test_the_resize_recipe_without_input_suggests_it(tmp_path, monkeypatch, capsys):
    """The recipe's `path` (data/images) only stands for the user's folder: where it is not
    there, the fix is the flag, not an edit of the recipe."""
    recipe = Path(__file__).resolve().parents[3] / "pipelines/recipes/resize.yaml"
    monkeypatch.chdir(tmp_path)  # no data/images here
    assert main(["data", "run", str(recipe), "--out", str(tmp_path / "out"), "--in-process"]) == 2
    error = capsys.readouterr().err
    assert "'data/images' does not exist" in error and "--input DIR" in error
    assert error.count("\n") == 1 and not (tmp_path / "out").exists()
