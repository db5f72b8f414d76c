"""Mining, measured: precision and recall against the shapes world's known families, and the
cost of mining 10k / 100k / 1M synthetic embeddings on this machine.

Ground truth. A shapes-world family is a base scene and members one attribute change away
from it (dataengine/sources/shapes_world.py). The pool is written to a folder as JPEGs, with
re-encoded, downscaled copies of some images mixed in as known duplicates, and mined
through the real path (folder source, decode, classical embedder, FAISS k-means, band,
caps). A pair is right when both images are of one family; stricter, when they are exactly
one attribute change apart. A copy is found when it shares a duplicate group with its
original.

Scale. A Gaussian mixture with known structure stands for a pool of image embeddings:
topics (cos ~0.5 between their families), families of 2..8 images (cos ~0.9, inside the
band) and near-copies (cos ~0.99, above it). Each size runs in a fresh process, so its
peak memory is its own.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import shutil
import time
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from benchmark.perf.report import Result
from dataengine.mine.params import MiningParams
from dataengine.sources import shapes_world

# ============================================================================================
# Ground truth on the shapes world
# ============================================================================================

COPY_EVERY = 10  # one family in ten gets a re-encoded, downscaled copy of its member 1


def measure_ground_truth(work: Path, families: int = 150, members: int = 4) -> list[Result]:
    """Rows at the default band, and a note on how the band's top trades duplicates
    against pairs (re-mined from the same cached embeddings)."""
    pool, cache = work / "mining-shapes-pool", work / "mining-cache"
    shutil.rmtree(cache, ignore_errors=True)  # measure embedding and mining from scratch
    truth = write_shapes_pool(pool, families, members, seed=0)
    started = time.perf_counter()
    source = mine_shapes(pool, cache)
    seconds = time.perf_counter() - started
    pairs, dup = _scores(source, truth)
    sweep = "; ".join(_band_top(pool, cache, truth, hi) for hi in BAND_TOPS)
    note = (
        f"{len(truth)} images ({families} families of {members}, {dup['copies']} copies), "
        f"{pairs['pairs']} pairs, band {list(source.mining.band)}, embedded and mined in "
        f"{seconds:.1f} s"
    )
    return [
        Result(
            "shapes world: pair precision (same family)",
            pairs["family_precision"],
            "fraction",
            pairs["family_chance"],
            "random pairs",
            note,
        ),
        Result(
            "shapes world: pair precision (one attribute apart)",
            pairs["one_edit_precision"],
            "fraction",
            pairs["one_edit_chance"],
            "random pairs",
        ),
        Result(
            "shapes world: pair recall (one attribute apart)", pairs["one_edit_recall"], "fraction"
        ),
        Result(
            "shapes world: copies found in duplicate groups",
            dup["recall"],
            "fraction",
            note=f"duplicate groups {dup['groups']}, of which right {dup['precision']:.2f}; "
            f"other band tops: {sweep}",
        ),
    ]


BAND_TOPS = (0.99, 0.998)


def mine_shapes(pool: Path, cache: Path, band: list[float] | None = None):
    from dataengine.executors import InProcess
    from dataengine.mine.source import MinedPairs, MinedPairsParams

    mining = {"band": band} if band is not None else {}
    params = MinedPairsParams(
        pool={"kind": "folder", "path": str(pool)}, cache=str(cache), mining=mining
    )
    source = MinedPairs(params)
    source.prepare(InProcess(), progress=False)
    return source


def _scores(source, truth: dict) -> tuple[dict, dict]:
    pairs = [(r["source_id"], r["target_id"]) for r in source.mined.pairs.to_pylist()]
    dup = score_duplicates(source.mined.duplicates.to_pylist(), truth)
    return {**score_pairs(pairs, truth), "pairs": len(pairs)}, dup


def _band_top(pool: Path, cache: Path, truth: dict, hi: float) -> str:
    source = mine_shapes(pool, cache, band=[0.90, hi])
    pairs, dup = _scores(source, truth)
    return (
        f"hi {hi}: copies found {dup['recall']:.2f}, groups right {dup['precision']:.2f}, "
        f"pair precision {pairs['family_precision']:.3f} / {pairs['one_edit_precision']:.3f}, "
        f"one-attribute recall {pairs['one_edit_recall']:.3f}"
    )


def write_shapes_pool(folder: Path, families: int, members: int, seed: int) -> dict[str, dict]:
    """Render every family member to folder/fam-XXXX/mK.jpg (caption beside it) and the
    known copies to ...-copy.jpg; return {source id: {"family", "member", "scene", "copy"}}."""
    shutil.rmtree(folder, ignore_errors=True)
    truth = {}
    for family in shapes_world.make_families(families, seed, members):
        (folder / family["id"]).mkdir(parents=True)
        for m in family["members"]:
            image = shapes_world.render(m["scene"])
            name = f"{family['id']}/m{m['member']}"
            entry = {"family": family["id"], "member": m["member"], "scene": m["scene"]}
            _write_jpeg(folder / f"{name}.jpg", image, 95)
            (folder / f"{name}.txt").write_text(shapes_world.caption(m["scene"]))
            truth[f"folder:{name}.jpg"] = {**entry, "copy": False}
            if m["member"] == 1 and int(family["id"][4:]) % COPY_EVERY == 0:
                small = cv2.resize(image, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
                _write_jpeg(folder / f"{name}-copy.jpg", small, 80)
                truth[f"folder:{name}-copy.jpg"] = {**entry, "copy": True}
    return truth


def score_pairs(pairs: list[tuple[str, str]], truth: dict[str, dict]) -> dict[str, float]:
    """Precision of mined pairs (same family; one attribute apart), recall of the pairs one
    attribute apart, and what random pairs of originals would score."""
    originals = sorted(i for i, t in truth.items() if not t["copy"])
    all_pairs = [(a, b) for i, a in enumerate(originals) for b in originals[i + 1 :]]
    same = [(a, b) for a, b in all_pairs if truth[a]["family"] == truth[b]["family"]]
    possible = {_pair_key(a, b, truth) for a, b in same if _one_edit_apart(truth[a], truth[b])}
    family = [truth[a]["family"] == truth[b]["family"] for a, b in pairs]
    one = [_one_edit_apart(truth[a], truth[b]) for a, b in pairs]
    found = {_pair_key(a, b, truth) for (a, b), ok in zip(pairs, one, strict=True) if ok}
    return {
        "family_precision": float(np.mean(family)) if pairs else 0.0,
        "one_edit_precision": float(np.mean(one)) if pairs else 0.0,
        "one_edit_recall": len(found & possible) / len(possible) if possible else 0.0,
        "family_chance": len(same) / len(all_pairs),
        "one_edit_chance": len(possible) / len(all_pairs),
    }


def _pair_key(a: str, b: str, truth: dict) -> tuple:
    """A pair of scenes, whichever files (original or copy) show them."""
    ta, tb = truth[a], truth[b]
    return (ta["family"], *sorted((ta["member"], tb["member"])))


def score_duplicates(rows: list[dict], truth: dict[str, dict]) -> dict[str, float]:
    group_of = {r["id"]: r["group"] for r in rows}
    copies = [i for i, t in truth.items() if t["copy"]]
    found = sum(
        1 for c in copies if c in group_of and group_of.get(c.replace("-copy", "")) == group_of[c]
    )
    right = sum(  # an image in a group with an image that is not its copy or original
        1
        for r in rows
        if all(
            truth[o]["scene"] == truth[r["id"]]["scene"]
            for o in group_of
            if group_of[o] == r["group"]
        )
    )
    return {
        "copies": len(copies),
        "groups": len(set(group_of.values())),
        "recall": found / len(copies) if copies else 0.0,
        "precision": right / len(rows) if rows else 1.0,
    }


def _one_edit_apart(a: dict, b: dict) -> bool:
    """Same family and one attribute change between the two scenes: the base against any
    member, or two members whose edits touched the same attribute of the same object."""
    if a["family"] != b["family"] or a["member"] == b["member"]:
        return False
    objects_a, objects_b = a["scene"]["objects"], b["scene"]["objects"]
    if len(objects_a) != len(objects_b):
        small, big = sorted((objects_a, objects_b), key=len)
        return len(big) == len(small) + 1 and any(
            big[:i] + big[i + 1 :] == small for i in range(len(big))
        )
    changes = sum(x[key] != y[key] for x, y in zip(objects_a, objects_b, strict=True) for key in x)
    return changes == 1


def _write_jpeg(path: Path, rgb: np.ndarray, quality: int) -> None:
    cv2.imwrite(str(path), rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])


# ============================================================================================
# Scale: synthetic embeddings with known structure
# ============================================================================================

SCALE_SIZES = (10_000, 100_000, 1_000_000)
RECALL_SIZE = 100_000
DIM = 512
TOPICS = 500
SCALE_BAND = (0.80, 0.97)  # families sit at cos ~0.90, copies at ~0.99, topics at ~0.45
CHUNK = 65_536  # rows generated per step (bounds the generator's temporary memory)
FAMILY_BLOCK = 4096  # family centres drawn per step
# Noise scales: cos(a, b) ~ 1 / (1 + d * sigma^2) between two draws around one centre.
TOPIC_SIGMA, FAMILY_SIGMA, COPY_SIGMA = 0.0442, 0.0147, 0.0044
COPY_RATE = 0.01


def measure_scale(work: Path, sizes=SCALE_SIZES, recall_size: int = RECALL_SIZE) -> list[Result]:
    """Rows: wall time per size against the size before (with CPU time, which a busy
    machine inflates less), peak memory of the largest, neighbour recall and speed."""
    runs = {n: in_fresh_process(scale_run, n) for n in sizes}
    results = [_growth_row(runs[small], runs[big]) for small, big in pairwise(sizes)]
    top = runs[sizes[-1]]
    results.append(
        Result(
            f"mining {_size(top['n'])}: peak memory",
            top["peak_gb"],
            "GB",
            top["data_gb"],
            "the embeddings alone",
            note="peak resident set of the whole process, the embeddings' generation included",
        )
    )
    return results + recall_results(in_fresh_process(recall_run, recall_size))


def _growth_row(a: dict, b: dict) -> Result:
    grows = b["n"] / a["n"]
    predicted = b["n"] * math.log(b["n"]) / (a["n"] * math.log(a["n"]))
    note = (
        f"steps {b['steps']}; {b['leaves']} leaves; {b['pairs']} pairs, {b['precision']:.4f} "
        f"within one family; copies in their original's group: {b['copy_recall']:.3f}; "
        f"CPU {b['cpu']:.0f} s vs {a['cpu']:.0f} s (x{b['cpu'] / a['cpu']:.1f}); for x{grows:.0f} "
        f"points N log N predicts x{predicted:.1f}, N^2 x{grows**2:.0f}; "
        f"load average {b['load']:.1f} on {b['cores']} cores"
    )
    return Result(
        f"mining {_size(b['n'])} x {DIM}-d embeddings: wall time",
        b["seconds"],
        "s",
        a["seconds"],
        f"mining {_size(a['n'])}",
        note=note,
    )


def recall_results(r: dict) -> list[Result]:
    return [
        Result(
            f"neighbour recall@10 in band, {_size(r['n'])} subset",
            r["recall_ours"],
            "fraction",
            r["recall_ivf"],
            "faiss IndexIVFFlat, same lists and probes",
            note=f"against exact search (faiss IndexFlatIP) on {r['queries']} queries; "
            f"all top-10 neighbours, band or not: {r['recall_all']:.3f}",
        ),
        Result(
            f"neighbour search, {_size(r['n'])}: queries/s",
            r["qps_ours"],
            "queries/s",
            r["qps_ivf"],
            "faiss IndexIVFFlat, same lists and probes",
            note=f"exact search (faiss IndexFlatIP): {r['qps_exact']:.0f} queries/s",
        ),
    ]


def scale_params(precision: str = "float32", probes: int = 2) -> MiningParams:
    return MiningParams(band=SCALE_BAND, precision=precision, probes=probes)


def scale_run(n: int, precision: str = "float32", recall_queries: int = 0, probes: int = 2) -> dict:
    """Mine n mixture vectors held in `precision`, searching `probes` leaves; with
    `recall_queries`, also the neighbour recall of that many sampled rows against exact
    search."""
    from dataengine.machine import cores
    from dataengine.mine.vector_mining import mine_vectors

    generated = time.perf_counter()
    x, family, copy_of = mixture(n, dtype=np.dtype(precision))
    generated = time.perf_counter() - generated
    cpu, started = _cpu_seconds(), time.perf_counter()
    mined = mine_vectors(x, scale_params(precision, probes))
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    pairs, rep = mined.selection.pairs, mined.selection.duplicate_of
    copies = np.flatnonzero(copy_of >= 0)
    return {
        "n": n,
        "seconds": seconds,
        "cpu": cpu,
        "load": os.getloadavg()[0],
        "cores": cores(),
        "steps": mined.seconds,
        "leaves": len(mined.clusters.centroids),
        **search_work(mined.clusters, mined.seconds.get("search", 0.0)),
        "pairs": len(pairs),
        "precision": float(np.mean(family[pairs[:, 0]] == family[pairs[:, 1]])),
        "copy_recall": float(np.mean(rep[copies] == rep[copy_of[copies]])),
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "data_gb": x.nbytes / 2**30,
        "generated_s": generated,
        **(sampled_recall(x, mined, recall_queries) if recall_queries else {}),
    }


def search_work(clusters, seconds: float) -> dict:
    """How much the in-cluster search computed: each leaf answers every query that probes
    it with one product per member, so its work is askers x members. Work per query-probe
    (the mean leaf a probe lands on) shows whether a larger pool costs more per query
    because its probes land on larger leaves, or because each product got slower."""
    members = np.bincount(clusters.leaf, minlength=len(clusters.centroids))
    probes = clusters.nearest[clusters.nearest >= 0]
    askers = np.bincount(probes, minlength=len(clusters.centroids))
    products = float(np.dot(askers.astype(np.float64), members))
    return {
        "search_products": products,
        "products_per_probe": products / max(len(probes), 1),
        "leaf_size_median": float(np.median(members)),
        "leaf_size_max": int(members.max(initial=0)),
        "products_per_s": products / seconds if seconds else 0.0,
    }


def sampled_recall(x: np.ndarray, mined, queries: int, k: int = 10) -> dict:
    """Recall@k of the mining's neighbour lists for `queries` seeded rows, against exact
    search over the whole pool (float32 products, a block of the pool at a time)."""
    rows = np.sort(np.random.default_rng(0).choice(len(x), queries, replace=False))
    started = time.perf_counter()
    exact_sims, exact_ids = exact_neighbours(x, rows, k)
    seconds = time.perf_counter() - started
    ids = mined.neighbours[1][rows, :k]
    in_band = exact_sims >= scale_params().band[0]
    return {
        "queries": queries,
        "recall_ours": _recall(ids, exact_ids, in_band),
        "recall_all": _recall(ids, exact_ids, np.ones_like(in_band)),
        "in_band_neighbours": int(in_band.sum()),
        "exact_s": seconds,
    }


def exact_neighbours(x: np.ndarray, rows: np.ndarray, k: int, block: int = 131072):
    """Exact top-k inner products of x[rows] among all of x, each row's own entry left out."""
    from dataengine.mine.neighbours import best_first, top_k, widen

    q = widen(x[rows])
    sims = np.full((len(rows), k), -np.inf, dtype=np.float32)
    ids = np.full((len(rows), k), -1, dtype=np.int64)
    for start in range(0, len(x), block):
        db_ids = np.arange(start, min(start + block, len(x)))
        s, i = top_k(q, x[start : start + block], db_ids, k, exclude=rows)
        sims, ids = best_first(np.hstack([sims, s]), np.hstack([ids, i]), k)
    return sims, ids


