"""Stage `llm_rewrite`: a language model rewrites each template instruction, for diversity.

ACE rewrites its templated instructions with an LLM so that the same edit is asked for in
many ways; that matters most for non-natural images (edge, depth, pose maps), where no model
can describe the pair better than the template does. The model is asked for `variants`
rewrites in one request (n choices); the ones that pass validation are kept, one becomes
the instruction (drawn with a generator seeded by the key) and the others are recorded as
`alternatives` beside it. Placeholders ({image}...) and quoted text must survive verbatim.

    - stage: template_instructions
    - stage: llm_rewrite
      url: http://127.0.0.1:8000/v1
      variants: 3
"""

from __future__ import annotations

from dataclasses import dataclass

from dataengine.instruct.prompts import ChatRequest, guide_lines, rewrite_messages
from dataengine.instruct.validation import Expectations, expectations_for
from dataengine.instruct.writer import LLMWriter, WriterParams
from dataengine.params import did_you_mean
from dataengine.registry import is_task, task_names
from dataengine.schema import Pair


@dataclass
class RewriteParams(WriterParams):
    variants: int = 3  # rewrites asked for per instruction (choices of one request)
    tasks: list[str] | None = None  # rewrite only these tasks (None = every task)


class LLMRewrite(LLMWriter):
    name = "llm_rewrite"
    Params = RewriteParams
    source_label = "llm_rewrite"

    @classmethod
    def validate(cls, params: RewriteParams) -> None:
        super().validate(params)
        if not 1 <= params.variants <= 16:
            raise ValueError(f"variants is {params.variants}; ask for 1 to 16 rewrites")
        for task in params.tasks or []:
            if not is_task(task):
                raise ValueError(
                    f"tasks: unknown task {task!r}{did_you_mean(task, task_names())}; "
                    f"known: {', '.join(task_names())}"
                )

    def wants(self, pair: Pair) -> bool:
        tasks = self.params.tasks
        return super().wants(pair) and (tasks is None or pair.task in tasks)

    def build_request(self, pair: Pair) -> ChatRequest:
        structured = self.params.structured_output
        messages = rewrite_messages(pair.task, pair.instruction or "", structured)
        return self.chat_request(pair, messages, n=self.params.variants)

    def expectations(self, pair: Pair, request: ChatRequest) -> Expectations:
        return expectations_for(
            pair.instruction or "",
            source=pair.instruction,
            prompt_lines=guide_lines(request.structured, describe=False),
            max_chars=self.params.max_chars,
        )
