"""Stage `pairs`: choose tasks for each source by weight and run their pair makers.

Every source gets `per_source` distinct tasks among those it can serve (a caption for
caption-conditioned tasks, a scene for shapes-world edits). A source that failed to load or
decode still gets its tasks chosen, and each becomes an error row carrying the source's
status, so the index accounts for every input.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dataengine.params import did_you_mean
from dataengine.registry import is_task, maker_class, task_names
from dataengine.schema import Pair, SourceImage, Unit, content_key, derive_seed, rng_for
from dataengine.stage import Resources, Stage
from dataengine.synth.base import Made, PairError, PairMaker


@dataclass
class PairsParams:
    tasks: dict[str, float] = field(default_factory=dict)  # task -> relative weight
    per_source: int = 1  # distinct tasks made from each source
    # Local model paths for model-backed tasks (depth, pose, diffusers pipelines), by task.
    models: dict[str, str] = field(default_factory=dict)
    # Constructor options of a task's maker, e.g. {diffusion_inpainting: {num_inference_steps: 20}}.
    options: dict[str, dict] = field(default_factory=dict)


class Pairs(Stage):
    name = "pairs"
    Params = PairsParams
    requires = frozenset({"images"})
    provides = frozenset({"pairs"})

    @classmethod
    def validate(cls, params: PairsParams) -> None:
        if not params.tasks:
            raise ValueError(
                f"tasks is empty; list task weights, e.g. {{canny_extraction: 1}}; "
                f"known tasks: {', '.join(task_names())}"
            )
        for task, weight in params.tasks.items():
            if not is_task(task):
                raise ValueError(
                    f"tasks: unknown task {task!r}{did_you_mean(task, task_names())}; "
                    f"known tasks: {', '.join(task_names())}"
                )
            if weight <= 0:
                raise ValueError(f"tasks.{task}: weight {weight} must be positive")
        if params.per_source < 1:
            raise ValueError(f"per_source is {params.per_source}; it must be at least 1")
        _validate_models(params)
        _validate_options(params)

    def __init__(self, params: PairsParams | None = None, **kwargs):
        super().__init__(params, **kwargs)
        # Tasks are drawn per source; only partners come from the rest of the unit.
        self.per_source = all(maker_class(task).partners == 0 for task in self.params.tasks)
        # With a model-backed task the stage is an actor pool; its `resources:` block sizes it.
        if any(maker_class(task).needs_model for task in self.params.tasks):
            self.resources = Resources(holds_model=True)

    def setup(self) -> None:
        self.makers = {task: _maker(task, self.params) for task in sorted(self.params.tasks)}
        for maker in self.makers.values():
            maker.setup()

    def process(self, unit: Unit) -> Unit:
        for source in unit.sources:
            tasks = self.choose_tasks(source)
            if not tasks:  # still a row: the index accounts for every source
                unit.pairs.append(self.no_task_row(source, unit.split))
            for task in tasks:
                partners = self.choose_partners(task, source, unit.sources)
                unit.pairs.append(self.make_pair(source, task, unit.split, partners))
        return unit

    def no_task_row(self, source: SourceImage, split: str) -> Pair:
        """The error row of a source that none of the recipe's tasks can use."""
        task = max(self.makers, key=lambda t: self.params.tasks[t])
        pair = self.empty_pair(source, task, split, [source.id])
        if not source.ok:
            return pair.fail(source.status, source.error or source.status)
        return pair.fail(
            "no_eligible_task",
            f"none of the tasks {sorted(self.makers)} can use this source (they need a "
            "caption, a shapes-world scene or colour it lacks)",
        )

    def choose_partners(self, task: str, source: SourceImage, pool: list[SourceImage]):
        """Partners come from the same unit (so the same split), from other groups, drawn
        by a generator seeded with the source: the choice never depends on run order."""
        count = self.makers[task].partners
        if count == 0:
            return []
        others = [s for s in pool if s.ok and s.group != source.group]
        if len(others) < count:
            return None  # not enough: an error row says so
        rng = rng_for(self.seed, "partners", task, source.id)
        return [others[i] for i in sorted(rng.choice(len(others), size=count, replace=False))]

    def choose_tasks(self, source: SourceImage) -> list[str]:
        eligible = [t for t in self.makers if _can_serve(self.makers[t], source)]
        if not eligible:
            return []
        count = min(self.params.per_source, len(eligible))
        if count == len(eligible):  # every eligible task: the draw could only reorder them
            return eligible
        weights = np.array([self.params.tasks[t] for t in eligible], dtype=float)
        rng = rng_for(self.seed, "tasks", source.id)
        picked = rng.choice(len(eligible), size=count, replace=False, p=weights / weights.sum())
        return [eligible[i] for i in sorted(picked)]

    def empty_pair(self, source: SourceImage, task: str, split: str, source_ids: list) -> Pair:
        """The row before its maker runs: key, task, split and provenance."""
        maker = self.makers[task]
        seed = derive_seed(self.seed, task, *source_ids)
        return Pair(
            key=content_key(self.recipe, task, source_ids, {}, self.seed),
            task=task,
            category=maker.category,
            split=split,
            provenance=_provenance(self, maker, source_ids, seed),
        )

    def make_pair(self, source: SourceImage, task: str, split: str, partners) -> Pair:
        maker = self.makers[task]
        source_ids = [source.id, *(p.id for p in partners or [])]
        pair = self.empty_pair(source, task, split, source_ids)
        seed = pair.provenance["seed"]
        if not source.ok:
            return pair.fail(source.status, source.error or source.status)
        if partners is None:
            return pair.fail(
                "no_partner",
                f"{task} needs {maker.partners} other source(s) "
                "of another group in the same work unit; raise unit_size",
            )
        try:
            made = _run_maker(maker, source, partners, np.random.default_rng(seed))
        except PairError as exc:
            return pair.fail(exc.kind, str(exc))
        pair.frames, pair.target, pair.target_lossless = (
            made.frames,
            made.target,
            made.target_lossless,
        )
        pair.slots, pair.caption = made.slots, made.caption
        if made.instruction_task:
            pair.slots["template_task"] = made.instruction_task
        pair.provenance["params"] = made.params
        pair.provenance["model"] = getattr(maker, "model_info", None)
        if "scene" in source.meta:
            pair.provenance["scenes"] = made.scenes or _same_scene(source, len(made.frames))
        return pair


