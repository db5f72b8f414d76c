"""A corpus of every synthesis family (masks, several inputs, history, text to image), with
three samples rejected by the curation table: what every export test reads."""

from __future__ import annotations

import pytest

from dataengine.corpus.curation import decision_rows, record_decisions
from dataengine.corpus.read import iter_samples
from dataengine.executors import InProcess
from dataengine.recipe import load_recipe
from dataengine.runner import run_recipe


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "corpus"
    run_recipe(load_recipe("pipelines/recipes/synthesis.yaml"), out, InProcess(), limit=40,
               progress=False)  # fmt: skip
    keys = sorted(sample["__key__"] for sample in iter_samples(out))
    record_decisions(out, decision_rows(keys[:3], "reject", "a test's", "tester"), "tester")
    return out


@pytest.fixture(scope="session")
def accepted(corpus) -> dict[str, dict]:
    """The accepted samples' json, by key."""
    from dataengine.corpus.curation import rejected_keys

    rejected = rejected_keys(corpus)
    return {s["__key__"]: s["json"] for s in iter_samples(corpus) if s["__key__"] not in rejected}
