"""The `llm_rewrite` stage's own checks (its requests and replies: test_writers_vllm.py,
test_engine.py, test_writer_failures.py)."""

from __future__ import annotations

import pytest

from dataengine.instruct.llm_rewrite import LLMRewrite, RewriteParams


def test_a_misspelt_task_gets_a_suggestion():
    params = RewriteParams(url="http://127.0.0.1:8000/v1", tasks=["grayscale", "colourization"])
    suggestion = r"unknown task 'colourization' \(did you mean 'colorization'\?\); known: "
    with pytest.raises(ValueError, match=suggestion):
        LLMRewrite.validate(params)
