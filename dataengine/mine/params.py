"""The knobs of one mining pass over a pool of embeddings, checked once at the boundary."""

from __future__ import annotations

from dataclasses import dataclass

PRECISIONS = ("float32", "float16")


@dataclass(frozen=True)
class MiningParams:
    """How pairs are picked from a pool of unit vectors (cosine similarity = dot product).

    The defaults suit the classical embedder on a few thousand images; a learned embedder
    (open_clip) usually wants a band nearer the paper's [0.8, 0.9].
    """

    band: tuple[float, float] = (0.90, 0.995)  # [lo, hi]: a pair's similarity must lie in it
    neighbours: int = 10  # nearest neighbours searched per image
    per_image: int = 1  # pairs each image proposes: its most similar in-band neighbours
    max_per_image: int = 4  # pairs any one image may appear in (keeps hubs from dominating)
    cluster_size: int = 1000  # mean images per k-means cluster: k = ceil(N / cluster_size)
    probes: int = 2  # clusters each image searches (the nearest ones): recall at cluster edges
    second_level: bool = True  # split clusters over twice cluster_size with a second k-means
    sample_per_cluster: int = 256  # k-means trains on at most this many images per centroid
    iterations: int = 20  # k-means iterations
    seed: int = 0
    precision: str = "float32"  # or "float16": the pool's vectors in half the memory (millions)

    def check(self) -> None:
        """Raise ValueError naming the key and the fix."""
        lo, hi = self.band
        if not -1.0 <= lo < hi <= 1.0:
            raise ValueError(
                f"band: [{lo}, {hi}] must satisfy -1 <= lo < hi <= 1 (cosine similarities); "
                "e.g. [0.8, 0.97]"
            )
        for name in ("neighbours", "per_image", "max_per_image", "cluster_size", "probes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: {getattr(self, name)} must be at least 1")
        if self.per_image > self.neighbours:
            raise ValueError(
                f"per_image ({self.per_image}) cannot exceed neighbours ({self.neighbours}); "
                "raise neighbours"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision: {self.precision!r} is not one of {', '.join(PRECISIONS)}; float16 "
                "halves the memory of a pool of millions"
            )
        if self.sample_per_cluster < 8 or self.iterations < 1:
            raise ValueError(
                "sample_per_cluster must be at least 8 and iterations at least 1, got "
                f"{self.sample_per_cluster} and {self.iterations}"
            )
