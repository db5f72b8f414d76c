"""Shard sources: the WebDataset tars and Parquet tables that img2dataset writes.

Both list cheaply and load one sample by position: refs() reads tar headers (tarfile seeks
past member data) or the id and caption columns; load() seeks to one tar member or reads
one row group's image column. Ids are `<shard stem>/<key>`, the same on every machine.
"""

from __future__ import annotations

import functools
import glob
import json
import logging
import os
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath

from dataengine.schema import STATUS_MISSING_IMAGE, STATUS_READ_ERROR, SourceImage, valid_text
from dataengine.sinks.tars import MEMBER_NAME
from dataengine.source import Source, SourceRef
from dataengine.sources.files import (
    MAX_IMAGE_BYTES,
    MAX_TEXT_BYTES,
    RefusedFile,
    check_size,
    file_size,
    open_source,
)
from dataengine.sources.folder import clean_caption, failed

log = logging.getLogger(__name__)

# WebDataset's rule: the key is the member name up to the first dot of its basename.
# Gzip, bzip2, xz, zstd: a compressed tar has no byte offsets to seek to.
_COMPRESSED_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


# --------------------------------------------------------------------------------------------
# WebDataset tars
# --------------------------------------------------------------------------------------------


class WebDatasetSource(Source):
    """Samples of WebDataset tar shards: `<key>.jpg` (or png, webp), `<key>.txt`, `<key>.json`.

    A truncated tar keeps the samples that are whole; the sample the cut fell in is dropped,
    because a sample missing its caption member would pass for one that never had one.
    `skipped` counts samples dropped (no image member, cut off) at the last refs().
    """

    name = "webdataset"

    @dataclass
    class Params:
        paths: list[str]
        image_ext: list[str] = field(default_factory=lambda: ["jpg", "jpeg", "png", "webp"])
        caption_ext: str = "txt"

    def __init__(self, params: WebDatasetSource.Params):
        self.params = params
        self.image_ext = [ext.lower().lstrip(".") for ext in params.image_ext]
        self.caption_ext = params.caption_ext.lower().lstrip(".")
        self.skipped = 0
        self.unreadable_bytes = 0

    def refs(self) -> list[SourceRef]:
        self.skipped, self.unreadable_bytes = 0, 0
        shards = unique_stems(expand_paths(self.params.paths, ".tar", self.name))
        for path in shards.values():
            _check_uncompressed(path)
        refs = [ref for stem, path in shards.items() for ref in self._shard_refs(path, stem)]
        log.info(
            "webdataset: %d samples in %d shards, %d skipped", len(refs), len(shards), self.skipped
        )
        if not refs:
            raise ValueError(
                f"webdataset source: no readable sample in {len(shards)} shards ({self.skipped} "
                f"skipped: no member with extension {', '.join(self.image_ext)}, or cut off); "
                "check `paths` and `image_ext`"
            )
        return sorted(refs, key=lambda ref: ref.id)

    def _shard_refs(self, path: str, stem: str) -> list[SourceRef]:
        members, whole = scan_tar(path)
        samples = group_members(members, path)
        if not whole:
            self._drop_cut_sample(path, members, samples)
        refs = [self._ref(path, stem, key, parts) for key, parts in samples.items()]
        kept = [ref for ref in refs if ref is not None]
        if len(kept) < len(refs):
            self.skipped += len(refs) - len(kept)
            log.warning(
                "webdataset: %s: %d samples have no image member (extensions: %s), skipped",
                *(path, len(refs) - len(kept), ", ".join(self.image_ext)),
            )
        return kept

    def _drop_cut_sample(self, path: str, members: list[tarfile.TarInfo], samples: dict) -> None:
        """Drop the sample the cut fell in; count the bytes after the last whole member."""
        size = file_size(path)
        whole_end = max(
            (m.offset_data + m.size for m in members if m.offset_data + m.size <= size), default=0
        )
        cut = max(
            samples, key=lambda key: max(m.offset for m in samples[key].values()), default=None
        )
        if cut is not None:
            del samples[cut]
            self.skipped += 1
        self.unreadable_bytes += size - whole_end
        log.warning(
            "webdataset: %s is truncated or corrupt: %d bytes at its end unreadable; "
            "%d whole samples kept, the last one (%s) dropped as possibly incomplete",
            *(path, size - whole_end, len(samples), cut),
        )

    def _ref(self, path: str, stem: str, key: str, parts: dict) -> SourceRef | None:
        image = next((parts[ext] for ext in self.image_ext if ext in parts), None)
        if image is None:
            return None
        spans = [_span(parts.get(ext)) for ext in (self.caption_ext, "json")]
        ref_id = valid_text(f"{stem}/{key}")
        meta = {"shard": path, "key": key}
        return SourceRef(ref_id, ref_id, locator=(path, _span(image), *spans), meta=meta)

    def load(self, ref: SourceRef) -> SourceImage:
        path, image, caption, info = ref.locator
        try:
            _check_spans(image, caption, info)
            with open_source(path) as f:
                data, caption_bytes, info_bytes = [_read_span(f, s) for s in (image, caption, info)]
        except RefusedFile as exc:
            return failed(ref, exc.status, f"{ref.id}: {exc}")
        except OSError as exc:
            return failed(ref, STATUS_READ_ERROR, f"cannot read {ref.id}: {exc}")
        try:
            text = clean_caption(caption_bytes.decode("utf-8")) if caption_bytes else None
        except UnicodeDecodeError as exc:
            return failed(ref, STATUS_READ_ERROR, f"caption of {ref.id} is not UTF-8: {exc}")
        meta = {**ref.meta, **_parse_json(info_bytes)}
        return SourceImage(id=ref.id, group=ref.group, data=data, caption=text, meta=meta)


