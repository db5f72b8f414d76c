"""FolderSource: a directory tree of image files, with optional `.txt` captions beside them."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from dataengine.schema import STATUS_READ_ERROR, SourceImage, valid_text
from dataengine.source import Source, SourceRef
from dataengine.sources.files import MAX_IMAGE_BYTES, MAX_TEXT_BYTES, RefusedFile, read_bounded
from dataengine.sources.remote import remote_refs

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "gif"]


class FolderSource(Source):
    """Every image file under `path`, recursively; `photo.txt` beside `photo.jpg` is its caption.

    Files are chosen by extension (case-insensitive), never by content: a file whose content
    does not match its extension is reported by the decode stage. Names starting with a dot
    are skipped (`.git`, `.cache`, the `._photo.jpg` resource forks macOS leaves on copies).
    Captions are read in load(), beside the image, so that listing stays one directory walk.
    A symlink to a file is an image like any other (a dangling one gets a read_error row);
    symlinked directories are entered only with `follow_symlinks: true` (links can loop).
    Only regular files are read, and none past a size limit (sources/files.py); ids and
    messages name files relative to `path`, the same on every machine.
    """

    name = "folder"

    @dataclass
    class Params:
        path: str
        extensions: list[str] = field(default_factory=lambda: list(IMAGE_EXTENSIONS))
        follow_symlinks: bool = False

    def __init__(self, params: FolderSource.Params):
        self.params = params
        self.remote = "://" in params.path  # a URL: listed and read through fsspec
        self.root = params.path if self.remote else os.path.abspath(os.path.expanduser(params.path))
        self._prefix = os.path.join(self.root, "")  # every walked path starts with it
        self.extensions = {"." + ext.lower().lstrip(".") for ext in params.extensions}

    def refs(self) -> list[SourceRef]:
        # Checked here, not in __init__: the runner turns errors of refs() into one recipe
        # error before any work starts, and a recipe can be loaded where the folder is not.
        if self.remote:
            refs = remote_refs(self.root, self.extensions)
        else:
            _check_folder(self.params.path, self.root, self.extensions)
            refs = [
                self._ref(entry, caption_path)
                for entries in _walk(self.root, self.params.follow_symlinks)
                for entry, caption_path in self._images(entries)
            ]
        if not refs:
            raise ValueError(
                f"folder source: no images found under {self.root} "
                f"(extensions: {', '.join(sorted(self.extensions))}); put images there or set "
                "`extensions` (symlinked folders count only with `follow_symlinks: true`)"
            )
        return sorted(refs, key=lambda ref: ref.id)

    def _images(self, entries: list[os.DirEntry]) -> list[tuple[os.DirEntry, str | None]]:
        """The images among one directory's entries, each with the path of the caption
        beside it (None without one)."""
        names = {entry.name for entry in entries}
        found = []
        for entry in entries:
            stem, ext = os.path.splitext(entry.name)
            # A directory called `album.jpg` is not an image; anything else with the extension
            # (a dangling link included) is listed, and load() reports it if it cannot be read.
            if ext.lower() in self.extensions and not entry.is_dir(follow_symlinks=True):
                caption = f"{stem}.txt"
                beside = entry.path[: -len(entry.name)] + caption if caption in names else None
                found.append((entry, beside))
        return found

    def _ref(self, entry: os.DirEntry, caption_path: str | None) -> SourceRef:
        # Cut from the walked path, not os.path.relpath: that normalises both paths on
        # every call, which was half of listing a folder (45 ms for 1000 images).
        rel = valid_text(entry.path[len(self._prefix) :].replace(os.sep, "/"))
        ref_id = "folder:" + rel
        meta = {"path": rel, "bytes": _size(entry)}
        return SourceRef(id=ref_id, group=ref_id, locator=(entry.path, caption_path), meta=meta)

    def load(self, ref: SourceRef) -> SourceImage:
        image_path, caption_path = ref.locator
        rel = ref.meta["path"]
        try:
            data = read_bounded(image_path, MAX_IMAGE_BYTES, "image file")
            caption = _read_caption(caption_path) if caption_path else None
        except RefusedFile as exc:
            return failed(ref, exc.status, f"{rel}: {exc}")
        except OSError as exc:
            return failed(ref, STATUS_READ_ERROR, f"cannot read {rel}: {exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            return failed(ref, STATUS_READ_ERROR, f"the caption of {rel} is not UTF-8: {exc}")
        meta = {**ref.meta, "bytes": len(data)}
        return SourceImage(id=ref.id, group=ref.group, data=data, caption=caption, meta=meta)


# --------------------------------------------------------------------------------------------
# Helpers shared with the shard sources
# --------------------------------------------------------------------------------------------


def failed(ref: SourceRef, status: str, error: str) -> SourceImage:
    """The row of an image that could not be loaded: it keeps its id, so it is counted."""
    return SourceImage(
        id=ref.id,
        group=ref.group,
        caption=ref.caption,
        meta=dict(ref.meta),
        status=status,
        error=error,
    )


def clean_caption(text: str | None) -> str | None:
    """Captions are stripped; an empty one is no caption, so templates do not fill in ''."""
    text = (text or "").strip()
    return text or None


# --------------------------------------------------------------------------------------------
# Walking the folder
# --------------------------------------------------------------------------------------------


def _check_folder(given: str, root: str, extensions: set[str]) -> None:
    if not extensions:
        raise ValueError("folder source: `extensions` is empty; list at least one, e.g. [jpg]")
    if not os.path.exists(root):
        raise ValueError(
            f"folder source: {given!r} does not exist (looked at {root}); "
            "set `path` (or --input) to a directory of images"
        )
    if not os.path.isdir(root):
        raise ValueError(
            f"folder source: {given!r} is a file, not a directory; set `path` to the directory "
            "that holds the images (tar and parquet shards have their own sources)"
        )


def _walk(root: str, follow_symlinks: bool) -> Iterator[list[os.DirEntry]]:
    """Yield the visible entries of every directory under root, root included.

    Following symlinks can loop (a link to a parent), so each real directory is entered once.
    An unreadable directory is logged and skipped: its images cannot even be named.
    """
    pending, seen = [root], set()
    while pending:
        directory = pending.pop()
        try:
            status = os.stat(directory)
            if (status.st_dev, status.st_ino) in seen:
                continue
            seen.add((status.st_dev, status.st_ino))
            entries = [e for e in os.scandir(directory) if not e.name.startswith(".")]
        except OSError as exc:
            log.warning("folder source: skipping unreadable directory %s: %s", directory, exc)
            continue
        pending.extend(e.path for e in entries if e.is_dir(follow_symlinks=follow_symlinks))
        yield entries


def _size(entry: os.DirEntry) -> int | None:
    try:
        return entry.stat().st_size
    except OSError:
        return None  # a dangling link: load() turns it into a read_error row


def _read_caption(path: str) -> str | None:
    # utf-8-sig: editors on Windows save captions with a byte order mark.
    return clean_caption(read_bounded(path, MAX_TEXT_BYTES, "caption file").decode("utf-8-sig"))
