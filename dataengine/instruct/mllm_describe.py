"""Stage `mllm_describe`: a vision-language model looks at a pair and writes its instruction.

ACE has an MLLM describe what differs between the input and the result of natural pairs
(mined pairs above all), and at scale serves a captioner fine-tuned on such gold pairs to
label everything else. This stage sends the current input frames and the target, inline as
JPEG data URLs, with the task and the caption when known, and asks for one instruction that
names the inputs as {image}, {image1}... A pair with more inputs than `max_images` allows
(the server's --limit-mm-per-prompt) is not sent and keeps its template instruction.

    - stage: template_instructions
    - stage: mllm_describe
      url: http://gpu-host:8000/v1
      max_images: 2
"""

from __future__ import annotations

from dataclasses import dataclass

from dataengine.instruct.prompts import ChatRequest, describe_messages, guide_lines, image_part
from dataengine.instruct.validation import Expectations, named_frames
from dataengine.instruct.writer import LLMWriter, WriterParams
from dataengine.schema import Pair

TOO_MANY_IMAGES = "too_many_images"


@dataclass
class DescribeParams(WriterParams):
    max_images: int = 2  # images per request, inputs and target (the server's limit)
    max_side: int = 448  # images are shrunk to this longest side before sending
    temperature: float = 0.2  # one faithful description, not variety


class MLLMDescribe(LLMWriter):
    name = "mllm_describe"
    Params = DescribeParams
    source_label = "mllm"
    describes_images = True

    @classmethod
    def validate(cls, params: DescribeParams) -> None:
        super().validate(params)
        if params.max_images < 1:
            raise ValueError(f"max_images is {params.max_images}; the target needs 1 at least")
        if params.max_side < 32:
            raise ValueError(f"max_side is {params.max_side}; use 32 pixels or more")

    def process(self, unit):
        for pair in unit.pairs:
            if super().wants(pair) and len(self.images_of(pair)) > self.params.max_images:
                self.record(pair, TOO_MANY_IMAGES, error=self._too_many(pair))
        return super().process(unit)

    def wants(self, pair: Pair) -> bool:
        return super().wants(pair) and len(self.images_of(pair)) <= self.params.max_images

    @staticmethod
    def images_of(pair: Pair) -> list:
        """The current inputs in order, then the target."""
        return [f.image for f in pair.frames if f.role == "input"] + [pair.target]

    def build_request(self, pair: Pair) -> ChatRequest:
        structured = self.params.structured_output
        images = [image_part(image, self.params.max_side) for image in self.images_of(pair)]
        messages = describe_messages(pair.task, images, pair.caption, structured)
        return self.chat_request(pair, messages, n=1)

    def expectations(self, pair: Pair, request: ChatRequest) -> Expectations:
        # The frames the template named, but no quoted text to keep: the model words it all.
        return Expectations(
            placeholders=named_frames(pair.instruction or ""),
            prompt_lines=guide_lines(request.structured, describe=True),
            max_chars=self.params.max_chars,
        )

    def _too_many(self, pair: Pair) -> str:
        count = len(self.images_of(pair))
        return f"{count} images (inputs and target), max_images is {self.params.max_images}"
