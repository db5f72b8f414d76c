"""`--llm-url` / `--llm-model`: pointing a recipe's writers at a server."""

from __future__ import annotations

import copy

import pytest

from dataengine.commands.llm_flags import apply_llm_overrides, llm_stage_overrides
from dataengine.recipe import RecipeError, build_recipe
from tests.builders import TINY_RECIPE

URL = "http://127.0.0.1:8000/v1"


def test_no_flags_leave_the_recipe_alone():
    assert apply_llm_overrides(TINY_RECIPE, None, None) is TINY_RECIPE


def test_a_recipe_without_writers_gets_a_rewrite_after_its_templates():
    raw = apply_llm_overrides(TINY_RECIPE, URL, "qwen")
    names = [s["stage"] for s in raw["stages"]]
    assert names == ["decode", "pairs", "template_instructions", "llm_rewrite"]
    assert raw["stages"][-1] == {
        "stage": "llm_rewrite",
        "url": URL,
        "model": "qwen",
        "backend": "openai",
    }
    assert [s["stage"] for s in TINY_RECIPE["stages"]][-1] == "template_instructions"  # a copy


def test_existing_writers_are_pointed_at_the_server():
    raw = copy.deepcopy(TINY_RECIPE)
    raw["stages"] += [
        {"stage": "mllm_describe", "url": "http://old:1/v1", "max_images": 2},
        {"stage": "llm_rewrite", "backend": "ray_data_llm", "model": "/m"},
    ]
    out = apply_llm_overrides(raw, URL, None)
    writers = out["stages"][-2:]
    assert [w["url"] for w in writers] == [URL, URL]
    assert [w["backend"] for w in writers] == ["openai", "openai"]
    assert writers[0]["max_images"] == 2 and writers[1]["model"] == "/m"
    assert len(out["stages"]) == len(raw["stages"])


@pytest.mark.parametrize(
    ("url", "model", "message"),
    [
        ("127.0.0.1:8000", None, "must start with http:// or https://"),
        (None, "qwen", "give --llm-url too"),
    ],
)
def test_bad_flags_stop_with_the_fix(url, model, message):
    with pytest.raises(RecipeError, match=message):
        apply_llm_overrides(TINY_RECIPE, url, model)


def test_a_recipe_without_templates_is_refused():
    raw = copy.deepcopy(TINY_RECIPE)
    raw["stages"] = raw["stages"][:2]
    with pytest.raises(RecipeError, match="add '- stage: template_instructions'"):
        apply_llm_overrides(raw, URL, None)


def test_the_overridden_recipe_builds(monkeypatch):
    from dataengine.instruct.llm_rewrite import LLMRewrite
    from dataengine.registry import STAGES

    monkeypatch.setitem(STAGES, "llm_rewrite", LLMRewrite)
    recipe = build_recipe(apply_llm_overrides(TINY_RECIPE, URL, None))
    assert recipe.stages[-1].params.url == URL
    assert recipe.stages[-1].resources.holds_model


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"url": ""}, "url is empty; set url: http://HOST:PORT/v1"),
        ({"url": "ftp://x"}, "must start with http:// or https://"),
        ({"url": URL, "backend": "grpc"}, "backend is 'grpc'; choose one of openai, ray_data_llm"),
        ({"url": URL, "variants": 0}, "variants is 0; ask for 1 to 16 rewrites"),
        ({"url": URL, "concurrency": 0}, "concurrency is 0; it must be at least 1"),
        ({"url": URL, "engine": {"gpus": 1}}, "engine: unknown key 'gpus'"),
        ({"url": URL, "tasks": ["canny"]}, "tasks: unknown task 'canny'"),
        ({"backend": "ray_data_llm"}, "model is empty"),
    ],
)
def test_bad_writer_blocks_stop_before_any_work(monkeypatch, block, message):
    from dataengine.instruct.llm_rewrite import LLMRewrite
    from dataengine.registry import STAGES

    monkeypatch.setitem(STAGES, "llm_rewrite", LLMRewrite)
    raw = copy.deepcopy(TINY_RECIPE)
    raw["stages"].append({"stage": "llm_rewrite", **block})
    with pytest.raises(RecipeError, match=f"stage 4 \\(llm_rewrite\\): .*{_escape(message)}"):
        build_recipe(raw)


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_stage_overrides_for_load_recipe(tmp_path, monkeypatch):
    import yaml

    from dataengine.instruct.llm_rewrite import LLMRewrite
    from dataengine.recipe import load_recipe
    from dataengine.registry import STAGES

    monkeypatch.setitem(STAGES, "llm_rewrite", LLMRewrite)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(TINY_RECIPE))
    assert llm_stage_overrides(path, None, None) == {}
    with pytest.raises(RecipeError, match=r"missing\.yaml does not exist"):
        llm_stage_overrides(tmp_path / "missing.yaml", URL, None)
    recipe = load_recipe(path, llm_stage_overrides(path, URL, "qwen"))
    assert [s.name for s in recipe.stages][-1] == "llm_rewrite"
    assert recipe.stages[-1].params.model == "qwen"
