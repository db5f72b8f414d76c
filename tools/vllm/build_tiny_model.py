"""Build a tiny, randomly initialised Idefics3 checkpoint that vLLM can serve on a CPU.

Run with the vLLM venv's Python (its transformers writes the files vLLM reads):

    .venv-vllm/bin/python tools/vllm/build_tiny_model.py OUT_DIR

No weights can be downloaded here, so the model is made from the real classes: a small
SigLIP-style vision tower and a 2-layer Llama text model (head_dim 64, which vLLM's CPU
attention supports), joined by Idefics3's pixel-shuffle connector. The tokenizer is a
byte-level BPE trained on the fly with the `tokenizers` library and holds Idefics3's image
tokens; the image processor is the PIL one (the torchvision one needs torchvision, which
the vLLM CPU venv cannot have). Its answers are random text: it exists so that the request
path (images inline, chat template, sampling, parsing) runs for real.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

IMAGE_SIZE = 64  # vision input side, in pixels
PATCH_SIZE = 16  # -> a 4x4 grid of patches
SCALE_FACTOR = 2  # pixel shuffle: 16 patches -> 4 image tokens per image
VOCAB_SIZE = 2000

IMAGE_TOKENS = ["<fake_token_around_image>", "<image>", "<end_of_utterance>", "<global-img>"]
ROW_COL_TOKENS = [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<pad>", *IMAGE_TOKENS, *ROW_COL_TOKENS]

# Idefics3's own chat template: image parts become <image>, each turn ends in
# <end_of_utterance>, and the model answers after "Assistant:".
CHAT_TEMPLATE = (
    "<|begin_of_text|>{% for message in messages %}"
    "{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}"
    "{% elif part['type'] == 'image' %}{{ '<image>' }}{% endif %}"
    "{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

# What the tokenizer learns its merges from: instruction-like English, so that even random
# weights answer in word pieces rather than stray bytes.
CORPUS = [
    "Rewrite the instruction in your own words and keep every placeholder unchanged.",
    "Describe what changed between {image} and the target image.",
    "Detect the edges of {image}. Convert {image} to grayscale. Colorize {image}.",
    "Remove the red ball from {image}. Add a blue square to the left of the tree.",
    "Fill the masked region of {image} so that it matches the rest of the picture.",
    "Generate an image of a cat sitting on a wooden table in the evening sun.",
    "Make the sky brighter, turn the car green and move the dog to the right.",
    "Replace the background with a beach at sunset and keep the person as they are.",
    "Answer with one short instruction that tells an image editor what to do.",
    "a photo of a mountain lake, a painting of a city street, a sketch of a horse",
]


def train_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS * 20, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<|begin_of_text|>",
        eos_token="<end_of_utterance>",
        pad_token="<pad>",
        additional_special_tokens=IMAGE_TOKENS + ROW_COL_TOKENS,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_processor(tokenizer):
    from transformers import Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import (
        Idefics3ImageProcessorPil,
    )

    # No tiling: one global view per image keeps every image at 4 tokens.
    images = Idefics3ImageProcessorPil(
        do_image_splitting=False,
        size={"longest_edge": IMAGE_SIZE},
        max_image_size={"longest_edge": IMAGE_SIZE},
    )
    seq_len = (IMAGE_SIZE // PATCH_SIZE) ** 2 // SCALE_FACTOR**2
    return Idefics3Processor(images, tokenizer, image_seq_len=seq_len, chat_template=CHAT_TEMPLATE)


def build_model(tokenizer, seed: int):
    import torch
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration

    text = {
        "model_type": "llama",
        "vocab_size": len(tokenizer),
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 2,
        "head_dim": 64,
        "max_position_embeddings": 1024,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    vision = {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "image_size": IMAGE_SIZE,
        "patch_size": PATCH_SIZE,
    }
    config = Idefics3Config(
        text_config=text,
        vision_config=vision,
        scale_factor=SCALE_FACTOR,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    return Idefics3ForConditionalGeneration(config).to(torch.float32)


def build(out: Path, seed: int = 0) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer()
    processor = build_processor(tokenizer)
    model = build_model(tokenizer, seed)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(out)
    processor.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "tiny_model.json").write_text(json.dumps({"architecture": "Idefics3", "seed": seed}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the checkpoint into")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(build(args.out, args.seed))


if __name__ == "__main__":
    main()
