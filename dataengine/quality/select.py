"""Stage `select`: per-task thresholds on the scores; and the corpus-wide rules it declares.

    - stage: select
      thresholds:                       # min_<score> / max_<score>, by task
        default: {min_instruction_words: 3, max_instruction_bad_placeholders: 0}
        inpainting: {max_change_outside_mask: 0.01}     # a task's keys override default's
      max_per_task: 400                 # corpus-wide, see below
      quotas: {text_to_image: 100}
      dedup_distance: 8

A pair that fails a threshold becomes an index row with status "rejected" and an error that
names every score, its value and the bound it broke; it keeps all its scores, and its images
are not written. A threshold applies where its score was computed (no mask, no threshold on
change_outside_mask).

Quotas and near-duplicate removal need the whole corpus, so they run after the shards are
written, in `ace data select DIR` (corpus_selection.py), which reads these parameters from
the run's recipe and writes its decisions to the curation table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataengine.quality.catalogue import SCORES, unknown_score_hint
from dataengine.schema import SPLITS, STATUS_REJECTED, Pair, Unit
from dataengine.stage import Stage

DEFAULT = "default"
MAX_DEDUP_DISTANCE = 32  # of 128 bits: past this, "near duplicate" means "similar picture"


@dataclass
class SelectParams:
    thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    max_per_task: int | None = None  # samples per task and split, corpus-wide
    quotas: dict[str, int] = field(default_factory=dict)  # per task, overrides max_per_task
    quota_splits: list[str] = field(default_factory=lambda: ["train"])  # val/bench stay whole
    rank_by: str | None = None  # a quota keeps the highest; default: key order, a fair draw
    dedup: bool = True
    dedup_distance: int = 8  # Hamming bits between (input, target) perceptual hashes


class Select(Stage):
    name = "select"
    Params = SelectParams
    requires = frozenset({"scores"})

    @classmethod
    def validate(cls, params: SelectParams) -> None:
        from dataengine.registry import task_names

        tasks = task_names()
        for scope, bounds in params.thresholds.items():
            if scope != DEFAULT and scope not in tasks:
                raise ValueError(
                    f"thresholds.{scope}: not a task; use 'default' or a task id "
                    f"({', '.join(tasks)})"
                )
            for key in bounds:
                _parse_bound(key, f"thresholds.{scope}.{key}")
        _validate_corpus_rules(params, tasks)

    def process(self, unit: Unit) -> Unit:
        for pair in unit.pairs:
            if pair.ok:
                broken = self.broken_bounds(pair)
                if broken:
                    pair.fail(STATUS_REJECTED, "; ".join(broken))
        return unit

    def broken_bounds(self, pair: Pair) -> list[str]:
        """'name value < min bound (thresholds.scope)' for every bound the pair breaks."""
        broken = []
        for key, (bound, scope) in self.bounds_for(pair.task).items():
            kind, name = _parse_bound(key, key)
            value = pair.scores.get(name)
            if value is None:
                continue
            if (kind == "min" and value < bound) or (kind == "max" and value > bound):
                sign = "<" if kind == "min" else ">"
                broken.append(f"{name} {value:.4g} {sign} {kind} {bound:g} (thresholds.{scope})")
        return broken

    def bounds_for(self, task: str) -> dict[str, tuple[float, str]]:
        """The task's bounds, each with the scope it came from ('default' or the task)."""
        merged = {k: (v, DEFAULT) for k, v in self.params.thresholds.get(DEFAULT, {}).items()}
        merged.update({k: (v, task) for k, v in self.params.thresholds.get(task, {}).items()})
        return merged


def _parse_bound(key: str, where: str) -> tuple[str, str]:
    kind, _, name = key.partition("_")
    if kind not in ("min", "max") or not name:
        raise ValueError(f"{where}: a bound is min_<score> or max_<score>, e.g. min_ssim")
    if name not in SCORES:
        raise ValueError(f"{where}: no scorer makes {name!r}{unknown_score_hint(name)}")
    return kind, name


def _validate_corpus_rules(params: SelectParams, tasks: list[str]) -> None:
    if params.max_per_task is not None and params.max_per_task < 1:
        raise ValueError(f"max_per_task is {params.max_per_task}; give at least 1, or drop it")
    for task, quota in params.quotas.items():
        if task not in tasks:
            raise ValueError(f"quotas.{task}: not a task; known tasks: {', '.join(tasks)}")
        if quota < 0:
            raise ValueError(f"quotas.{task} is {quota}; give 0 or more samples")
    for split in params.quota_splits:
        if split not in SPLITS:
            raise ValueError(f"quota_splits: {split!r} is not a split; use {', '.join(SPLITS)}")
    if params.rank_by is not None and params.rank_by not in SCORES:
        hint = unknown_score_hint(params.rank_by)
        raise ValueError(f"rank_by: no scorer makes {params.rank_by!r}{hint}")
    if not 0 <= params.dedup_distance <= MAX_DEDUP_DISTANCE:
        raise ValueError(
            f"dedup_distance is {params.dedup_distance}; give 0 (exact) to "
            f"{MAX_DEDUP_DISTANCE} bits of 128"
        )