def scan_tar(path: str) -> tuple[list[tarfile.TarInfo], bool]:
    """The headers of a plain tar, and whether the tar is whole (ends in a zero block).

    Iterating a tarfile reads headers only and seeks past member data. tarfile stops quietly
    at most damage; a whole tar always stops at its end-of-archive zero block, so anything
    else at the stop offset means the tar was cut or is corrupt.
    """
    members: list[tarfile.TarInfo] = []
    with open_source(path) as f:
        try:
            with tarfile.open(fileobj=f, mode="r:") as tar:
                for member in tar:
                    members.append(member)
                f.seek(tar.offset)
        except tarfile.TarError:
            # The first header is unreadable, or "unexpected end of data": a member runs past
            # the end of the file. Either way the members read so far are kept.
            return members, False
        end = f.read(tarfile.BLOCKSIZE)
    return members, len(end) == tarfile.BLOCKSIZE and not end.strip(b"\0")


def group_members(members: list[tarfile.TarInfo], path: str) -> dict[str, dict]:
    """Members grouped into samples by key, in tar order: {key: {extension: member}}."""
    samples: dict[str, dict[str, tarfile.TarInfo]] = {}
    repeated = 0
    for member in members:
        match = MEMBER_NAME.match(member.name)
        if member.isfile() and match:
            key, ext = match.group(1), match.group(2).lower()  # WebDataset lowercases too
            parts = samples.setdefault(key, {})
            repeated += ext in parts
            parts.setdefault(ext, member)
    if repeated:
        log.warning("webdataset: %s: %d repeated member names, the first kept", path, repeated)
    return samples


def _check_uncompressed(path: str) -> None:
    with open_source(path) as f:
        head = f.read(6)
    if head.startswith(_COMPRESSED_MAGIC):
        raise ValueError(
            f"webdataset source: {path} is compressed; samples are read by byte offset, which "
            "needs a plain tar (img2dataset writes plain tars): decompress it first"
        )


def _span(member: tarfile.TarInfo | None) -> tuple[int, int] | None:
    return (member.offset_data, member.size) if member is not None else None


def _check_spans(image, caption, info) -> None:
    """Members are size-checked from their headers before any is read."""
    check_size(image[1], MAX_IMAGE_BYTES, "image member")
    for span, what in ((caption, "caption member"), (info, "json member")):
        if span is not None:
            check_size(span[1], MAX_TEXT_BYTES, what)


def _read_span(f, span: tuple[int, int] | None) -> bytes | None:
    if span is None:
        return None
    offset, size = span
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise OSError(f"shard ends after {len(data)} of {size} bytes at offset {offset}")
    return data


