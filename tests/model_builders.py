"""Tiny, randomly initialised models saved the way real checkpoints are, for tests.

No weights can be downloaded here, so tests build each model from its real library classes
with a tiny config and `save_pretrained` it into a folder: the code under test then loads
and calls it exactly as it would a real checkpoint. Every builder is seeded, so two folders
built with the same arguments hold the same weights.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import torch

# The tiny text encoder's width; the UNet and ControlNet cross-attend to it.
TEXT_WIDTH = 32


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run tiny models on one CPU thread: their ops last microseconds, so a second thread
    only adds synchronisation, and on a busy machine a 20x slowdown waiting for a core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------------
# transformers experts
# --------------------------------------------------------------------------------------------


def build_depth_model(
    folder: Path, seed: int = 0, flat: bool = False, metric: bool = False
) -> Path:
    """A Depth Anything model (tiny DINOv2 backbone) and its DPT image processor.

    `flat` zeroes the head's last convolution: the model then sees the same depth
    everywhere, as a real one might on a blank wall. `metric` makes it a metric model,
    which predicts distance (far is high) instead of relative inverse depth.
    """
    from transformers import (
        DepthAnythingConfig,
        DepthAnythingForDepthEstimation,
        Dinov2Config,
        DPTImageProcessor,
    )

    backbone = Dinov2Config(
        image_size=56,
        patch_size=14,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        out_indices=[1, 2, 3, 4],
        reshape_hidden_states=False,
        apply_layernorm=True,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone,
        reassemble_hidden_size=32,
        neck_hidden_sizes=[16, 16, 32, 32],
        fusion_hidden_size=16,
        head_hidden_size=8,
        depth_estimation_type="metric" if metric else "relative",
        max_depth=20 if metric else 1,
    )
    torch.manual_seed(seed)
    model = DepthAnythingForDepthEstimation(config)
    with torch.no_grad():
        if flat:
            model.head.conv3.weight.zero_()
            model.head.conv3.bias.zero_()
        elif metric:
            # Random features reach the head at ~1e-7; the metric head's sigmoid would
            # squash them to one float32 value, so scale them into its curved range.
            model.head.conv3.weight *= 1e7
    model.eval().save_pretrained(folder)
    # As the real Depth Anything processor, at a tiny working size (a multiple of the patch).
    DPTImageProcessor(
        size={"height": 56, "width": 56},
        keep_aspect_ratio=True,
        ensure_multiple_of=14,
        resample=3,  # bicubic
    ).save_pretrained(folder)
    return folder


def build_pose_model(folder: Path, seed: int = 0, heatmap_bias: float = 0.0) -> Path:
    """A ViTPose model (tiny ViT backbone, simple decoder, 17 COCO keypoints).

    Random weights give heatmap peaks of any height, so a test sets them: `heatmap_bias`
    shifts every heatmap (the random weights still place each peak), +1 for confident
    keypoints everywhere, -1 for none (no person).
    """
    from transformers import (
        VitPoseBackboneConfig,
        VitPoseConfig,
        VitPoseForPoseEstimation,
        VitPoseImageProcessor,
    )

    backbone = VitPoseBackboneConfig(
        image_size=[64, 48],
        patch_size=[8, 8],
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        mlp_ratio=2,
        out_indices=[2],
    )
    torch.manual_seed(seed)
    model = VitPoseForPoseEstimation(VitPoseConfig(backbone_config=backbone, num_labels=17))
    with torch.no_grad():
        model.head.conv.bias += heatmap_bias
    model.eval().save_pretrained(folder)
    VitPoseImageProcessor(size={"height": 64, "width": 48}).save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------------------------
# diffusers pipelines
# --------------------------------------------------------------------------------------------


def write_tiny_clip_vocab(folder: Path) -> Path:
    """vocab.json and merges.txt of a byte-level BPE as CLIP's: every byte as a symbol, alone
    and at a word's end, a few merges, and the start and end tokens."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols]
    merges = ["t h", "th e</w>", "i n", "o n</w>", "a n", "e r</w>"]
    tokens += [m.replace(" ", "") for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return folder


def _byte_symbols() -> list[str]:
    """GPT-2/CLIP's byte-to-unicode table: printable bytes stand for themselves, the others
    are shifted past 255 so that every byte has a visible symbol."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    symbols, shifted = {}, 0
    for byte in range(256):
        if byte in printable:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + shifted)
            shifted += 1
    return [symbols[b] for b in range(256)]


def _text_parts(folder: Path):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    vocab_files = write_tiny_clip_vocab(folder / "vocab_files")
    tokenizer = CLIPTokenizer.from_pretrained(vocab_files, model_max_length=77)
    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_WIDTH,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return tokenizer, CLIPTextModel(config).eval()


def _unet(in_channels: int):
    from diffusers import UNet2DConditionModel

    # sample_size 32 latents x vae factor 2 = a 64 px native resolution.
    return UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=in_channels,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        norm_num_groups=8,
    )


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=4,
        norm_num_groups=8,
    )


def _scheduler():
    from diffusers import PNDMScheduler

    return PNDMScheduler(skip_prk_steps=True, steps_offset=1)


def build_inpaint_pipeline(folder: Path, seed: int = 0) -> Path:
    """A StableDiffusionInpaintPipeline: its UNet takes latents, mask and masked latents (9)."""
    from diffusers import StableDiffusionInpaintPipeline

    torch.manual_seed(seed)
    tokenizer, text_encoder = _text_parts(folder)
    pipeline = StableDiffusionInpaintPipeline(
        vae=_vae(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=_unet(in_channels=9),
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder / "pipeline")
    return folder / "pipeline"


def build_controlnet_pipeline(folder: Path, seed: int = 0) -> Path:
    """A StableDiffusionControlNetPipeline with its ControlNetModel saved inside the folder."""
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    torch.manual_seed(seed)
    tokenizer, text_encoder = _text_parts(folder)
    controlnet = ControlNetModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        # One stride-2 step: the 64 px control image meets the 32 px latents.
        conditioning_embedding_out_channels=(16, 32),
        norm_num_groups=8,
    )
    pipeline = StableDiffusionControlNetPipeline(
        vae=_vae(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=_unet(in_channels=4),
        controlnet=controlnet,
        scheduler=_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder / "pipeline")
    return folder / "pipeline"
