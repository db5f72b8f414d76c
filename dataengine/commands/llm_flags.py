"""`ace data run RECIPE --llm-url URL --llm-model NAME`: point the instruction writers at a
server without editing the recipe.

Every `llm_rewrite` and `mllm_describe` stage of the recipe gets the URL and model (and the
`openai` backend). A recipe with no writer, like the default one, gets an `llm_rewrite`
stage right after its `template_instructions`, so the flag alone turns template
instructions into rewritten ones; without the flag the recipe runs as written.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from dataengine.params import RecipeError
from dataengine.recipe import read_recipe_file

WRITER_STAGES = ("llm_rewrite", "mllm_describe")
TEMPLATE_STAGE = "template_instructions"


def apply_llm_overrides(recipe_raw: dict, url: str | None, model: str | None) -> dict:
    """A copy of the raw recipe with its writers pointed at `url` / `model`."""
    if url is None and model is None:
        return recipe_raw
    if url is not None and not url.startswith(("http://", "https://")):
        raise RecipeError(
            f"--llm-url {url!r} must start with http:// or https://, e.g. http://127.0.0.1:8000/v1"
        )
    raw = copy.deepcopy(recipe_raw)
    stages: list[Any] = raw.get("stages") or []
    writers = [s for s in stages if isinstance(s, dict) and s.get("stage") in WRITER_STAGES]
    if not writers:
        writers = [_add_rewrite_stage(stages, url)]
    for writer in writers:
        if url is not None:
            writer["url"], writer["backend"] = url, "openai"
        if model is not None:
            writer["model"] = model
    return raw


def llm_stage_overrides(recipe: str | Path, url: str | None, model: str | None) -> dict:
    """`load_recipe` overrides for the flags: {"stages": [...]}, or {} without them."""
    if url is None and model is None:
        return {}
    raw = read_recipe_file(recipe)  # a file that cannot be read stops here, with its reason
    if not isinstance(raw.get("stages"), list):
        return {}
    return {"stages": apply_llm_overrides(raw, url, model)["stages"]}


def _add_rewrite_stage(stages: list[Any], url: str | None) -> dict:
    if url is None:
        raise RecipeError(
            "--llm-model names the model of a server: give --llm-url too, or add an "
            "llm_rewrite or mllm_describe stage with a url to the recipe"
        )
    names = [s.get("stage") if isinstance(s, dict) else None for s in stages]
    if TEMPLATE_STAGE not in names:
        raise RecipeError(
            f"--llm-url rewrites template instructions, but the recipe has no "
            f"{TEMPLATE_STAGE} stage; add '- stage: {TEMPLATE_STAGE}' after the pairs stage"
        )
    writer: dict[str, Any] = {"stage": "llm_rewrite"}
    stages.insert(names.index(TEMPLATE_STAGE) + 1, writer)
    return writer