def recall_run(n: int, queries: int = 2000, k: int = 10) -> dict:
    import faiss

    from dataengine.machine import cores
    from dataengine.mine.cluster import cluster_pool
    from dataengine.mine.parallel import one_thread_per_job
    from dataengine.mine.vector_mining import search_in_clusters

    x, _, _ = mixture(n)
    params = scale_params()
    with one_thread_per_job():  # as in mining; FAISS below runs with its own threads
        clusters = cluster_pool(x, params, cores())
        started = time.perf_counter()  # the search only: FAISS's is timed without add()
        _, ids = search_in_clusters(x, clusters, k, cores())
        ours = time.perf_counter() - started
    rows = np.sort(np.random.default_rng(0).choice(n, queries, replace=False))
    exact_sims, exact_ids, exact_s = _faiss_search(faiss.IndexFlatIP(DIM), x, rows, k)
    ivf = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(DIM), DIM, len(clusters.centroids), faiss.METRIC_INNER_PRODUCT
    )
    ivf.quantizer.add(clusters.centroids)
    ivf.is_trained = True
    ivf.nprobe = params.probes
    _, ivf_ids, ivf_s = _faiss_search(ivf, x, rows, k)
    in_band = exact_sims >= params.band[0]
    return {
        "n": n,
        "queries": queries,
        "recall_ours": _recall(ids[rows], exact_ids, in_band),
        "recall_ivf": _recall(ivf_ids, exact_ids, in_band),
        "recall_all": _recall(ids[rows], exact_ids, np.ones_like(in_band)),
        "qps_ours": n / ours,
        "qps_ivf": queries / ivf_s,
        "qps_exact": queries / exact_s,
    }


