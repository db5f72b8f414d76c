"""Where precomputed latents live, and what they are.

    DIR/latents/<name>/latents.json       what the latents are: the VAE (its fingerprint),
                                          the resolution buckets, channels, factor, dtype
    DIR/latents/<name>/shards/<shard>.tar one tar per corpus shard: the same samples, in
                                          the same order
    DIR/latents/<name>/stats/<shard>.json written last; names the corpus tar's sha256

`<name>` is `<fingerprint, 12 hex>-<resolution>px-m<multiple>`: one VAE at one training
resolution. A sample's members are `<key>.<frame>.latent.npy` for each frame image member
(`src0.jpg` -> `src0.latent.npy`) and `<key>.tgt.latent.npy` for the target, each a
(C, h, w) array at the sample's bucket; a sample whose images do not decode has
`<key>.latent_error.txt` instead. A latent shard is current only while its corpus shard is
the one it was computed from (same sha256), so a rebuilt corpus shard is never read with
stale latents.
"""

from __future__ import annotations

import io
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from dataengine.sinks.layout import Layout
from dataengine.storage import as_path

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # raise when decoding, resizing or bucketing for latents changes
DTYPES = ("float16", "float32")
ERROR_MEMBER = "latent_error.txt"


def latent_member(image_member: str) -> str:
    """`src0.jpg` -> `src0.latent.npy`: the latents of one image member."""
    return f"{image_member.split('.')[0]}.latent.npy"


@dataclass(frozen=True)
class LatentSpec:
    """What a store's latents are: one VAE's encoding at one set of resolution buckets."""

    vae_fingerprint: str
    resolution: int  # the buckets' side: about resolution**2 pixels per image
    multiple: int  # bucket sides are multiples of this (the patch in pixels)
    channels: int
    factor: int  # pixels per latent along a side
    dtype: str = "float16"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"latent dtype {self.dtype!r} is unknown; choose one of {DTYPES}")
        if self.multiple % self.factor:
            raise ValueError(
                f"buckets in multiples of {self.multiple} px do not divide into latents of "
                f"{self.factor} px each; the multiple must be a multiple of {self.factor}"
            )

    @property
    def name(self) -> str:
        return f"{self.vae_fingerprint[:12]}-{self.resolution}px-m{self.multiple}"


class LatentStore:
    """The latents of one spec beside a corpus."""

    def __init__(self, data: str | Path, spec: LatentSpec):
        self.data, self.spec = as_path(data), spec
        self.root = self.data / "latents" / spec.name
        self.layout = Layout(self.root)

    @property
    def manifest(self) -> Path:
        return self.root / "latents.json"

    def manifest_json(self, vae_path: str) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, **asdict(self.spec), "vae_path": str(vae_path)}

    def check_manifest(self) -> None:
        """Refuse to add to a store written with other settings (a dtype changed, say)."""
        if not self.manifest.exists():
            return
        held = json.loads(self.manifest.read_text())
        try:
            spec_of(held)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{self.root} holds {exc}; remove that folder and run `ace data latents` again"
            ) from None
        ours = asdict(self.spec)
        differ = sorted(k for k in ours if held.get(k) != ours[k])
        if differ:
            raise ValueError(
                f"{self.root} holds latents with other {', '.join(differ)} "
                f"({', '.join(f'{k}={held.get(k)!r}' for k in differ)}); "
                "remove that folder or ask for the same settings"
            )

    def source_sha(self, shard: str) -> str:
        return Layout(self.data).read_stats(shard)["tar_sha256"]

    def is_current(self, shard: str) -> bool:
        """The shard's latents exist and were computed from the corpus shard as it is now."""
        stats = self.layout.stats(shard)
        if not stats.exists():
            return False
        return json.loads(stats.read_text()).get("source_sha256") == self.source_sha(shard)

    def current_tars(self, shards: list[str]) -> dict[str, str]:
        """Corpus tar path -> latent tar path, for the shards whose latents are current."""
        corpus = Layout(self.data)
        return {str(corpus.tar(s)): str(self.layout.tar(s)) for s in shards if self.is_current(s)}


def find_store(
    data: str | Path, vae_fingerprint: str, resolution: int, multiple: int
) -> LatentStore | None:
    """The store of this VAE at these buckets beside the corpus, whatever its dtype, if
    `ace data latents` wrote one."""
    name = LatentSpec(vae_fingerprint, resolution, multiple, 1, 1).name
    manifest = as_path(data) / "latents" / name / "latents.json"
    if not manifest.exists():
        return None
    held = json.loads(manifest.read_text())
    if held.get("vae_fingerprint") != vae_fingerprint:  # 12 hex digits agreed, the rest not
        return None
    try:
        spec = spec_of(held)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("%s holds %s: not used", manifest.parent, exc)
        return None
    return LatentStore(data, spec)


def spec_of(manifest: dict[str, Any]) -> LatentSpec:
    """The spec a `latents.json` describes: KeyError, TypeError or ValueError if it is not
    one, ValueError if another format_version wrote it (other decoding: neither to be
    trained on nor added to)."""
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"latents of format {manifest.get('format_version')}, not {FORMAT_VERSION}"
        )
    return LatentSpec(**{k: manifest[k] for k in LatentSpec.__dataclass_fields__})


def image_members(meta: dict[str, Any]) -> list[str]:
    """A sample's image members, frames then target: what gets one latent each."""
    return [frame["image"] for frame in meta["frames"]] + [meta["target"]]


# --------------------------------------------------------------------------------------------
# Resolution buckets: the sizes latents are stored at, and the trainer batches at
# --------------------------------------------------------------------------------------------

ASPECTS = (1 / 2, 2 / 3, 3 / 4, 1.0, 4 / 3, 3 / 2, 2.0)  # width / height of the buckets


def buckets(resolution: int, multiple: int) -> list[tuple[int, int]]:
    """(H, W) sizes of about resolution**2 pixels, sides a multiple of `multiple` (the
    patch in pixels), one per aspect ratio from 1:2 to 2:1."""
    sizes = set()
    for aspect in ASPECTS:
        h = max(multiple, round(resolution / math.sqrt(aspect) / multiple) * multiple)
        w = max(multiple, round(resolution * math.sqrt(aspect) / multiple) * multiple)
        sizes.add((h, w))
    return sorted(sizes)


def nearest_bucket(height: int, width: int, sizes: list[tuple[int, int]]) -> tuple[int, int]:
    aspect = math.log(width / height)
    return min(sizes, key=lambda s: (abs(math.log(s[1] / s[0]) - aspect), s))


def batch_group(raw: dict, sizes: list[tuple[int, int]]) -> tuple[tuple[int, int], int]:
    """(bucket, frame count): samples batched together share both, so that no frame is
    padding. The bucket comes from the target's header; nothing is decoded."""
    meta = json.loads(raw["json"])
    with Image.open(io.BytesIO(raw[meta["target"]])) as im:
        return nearest_bucket(im.height, im.width, sizes), len(meta["frames"])
