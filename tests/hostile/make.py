"""Hostile inputs, made on demand: every kind of bad file, tar member, recipe and corpus the
engine must survive. Each maker writes into a folder it is given and returns what a test
needs to check the outcome; nothing is committed, nothing is downloaded.

    folder_of_bad_files(root)   names that are not UTF-8, a FIFO and a device named *.jpg,
                                symlinks (good, dangling), a huge and a non-UTF-8 caption
    webdataset_of_bad_members(path)  a non-UTF-8 member name, a json member nested 20000
                                deep, a caption member of megabytes, a json with a lone
                                surrogate escape
    parquet_with_huge_caption(path)  a table whose caption column holds megabytes
    bad_recipes(root, base)     recipe files: not UTF-8, an alias bomb, a key given twice,
                                NaN and negative split fractions, sink settings out of range
    crafted_key_corpus(corpus)  a copy of a corpus whose index and tar name a key `../../x`
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from PIL import Image

NOT_UTF8 = b"caf\xe9"  # Latin-1 "café": not a UTF-8 byte sequence
HUGE_TEXT = 3 << 20  # bytes of a caption no real caption has


def jpeg(seed: int, size: tuple[int, int] = (96, 128)) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# Files in a folder source
# --------------------------------------------------------------------------------------------


def folder_of_bad_files(root: Path) -> dict[str, str]:
    """A folder of good and hostile entries; -> {relative name: the status its row gets}
    (the names as the engine writes them: undecodable bytes as \\xNN)."""
    root.mkdir(parents=True, exist_ok=True)
    expected = {}
    (root / "good.jpg").write_bytes(jpeg(1))
    expected["good.jpg"] = "ok"
    with open(os.path.join(os.fsencode(root), NOT_UTF8 + b".jpg"), "wb") as f:
        f.write(jpeg(2))  # a name a Latin-1 machine wrote
    expected["caf\\xe9.jpg"] = "ok"
    os.mkfifo(root / "fifo.jpg")  # opening it for reading would wait forever for a writer
    expected["fifo.jpg"] = "not_a_file"
    os.symlink("/dev/zero", root / "zero.jpg")  # endless bytes
    expected["zero.jpg"] = "not_a_file"
    os.symlink(root / "good.jpg", root / "link.jpg")  # a symlinked image is an image
    expected["link.jpg"] = "ok"
    os.symlink(root / "nowhere.jpg", root / "dangling.jpg")
    expected["dangling.jpg"] = "read_error"
    (root / "long.jpg").write_bytes(jpeg(3))
    (root / "long.txt").write_bytes(b"a " * (HUGE_TEXT // 2))
    expected["long.jpg"] = "file_too_large"
    (root / "latin.jpg").write_bytes(jpeg(4))
    (root / "latin.txt").write_bytes(NOT_UTF8 + b" au lait")
    expected["latin.jpg"] = "read_error"
    return expected


# --------------------------------------------------------------------------------------------
# Members of a WebDataset source
# --------------------------------------------------------------------------------------------


def webdataset_of_bad_members(path: Path) -> dict[str, str]:
    """A tar of good and hostile samples; -> {sample key as the engine names it: status}."""
    samples = {
        "good": {"jpg": jpeg(5), "txt": b"a red square", "json": b"{}"},
        NOT_UTF8.decode("latin-1"): {"jpg": jpeg(6), "txt": b"a name not in UTF-8"},
        "nested": {"jpg": jpeg(7), "json": b"[" * 20_000 + b"]" * 20_000},
        "surrogate": {"jpg": jpeg(8), "json": b'{"note": "\\udc80"}'},
        "huge": {"jpg": jpeg(9), "txt": b"x" * HUGE_TEXT},
    }
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
        for key, members in samples.items():
            for ext, data in members.items():
                name = key.encode("latin-1") if key != "good" else key.encode()
                info = tarfile.TarInfo(os.fsdecode(name + b"." + ext.encode()))
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return {
        "good": "ok",
        "caf\\xe9": "ok",
        "nested": "ok",
        "surrogate": "ok",
        "huge": "file_too_large",
    }


def parquet_with_huge_caption(path: Path) -> dict[str, str]:
    """img2dataset's Parquet layout, one caption of megabytes; -> {key: status}."""
    table = pa.table(
        {
            "key": ["small", "huge"],
            "jpg": [jpeg(10), jpeg(11)],
            "caption": ["a small caption", "word " * (HUGE_TEXT // 5)],
        }
    )
    pq.write_table(table, path)
    return {"small": "ok", "huge": "file_too_large"}


# --------------------------------------------------------------------------------------------
# Recipes
# --------------------------------------------------------------------------------------------

ALIAS_BOMB = """\
name: bomb
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
source: {kind: folder, path: *g}
stages: [{stage: decode}]
"""


def bad_recipes(root: Path, base: dict) -> dict[str, tuple[Path, str]]:
    """Recipe files that must stop before any work; -> {name: (path, words of the message)}."""
    root.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(base, sort_keys=False)
    made = {}

    def write(name: str, content: str | bytes, message: str) -> None:
        path = root / f"{name}.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        made[name] = (path, message)

    write("latin1", text.encode() + b"description: " + NOT_UTF8 + b"\n", "is not UTF-8")
    write("alias_bomb", ALIAS_BOMB, "aliases (*name) are not allowed")
    write("twice", text + f"name: {base['name']}-again\n", "key 'name' is given twice")
    for name, value, message in [
        ("nan_split", {"train": float("nan")}, "splits.train is nan"),
        ("negative_split", {"bench": 1.0, "train": 0.5, "val": -0.5}, "splits.val is -0.5"),
    ]:
        write(name, yaml.safe_dump({**base, "splits": value}), message)
    for name, sink, message in [
        ("jpeg_quality", {"jpeg_quality": 1000}, "jpeg_quality is 1000; give 1 to 100"),
        ("png_compression", {"png_compression": 42}, "png_compression is 42; give 0 to 9"),
    ]:
        write(name, yaml.safe_dump({**base, "sink": sink}), message)
    return made


# --------------------------------------------------------------------------------------------
# A corpus with a crafted key
# --------------------------------------------------------------------------------------------

ESCAPING_KEY = "../../escaped"
ESCAPING_SCORE = "score_../../plotted"


def crafted_key_corpus(corpus: Path, copy: Path) -> Path:
    """A copy of `corpus` whose first shard's first sample is renamed `../../escaped`, in its
    tar and its index, and whose index has a score column `score_../../plotted`: a reader
    that builds a file name from a key or a score name writes outside its folder."""
    shutil.copytree(corpus, copy)
    shard = sorted((copy / "shards").glob("*.tar"))[0]
    index = copy / "index" / f"{shard.stem}.parquet"
    table = pq.read_table(index)
    keys = table.column("key").to_pylist()
    first = keys[0]
    keys[0] = ESCAPING_KEY
    table = table.set_column(table.schema.get_field_index("key"), "key", pa.array(keys))
    table = table.append_column(ESCAPING_SCORE, pa.array([0.5] * len(keys)))
    pq.write_table(table, index)
    _rename_in_tar(shard, first, ESCAPING_KEY)
    return copy


def _rename_in_tar(path: Path, old: str, new: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(path) as source, tarfile.open(fileobj=buffer, mode="w") as target:
        for info in source:
            data = source.extractfile(info).read()
            if info.name.startswith(f"{old}."):
                info.name = new + info.name[len(old) :]
            target.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
