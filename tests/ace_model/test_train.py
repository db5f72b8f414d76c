"""Training: exact resume, a self-describing checkpoint, the tiny preset learning, and a
network overfitting one batch until sampling gives its targets back."""

from __future__ import annotations

import json

import pytest
import torch

from ace_model import checkpoint
from ace_model.conditioning import pack
from ace_model.config import ModelConfig, RunSpec, TextConfig, TrainConfig
from ace_model.data import ShardStream, decode_batch
from ace_model.encoders import PixelCodec, TextEncoder
from ace_model.flow import euler_sample, flow_loss
from ace_model.train import Encoders, new_state, train, train_step
from dataengine.sinks.latent_store import buckets
from tests.builders import MICRO


def test_resume_gives_the_weights_of_a_straight_run(reference, tmp_path):
    """Stop at step N, resume to 2N: the same bits as 2N straight (CPU, same seed)."""
    settings = dict(model=MICRO, batch_size=8, progress=False, seed=5)
    train(reference, tmp_path / "straight", steps=8, **settings)
    train(reference, tmp_path / "stopped", steps=4, **settings)
    assert checkpoint.latest(tmp_path / "stopped").name == "checkpoint-0000004.pt"
    train(reference, tmp_path / "stopped", steps=8, resume=True, progress=False)

    straight = checkpoint.load(tmp_path / "straight")
    resumed = checkpoint.load(tmp_path / "stopped")
    assert straight["step"] == resumed["step"] == 8
    assert straight["positions"] == resumed["positions"]
    for part in ("model", "ema"):
        for name, tensor in straight[part].items():
            assert torch.equal(tensor, resumed[part][name]), f"{part}.{name} differs"
    first = straight["optimizer"]["state"][0]
    assert torch.equal(first["exp_avg_sq"], resumed["optimizer"]["state"][0]["exp_avg_sq"])
    # and the runs did learn something: the weights moved away from the initialisation
    assert not torch.equal(
        straight["model"]["out.weight"], torch.zeros_like(straight["model"]["out.weight"])
    )


def test_checkpoint_describes_itself(micro_run):
    payload = checkpoint.load(micro_run)
    spec = checkpoint.spec_of(payload)
    assert spec.model == ModelConfig(**{**vars(MICRO), "text_dim": 384})
    assert spec.codec.kind == "pixel" and spec.text.kind == "minilm"
    assert payload["preset"] == "tiny" and payload["step"] == 6
    model = checkpoint.load_model(payload)
    assert not model.training
    lines = [json.loads(line) for line in (micro_run / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [6]  # log_every 10, and the last step
    assert lines[0]["loss"] > 0 and lines[0]["steps_per_s"] > 0


def test_a_finished_run_is_not_overwritten_and_resume_keeps_settings(reference, micro_run):
    with pytest.raises(FileExistsError, match="pass --resume"):
        train(reference, micro_run, model=MICRO, steps=2, progress=False)
    with pytest.raises(ValueError, match=r"keeps its settings; drop \['batch_size'\]"):
        train(reference, micro_run, resume=True, steps=8, batch_size=2, progress=False)


@pytest.mark.slow
def test_tiny_preset_loss_goes_down(reference, tmp_path):
    """The tiny preset as `make train` runs it, at 32 px, for a few dozen steps."""
    summary = train(
        reference, tmp_path / "tiny", "tiny", steps=40, batch_size=8, log_every=10, progress=False
    )
    losses = [json.loads(line)["loss"] for line in (tmp_path / "tiny" / "metrics.jsonl").open()]
    assert summary["step"] == 40 and len(losses) == 4
    assert losses[-1] < 0.75 * losses[0], losses


def test_overfit_one_batch_then_sample_it_back(reference):
    """One fixed batch, many steps: the loss at a fixed noise and time collapses, and the
    Euler sampler then draws images much closer to the targets than before training, and
    closer than the inputs are (a sampler or conditioning bug would not)."""
    text = TextEncoder(TextConfig())
    stream = ShardStream(reference, "train", 4, buckets(32, 4), seed=0)
    size, raws = next((s, r) for s, r in stream.epoch_plan(0) if len(r) == 4)
    lcus, _ = decode_batch(raws, size)
    spec = RunSpec(ModelConfig(hidden=96, depth=2, heads=4, patch=4))
    settings = TrainConfig(steps=300, lr=2e-3, warmup=10, drop_text=0.0, ema_decay=0.0)
    state, cpu = new_state(spec, settings, torch.device("cpu")), torch.device("cpu")
    cond = pack(lcus, size, text, PixelCodec())
    targets = torch.stack([lcu.target for lcu in lcus])
    inputs = torch.stack([lcu.images[-1] for lcu in lcus])

    def fixed_loss() -> float:
        with torch.no_grad():
            return flow_loss(
                state.model, targets, cond, 0.0, torch.Generator().manual_seed(5)
            ).item()

    def sample_l1() -> float:
        out = euler_sample(
            state.model.eval(),
            cond,
            targets.shape,
            steps=20,
            generator=torch.Generator().manual_seed(1),
        )
        return (out.clamp(-1, 1) - targets).abs().mean().item()

    loss_before, l1_before = fixed_loss(), sample_l1()
    for _ in range(settings.steps):
        train_step(state, Encoders(text, PixelCodec()), lcus, size, settings, cpu)
    loss_after, l1_after = fixed_loss(), sample_l1()
    assert loss_after < 0.2 * loss_before, (loss_before, loss_after)
    assert l1_after < 0.6 * l1_before, (l1_before, l1_after)
    assert l1_after < (inputs - targets).abs().mean().item()
