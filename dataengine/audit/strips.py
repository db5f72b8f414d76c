"""One small JPEG per sampled pair: its frames (each followed by its mask, when it has one)
and then, past a wider gap, its target, all at one height."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from dataengine.audit.summary import Item
from dataengine.schema import is_key
from dataengine.sinks.encode import decode_member, encode_jpeg
from dataengine.sinks.layout import Layout
from dataengine.sinks.tars import tar_samples

GAP, TARGET_GAP = 4, 14  # px between tiles; before the target
BACKGROUND = 255
MAX_ASPECT = 3  # a panorama tile is cropped to this many heights wide
QUALITY = 85


def write_strips(out: Path, items: list[Item], folder: Path, height: int) -> dict[str, str]:
    """Write img/<key>.jpg for every item; return key -> path relative to the page.

    Reads only the shards that hold a sampled key, each once, from start to end. A key that
    is not a sample key (a crafted index's `../../x`) names no file: it gets no strip."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for item in items:
        if is_key(item.key):
            wanted[item.shard].add(item.key)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for shard, keys in sorted(wanted.items()):
        for key, members in _samples(Layout(out).tar(shard), keys):
            (folder / f"{key}.jpg").write_bytes(encode_jpeg(strip(members, height), QUALITY))
            written[key] = f"{folder.name}/{key}.jpg"
    return written


def _samples(tar: Path, keys: set[str]):
    with tar.open("rb") as stream:
        for sample in tar_samples(stream):
            if sample["__key__"] in keys:
                yield sample["__key__"], sample


def strip(members: dict, height: int) -> np.ndarray:
    """frames | masks | target, side by side, RGB uint8."""
    meta = json.loads(members["json"])
    tiles = []
    for frame in meta["frames"]:
        tiles.append(_tile(decode_member(members[frame["image"]]), height))
        if frame["mask"]:
            tiles.append(_tile(decode_member(members[frame["mask"]]), height))
    target = _tile(decode_member(members[meta["target"]]), height)
    gaps = [GAP] * (len(tiles) - 1) + ([TARGET_GAP] if tiles else [])
    row = []
    for tile, gap in zip(tiles, gaps, strict=True):
        row += [tile, np.full((height, gap, 3), BACKGROUND, np.uint8)]
    return np.hstack([*row, target])


def _tile(image: np.ndarray, height: int) -> np.ndarray:
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    h, w = image.shape[:2]
    width = max(1, round(w * height / h))
    tile = cv2.resize(image[..., :3], (width, height), interpolation=cv2.INTER_AREA)
    return tile[:, : MAX_ASPECT * height]