def _maker(task: str, params: PairsParams) -> PairMaker:
    return maker_class(task)(model=params.models.get(task), **params.options.get(task, {}))


def _validate_options(params: PairsParams) -> None:
    for task, options in params.options.items():
        if task not in params.tasks:
            raise ValueError(f"options.{task}: {task} is not in tasks; add it or drop its options")
        accepted = set(inspect.signature(maker_class(task).__init__).parameters) - {"self", "model"}
        for key in options:
            if key not in accepted:
                hint = ", ".join(sorted(accepted)) or "none"
                raise ValueError(f"options.{task}.{key}: unknown option; {task} accepts: {hint}")


def _validate_models(params: PairsParams) -> None:
    for task in params.tasks:
        if maker_class(task).needs_model and task not in params.models:
            raise ValueError(
                f"tasks.{task} runs a model: give its local path as models: {{{task}: PATH}}"
            )
    for task, path in params.models.items():
        if task not in params.tasks:
            raise ValueError(f"models.{task}: {task} is not in tasks; add it or drop the path")
        if not maker_class(task).needs_model:
            raise ValueError(f"models.{task}: {task} uses no model; drop the path")
        if not Path(path).exists():
            raise ValueError(f"models.{task}: {path} does not exist; give a local model folder")


def _can_serve(maker: PairMaker, source: SourceImage) -> bool:
    # A mined pair is served by the mined_* makers only, and they serve nothing else.
    if maker.mined != ("mined" in source.meta):
        return False
    if maker.needs_scene and "scene" not in source.meta:
        return False
    if maker.needs_caption and not source.caption:
        return False
    return maker.accepts(source)


def _run_maker(maker: PairMaker, source: SourceImage, partners: list, rng) -> Made:
    return maker.make_with(source, partners, rng) if maker.partners else maker.make(source, rng)


def _provenance(stage: Pairs, maker: PairMaker, source_ids: list[str], seed: int) -> dict:
    return {
        "recipe": stage.recipe,
        "stage": stage.name,
        "operator": maker.operator,
        "version": maker.version,
        "params": {},
        "seed": seed,
        "source_ids": source_ids,
        "parents": [],
        "model": None,
    }


def _same_scene(source: SourceImage, n_frames: int) -> dict:
    """Operators that keep the scene (edges, grey, masks) show it in every frame and target."""
    scene = source.meta["scene"]
    return {"frames": [scene] * n_frames, "target": scene}
