"""Source `mined_pairs`: pairs of images mined from a pool, one source reference per pair.

    source:
      kind: mined_pairs
      pool: {kind: folder, path: photos/}   # any other source
      embedders: [{kind: classical}]
      band: [0.90, 0.995]                    # similarity of a pair; above: duplicates
      cache: data/mining-cache               # embeddings and decisions, reused by reruns

refs() runs the global mining step (mining.py) on first call, or reads back its decisions
when the same pool, embedders and parameters were mined before, and lists one reference per
pair, and one per pool image that could not be embedded (`unmined:<id>`: it loads as an
image with that status, so its index row says why). load() returns the pair's source image
with the target image in `meta["partner"]`; the mined_* pair makers (pair_maker.py) turn it
into a sample.

Splits: images joined by a mined pair must not land in different splits, so the groups of
the pool (a photo's crops, a shapes family) that pairs connect are merged, and every pair
of a merged group takes its first name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from dataengine.mine.embedders import parse_embedders
from dataengine.mine.mining import EmbedOptions, MinedPool, mine_pool
from dataengine.mine.params import MiningParams
from dataengine.schema import SourceImage
from dataengine.sources.base import Source, SourceRef


@dataclass
class MinedPairsParams:
    pool: dict  # the pool: any other source, e.g. {kind: sample_corpus, photos: 240}
    cache: str = "data/mining-cache"
    embedders: list[dict] = field(default_factory=lambda: [{"kind": "classical"}])
    band: list[float] = field(default_factory=lambda: [0.90, 0.995])
    neighbours: int = 10
    per_image: int = 1
    max_per_image: int = 4
    cluster_size: int = 1000
    probes: int = 2
    second_level: bool = True
    seed: int = 0
    include_pool: bool = False  # also list every pool image as a source of its own
    batch_size: int = 256  # images per embedding job
    in_process: bool = False  # embed in this process instead of on Ray
    max_actors: int = 1  # embedders holding a model: actor pool size
    num_gpus: float = 0.0  # ... and each actor's GPU share


class MinedPairs(Source):
    name = "mined_pairs"
    Params = MinedPairsParams

    def __init__(self, params: MinedPairsParams):
        self.params = params
        self.pool, self.specs, self.mining = _checked(params)
        self._refs: list[SourceRef] | None = None
        self.mined: MinedPool | None = None

    def __getstate__(self):  # workers load pairs by reference: they need no list of them
        return {**self.__dict__, "_refs": None, "mined": None}

    def refs(self) -> list[SourceRef]:
        if self._refs is None:
            self._refs = self._plan()
        return self._refs

    def load(self, ref: SourceRef) -> SourceImage:
        kind = ref.locator[0] if ref.locator else None
        if kind == "unusable":  # its row says why it was not mined
            _, status, error = ref.locator
            return SourceImage(id=ref.id, group=ref.group, status=status, error=error)
        if kind != "mined":
            return self.pool.load(ref)  # a pool image listed with include_pool
        _, source_ref, target_ref = ref.locator
        source, target = self.pool.load(source_ref), self.pool.load(target_ref)
        mined = {**ref.meta["mined"], "source_id": source.id, "target_id": target.id}
        meta = {**source.meta, "mined": mined, "partner": target}
        if "scene" not in target.meta:  # a scene would claim the target shows it too
            meta.pop("scene", None)
        return SourceImage(
            id=ref.id,
            group=ref.group,
            data=source.data,
            image=source.image,
            caption=source.caption,
            meta=meta,
            status=source.status,
            error=source.error,
        )

    def _plan(self) -> list[SourceRef]:
        p = self.params
        pool_refs = sorted(self.pool.refs(), key=lambda r: r.id)
        options = EmbedOptions(p.batch_size, p.in_process, p.max_actors, p.num_gpus)
        self.mined = mine_pool(self.pool, pool_refs, self.specs, self.mining, p.cache, options)
        rows = self.mined.pairs.to_pylist()
        by_id = {r.id: r for r in pool_refs}
        merged = merged_groups(pool_refs, [(r["source_id"], r["target_id"]) for r in rows])
        embedders = [e["kind"] for e in self.mined.report["embedders"]]
        refs = [self._pair_ref(row, by_id, merged, embedders) for row in rows]
        if p.include_pool:
            refs += [replace(r, group=merged[r.group]) for r in pool_refs]
        else:  # every input accounted for: an image that could not be mined gets its row
            refs += [_unusable_ref(r, by_id, merged) for r in self.mined.unusable.to_pylist()]
        return sorted(refs, key=lambda r: r.id)

    def _pair_ref(self, row: dict, by_id: dict, merged: dict, embedders: list) -> SourceRef:
        source, target = by_id[row["source_id"]], by_id[row["target_id"]]
        mined = {
            "similarity": row["similarity"],
            "clusters": {
                "source": [row["source_top"], row["source_leaf"]],
                "target": [row["target_top"], row["target_leaf"]],
            },
            "embedders": embedders,
            "band": list(self.mining.band),
        }
        return SourceRef(
            id=f"mined:{source.id}|{target.id}",
            group=merged[source.group],
            locator=("mined", source, target),
            meta={"mined": mined},
        )


def _unusable_ref(row: dict, by_id: dict, merged: dict) -> SourceRef:
    image = by_id[row["id"]]
    error = f"not mined: {row['error'] or row['status']}"
    return SourceRef(
        id=f"unmined:{image.id}",
        group=merged[image.group],
        locator=("unusable", row["status"], error),
    )


def merged_groups(refs: list[SourceRef], pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Each pool group -> the first (smallest) group name of the groups pairs connect it to."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    names = sorted({r.group for r in refs})
    index = {g: i for i, g in enumerate(names)}
    group_of = {r.id: index[r.group] for r in refs}
    a = [group_of[s] for s, _ in pairs]
    b = [group_of[t] for _, t in pairs]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(names), len(names)))
    _, label = connected_components(graph, directed=False)
    first: dict[int, str] = {}
    for name, lab in zip(names, label.tolist(), strict=True):  # names are sorted: first wins
        first.setdefault(lab, name)
    return {name: first[lab] for name, lab in zip(names, label.tolist(), strict=True)}


def _checked(params: MinedPairsParams):
    """The pool, embedders and mining parameters, or a RecipeError naming key and fix."""
    from dataengine.recipe import RecipeError, _build_source

    where = "source (mined_pairs)"
    if params.pool.get("kind") == MinedPairs.name:
        raise RecipeError(f"{where}: pool: a pool cannot itself be mined_pairs; name its images")
    pool = _build_source(params.pool, f"{where}, pool")
    try:
        specs = parse_embedders(params.embedders, where)
        mining = _mining_params(params)
        mining.check()
    except ValueError as exc:
        message = str(exc)
        raise RecipeError(message if message.startswith(where) else f"{where}: {message}") from None
    return pool, specs, mining


def _mining_params(p: MinedPairsParams) -> MiningParams:
    if len(p.band) != 2:
        raise ValueError(f"band: {p.band} must be two numbers [lo, hi], e.g. [0.8, 0.97]")
    if p.batch_size < 1 or p.max_actors < 1:
        raise ValueError("batch_size and max_actors must be at least 1")
    return MiningParams(
        band=(float(p.band[0]), float(p.band[1])),
        neighbours=p.neighbours,
        per_image=p.per_image,
        max_per_image=p.max_per_image,
        cluster_size=p.cluster_size,
        probes=p.probes,
        second_level=p.second_level,
        seed=p.seed,
    )
