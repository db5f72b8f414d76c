"""The LCU diffusion transformer: shapes, the 0.6B preset, padding, indicator embeddings,
instruction dropout, and the loss on target tokens only."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ace_model.conditioning import pack
from ace_model.config import PRESETS, ModelConfig
from ace_model.encoders import PixelCodec
from ace_model.flow import flow_loss, masked_mse, target_token_mask
from ace_model.model import LCUDiT, parameter_count, patchify, unpatchify
from tests.builders import lcu, trained_looking


def condition(lcus, text_encoder, size=(16, 16)):
    return pack(lcus, size, text_encoder, PixelCodec())


def velocity(model, lcus, text_encoder, drop=False, seed=1):
    cond = condition(lcus, text_encoder)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lcus), 3, 16, 16, generator=g)
    t = torch.full((len(lcus),), 0.5)
    with torch.no_grad():
        return model.target_velocity(x, t, cond, torch.full((len(lcus),), drop))


def test_output_shapes_for_every_frame_count(text_encoder):
    model = trained_looking()
    for n_inputs, history in [(0, []), (1, []), (2, []), (1, ["Add a red hat to {image}."])]:
        sample = lcu(
            n_inputs,
            history,
            instruction="Draw a cat."
            if n_inputs == 0
            else "Put {image} on the left" + (" of {image1}." if n_inputs > 1 else "."),
        )
        cond = condition([sample], text_encoder)
        x = torch.randn(1, 3, 16, 16)
        tokens = model(x, torch.tensor([0.3]), cond, torch.tensor([False]))
        frames = sample.n_frames + 1
        assert tokens.shape == (1, frames * 16, 3 * 4 * 4)  # 16 tokens of 4x4 px per frame
        assert model.target_velocity(x, torch.tensor([0.3]), cond, torch.tensor([False])).shape == (
            1,
            3,
            16,
            16,
        )


def test_patchify_round_trip():
    frames = torch.randn(2, 3, 4, 16, 24)
    tokens = patchify(frames, 4)
    assert tokens.shape == (2, 3, 24, 64)
    assert torch.equal(unpatchify(tokens[:, 1], 4, 4, 6), frames[:, 1])


def test_ace_06b_has_the_papers_size():
    """hidden 1152, depth 28, 16 heads, patch 2 on 4-channel latents: about 0.6B weights."""
    config = dataclasses.replace(PRESETS["ace-0.6b"].model, text_dim=4096)  # T5-XXL width
    with torch.device("meta"):
        model = LCUDiT(config)
    count = parameter_count(model)
    assert 0.55e9 < count < 0.70e9, count
    assert (config.hidden, config.depth, config.heads, config.patch) == (1152, 28, 16, 2)
    assert config.rope_axes == (8, 32, 32)


def test_bad_configuration_names_the_fix():
    with pytest.raises(ValueError, match=r"multiple of model\.heads"):
        ModelConfig(hidden=100, heads=3)


def test_padding_frames_change_nothing(text_encoder):
    """A one-frame sample batched beside a three-frame one (so padded with two empty frames)
    gets the velocity it gets alone."""
    model = trained_looking()
    alone = lcu(1, seed=1)
    longer = lcu(2, ["Turn {image} blue."], instruction="Blend {image} and {image1}.", seed=2)
    v_alone = velocity(model, [alone], text_encoder)
    v_batch = velocity(model, [alone, longer], text_encoder)
    torch.testing.assert_close(v_batch[:1], v_alone, atol=1e-5, rtol=1e-4)


def test_indicator_embeddings_tie_placeholders_to_frames(text_encoder):
    """{image} and {image1} name different frames: swapping the names changes the output,
    and only through the indicator embeddings (with them zeroed, the swap is invisible)."""
    model = trained_looking()
    a = lcu(2, instruction="Paste {image} onto {image1}.", seed=3)
    b = lcu(2, instruction="Paste {image1} onto {image}.", seed=3)
    cond_a, cond_b = condition([a], text_encoder), condition([b], text_encoder)
    refs_a = cond_a.text_ref[0][cond_a.text_ref[0] >= 0].tolist()
    assert refs_a == [0, 1]  # the tokens of "{image}" name frame 0, of "{image1}" frame 1
    assert cond_b.text_ref[0][cond_b.text_ref[0] >= 0].tolist() == [1, 0]
    assert not torch.allclose(
        velocity(model, [a], text_encoder), velocity(model, [b], text_encoder)
    )
    with torch.no_grad():
        model.indicator.weight.zero_()
    torch.testing.assert_close(
        velocity(model, [a], text_encoder), velocity(model, [b], text_encoder)
    )


def test_each_frame_reads_its_own_instruction(text_encoder):
    """A history frame's instruction reaches the output; the cross-attention mask lets each
    frame's tokens read only the segment of its own instruction."""
    model = trained_looking()
    one = lcu(1, ["Make {image} red."], instruction="Now make {image} round.", seed=4)
    other = lcu(1, ["Make {image} green."], instruction="Now make {image} round.", seed=4)
    assert not torch.allclose(
        velocity(model, [one], text_encoder), velocity(model, [other], text_encoder)
    )
    cond = condition([one], text_encoder)
    assert cond.frame_segment[0].tolist() == [0, 1, 1]  # history, input, target
    assert set(cond.text_segment[0].tolist()) == {0, 1}


