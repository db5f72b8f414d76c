"""Pair mining: similar images of a pool, paired, as ACE's second source of editing pairs.

One file per role (docs/MINING.md has the whole story):

    embedders.py   the Embedder base, recipe entries, combining weighted embeddings
    classical.py   colour layout, colour, edge and texture statistics (no weights; default)
    clip.py        open_clip from a local path          caption.py   captions, with MiniLM
    store.py       embeddings persisted as Parquet parts keyed by image id
    embed_pass.py  the embedding pass over a pool, on the run's executor
    cluster.py     FAISS spherical k-means in two levels; each vector's nearest leaves
    neighbours.py  exact search inside the probed leaves (an IVF, searched list by list)
    select.py      the similarity band, duplicate groups, caps per image
    miner.py       cluster + search + select on a matrix of vectors
    mining.py      the persisted global step: embed what is missing, mine, write decisions
    source.py      the `mined_pairs` recipe source       pair_maker.py  mined_* pair makers
    captions.py    what two captions say changed         phrasings.py   their instructions
"""
