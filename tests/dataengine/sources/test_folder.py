"""FolderSource: recursive listing by extension, captions beside images, errors as rows."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from dataengine.sources.folder import FolderSource


def encoded(fmt: str, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 12, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def pool(tmp_path):
    """a.jpg (+ caption), sub/b.PNG (+ empty caption), sub/deeper/c.webp, and non-images."""
    files = {
        "a.jpg": encoded("JPEG", 1),
        "a.txt": b"  a red square \n",
        "sub/b.PNG": encoded("PNG", 2),
        "sub/b.txt": b"   \n",
        "sub/deeper/c.webp": encoded("WEBP", 3),
        "sub/notes.md": b"not an image",
        "sub/d.jpg.bak": b"not an image either",
        ".hidden/e.jpg": encoded("JPEG", 4),
        "._a.jpg": b"macOS resource fork",
    }
    for rel, data in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return tmp_path, files


def test_lists_images_recursively_sorted_by_id(pool):
    root, files = pool
    refs = FolderSource(FolderSource.Params(path=str(root))).refs()
    assert [r.id for r in refs] == ["folder:a.jpg", "folder:sub/b.PNG", "folder:sub/deeper/c.webp"]
    assert all(r.group == r.id for r in refs)
    assert refs[1].meta == {"path": "sub/b.PNG", "bytes": len(files["sub/b.PNG"])}


def test_load_returns_the_bytes_and_the_caption_beside_them(pool):
    root, files = pool
    source = FolderSource(FolderSource.Params(path=str(root)))
    loaded = {r.id: source.load(r) for r in source.refs()}
    a, b, c = loaded["folder:a.jpg"], loaded["folder:sub/b.PNG"], loaded["folder:sub/deeper/c.webp"]
    assert a.ok and a.data == files["a.jpg"] and a.caption == "a red square"
    assert b.data == files["sub/b.PNG"] and b.caption is None  # blank caption file
    assert c.data == files["sub/deeper/c.webp"] and c.caption is None  # no caption file
    assert a.image is None  # decoding is the decode stage's job


def test_ids_do_not_depend_on_how_the_path_is_written(pool, monkeypatch):
    root, _ = pool
    monkeypatch.chdir(root.parent)
    relative = FolderSource(FolderSource.Params(path=f"./{root.name}/")).refs()
    absolute = FolderSource(FolderSource.Params(path=str(root))).refs()
    assert [r.id for r in relative] == [r.id for r in absolute]


def test_extensions_param_selects_files(pool):
    root, _ = pool
    refs = FolderSource(FolderSource.Params(path=str(root), extensions=[".png"])).refs()
    assert [r.id for r in refs] == ["folder:sub/b.PNG"]


def test_symlinks_are_followed_only_when_asked(pool, tmp_path_factory):
    root, _ = pool
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "f.jpg").write_bytes(encoded("JPEG", 5))
    os.symlink(elsewhere, root / "linked")
    os.symlink(root, root / "sub" / "loop")  # a cycle must not hang the walk
    ids = [r.id for r in FolderSource(FolderSource.Params(path=str(root))).refs()]
    assert "folder:linked/f.jpg" not in ids
    followed = FolderSource(FolderSource.Params(path=str(root), follow_symlinks=True)).refs()
    assert "folder:linked/f.jpg" in [r.id for r in followed]
    assert len(followed) == len(ids) + 1


def test_missing_folder_is_a_clear_error(tmp_path):
    source = FolderSource(FolderSource.Params(path=str(tmp_path / "nope")))
    with pytest.raises(ValueError, match=r"does not exist.*set `path`"):
        source.refs()


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match=r"no images found under .*extensions: .*\.jpg"):
        FolderSource(FolderSource.Params(path=str(tmp_path))).refs()


def test_file_deleted_after_listing_becomes_a_read_error_row(pool):
    root, _ = pool
    source = FolderSource(FolderSource.Params(path=str(root)))
    refs = source.refs()
    (root / "a.jpg").unlink()
    row = source.load(refs[0])
    assert row.status == "read_error" and row.data is None
    assert "a.jpg" in row.error and row.id == "folder:a.jpg"
    assert source.load(refs[1]).ok  # the others still load


def test_unreadable_caption_becomes_a_read_error_row(pool):
    root, _ = pool
    source = FolderSource(FolderSource.Params(path=str(root)))
    refs = source.refs()
    (root / "a.txt").write_bytes(b"\xff\xfe not utf-8 \xc3")
    row = source.load(refs[0])
    assert row.status == "read_error" and "UTF-8" in row.error
