import re
from pathlib import Path

import pytest

from dataengine.recipe import RecipeError, build_recipe, load_recipe

RECIPES = sorted(Path("pipelines/recipes").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_bundled_recipes_load(path):
    recipe = load_recipe(path)
    assert recipe.stages and recipe.name


def _error(raw) -> str:
    with pytest.raises(RecipeError) as info:
        build_recipe(raw, where="r.yaml")
    return str(info.value)


def test_unknown_top_level_key(tiny_raw):
    tiny_raw["seeds"] = 3
    assert _error(tiny_raw) == (
        "r.yaml: unknown key 'seeds' (did you mean 'seed'?); valid keys: "
        "name, seed, source, splits, unit_size, stages, sink, description"
    )


def test_unknown_stage(tiny_raw):
    tiny_raw["stages"][0]["stage"] = "decod"
    message = _error(tiny_raw)
    assert message.startswith("r.yaml, stage 1: unknown stage 'decod' (did you mean 'decode'?)")


def test_unknown_stage_key_names_stage_and_suggests(tiny_raw):
    tiny_raw["stages"][1]["per_sorce"] = 2
    message = _error(tiny_raw)
    assert message.startswith(
        "r.yaml, stage 2 (pairs): unknown key 'per_sorce' (did you mean 'per_source'?)"
    )


def test_wrong_type(tiny_raw):
    tiny_raw["stages"][0]["max_side"] = "big"
    assert _error(tiny_raw) == (
        "r.yaml, stage 1 (decode): max_side: expected an integer, got 'big' (str)"
    )


def test_bool_is_not_an_integer(tiny_raw):
    tiny_raw["unit_size"] = True
    assert "unit_size: expected an integer" in _error(tiny_raw)


def test_unknown_task(tiny_raw):
    tiny_raw["stages"][1]["tasks"]["canny"] = 1.0
    assert "stage 2 (pairs): tasks: unknown task 'canny'" in _error(tiny_raw)


def test_missing_input_column(tiny_raw):
    tiny_raw["stages"] = [tiny_raw["stages"][0], tiny_raw["stages"][2]]
    assert _error(tiny_raw) == (
        "r.yaml, stage 2 (template_instructions): needs pairs, which no "
        "earlier stage provides; put one of pairs before it"
    )


def test_unknown_source_kind(tiny_raw):
    tiny_raw["source"] = {"kind": "s3"}
    assert _error(tiny_raw).startswith("r.yaml, source: kind 's3' is not a source")


def test_missing_required_source_key(tiny_raw):
    tiny_raw["source"] = {"kind": "folder"}
    assert _error(tiny_raw) == "r.yaml, source (folder): missing key 'path' (a string)"


def test_splits_must_add_up(tiny_raw):
    tiny_raw["splits"] = {"train": 0.9, "val": 0.2}
    assert _error(tiny_raw) == "r.yaml: splits add up to 1.1; make them add up to 1"


def test_bad_stage_value(tiny_raw):
    tiny_raw["stages"][0]["min_side"] = 1000
    assert "need 1 <= min_side <= max_side" in _error(tiny_raw)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(bad)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ({"tasks": {"depth_extraction": 1}}, "give its local path as models: {depth_extraction"),
        (
            {"tasks": {"depth_extraction": 1}, "models": {"depth_extraction": "/no/such/model"}},
            "models.depth_extraction: /no/such/model does not exist",
        ),
        ({"tasks": {"grayscale": 1}, "models": {"grayscale": "/tmp"}}, "grayscale uses no model"),
        (
            {"tasks": {"grayscale": 1}, "options": {"grayscale": {"steps": 3}}},
            "options.grayscale.steps: unknown option",
        ),
        (
            {
                "tasks": {"diffusion_inpainting": 1},
                "models": {"diffusion_inpainting": "/tmp"},
                "options": {"diffusion_inpainting": {"num_inference_step": 3}},
            },
            "accepts: num_inference_steps",
        ),
        ({"tasks": {"grayscale": 1}, "max_actors": 0}, "unknown key 'max_actors'"),
    ],
)
def test_model_paths_and_options_are_checked(tiny_raw, pairs, message):
    tiny_raw["stages"][1] = {"stage": "pairs", **pairs}
    with pytest.raises(RecipeError, match=re.escape(message)):
        build_recipe(tiny_raw)


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"stage": "decode", "resources": {"gpus": 1}}, "resources.gpus: decode holds no model"),
        (
            {"stage": "decode", "resources": {"cpu": 2}},
            "resources: unknown key 'cpu' (did you mean 'cpus'?)",
        ),
        ({"stage": "decode", "resources": {"cpus": 0}}, "resources.cpus is 0"),
        ({"stage": "decode", "resources": {"cpus": "two"}}, "resources.cpus: expected a number"),
        ({"stage": "decode", "resources": [1]}, "resources: expected a mapping"),
    ],
)
def test_a_bad_resources_block_names_the_stage_and_the_key(tiny_raw, stage, message):
    tiny_raw["stages"][0] = {**tiny_raw["stages"][0], **stage}
    with pytest.raises(RecipeError, match=re.escape(f"stage 1 (decode): {message}")):
        build_recipe(tiny_raw)


def test_a_resources_block_sizes_a_model_stage_and_keeps_what_it_does_not_say(tiny_raw):
    tiny_raw["stages"].append({"stage": "text_legibility", "resources": {"cpus": 2}})
    tiny_raw["stages"][0]["resources"] = {"cpus": 0.5}
    recipe = build_recipe(tiny_raw)
    ocr = recipe.stages[-1].resources
    assert (ocr.cpus, ocr.gpus, ocr.actors, ocr.holds_model) == (2.0, 0.0, 0, True)
    assert recipe.stages[0].resources.cpus == 0.5
    tiny_raw["stages"][-1]["resources"] = {"gpus": 1}
    with pytest.raises(RecipeError, match=r"actors is 0 .* with gpus; give actors >= 1"):
        build_recipe(tiny_raw)
    tiny_raw["stages"][-1]["resources"] = {"gpus": 1, "actors": 2}
    assert build_recipe(tiny_raw).stages[-1].resources.actors == 2


def test_a_source_without_a_pass_of_its_own_takes_no_resources(tiny_raw):
    tiny_raw["source"]["resources"] = {"gpus": 1}
    with pytest.raises(
        RecipeError, match="source \\(sample_corpus\\): resources: this source runs"
    ):
        build_recipe(tiny_raw)
