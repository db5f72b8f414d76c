"""Quality: scorers that add `scores` to pairs, and selection that decides on them.

    catalogue.py        every score name, what it measures and its range
    pixel_change.py     input vs target: L1, SSIM, changed fraction inside / outside the mask
    image_checks.py     sharpness, exposure, clipping, resolution, aspect of the target
    instruction_checks.py  length, placeholders, repeated words, duplicates in a unit
    stages.py           `quality_scores`: the three above as one model-free row stage
    clip.py             `clip_scores`: open_clip from a local folder (image, direction, caption)
    text_legibility.py  `text_legibility`: rapidocr reads the text of text tasks
    select.py           `select`: per-task thresholds; a failing pair becomes status "rejected"
    phash.py            perceptual hashes of every sample, cached per shard
    corpus_selection.py the corpus-wide pass: near-duplicates and per-task quotas, written
                        to the curation table (shards are never rewritten)

Scorers never drop a pair; only selection decides, and a rejected pair keeps its scores
and the reason in the Parquet index.
"""
