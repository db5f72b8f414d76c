import json
import string

import cv2
import numpy as np
import pytest
import skimage.data
import webdataset as wds

from dataengine.corpus.validate import validate_output
from dataengine.instruct.template_stage import TemplateInstructions
from dataengine.instruct.templates import TEMPLATES, slot_names
from dataengine.registry import MAKERS
from dataengine.schema import SourceImage, Unit
from dataengine.sinks.encode import decode_member
from dataengine.sinks.layout import Layout
from dataengine.sinks.shard_writer import ShardWriter, write_run_info
from dataengine.synth.base import PairError
from dataengine.synth.generation import TextToImage
from dataengine.synth.stage import Pairs, PairsParams


def photo(name: str, image: np.ndarray, caption: str | None) -> SourceImage:
    image = cv2.resize(image, (96, 80), interpolation=cv2.INTER_AREA)
    return SourceImage(id=f"photo:{name}", group=name, image=image, caption=caption)


def test_text_to_image_has_no_frame_and_the_photo_as_target():
    assert MAKERS["text_to_image"] is TextToImage
    assert TextToImage.category == "text_to_image" and TextToImage.needs_caption
    src = photo("coffee", skimage.data.coffee(), "  a cup of coffee on a saucer ")
    made = TextToImage().make(src, np.random.default_rng(0))
    assert made.frames == [] and made.target is src.image
    assert made.caption == made.slots["caption"] == "a cup of coffee on a saucer"
    again = TextToImage().build(src, json.loads(json.dumps(made.params)))
    assert np.array_equal(again.target, made.target) and again.slots == made.slots


@pytest.mark.parametrize("caption", [None, "", "   "])
def test_text_to_image_refuses_a_source_without_caption(caption):
    src = photo("coffee", skimage.data.coffee(), caption)
    with pytest.raises(PairError) as err:
        TextToImage().make(src, np.random.default_rng(0))
    assert err.value.kind == "missing_caption"


def test_phrasings_quote_the_caption_and_name_no_image():
    templates = TEMPLATES["text_to_image"]
    assert len(templates) >= 8 and len(set(templates)) == len(templates)
    for template in templates:
        assert '"$caption"' in template and "{image" not in template
        assert slot_names(template) == {"caption"}
        assert string.Template(template).substitute(caption="a cat").count('"a cat"') == 1


def test_zero_frame_samples_pass_the_pairs_stage_the_sink_and_validate(tmp_path):
    sources = [
        photo("coffee", skimage.data.coffee(), "a cup of coffee on a saucer"),
        photo("cat", skimage.data.chelsea(), "a tabby cat"),
        photo("rocket", skimage.data.rocket(), None),  # no caption: an error row, no sample
    ]
    unit = Unit(id="0" * 16, split="train", index=0, sources=sources)
    unit = Pairs(PairsParams(tasks={"text_to_image": 1.0}), recipe="t2i", seed=1)(unit)
    unit = TemplateInstructions(recipe="t2i", seed=1)(unit)
    assert [p.status for p in unit.pairs] == ["ok", "ok", "no_eligible_task"]
    for pair in unit.pairs[:2]:
        assert pair.frames == [] and pair.caption in pair.instruction

    ShardWriter(tmp_path).write(unit)
    write_run_info(tmp_path, {"recipe": "t2i"})
    samples = list(wds.WebDataset(str(Layout(tmp_path).tar("train-000000")), shardshuffle=False))
    assert len(samples) == 2
    by_caption = {s.caption: s for s in sources}
    for sample in samples:
        assert {k for k in sample if not k.startswith("__")} == {"json", "tgt.jpg"}
        meta = json.loads(sample["json"])
        assert meta["frames"] == [] and meta["category"] == "text_to_image"
        target = decode_member(sample["tgt.jpg"])
        original = by_caption[meta["caption"]].image
        assert target.shape == original.shape
        assert np.abs(target.astype(int) - original).mean() < 6  # the photo, through jpeg

    report = validate_output(tmp_path)
    assert report.ok, report.problems
    assert report.samples == 2
