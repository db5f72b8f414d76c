"""Source `mined_pairs`: pairs of images mined from a pool, one source reference per pair.

    source:
      kind: mined_pairs
      pool: {kind: folder, path: photos/}   # any other source
      embedders: [{kind: classical}]
      mining: {band: [0.90, 0.995]}          # similarity of a pair; above: duplicates
      cache: data/mining-cache               # embeddings and decisions, reused by reruns
      resources: {gpus: 1, actors: 2}        # embedders holding a model: their workers

prepare() runs the global mining step (pool_mining.py) on the run's executor, or reads back
its decisions when the same pool, embedders and parameters were mined before; refs() then
lists one reference per pair, and one per pool image that could not be embedded
(`unmined:<id>`: it loads as an image with that status, so its index row says why). load()
returns the pair's source image with the target image in `meta["partner"]`; the mined_* pair
makers (pair_maker.py) turn it into a sample.

Splits: images joined by a mined pair must not land in different splits, so the groups of
the pool (a photo's crops, a shapes family) that pairs connect are merged, and every pair
of a merged group takes its first name.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from dataengine.mine.embedders.base import parse_embedders
from dataengine.mine.params import MiningParams
from dataengine.mine.pool_mining import MinedPool, mine_pool
from dataengine.params import RecipeError, build_params
from dataengine.registry import build_source
from dataengine.schema import SourceImage
from dataengine.source import Source, SourceRef


@dataclass
class MinedPairsParams:
    pool: dict  # the pool: any other source, e.g. {kind: sample_corpus, photos: 240}
    cache: str = "data/mining-cache"
    embedders: list[dict] = field(default_factory=lambda: [{"kind": "classical"}])
    mining: dict = field(default_factory=dict)  # MiningParams: band, neighbours, per_image...
    include_pool: bool = False  # also list every pool image as a source of its own
    batch_size: int = 256  # images per embedding job


class MinedPairs(Source):
    name = "mined_pairs"
    Params = MinedPairsParams
    runs_pass = True  # the embedding pass; `resources:` sizes its workers

    def __init__(self, params: MinedPairsParams):
        self.params = params
        self.pool, self.specs, self.mining = _checked(params)
        self._refs: list[SourceRef] | None = None
        self.mined: MinedPool | None = None

    def __getstate__(self):  # workers load pairs by reference: they need no list of them
        return {**self.__dict__, "_refs": None, "mined": None}

    def prepare(self, executor: Any, progress: bool = True) -> None:
        """Mine the pool on `executor` (or read back an earlier mining of it)."""
        if self._refs is None:
            self._refs = self._plan(executor, progress)

    def refs(self) -> list[SourceRef]:
        if self._refs is None:
            raise RuntimeError("mined_pairs: call prepare(executor) before refs()")
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

    def _plan(self, executor: Any, progress: bool) -> list[SourceRef]:
        p = self.params
        pool_refs = sorted(self.pool.refs(), key=lambda r: r.id)
        self.mined = mine_pool(
            self.pool,
            pool_refs,
            self.specs,
            self.mining,
            p.cache,
            executor,
            resources=self.resources,
            batch_size=p.batch_size,
            progress=progress,
        )
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
    where = "source (mined_pairs)"
    if params.pool.get("kind") == MinedPairs.name:
        raise RecipeError(f"{where}: pool: a pool cannot itself be mined_pairs; name its images")
    if params.batch_size < 1:
        raise RecipeError(f"{where}: batch_size is {params.batch_size}; give at least 1")
    pool = build_source(params.pool, f"{where}, pool")
    mining = build_params(MiningParams, params.mining, f"{where}: mining")
    try:
        specs = parse_embedders(params.embedders, where)
        mining.check()
    except ValueError as exc:
        message = str(exc)
        raise RecipeError(
            message if message.startswith(where) else f"{where}: mining: {message}"
        ) from None
    return pool, specs, mining
