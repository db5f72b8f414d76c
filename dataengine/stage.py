"""Stage: the unit of work a recipe lists.

A stage takes its parameters in __init__ (a typed dataclass, validated by the recipe loader),
builds heavy state (models, clients) in setup(), and maps one work unit to the same unit
with more filled in: __call__(unit) -> unit. Stages never write files (only sinks do) and
never import Ray (only the executors package does).

Each stage declares what it needs and what it adds, in terms of the unit's contents
("sources", "images", "pairs", "instructions", "scores"), so that a recipe whose stages come
in an impossible order is rejected before any work starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from dataengine.schema import Unit


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage (or of a pass such as mining's embedding) needs, and how
    many may hold a model at once. A recipe sets `cpus`, `gpus` and `actors` in a stage's
    `resources:` block; whether it holds a model is the stage's own business.

    On Ray a stage holding a model runs as an actor pool of up to `actors`, each worker
    with `cpus` and `gpus`; with `actors` 0 (CPU only: a model cheap to copy) it runs in
    every worker's chain beside the model-free stages instead, set up once per worker."""

    cpus: float = 1.0
    gpus: float = 0.0
    actors: int = 1
    holds_model: bool = False

    RECIPE_KEYS: ClassVar[tuple[str, ...]] = ("cpus", "gpus", "actors")

    def check(self) -> None:
        """Raise ValueError naming the key and the fix."""
        if self.cpus <= 0:
            raise ValueError(f"resources.cpus is {self.cpus}; give a positive CPU share")
        if self.gpus < 0:
            raise ValueError(f"resources.gpus is {self.gpus}; give 0 or more")
        if self.actors < 0:
            raise ValueError(f"resources.actors is {self.actors}; give 0 or more")
        if self.actors == 0 and self.gpus:
            raise ValueError(
                "resources.actors is 0 (a copy in every worker) with gpus; give actors >= 1 "
                "to pool a GPU model"
            )


ONE_WORKER = Resources()  # the default: one CPU, no GPU, no model


@dataclass
class NoParams:
    pass


class Stage:
    """Base class of every recipe stage."""

    name: ClassVar[str] = ""
    Params: ClassVar[type] = NoParams
    requires: ClassVar[frozenset[str]] = frozenset()
    provides: ClassVar[frozenset[str]] = frozenset()
    resources: ClassVar[Resources] = Resources()
    # True when the stage treats each source, and the pairs made from it, on its own (no
    # draw or choice that looks at other sources of the unit): a chain of such stages may
    # run a unit a few sources at a time and hand each finished slice to the sink. A stage
    # whose answer depends on its parameters sets it per instance (`pairs`).
    per_source: bool = False

    def __init__(self, params: Any = None, *, recipe: str = "recipe", seed: int = 0):
        self.params = params if params is not None else self.Params()
        self.recipe = recipe
        self.seed = seed
        self._ready = False

    @classmethod
    def validate(cls, params: Any) -> None:
        """Check parameters beyond their types; raise ValueError naming the key and the fix."""

    def setup(self) -> None:
        """Build heavy state: models, clients. Called once per worker before the first unit."""

    def process(self, unit: Unit) -> Unit:
        raise NotImplementedError

    def __call__(self, unit: Unit) -> Unit:
        if not self._ready:
            self._configuration = frozenset(vars(self))  # what setup() adds is not in it
            self.setup()
            self._ready = True
        return self.process(unit)

    def __getstate__(self) -> dict[str, Any]:
        """What crosses to a worker: the configuration, never what setup() built (models
        and clients do not pickle, and every worker builds its own)."""
        state = dict(vars(self))
        if self._ready:
            state = {k: v for k, v in state.items() if k in self._configuration}
            state["_ready"] = False
        return state

    def describe(self) -> dict[str, Any]:
        return {"stage": self.name, **dataclasses.asdict(self.params)}
