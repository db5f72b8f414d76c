"""Our WebDataset shards as batches of LCUs: streamed, shuffled per epoch, bucketed by shape.

The stream is planned before it is decoded. Planning reads the tar members and the target's
image header only (which bucket a sample falls in), so it is cheap; decoding happens for the
batches that are trained on. Resuming at step N replays the plan of the current epoch up to
the batch it stopped at, without decoding it, and so continues with exactly the batches an
uninterrupted run would have seen. Memory stays flat: a shuffle buffer and one pending batch
per bucket, whatever the corpus size.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from ace_model.conditioning import LCU, ConditionError, text_plan
from dataengine.corpus.curation import rejected_keys
from dataengine.corpus.read import shard_paths
from dataengine.schema import derive_seed
from dataengine.sinks.latent_store import batch_group, image_members, latent_member
from dataengine.sinks.layout import Layout
from dataengine.sinks.tars import samples_in_tar, tar_samples
from dataengine.storage import as_path, open_binary

log = logging.getLogger(__name__)

# ============================================================================================
# Decoding one sample
# ============================================================================================


def rgb_tensor(rgb: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """uint8 HxWx3 -> (3, H, W) float in [-1, 1] at `size` (H, W)."""
    rgb = cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 127.5 - 1.0


def mask_tensor(gray: np.ndarray | None, size: tuple[int, int]) -> torch.Tensor:
    """uint8 HxW, 255 = edit -> (1, H, W) in [0, 1]; no mask means the whole image."""
    if gray is None:
        return torch.ones(1, *size)
    gray = cv2.resize(gray, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(np.ascontiguousarray(gray))[None].float() / 255.0


def tensor_rgb(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) in [-1, 1] -> uint8 HxWx3."""
    values = ((image.float().clamp(-1, 1) + 1) * 127.5).round().byte()
    return values.permute(1, 2, 0).cpu().numpy()


def load_rgb(data: bytes, size: tuple[int, int]) -> torch.Tensor:
    """Encoded image -> (3, H, W) float in [-1, 1] at `size`."""
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (size[1], size[0]))  # JPEGs decode at a reduced scale, still >= size
        return rgb_tensor(np.asarray(im.convert("RGB")), size)


def load_mask(data: bytes | None, size: tuple[int, int]) -> torch.Tensor:
    """Encoded 8-bit mask -> (1, H, W) in [0, 1]; no mask means the whole image."""
    if data is None:
        return mask_tensor(None, size)
    with Image.open(io.BytesIO(data)) as im:
        return mask_tensor(np.asarray(im.convert("L")), size)


def load_latent(data: bytes) -> torch.Tensor:
    """A precomputed `.latent.npy` member -> (C, h, w) float32."""
    array = np.load(io.BytesIO(data), allow_pickle=False)
    return torch.from_numpy(array.astype(np.float32))


def decode_sample(raw: dict, size: tuple[int, int]) -> LCU:
    """A raw WebDataset sample (member name -> bytes) -> an LCU at `size`: its images as
    pixels, or as the latents `ace data latents` attached (see `with_latents`).

    Raises KeyError (a member is missing), OSError (an image does not decode) or
    ConditionError (the text names a frame that is not there)."""
    meta = json.loads(raw["json"])
    frames = meta["frames"]
    encoded = all(latent_member(name) in raw for name in image_members(meta))

    def load(name: str) -> torch.Tensor:
        return load_latent(raw[latent_member(name)]) if encoded else load_rgb(raw[name], size)

    lcu = LCU(
        key=raw["__key__"],
        instruction=meta["instruction"] or "",
        images=[load(f["image"]) for f in frames],
        masks=[load_mask(raw[f["mask"]] if f["mask"] else None, size) for f in frames],
        roles=[f["role"] for f in frames],
        frame_instructions=[f["instruction"] for f in frames],
        target=load(meta["target"]),
        meta=meta,
        encoded=encoded,
    )
    text_plan(lcu)  # fail here, as a skipped sample, rather than inside a batch
    return lcu


