"""clip_scores with a real open_clip model loaded from a local folder (tiny, random weights)."""

from __future__ import annotations

import numpy as np
import pytest

from dataengine.quality.clip import ClipParams, ClipScores, instruction_text
from tests.builders import build_tiny_clip, one_torch_thread
from tests.dataengine.quality.crafted import box_mask, pair, scene, unit


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    return build_tiny_clip(tmp_path_factory.mktemp("clip") / "tiny-clip")


@pytest.fixture(scope="module")
def scorer(clip_folder):
    params = ClipParams(model=str(clip_folder), batch_size=2)
    ClipScores.validate(params)
    stage = ClipScores(params)
    stage.setup()
    stage._ready = True
    return stage


def crafted():
    a, b = scene(1), scene(2)
    return unit(
        [
            pair(f"{1:032x}", a, a.copy(), instruction="Keep {image} as it is."),
            pair(f"{2:032x}", a, b, mask=box_mask((96, 128), (0, 0, 96, 128)), caption="blocks"),
            pair(f"{3:032x}", None, b, task="text_to_image", instruction="Blocks.", caption="x"),
        ]
    )


def test_an_unchanged_target_is_similar_to_its_input_and_has_no_direction(scorer):
    with one_torch_thread():
        pairs = scorer(crafted()).pairs
    same = pairs[0].scores
    assert same["clip_image_similarity"] == pytest.approx(1.0, abs=1e-5)
    assert same["clip_direction"] == 0.0
    assert "clip_caption" not in same  # no caption, no caption score


def test_scores_match_open_clip_computed_directly(scorer, clip_folder):
    import open_clip
    import torch
    from PIL import Image

    with one_torch_thread():
        scored = scorer(crafted()).pairs[1].scores
        model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{clip_folder}")
        tokenizer = open_clip.get_tokenizer(f"local-dir:{clip_folder}")
        with torch.no_grad():
            images = torch.stack([preprocess(Image.fromarray(scene(i))) for i in (1, 2)])
            f = torch.nn.functional.normalize(model.encode_image(images), dim=-1)
            t = torch.nn.functional.normalize(
                model.encode_text(tokenizer(["Fill the masked part of the image.", "blocks"])),
                dim=-1,
            )
    assert scored["clip_image_similarity"] == pytest.approx(float(f[0] @ f[1]), abs=1e-5)
    direction = torch.nn.functional.normalize(f[1] - f[0], dim=0)
    assert scored["clip_direction"] == pytest.approx(float(direction @ t[0]), abs=1e-4)
    assert scored["clip_caption"] == pytest.approx(float(f[1] @ t[1]), abs=1e-5)


def test_a_pair_without_frames_gets_only_the_caption_score(scorer):
    with one_torch_thread():
        scores = scorer(crafted()).pairs[2].scores
    assert set(scores) == {"clip_caption"}
    assert -1.0 <= scores["clip_caption"] <= 1.0


def test_failed_rows_are_not_scored(scorer):
    failed = pair(f"{9:032x}", scene(1), scene(2)).fail("too_small", "tiny")
    with one_torch_thread():
        assert scorer(unit([failed])).pairs[0].scores == {}


def test_the_model_folder_is_checked_before_any_work(tmp_path, clip_folder):
    with pytest.raises(ValueError, match="not an open_clip folder"):
        ClipScores.validate(ClipParams(model=str(tmp_path / "missing")))
    (tmp_path / "no-weights").mkdir()
    (tmp_path / "no-weights" / "open_clip_config.json").write_text("{}")
    with pytest.raises(ValueError, match="has no weights"):
        ClipScores.validate(ClipParams(model=str(tmp_path / "no-weights")))
    with pytest.raises(ValueError, match="batch_size is 0"):
        ClipScores.validate(ClipParams(model=str(clip_folder), batch_size=0))


def test_placeholders_read_as_words():
    assert instruction_text("Put {image1} into {image}.") == "Put the image into the image."
    assert instruction_text(None) == ""


def test_scores_are_unit_cosines(scorer):
    with one_torch_thread():
        pairs = scorer(crafted()).pairs
    values = [v for p in pairs for v in p.scores.values()]
    assert all(-1.0 - 1e-6 <= v <= 1.0 + 1e-6 for v in values)
    assert np.isfinite(values).all()
