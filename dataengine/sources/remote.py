"""A folder source at a URL (`s3://bucket/photos`): listed once with fsspec's `find`, each
image with the caption beside it, named relative to the folder as a local folder's are."""

from __future__ import annotations

import posixpath

from dataengine.schema import valid_text
from dataengine.source import SourceRef


def remote_refs(url: str, extensions: set[str]) -> list[SourceRef]:
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    if not fs.isdir(root):
        raise ValueError(f"folder source: {url!r} is not a folder of images; fix `path`")
    files = fs.find(root, detail=True)
    names = {path for path, info in files.items() if info.get("type") == "file"}
    protocol = url.split("://", 1)[0]
    refs = []
    for path in sorted(names):
        stem, ext = posixpath.splitext(path)
        if ext.lower() not in extensions or posixpath.basename(path).startswith("."):
            continue
        caption = f"{stem}.txt" if f"{stem}.txt" in names else None
        rel = valid_text(posixpath.relpath(path, root))
        locator = (f"{protocol}://{path}", f"{protocol}://{caption}" if caption else None)
        meta = {"path": rel, "bytes": files[path].get("size")}
        refs.append(
            SourceRef(id=f"folder:{rel}", group=f"folder:{rel}", locator=locator, meta=meta)
        )
    return refs
