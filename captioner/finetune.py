"""The fine-tuned captioner: teach a vision-language model to write our instructions.

ACE labels its natural and mined pairs at scale with an MLLM fine-tuned on gold (pair,
instruction) examples. Ours come from a finished corpus: every sample's current input
frames, its target and its instruction. The model is shown exactly what `mllm_describe`
sends (the same guide, the same images in the same order, the same task line) and learns to
answer with the instruction. LoRA (peft) trains a few low-rank adapters; they are merged
into the base weights and the result saved with the base's processor and tokenizer, a plain
checkpoint that `vllm serve` loads and `mllm_describe` then asks.

    ace captioner finetune --data data/default --base models/base --out models/captioner
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dataengine.corpus.read import iter_samples, shard_paths
from dataengine.instruct.prompts import describe_messages
from dataengine.sinks.encode import decode_member

log = logging.getLogger(__name__)

GOLD_SOURCES = ("template", "human")  # instructions we trust; a model's own are not gold
REPORT = "captioner.json"


@dataclass
class GoldExample:
    """One training example: the images mllm_describe would send, and the answer to learn."""

    key: str
    task: str
    images: list[Any]  # PIL images: current inputs in order, then the target
    caption: str | None
    instruction: str


@dataclass
class FinetuneConfig:
    steps: int = 150  # optimizer steps, one example each
    learning_rate: float = 3e-3  # adapters start at zero; 1e-2 made the tiny model collapse
    rank: int = 8  # LoRA rank
    alpha: int = 16  # LoRA scale numerator (scale = alpha / rank)
    max_examples: int = 64  # gold examples read from the corpus
    max_images: int = 2  # inputs and target; mllm_describe's max_images (the server's limit)
    # Attention and MLP projections, and the output head: a small model learns new wording
    # far faster when the head that picks its words adapts too.
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj", "lm_head"]
    )
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "rank", "alpha", "max_examples", "max_images"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} is {getattr(self, name)}; give a positive number")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate is {self.learning_rate}; give a positive number")


# -- gold examples ---------------------------------------------------------------------------


def gold_examples(data: str | Path, max_examples: int, max_images: int) -> list[GoldExample]:
    """Up to `max_examples` examples from the corpus at `data`, in shard order (streamed)."""
    examples = []
    for example in _iter_gold(data, max_images):
        examples.append(example)
        if len(examples) == max_examples:
            break
    return examples


def _iter_gold(data: str | Path, max_images: int) -> Iterator[GoldExample]:
    from PIL import Image

    if not shard_paths(data):
        raise FileNotFoundError(
            f"{data} holds no complete shard (no stats/*.json); run `ace data run` first"
        )
    for sample in iter_samples(data):
        meta = sample["json"]
        if meta.get("instruction_source") not in GOLD_SOURCES or not meta.get("instruction"):
            continue
        members = [f["image"] for f in meta["frames"] if f["role"] == "input"] + [meta["target"]]
        if len(members) > max_images:  # mllm_describe would not send it either
            continue
        images = [Image.fromarray(_rgb(decode_member(sample[m]))) for m in members]
        yield GoldExample(
            sample["__key__"], meta["task"], images, meta.get("caption"), meta["instruction"]
        )


def _rgb(pixels):
    import numpy as np

    return np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels


# -- prompts as the server sees them ---------------------------------------------------------


def chat_for(example: GoldExample) -> list[dict[str, Any]]:
    """mllm_describe's messages in the processor's form (what vLLM turns them into)."""
    placeholders = [{"type": "image_url"}] * len(example.images)
    messages = describe_messages(example.task, placeholders, example.caption, json_answer=False)
    return [
        {"role": m["role"], "content": [_processor_part(p) for p in _parts(m["content"])]}
        for m in messages
    ]


def _parts(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _processor_part(part: dict[str, Any]) -> dict[str, Any]:
    return {"type": "image"} if part["type"] == "image_url" else part


def encode(processor, example: GoldExample) -> dict[str, Any]:
    """Model inputs with labels on the answer only: -100 on the prompt and image tokens."""
    prompt = processor.apply_chat_template(chat_for(example), add_generation_prompt=True)
    answer = f" {example.instruction}{processor.tokenizer.eos_token}"
    full = processor(text=prompt + answer, images=[example.images], return_tensors="pt")
    prompt_len = processor(text=prompt, images=[example.images], return_tensors="pt")
    labels = full["input_ids"].clone()
    labels[:, : prompt_len["input_ids"].shape[1]] = -100
    return {**full, "labels": labels}


# -- fine-tuning -----------------------------------------------------------------------------


def load_base(base: str | Path):
    """(model, processor) from a local checkpoint folder; float32 on the CPU."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    if not (Path(base) / "config.json").is_file():
        raise FileNotFoundError(f"{base} holds no config.json; give a saved model folder")
    model = AutoModelForImageTextToText.from_pretrained(base, dtype=torch.float32)
    return model, AutoProcessor.from_pretrained(base)


def mean_loss(model, batches: list[dict[str, Any]]) -> float:
    import torch

    model.eval()
    with torch.no_grad():
        losses = [model(**batch).loss.item() for batch in batches]
    return sum(losses) / len(losses)


def train_adapters(model, batches: list[dict[str, Any]], config: FinetuneConfig):
    """Wrap `model` with LoRA adapters and train them; -> the peft model."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(config.seed)
    lora = LoraConfig(
        r=config.rank,
        lora_alpha=config.alpha,
        lora_dropout=0.0,
        target_modules=config.target_modules,
    )
    model = get_peft_model(model, lora)
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=config.learning_rate
    )
    order = random.Random(config.seed)
    model.train()
    for step in range(config.steps):
        if step % len(batches) == 0:  # a fresh shuffle per pass over the examples
            epoch = order.sample(range(len(batches)), len(batches))
        loss = model(**batches[epoch[step % len(batches)]]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model


def finetune(
    data: str | Path, base: str | Path, out: str | Path, config: FinetuneConfig | None = None
) -> dict[str, Any]:
    """Fine-tune `base` on the gold examples of `data`, save the merged model to `out`."""
    config = config or FinetuneConfig()
    examples = gold_examples(data, config.max_examples, config.max_images)
    if not examples:
        raise ValueError(
            f"{data} holds no gold example (an ok sample with a template or human instruction "
            f"and at most {config.max_images} images); build a synthesis corpus first"
        )
    model, processor = load_base(base)
    batches = [encode(processor, example) for example in examples]
    loss_before = mean_loss(model, batches)
    log.info("captioner: %d examples, loss %.3f before", len(examples), loss_before)
    merged = train_adapters(model, batches, config).merge_and_unload()
    report = {
        "base": str(base),
        "data": str(data),
        "examples": len(examples),
        "tasks": sorted({e.task for e in examples}),
        "loss_before": loss_before,
        "loss_after": mean_loss(merged, batches),
        "config": asdict(config),
    }
    save(merged, processor, out, report)
    log.info("captioner: loss %.3f after, saved to %s", report["loss_after"], out)
    return report


def save(model, processor, out: str | Path, report: dict[str, Any]) -> Path:
    """A plain checkpoint (no adapter files): weights, config, processor and tokenizer."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    processor.tokenizer.save_pretrained(out)
    (out / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return out
