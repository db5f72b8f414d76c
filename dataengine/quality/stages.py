"""Stage `quality_scores`: the model-free scorers, as one row stage.

    - stage: quality_scores
      checks: [pixel_change, image_checks, instruction_checks]   # the default: all three

Adds scores to every ok pair (catalogue.py names them) and never drops one: selection
(the `select` stage) decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataengine.quality.image_checks import image_check_scores
from dataengine.quality.instruction_checks import duplicate_flags, instruction_scores
from dataengine.quality.pixel_change import (
    as_rgb,
    edited_frame,
    grey_at_work_size,
    pixel_change_scores,
)
from dataengine.schema import Pair, Unit
from dataengine.stage import Stage

CHECKS = ("pixel_change", "image_checks", "instruction_checks")


@dataclass
class QualityParams:
    checks: list[str] = field(default_factory=lambda: list(CHECKS))


class QualityScores(Stage):
    name = "quality_scores"
    Params = QualityParams
    requires = frozenset({"instructions"})
    provides = frozenset({"scores"})

    @classmethod
    def validate(cls, params: QualityParams) -> None:
        for check in params.checks:
            if check not in CHECKS:
                raise ValueError(f"checks: unknown {check!r}; choose from {', '.join(CHECKS)}")
        if not params.checks:
            raise ValueError(f"checks is empty; list some of {', '.join(CHECKS)}")

    def process(self, unit: Unit) -> Unit:
        pairs = [p for p in unit.pairs if p.ok]
        for pair in pairs:
            pair.scores.update(self.score(pair))
        if "instruction_checks" in self.params.checks:
            flags = duplicate_flags(pairs)
            for pair in pairs:
                pair.scores["instruction_duplicate"] = flags[pair.key]
        return unit

    def score(self, pair: Pair) -> dict[str, float]:
        checks, scores = self.params.checks, {}
        frame = edited_frame(pair)
        uses_grey = "pixel_change" in checks or "image_checks" in checks
        grey = grey_at_work_size(as_rgb(pair.target)) if uses_grey else None  # once for both
        if "pixel_change" in checks and frame is not None:
            scores.update(pixel_change_scores(frame.image, pair.target, frame.mask, grey))
        if "image_checks" in checks:
            scores.update(image_check_scores(pair.target, grey))
        if "instruction_checks" in checks:
            inputs = sum(f.role == "input" for f in pair.frames)
            scores.update(instruction_scores(pair.instruction, inputs))
        return scores
