"""PairMaker: turns one decoded source image into the frames and target of one sample.

A pair maker is pure: pixels and a seeded generator in, pixels out, and the parameters it
drew recorded so that the pair can be remade and checked. It knows nothing of keys, splits,
files or Ray; the `pairs` stage (dataengine/synth/stage.py) does that bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from dataengine.schema import Frame, SourceImage


class PairError(Exception):
    """This source cannot give this pair (too small, no object to remove...): an error row."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class Made:
    """What a pair maker returns."""

    frames: list[Frame]
    target: np.ndarray
    params: dict[str, Any]
    target_lossless: bool = False
    slots: dict[str, Any] = field(default_factory=dict)  # what fills the instruction template
    caption: str | None = None  # caption of the target, when known
    scenes: dict[str, Any] | None = None  # shapes world: {"frames": [...], "target": ...}
    # Whose phrasings write the current instruction, when not the task's own (a multi-turn
    # sample is phrased as its last turn's task).
    instruction_task: str | None = None


class PairMaker:
    task: ClassVar[str] = ""
    category: ClassVar[str] = ""
    operator: ClassVar[str] = ""  # e.g. "cv2.Canny"
    version: ClassVar[str] = "1"
    needs_caption: ClassVar[bool] = False
    needs_scene: ClassVar[bool] = False  # shapes-world only
    # Other sources this maker combines with its own (a style reference, an object to
    # paste). The `pairs` stage draws them from the same work unit, from other groups, and
    # calls make_with() instead of make().
    partners: ClassVar[int] = 0
    # Makers backed by a model (depth, pose, diffusers pipelines) take a local path from
    # the recipe (`pairs.models: {task: PATH}`) and load it once, in setup().
    needs_model: ClassVar[bool] = False
    # Serves only the pairs the mined_pairs source lists (and they only by such makers).
    mined: ClassVar[bool] = False

    def __init__(self, model: str | None = None):
        self.model_path = model

    def setup(self) -> None:
        """Load heavy state (a model from `self.model_path`); called once per worker."""

    def accepts(self, source: SourceImage) -> bool:
        """Cheap check on decoded pixels: can this source give this pair at all? The `pairs`
        stage draws tasks only among makers that accept (a grey photo is no colourisation
        source). A source that failed to decode has no pixels and is accepted by all, so
        its error rows say which tasks were lost."""
        return True

    def make(self, source: SourceImage, rng: np.random.Generator) -> Made:
        """Draw parameters, then build the pair from them: `draw(source, rng)` spends the
        generator and returns JSON-able params, `build(source, params)` remakes the pair
        exactly from them. Makers whose drawing needs no source may override make()."""
        return self.build(source, self.draw(source, rng))

    def draw(self, source: SourceImage, rng: np.random.Generator) -> dict[str, Any]:
        raise NotImplementedError

    def build(self, source: SourceImage, params: dict[str, Any]) -> Made:
        raise NotImplementedError

    def make_with(
        self, source: SourceImage, partners: list[SourceImage], rng: np.random.Generator
    ) -> Made:
        """make() for makers with partners: `partners` holds exactly `self.partners` decoded
        sources of other groups."""
        raise NotImplementedError
