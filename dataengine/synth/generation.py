"""Text-to-image: no input frame, the caption as the instruction, the photo as the target.

ACE trains generation from text in the same LCU format as editing: a sample whose frame
list is empty. The caption must describe the whole target, so only captioned sources serve.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dataengine.schema import SourceImage
from dataengine.synth.base import Made, PairError, PairMaker
from dataengine.synth.controllable import caption_slots


class TextToImage(PairMaker):
    task = "text_to_image"
    category = "text_to_image"
    operator = "identity"
    needs_caption = True

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        return self.build(source, {})  # nothing random: the photo is the target as it is

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        slots = caption_slots(source)
        if not slots:
            raise PairError("missing_caption", f"{self.task} needs a caption; {source.id} has none")
        return Made(
            frames=[], target=source.image, params=params, slots=slots, caption=slots["caption"]
        )
