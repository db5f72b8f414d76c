"""The bundled sample corpus: real package photos plus shapes-world families, made at run time.

Nothing is downloaded and no image file lives in this repository: photo variants come from
the photos inside scikit-image, scikit-learn and matplotlib (sample_photos.py), scenes from
a seeded generator (shapes_world.py). Both are pure functions of the parameters below.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataengine.schema import STATUS_READ_ERROR, SourceImage
from dataengine.source import Source, SourceRef
from dataengine.sources.sample_photos import load_photo, photo_refs
from dataengine.sources.shapes_world import load_shape, shapes_refs


class SampleCorpus(Source):
    name = "sample_corpus"

    @dataclass
    class Params:
        photos: int = 240  # photo variants, dealt round-robin over the ~20 base photos
        shape_families: int = 50
        shape_members: int = 4  # per family, the base scene included
        seed: int = 0

    def __init__(self, params: SampleCorpus.Params | None = None):
        self.params = params if params is not None else self.Params()
        self.validate(self.params)

    @classmethod
    def validate(cls, params: SampleCorpus.Params) -> None:
        """Raise ValueError naming the key and the fix, as Stage.validate does."""
        if params.photos < 0 or params.shape_families < 0:
            raise ValueError(
                f"photos and shape_families must be >= 0, got photos="
                f"{params.photos}, shape_families={params.shape_families}"
            )
        if not 1 <= params.shape_members <= 16:
            raise ValueError(
                f"shape_members must lie in 1..16 (the base scene counts as one), "
                f"got {params.shape_members}"
            )

    def refs(self) -> list[SourceRef]:
        p = self.params
        refs = photo_refs(p.photos, p.seed) + shapes_refs(p.shape_families, p.shape_members, p.seed)
        return sorted(refs, key=lambda r: r.id)

    def load(self, ref: SourceRef) -> SourceImage:
        kind = ref.locator[0] if ref.locator else None
        try:
            if kind == "photo":
                return load_photo(ref)
            if kind == "shapes":
                return load_shape(ref)
        except (ImportError, OSError) as exc:  # a package or its bundled file is missing
            return SourceImage(
                id=ref.id,
                group=ref.group,
                caption=ref.caption,
                status=STATUS_READ_ERROR,
                error=f"{type(exc).__name__}: {exc}",
            )
        raise ValueError(f"{ref.id}: not a sample_corpus ref (locator {ref.locator!r})")