def decode_batch(raws: list[dict], size: tuple[int, int]) -> tuple[list[LCU], list[str]]:
    """The samples that decode, and "key: reason" for those that do not (never a crash)."""
    lcus, skipped = [], []
    for raw in raws:
        try:
            lcus.append(decode_sample(raw, size))
        except (KeyError, OSError, ValueError, ConditionError) as exc:
            skipped.append(f"{raw.get('__key__')}: {type(exc).__name__}: {exc}")
    return lcus, skipped


# ============================================================================================
# The stream
# ============================================================================================


@dataclass(frozen=True)
class Position:
    """Where the stream stands: the epoch and how many of its batches were handed out."""

    epoch: int = 0
    batch: int = 0


def group_batches(
    raws: Iterator[dict], batch_size: int, sizes: list[tuple[int, int]]
) -> Iterator[tuple[tuple[int, int], list[dict]]]:
    """(bucket, raw samples) per batch: full batches as groups fill, then the rest."""
    pending: dict[tuple, list[dict]] = defaultdict(list)
    for raw in raws:
        group = batch_group(raw, sizes)
        pending[group].append(raw)
        if len(pending[group]) == batch_size:
            yield group[0], pending.pop(group)
    for group in sorted(pending):
        yield group[0], pending[group]


class ShardStream:
    """Batches of raw samples of one split, forever; a batch shares a bucket and a frame count.

    Epoch e visits the complete shards in an order drawn from (seed, e) and shuffles samples
    in a buffer seeded the same way; curation rejections and failed rows never enter.

    With `lanes` > 1 this is lane `lane` of that many disjoint streams (ace_model/lanes.py):
    it reads shards lane, lane + lanes, ... of each epoch's order, so no two lanes read the
    same bytes. A split of fewer shards than lanes is shared out by sample instead (every
    lane then reads all of it, and keeps every lanes-th sample).
    """

    def __init__(
        self,
        data: str | Path,
        split: str,
        batch_size: int,
        sizes: list[tuple[int, int]],
        seed: int,
        shuffle_buffer: int = 256,
        latent_tars: dict[str, str] | None = None,
        lane: int = 0,
        lanes: int = 1,
    ):
        self.shards = shard_paths(data, split)
        self.latent_tars = latent_tars or {}  # corpus tar -> its precomputed latents
        if not self.shards:
            raise FileNotFoundError(
                f"{data} has no complete {split} shard; build one with `ace data run`"
            )
        self.rejected = rejected_keys(data)
        self.batch_size, self.sizes = batch_size, sizes
        self.seed, self.buffer = seed, shuffle_buffer
        self.lane, self.lanes = lane, lanes

    @property
    def by_shard(self) -> bool:
        """Whether the lanes share the split out by shard (else by sample)."""
        return len(self.shards) >= self.lanes

    def lane_shards(self, epoch: int) -> list[str]:
        """The shards this lane reads in `epoch`, in order."""
        order = list(self.shards)
        random.Random(derive_seed(self.seed, "shards", epoch)).shuffle(order)
        return order[self.lane :: self.lanes] if self.by_shard else order

    def raw_samples(self, epoch: int) -> Iterator[dict]:
        import webdataset as wds

        rejected = self.rejected
        stages = [
            wds.SimpleShardList(self.lane_shards(epoch)),
            samples_of_shards,
            with_latents(self.latent_tars),
            wds.select(lambda sample: sample["__key__"] not in rejected),
        ]
        if not self.by_shard:
            stages.append(every_nth(self.lane, self.lanes))
        mix = derive_seed(self.seed, "mix", epoch, *lane_seed_parts(self.lane, self.lanes))
        stages.append(wds.shuffle(self.buffer, initial=self.buffer, seed=mix))
        return iter(wds.DataPipeline(*stages))

    def epoch_plan(self, epoch: int) -> Iterator[tuple[tuple[int, int], list[dict]]]:
        return group_batches(self.raw_samples(epoch), self.batch_size, self.sizes)

    def batches(self, start: Position) -> Iterator[tuple[Position, tuple[int, int], list[dict]]]:
        """From `start` on: (position after this batch, bucket, raw samples)."""
        epoch, skip = start.epoch, start.batch
        while True:
            handed = 0
            for handed, (size, raws) in enumerate(self.epoch_plan(epoch), start=1):
                if handed > skip:
                    yield Position(epoch, handed), size, raws
            if handed == 0:
                raise FileNotFoundError("the split's shards hold no sample to train on")
            epoch, skip = epoch + 1, 0