def test_dropped_instruction_ignores_the_text(text_encoder):
    """What classifier-free guidance relies on: with the instruction dropped the output does
    not depend on the text (nor its length); with it, it does."""
    model = trained_looking()
    short = lcu(1, instruction="Blur {image}.", seed=5)
    long = lcu(1, instruction="Make {image} look like an old photograph from the 1920s.", seed=5)
    torch.testing.assert_close(
        velocity(model, [short], text_encoder, drop=True),
        velocity(model, [long], text_encoder, drop=True),
    )
    assert not torch.allclose(
        velocity(model, [short], text_encoder), velocity(model, [long], text_encoder)
    )


def test_loss_counts_target_tokens_only(text_encoder):
    pred, target = torch.randn(2, 10, 6), torch.randn(2, 10, 6)
    mask = target_token_mask(pred, 4)
    assert mask[:, -4:].all() and not mask[:, :-4].any()
    expected = (pred[:, -4:] - target[:, -4:]).pow(2).mean()
    torch.testing.assert_close(masked_mse(pred, target, mask), expected)
    changed = pred.clone()
    changed[:, :6] += 100.0  # condition frames' outputs: not part of the loss
    torch.testing.assert_close(masked_mse(changed, target, mask), expected)

    # Through the network: the gradient of the loss reaches the output layer only from the
    # target's tokens, so scaling the condition frames' outputs leaves it unchanged.
    model = trained_looking()
    cond = condition([lcu(2, instruction="Swap {image} and {image1}.", seed=6)], text_encoder)
    x0 = torch.rand(1, 3, 16, 16) * 2 - 1
    outputs = []
    model.out.register_forward_hook(lambda m, i, o: outputs.append(o) or o)
    loss = flow_loss(model, x0, cond, 0.0, torch.Generator().manual_seed(0))
    grad = torch.autograd.grad(loss, outputs[0])[0]
    assert grad[:, : 2 * 16].abs().max() == 0  # two condition frames of 16 tokens
    assert grad[:, 2 * 16 :].abs().max() > 0


def test_aligned_head_starts_on_the_same_place():
    """At initialisation an aligned head's target token looks at its own (row, column) in
    each frame (here the input's and its own) and hardly anywhere else."""
    from ace_model.attention import apply_rope, rope_cos_sin
    from ace_model.model import token_positions

    config = ModelConfig(hidden=192, heads=6, depth=1, patch=4)
    attn = LCUDiT(config).blocks[0].attn
    x = torch.randn(1, 2 * 64, 192)  # two frames of 8 x 8 tokens
    rope = rope_cos_sin(token_positions(torch.tensor([[0, 1]]), 8, 8), config.rope_axes, 1e4)
    q, k, _ = attn.qkv(x).unflatten(-1, (3, 6, -1)).permute(2, 0, 3, 1, 4)
    with torch.no_grad():
        q = apply_rope(attn.q_norm(q), *rope) * attn.gain
        k = apply_rope(attn.k_norm(k), *rope)
        weights = torch.softmax(q @ k.transpose(-1, -2) / 32**0.5, dim=-1)[0]  # (H, N, N)
    token = 64 + 3 * 8 + 5  # the target frame, row 3, column 5
    aligned = weights[0, token, [3 * 8 + 5, token]]
    assert aligned.sum() > 0.9 and abs(aligned[0] - aligned[1]) < 1e-4
    assert weights[1, token, [3 * 8 + 5, token]].sum() < 0.2  # an ordinary head does not


def test_flop_count_matches_torch_counter(text_encoder):
    """ace_model/flops.py against torch's own FLOP counter on a real forward pass."""
    from torch.utils.flop_counter import FlopCounterMode

    from ace_model.flops import forward_flops

    config = ModelConfig(hidden=64, depth=2, heads=4, patch=4)
    model = LCUDiT(dataclasses.replace(config, text_dim=384)).eval()
    samples = [lcu(1, seed=1), lcu(1, instruction="Blur {image} a lot.", seed=2)]
    cond = condition(samples, text_encoder)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(2, 3, 16, 16), torch.rand(2), cond, torch.zeros(2, dtype=torch.bool))
    counted = counter.get_total_flops()
    ours = forward_flops(model.config, 2, frames=2, tokens=16, text=cond.text.shape[1])
    assert abs(ours - counted) / counted < 0.1, (ours, counted)


def test_activation_checkpointing_gives_the_same_gradients(text_encoder):
    """Recomputing block activations in the backward pass changes memory, not the math."""
    cond = condition([lcu(1, seed=4), lcu(1, instruction="Blur {image}.", seed=5)], text_encoder)
    x0 = torch.rand(2, 3, 16, 16) * 2 - 1
    grads = []
    for recompute in (False, True):
        model = trained_looking()
        model.checkpoint_blocks = recompute
        loss = flow_loss(model, x0, cond, 0.0, torch.Generator().manual_seed(0))
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    assert len(grads[0]) == len(grads[1]) > 0
    for plain, recomputed in zip(*grads, strict=True):
        torch.testing.assert_close(plain, recomputed)
