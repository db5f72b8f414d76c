"""Sample photos: >= 200 distinct, size-bounded, deterministic variants of real package photos;
and the SampleCorpus source that serves them beside the shapes world."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from dataengine.source import SourceRef
from dataengine.sources import sample_photos
from dataengine.sources.sample_corpus import SampleCorpus
from dataengine.sources.sample_photos import BASE_PHOTOS, PHOTOS_BY_NAME, load_photo, photo_refs


def digest(image: np.ndarray) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


@pytest.fixture(scope="module")
def loaded():
    """The default 240 variants, loaded once for the whole file (about a second)."""
    return [load_photo(ref) for ref in photo_refs()]


def test_default_gives_at_least_200_distinct_images(loaded):
    assert len(loaded) == 240
    assert len({digest(s.image) for s in loaded}) >= 200


def test_every_variant_is_rgb_uint8_with_sides_in_256_to_768(loaded):
    for source in loaded:
        h, w, channels = source.image.shape
        assert source.image.dtype == np.uint8 and channels == 3
        assert min(h, w) >= 256 and max(h, w) <= 768, (source.id, w, h)
        assert source.image.flags.c_contiguous and source.image.flags.writeable


def test_refs_are_sorted_unique_and_grouped_by_base_photo():
    refs = photo_refs()
    ids = [r.id for r in refs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {r.group for r in refs} == set(PHOTOS_BY_NAME)  # every base photo is used
    for ref in refs:
        assert ref.id.startswith(f"photo-{ref.group}-")
        assert ref.caption == PHOTOS_BY_NAME[ref.group].caption
    assert len(photo_refs(count=30, seed=5)) == 30


def test_every_base_photo_has_a_caption_and_black_and_white_ones_say_so():
    assert len(BASE_PHOTOS) >= 20
    for photo in BASE_PHOTOS:
        assert len(photo.caption.split()) >= 6, photo.name
        pixels = sample_photos.base_pixels(photo.name)
        gray = bool(
            (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
        )
        if gray:
            assert "black-and-white" in photo.caption, photo.name


def test_crops_keep_the_captioned_subject_and_meta_matches_pixels(loaded):
    for source in loaded:
        photo = PHOTOS_BY_NAME[source.group]
        base = sample_photos.base_pixels(photo.name)
        h, w = base.shape[:2]
        x0, y0, x1, y1 = source.meta["crop"]
        assert x0 <= photo.keep[0] * w and x1 >= photo.keep[2] * w, source.id
        assert y0 <= photo.keep[1] * h and y1 >= photo.keep[3] * h, source.id
        assert source.meta["origin"] == photo.origin and source.caption == photo.caption
        assert source.meta["flip"] is False or photo.flip
        assert source.meta["scale"] == pytest.approx(source.image.shape[1] / (x1 - x0), abs=1e-3)


def test_same_seed_same_pixels_other_seed_other_pixels():
    refs = photo_refs(count=12, seed=0)
    first = [digest(load_photo(r).image) for r in refs]
    sample_photos.base_pixels.cache_clear()  # decode again from the packages
    again = [digest(load_photo(r).image) for r in photo_refs(count=12, seed=0)]
    other = [digest(load_photo(r).image) for r in photo_refs(count=12, seed=1)]
    assert first == again
    assert sum(a != b for a, b in zip(first, other, strict=True)) >= 10


def test_loaded_image_does_not_alias_the_cached_base_photo():
    source = load_photo(photo_refs(count=1)[0])
    source.image[:] = 0  # a later stage drawing on it must not reach the cache
    assert sample_photos.base_pixels(source.group).any()


# --------------------------------------------------------------------------------------------
# SampleCorpus
# --------------------------------------------------------------------------------------------


def test_sample_corpus_lists_photos_and_shapes_sorted_and_loads_both():
    corpus = SampleCorpus(SampleCorpus.Params(photos=5, shape_families=2, shape_members=3))
    refs = corpus.refs()
    assert [r.id for r in refs] == sorted(r.id for r in refs)
    assert len(refs) == 5 + 2 * 3
    loaded = {r.id: corpus.load(r) for r in refs}
    assert all(s.ok and s.image is not None and s.caption for s in loaded.values())
    shape = loaded["shapes-fam-0001-m2"]
    assert shape.group == "fam-0001" and shape.meta["member"] == 2


def test_sample_corpus_rejects_bad_params_and_foreign_refs():
    with pytest.raises(ValueError, match="shape_members"):
        SampleCorpus(SampleCorpus.Params(shape_members=0))
    with pytest.raises(ValueError, match="photos"):
        SampleCorpus(SampleCorpus.Params(photos=-1))
    with pytest.raises(ValueError, match="not a sample_corpus ref"):
        SampleCorpus().load(SourceRef(id="x", group="x", locator=("folder", "a.jpg")))
