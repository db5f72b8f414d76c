"""The registry's tables against what the modules define, and what a recipe imports."""

from __future__ import annotations

import pytest

from dataengine.instruct.templates import TEMPLATES
from dataengine.registry import (
    EMBEDDERS,
    MAKERS,
    SOURCES,
    STAGES,
    LazyTable,
    is_task,
    maker_class,
    task_names,
)
from dataengine.schema import CATEGORIES
from tests.helpers import fresh_python


@pytest.mark.parametrize(
    ("table", "attribute"),
    [(SOURCES, "name"), (STAGES, "name"), (EMBEDDERS, "kind"), (MAKERS, "task")],
    ids=["sources", "stages", "embedders", "makers"],
)
def test_every_listed_name_imports_the_class_of_that_name(table, attribute):
    for name in list(table):
        assert getattr(table[name], attribute) == name


def test_every_task_has_a_category_its_family_module_and_phrasings():
    for task in MAKERS:
        cls = MAKERS[task]
        assert cls.category in CATEGORIES, task
        assert MAKERS.path(task).split(":")[0] == cls.__module__
    assert set(TEMPLATES) == set(MAKERS)  # every task is phrased, and nothing else


def test_a_recipe_imports_only_the_stages_and_families_it_names():
    # A fresh interpreter: this one has imported everything already.
    script = (
        "import sys\n"
        "from dataengine.recipe import load_recipe\n"
        "recipe = load_recipe('pipelines/recipes/resize.yaml')\n"
        "for stage in recipe.stages: stage.setup()\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('dataengine'))))\n"
    )
    stdout = fresh_python(script)
    loaded = set(stdout.split())
    assert {"dataengine.synth.generation", "dataengine.sources.decode_stage"} <= loaded
    unnamed = {
        "dataengine.mine.source",  # the mined_pairs source
        "dataengine.instruct.llm_rewrite",
        "dataengine.quality.stages",
        "dataengine.synth.semantic",  # a family the recipe's tasks do not use
        "dataengine.synth.multi_turn",
    }
    assert not unnamed & loaded


def test_task_names_are_known_without_importing_their_families():
    assert "change_color" in task_names()
    assert is_task("mined_add") and not is_task("canny")
    assert maker_class("change_color").task == "change_color"
    with pytest.raises(KeyError):
        maker_class("canny")


def test_a_name_is_known_without_importing_its_module():
    table = LazyTable({"broken": "dataengine.no_such_module:Nothing"})
    assert "broken" in table and "other" not in table
    with pytest.raises(ModuleNotFoundError, match=r"dataengine\.no_such_module"):
        table["broken"]


def test_a_name_set_in_a_table_wins_and_can_be_taken_back(monkeypatch):
    table = LazyTable({"folder": "dataengine.sources.folder:FolderSource"})

    class Other:
        name = "other"

    monkeypatch.setitem(table, "other", Other)
    monkeypatch.setitem(table, "folder", Other)
    assert table["other"] is Other and table["folder"] is Other
    assert sorted(table) == ["folder", "other"] and len(table) == 2
    monkeypatch.undo()
    assert list(table) == ["folder"]
    assert table["folder"].__name__ == "FolderSource"
    with pytest.raises(KeyError):
        table["other"]
