"""Rectified flow: the path, instruction dropout, and classifier-free guidance."""

from __future__ import annotations

import pytest
import torch

from ace_model.conditioning import pack
from ace_model.config import ModelConfig
from ace_model.encoders import PixelCodec
from ace_model.flow import drop_instructions, guided_velocity, interpolate, shift_times
from tests.builders import lcu, trained_looking


def test_path_runs_from_target_to_noise():
    x0, noise = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(interpolate(x0, noise, torch.zeros(2)), x0)
    torch.testing.assert_close(interpolate(x0, noise, torch.ones(2)), noise)
    mid = interpolate(x0, noise, torch.full((2,), 0.25))
    torch.testing.assert_close(mid, 0.75 * x0 + 0.25 * noise)


def test_time_shift_keeps_the_ends_and_moves_times_towards_noise():
    t = torch.linspace(0, 1, 11)
    shifted = shift_times(t, 3.0)
    assert shifted[0] == 0 and shifted[-1] == 1
    assert torch.all(shifted[1:-1] > t[1:-1]) and torch.all(shifted.diff() > 0)
    assert shifted[5].item() == pytest.approx(0.75)  # 3 * 0.5 / (1 + 2 * 0.5)
    assert torch.equal(shift_times(t, 1.0), t)
    with pytest.raises(ValueError, match=r"model\.time_shift is 0"):
        ModelConfig(time_shift=0)


def test_instruction_dropout_rate_and_determinism():
    drops = drop_instructions(20000, 0.1, torch.Generator().manual_seed(0))
    assert 0.09 < drops.float().mean() < 0.11
    again = drop_instructions(20000, 0.1, torch.Generator().manual_seed(0))
    assert torch.equal(drops, again)
    assert not drop_instructions(1000, 0.0, torch.Generator().manual_seed(0)).any()


def test_guidance_mixes_conditional_and_unconditional(text_encoder):
    model = trained_looking()
    cond = pack(
        [lcu(1, seed=7), lcu(1, instruction="Blur {image}.", seed=8)],
        (16, 16),
        text_encoder,
        PixelCodec(),
    )
    x, t = torch.randn(2, 3, 16, 16), torch.full((2,), 0.7)
    with torch.no_grad():
        v_cond = model.target_velocity(x, t, cond, torch.zeros(2, dtype=torch.bool))
        v_uncond = model.target_velocity(x, t, cond, torch.ones(2, dtype=torch.bool))
        plain = guided_velocity(model, x, t, cond, 1.0, cond)
        guided = guided_velocity(model, x, t, cond, 3.0, cond.repeat(2))
    torch.testing.assert_close(plain, v_cond)
    torch.testing.assert_close(guided, v_uncond + 3.0 * (v_cond - v_uncond), atol=1e-5, rtol=1e-4)
    assert not torch.allclose(v_cond, v_uncond)


@pytest.mark.parametrize(("anchor", "frame"), [("edited", 1), ("last", 2)])
def test_untrained_anchored_model_returns_its_anchor(text_encoder, anchor, frame):
    """anchored_x0: with the output layer at zero the sampler lands on the anchor frame (the
    identity edit): the image the instruction calls {image}, after the history and before
    the reference, or (checkpoints from before the choice) the last frame; on zeros for a
    sample without one."""
    import dataclasses

    from ace_model.flow import euler_sample
    from ace_model.model import LCUDiT
    from tests.builders import MICRO

    torch.manual_seed(0)
    model = LCUDiT(dataclasses.replace(MICRO, prediction="anchored_x0", anchor=anchor)).eval()
    edit = pack([lcu(2, history=["Draw {image}."], instruction="Put {image1} on {image}.",
                     seed=3)], (16, 16), text_encoder, PixelCodec())  # fmt: skip
    out = euler_sample(model, edit, (1, 3, 16, 16), steps=5)
    torch.testing.assert_close(out, edit.frames[:, frame, :3], atol=1e-5, rtol=0)
    blank = pack([lcu(0, instruction="A red circle.", seed=4)], (16, 16), text_encoder,
                 PixelCodec())  # fmt: skip
    assert euler_sample(model, blank, (1, 3, 16, 16), steps=5).abs().max() < 1e-5


def test_anchored_loss_is_the_error_from_the_anchor(text_encoder):
    """At initialisation an anchored model predicts x0 = its input frame: the loss is the
    mean squared difference between target and input, whatever the noise and time."""
    import dataclasses

    from ace_model.flow import flow_loss
    from ace_model.model import LCUDiT
    from tests.builders import MICRO

    model = LCUDiT(dataclasses.replace(MICRO, prediction="anchored_x0"))
    cond = pack([lcu(1, seed=5)], (16, 16), text_encoder, PixelCodec())
    x0 = torch.rand(1, 3, 16, 16) * 2 - 1
    expected = (x0 - cond.frames[:, 0, :3]).pow(2).mean()
    for seed in (0, 1):
        loss = flow_loss(model, x0, cond, 0.0, torch.Generator().manual_seed(seed))
        torch.testing.assert_close(loss, expected)


def test_unknown_prediction_names_the_choices():
    import pytest

    from ace_model.config import ModelConfig

    with pytest.raises(ValueError, match=r"model\.prediction is 'x0'.*anchored_x0"):
        ModelConfig(prediction="x0")
    with pytest.raises(ValueError, match=r"model\.anchor is 'first'.*'edited', 'last'"):
        ModelConfig(anchor="first")


@pytest.mark.parametrize("steps", [0, -1])
def test_the_sampler_needs_a_step(text_encoder, steps):
    """No step would return the starting noise as if it were an image."""
    from ace_model.flow import euler_sample

    cond = pack([lcu(1, seed=6)], (16, 16), text_encoder, PixelCodec())
    with pytest.raises(ValueError, match=f"steps is {steps}; give at least 1 Euler step"):
        euler_sample(trained_looking(), cond, (1, 3, 16, 16), steps=steps)