def _faiss_search(index, x: np.ndarray, rows: np.ndarray, k: int):
    """Top-k of x[rows] in `index` holding all of x, the query itself left out; seconds."""
    index.add(x)
    started = time.perf_counter()
    sims, ids = index.search(x[rows], k + 1)
    seconds = time.perf_counter() - started
    own = ids == rows[:, None]
    keep = np.argsort(own, axis=1, kind="stable")[:, :k]  # the query itself last, then cut
    return np.take_along_axis(sims, keep, 1), np.take_along_axis(ids, keep, 1), seconds


def _recall(found: np.ndarray, exact: np.ndarray, counted: np.ndarray) -> float:
    hits = sum(len(set(f) & set(e[c])) for f, e, c in zip(found, exact, counted, strict=True))
    return hits / max(int(counted.sum()), 1)


def mixture(n: int, seed: int = 0, dtype=np.float32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n unit vectors (n, DIM) of `dtype`, each row's family (n,), and the row each
    near-copy copies (-1 for originals). Rows [0, m) are the same for every n >= m."""
    sizes = np.random.default_rng([seed, 0]).integers(2, 9, size=n)  # >= n rows of families
    family = np.repeat(np.arange(n), sizes)[:n]
    topics = _unit(np.random.default_rng([seed, 1]).standard_normal((TOPICS, DIM), np.float32))
    x = np.empty((n, DIM), dtype=dtype)
    copy_of = np.full(n, -1, dtype=np.int64)
    for chunk, start in enumerate(range(0, n, CHUNK)):
        stop = min(n, start + CHUNK)
        rng = np.random.default_rng([seed, 2, chunk])
        centres = _family_centres(family[start], family[stop - 1], topics, seed)
        rows = centres[family[start:stop] - family[start]]
        rows += FAMILY_SIGMA * rng.standard_normal(rows.shape, np.float32)
        x[start:stop] = _unit(rows)
        # Own streams for copies, so that the first m rows never depend on n.
        pick, noise = (np.random.default_rng([seed, s, chunk]) for s in (4, 5))
        copy_of[start:stop] = _copies(x, family, start, stop, pick, noise)
    return x, family, copy_of


def _family_centres(first: int, last: int, topics: np.ndarray, seed: int) -> np.ndarray:
    """Centres of families first..last, drawn per block of FAMILY_BLOCK families."""
    blocks = []
    for block in range(first // FAMILY_BLOCK, last // FAMILY_BLOCK + 1):
        rng = np.random.default_rng([seed, 3, block])
        topic = topics[rng.integers(0, TOPICS, FAMILY_BLOCK)]
        blocks.append(_unit(topic + TOPIC_SIGMA * rng.standard_normal(topic.shape, np.float32)))
    offset = first - (first // FAMILY_BLOCK) * FAMILY_BLOCK
    return np.concatenate(blocks)[offset : offset + last - first + 1]


def _copies(x: np.ndarray, family: np.ndarray, start: int, stop: int, pick, noise) -> np.ndarray:
    """Turn about COPY_RATE of the rows into near-copies of the row before (same family)."""
    rows = np.arange(start + 1, stop)
    rows = rows[(pick.random(len(rows)) < COPY_RATE) & (family[rows] == family[rows - 1])]
    rows = rows[~np.isin(rows - 1, rows)]  # a copy of an original, never of a copy
    x[rows] = _unit(
        x[rows - 1] + COPY_SIGMA * noise.standard_normal((len(rows), x.shape[1]), np.float32)
    )
    out = np.full(stop - start, -1, dtype=np.int64)
    out[rows - start] = rows - 1
    return out


def in_fresh_process(fn, *args):
    """fn(*args) in a new process (spawned: no memory shared with this one), its result."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(fn, args)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"