def _parse_json(data: bytes | None) -> dict:
    """The `json` meta entry; a broken json member is noted, not fatal: pixels do not need it."""
    if data is None:
        return {"json": None}
    try:
        return {"json": json.loads(data)}
    except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
        return {"json": None, "json_error": f"json member is not valid JSON: {exc}"}


# --------------------------------------------------------------------------------------------
# Parquet tables
# --------------------------------------------------------------------------------------------


class ParquetSource(Source):
    """Rows of Parquet tables holding encoded images in a binary column, as img2dataset writes.

    img2dataset keeps the rows of failed downloads with a null image: they load as
    "missing_image" rows so that they are counted, not dropped. `caption_column: ""` means
    the tables have no captions. `unreadable` lists the files whose footer could not be read.
    """

    name = "parquet"

    @dataclass
    class Params:
        paths: list[str]
        image_column: str = "jpg"
        caption_column: str = "caption"
        id_column: str = "key"

    def __init__(self, params: ParquetSource.Params):
        self.params = params
        self.unreadable: list[str] = []

    def refs(self) -> list[SourceRef]:
        self.unreadable = []
        files = unique_stems(expand_paths(self.params.paths, ".parquet", self.name))
        refs = [ref for stem, path in files.items() for ref in self._file_refs(path, stem)]
        log.info("parquet: %d rows in %d files", len(refs), len(files))
        return sorted(refs, key=lambda ref: ref.id)

    def _file_refs(self, path: str, stem: str) -> list[SourceRef]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            with open_source(path) as f, pq.ParquetFile(f) as table:
                self._check_columns(table.schema_arrow, path)
                groups = range(table.num_row_groups)
                refs = [ref for g in groups for ref in self._row_refs(table, path, stem, g)]
        except (OSError, pa.ArrowException) as exc:
            # A cut file (an interrupted writer) has no footer: nothing in it can be listed.
            log.warning("parquet: skipping unreadable file %s: %s", path, exc)
            self.unreadable.append(path)
            return []
        _check_unique(refs, path, self.params.id_column)
        return refs

    def _row_refs(self, table, path: str, stem: str, group: int) -> list[SourceRef]:
        """Refs of one row group, reading only its id and caption columns."""
        id_column, caption_column = self.params.id_column, self.params.caption_column
        columns = [id_column, caption_column] if caption_column else [id_column]
        batch = table.read_row_group(group, columns=columns)
        keys = batch.column(0).to_pylist()
        captions = batch.column(1).to_pylist() if caption_column else [None] * len(keys)
        refs = []
        for row, (key, caption) in enumerate(zip(keys, captions, strict=True)):
            if key is None:
                raise ValueError(
                    f"parquet source: {id_column!r} is null in row {row} of row group {group} "
                    f"of {path}; set `id_column` to a column with a value on every row"
                )
            ref_id, text = f"{stem}/{key}", None if caption is None else str(caption)
            meta = {"file": path, "key": str(key), "row_group": group, "row": row}
            refs.append(SourceRef(ref_id, ref_id, (path, group, row), clean_caption(text), meta))
        return refs

    def _check_columns(self, schema, path: str) -> None:
        import pyarrow as pa

        p = self.params
        wanted = {"image_column": p.image_column, "id_column": p.id_column}
        if p.caption_column:
            wanted["caption_column"] = p.caption_column
        for param, column in wanted.items():
            if column not in schema.names:
                raise ValueError(
                    f"parquet source: column {column!r} is not in {path} (columns: "
                    f"{', '.join(schema.names)}); set `{param}` to the column that holds it"
                )
        kind = schema.field(p.image_column).type
        if not (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
            raise ValueError(
                f"parquet source: column {p.image_column!r} of {path} holds {kind}, not encoded "
                "image bytes; set `image_column` to a binary column"
            )

    def load(self, ref: SourceRef) -> SourceImage:
        import pyarrow as pa

        path, group, row = ref.locator
        try:
            column = _image_column(path, _stamp(path), group, self.params.image_column)
        except (OSError, pa.ArrowException) as exc:
            return failed(
                ref, STATUS_READ_ERROR, f"cannot read row group {group} of {ref.id}: {exc}"
            )
        if ref.caption is not None:  # listed with the ids; refused here, so it gets its row
            try:
                check_size(len(ref.caption.encode()), MAX_TEXT_BYTES, "caption")
            except RefusedFile as exc:
                return failed(ref, exc.status, f"{ref.id}: {exc}")
        data = column[row].as_py()
        if data is None:
            where = f"row {row} of row group {group} of {PurePath(path).name}"
            message = f"no image in column {self.params.image_column!r} ({where})"
            return failed(ref, STATUS_MISSING_IMAGE, message)
        return SourceImage(ref.id, ref.group, data=data, caption=ref.caption, meta=dict(ref.meta))


@functools.lru_cache(maxsize=2)
def _image_column(path: str, stamp: tuple[int, int], group: int, column: str):
    """One row group's image column. Loads walk a row group in order, so it is read once.

    Two entries: a work unit can straddle two row groups. An img2dataset row group can hold
    a whole file of images (hundreds of MB), so the cache is kept this small. `stamp`
    (mtime, size) makes a rewritten or deleted file miss the cache.
    """
    import pyarrow.parquet as pq

    with open_source(path) as f, pq.ParquetFile(f) as table:
        return table.read_row_group(group, columns=[column]).column(0)


def _stamp(path: str) -> tuple[int, int]:
    if "://" in path:  # an object's stamp: its size and ETag (or modification time)
        import fsspec

        fs, where = fsspec.core.url_to_fs(path)
        info = fs.info(where)
        return str(info.get("ETag") or info.get("mtime") or ""), int(info.get("size") or 0)
    status = os.stat(path)
    return status.st_mtime_ns, status.st_size


def _check_unique(refs: list[SourceRef], path: str, id_column: str) -> None:
    repeated = [ref_id for ref_id, n in Counter(ref.id for ref in refs).items() if n > 1]
    if repeated:
        raise ValueError(
            f"parquet source: {len(repeated)} values repeat in column {id_column!r} of {path} "
            f"(e.g. {repeated[0]!r}); set `id_column` to a column whose values are unique"
        )


# --------------------------------------------------------------------------------------------
# Naming shard files
# --------------------------------------------------------------------------------------------


def expand_paths(patterns: list[str], suffix: str, source: str) -> list[str]:
    """The files that `paths` names: files, directories (their `*suffix` files), globs, and
    brace ranges such as `shards/{00000..00009}.tar`.

    A pattern that names nothing is an error: a typo would otherwise shrink the corpus
    without a word.
    """
    from braceexpand import braceexpand  # installed with webdataset

    found = []
    for pattern in patterns:
        for item in braceexpand(os.path.expanduser(pattern)):
            matches = _url_matches(item, suffix) if "://" in item else _matches(item, suffix)
            if not matches:
                raise ValueError(
                    f"{source} source: {item!r} names no {suffix} file; fix `paths` (files, "
                    f"directories, globs like shards/*{suffix} and ranges like "
                    f"shards/{{00000..00009}}{suffix} are accepted)"
                )
            found.extend(matches)
    return sorted({path if "://" in path else os.path.abspath(path) for path in found})


def _matches(item: str, suffix: str) -> list[str]:
    if any(char in item for char in "*?["):
        return [path for path in glob.glob(item) if os.path.isfile(path)]
    if os.path.isdir(item):
        return glob.glob(os.path.join(glob.escape(item), f"*{suffix}"))
    return [item] if os.path.isfile(item) else []


def _url_matches(item: str, suffix: str) -> list[str]:
    """The same for a URL (`s3://bucket/shards/*.tar`), through its fsspec filesystem."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(item)
    protocol = item.split("://", 1)[0]
    if any(char in path for char in "*?["):
        found = [p for p in fs.glob(path) if fs.isfile(p)]
    elif fs.isdir(path):
        found = [p for p in fs.glob(f"{path.rstrip('/')}/*{suffix}") if fs.isfile(p)]
    else:
        found = [path] if fs.isfile(path) else []
    return [f"{protocol}://{p}" for p in found]


def unique_stems(paths: list[str]) -> dict[str, str]:
    """{stem: path}. Ids are `<stem>/<key>`, so two shards of one name would collide."""
    stems: dict[str, str] = {}
    for path in paths:
        stem = PurePath(path).stem
        if stem in stems:
            raise ValueError(
                f"two shards are named {stem!r} ({stems[stem]} and {path}), so their sample "
                "ids would collide; rename one of them"
            )
        stems[stem] = path
    return stems
