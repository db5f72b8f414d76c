"""Pair makers for mined pairs: the source image is the input frame, its mined partner the
target, and the two captions say what the instruction asks for.

Which maker serves a pair follows from its captions: a phrase only in the target's caption
is an addition (`mined_add`, element editing), one only in the source's a removal
(`mined_remove`, element editing), both a replacement (`mined_edit`, semantic editing).
Pairs whose captions are missing or say nothing different go to `mined_edit`, which records
them with status `needs_mllm_instruction`: only a model that looks at both images can write
their instruction. List all three tasks in a recipe: a pair that none of the listed makers
serves becomes a `no_eligible_task` row.

The makers serve only sources of the mined_pairs source (`meta["mined"]`): the `mined`
class flag says so to code that lists makers (the task gallery, every-task tests).
"""

from __future__ import annotations

import cv2
import numpy as np

from dataengine.mine.caption_diff import ADD, REMOVE, REPLACE, CaptionChange, caption_change
from dataengine.schema import STATUS_NEEDS_MLLM, Frame, SourceImage
from dataengine.sources.decode import ImageError, decode_image
from dataengine.synth.base import Made, PairError, PairMaker


class MinedPairMaker(PairMaker):
    operator = "dataengine.mine"
    kinds: tuple[str, ...] = ()  # caption changes this maker serves
    mined = True

    def accepts(self, source: SourceImage) -> bool:
        if "mined" not in source.meta:
            return False
        if not source.ok:  # one error row per broken pair, from mined_edit
            return self.task == "mined_edit"
        return change_of(source).kind in self.kinds

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        partner = source.meta["partner"]
        if not partner.ok:
            raise PairError(partner.status, f"the mined partner {partner.id}: {partner.error}")
        change = change_of(source)
        if not change.describable:
            raise PairError(
                STATUS_NEEDS_MLLM,
                f"the captions of {source.meta['mined']['source_id']} and its partner "
                f"{'say nothing different' if change.kind == 'same' else 'are missing'}; "
                "an MLLM instruction writer has to describe this pair",
            )
        target = partner_pixels(partner, source.image.shape[:2])
        return Made(
            frames=[Frame(image=source.image)],
            target=target,
            params={**source.meta["mined"], "change": change.kind},
            slots=change.slots(),
            caption=partner.caption,
            scenes=_scenes(source, partner),
        )


class MinedEdit(MinedPairMaker):
    task = "mined_edit"
    category = "semantic_editing"
    kinds = (REPLACE, "same", "unknown")


class MinedAdd(MinedPairMaker):
    task = "mined_add"
    category = "element_editing"
    kinds = (ADD,)


class MinedRemove(MinedPairMaker):
    task = "mined_remove"
    category = "element_editing"
    kinds = (REMOVE,)


def change_of(source: SourceImage) -> CaptionChange:
    return caption_change(source.caption, source.meta["partner"].caption)


def partner_pixels(partner: SourceImage, size: tuple[int, int]) -> np.ndarray:
    """The partner as RGB pixels of the source's size (h, w): frames and target align."""
    image = partner.image
    if image is None:
        try:
            image = decode_image(partner.data, max_side=max(size) * 2, min_side=16).image
        except ImageError as exc:
            raise PairError(exc.kind, f"the mined partner {partner.id}: {exc}") from None
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def _scenes(source: SourceImage, partner: SourceImage) -> dict | None:
    if "scene" in source.meta and "scene" in partner.meta:
        return {"frames": [source.meta["scene"]], "target": partner.meta["scene"]}
    return None
