"""The in-process executor: units and passes run in the calling process, one at a time
(debugging, notebooks, tiny inputs, and tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from dataengine.chain import UnitJob
from dataengine.executors.base import Executor, note_work_ran_here, run_unit
from dataengine.schema import Unit
from dataengine.stage import ONE_WORKER, Resources


class InProcess(Executor):
    name = "in_process"

    def run_units(self, job: UnitJob, units: list[Unit]) -> Iterator[dict[str, Any]]:
        note_work_ran_here()
        chain = job.chain()
        for unit in units:
            yield run_unit(chain, unit)

    def map_batches(
        self,
        batches: list[Any],
        make_fn: Callable[[], Callable],
        resources: Resources = ONE_WORKER,
    ) -> Iterator[Any]:
        if not batches:
            return
        note_work_ran_here()
        fn = make_fn()
        for batch in batches:
            yield fn(batch)
