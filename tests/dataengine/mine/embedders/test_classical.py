"""The classical embedder: unit vectors that find a re-encoded copy and a scene's family."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from dataengine.mine.embedders.classical import ClassicalEmbedder, ClassicalParams, classical_vector
from dataengine.schema import SourceImage
from dataengine.sources.decode import decode_image
from dataengine.sources.shapes_world import make_families, render


def reencoded(image: np.ndarray, scale: float = 0.75, quality: int = 80) -> np.ndarray:
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    _, data = cv2.imencode(".jpg", small[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return decode_image(data.tobytes()).image


def test_vectors_are_unit_and_fixed_length():
    embedder = ClassicalEmbedder(ClassicalParams())
    sources = [
        SourceImage(id=name, group=name, image=getattr(skimage.data, name)())
        for name in ("astronaut", "coffee", "chelsea")
    ]
    vectors = embedder.embed(sources)
    assert vectors.shape == (3, 1714) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_a_copy_is_closer_than_another_photo():
    astronaut, coffee = skimage.data.astronaut(), skimage.data.coffee()
    v = classical_vector(astronaut)
    assert v @ classical_vector(reencoded(astronaut)) > 0.99
    assert v @ classical_vector(coffee) < 0.6


def test_scenes_are_nearest_to_their_own_family():
    families = make_families(6, seed=2, members=3)
    vectors = np.stack(
        [classical_vector(render(m["scene"])) for f in families for m in f["members"]]
    )
    family = np.repeat(np.arange(6), 3)
    sim = vectors @ vectors.T
    np.fill_diagonal(sim, -1)
    assert (family[sim.argmax(axis=1)] == family).mean() >= 0.9


@pytest.mark.parametrize("side", [32, 100, 1024])
def test_bad_side_is_refused(side):
    with pytest.raises(ValueError, match="side"):
        ClassicalEmbedder.validate(ClassicalParams(side=side))