def lane_seed_parts(lane: int, lanes: int) -> tuple:
    """What a lane adds to the seeds of its shuffle and of its steps' draws: nothing when
    there is one lane, so that a one-lane run draws as runs always did and older
    checkpoints resume exactly."""
    return () if lanes == 1 else (lane,)


def every_nth(first: int, n: int):
    """A pipeline stage keeping samples first, first + n, first + 2n, ... of its input."""

    def keep(samples: Iterator[dict]) -> Iterator[dict]:
        return itertools.islice(samples, first, None, n)

    return keep


def samples_of_shards(shards: Iterator[dict]) -> Iterator[dict]:
    """The samples of each shard, local or at a URL (s3://...), streamed: what webdataset's
    `tarfile_to_samples` gives ({"__key__", "__url__", member: bytes}), through fsspec for
    any store (webdataset opens local files, pipes and a few schemes of its own)."""
    for shard in shards:
        url = shard["url"]
        with open_binary(as_path(url)) as stream:
            for sample in tar_samples(stream):
                sample["__url__"] = url
                yield sample


def with_latents(latent_tars: dict[str, str]):
    """A pipeline stage adding to each sample the members of its latent shard, which holds
    the corpus shard's samples in the same order (samples of shards without latents pass
    as they are)."""

    def stage(samples: Iterator[dict]) -> Iterator[dict]:
        url, latents = None, None
        for sample in samples:
            if sample["__url__"] != url:
                _check_used_up(latents, latent_tars.get(url))
                url = sample["__url__"]
                latents = _samples_of(latent_tars[url]) if url in latent_tars else None
            if latents is not None:
                extra = next(latents, {"__key__": None})
                if extra["__key__"] != sample["__key__"]:
                    raise _out_of_step(latent_tars[url], url, sample["__key__"])
                sample.update({k: v for k, v in extra.items() if not k.startswith("__")})
            yield sample
        _check_used_up(latents, latent_tars.get(url))

    return stage


def _check_used_up(latents: Iterator[dict] | None, tar: str | None) -> None:
    left = next(latents, None) if latents is not None else None
    if left is not None:
        raise _out_of_step(tar, "its corpus shard", left["__key__"])


def _out_of_step(tar: str, corpus: str, key: str) -> ValueError:
    stats = Layout(as_path(tar).parents[1]).stats(as_path(tar).stem)
    return ValueError(
        f"{tar} does not follow {corpus} (at sample {key}); remove {stats} and run "
        "`ace data latents` again"
    )


def _samples_of(tar: str) -> Iterator[dict]:
    return iter(samples_in_tar(as_path(tar).read_bytes()))  # latents are small: one read


def ordered_batches(
    data: str | Path, split: str, batch_size: int, sizes: list[tuple[int, int]]
) -> Iterator[tuple[tuple[int, int], list[dict]]]:
    """One pass over a split in shard and key order, batched by bucket: for evaluation."""

    rejected = rejected_keys(data)
    samples = samples_of_shards({"url": path} for path in shard_paths(data, split))
    kept = (raw for raw in samples if raw["__key__"] not in rejected)
    return group_batches(kept, batch_size, sizes)
