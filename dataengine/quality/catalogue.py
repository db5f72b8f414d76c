"""Every score a scorer can add, with what it measures. Selection thresholds, the audit report
and docs/QUALITY.md name scores from this table, so a typo in a recipe is caught before a run.

A score lands in the sample's json `scores` and in the index column `score_<name>`. It is
absent (null in the index) where it does not apply: no mask, no caption, not a text task.
"""

from __future__ import annotations

SCORES: dict[str, str] = {
    # pixel_change: the edited input frame against the target (resized to the target's size)
    "l1": "mean absolute difference of input and target, 0..1 (0 = identical)",
    "ssim": "structural similarity of input and target in grey, -1..1 (1 = identical)",
    "changed": "fraction of pixels that changed visibly (any channel by more than 16/255)",
    "change_inside_mask": "fraction of the pixels under the mask that changed",
    "change_outside_mask": "fraction of the pixels away from the mask that changed (a leak)",
    # image_checks: the target alone
    "sharpness": "variance of the Laplacian of the target at 256 px long side (higher = sharper)",
    "exposure": "mean luma of the target, 0..1",
    "clipped": "fraction of target pixels crushed to black or blown to white",
    "min_side": "the target's shorter side, px",
    "aspect": "the target's long side over its short side, >= 1",
    # instruction_checks
    "instruction_words": "words in the instruction (0 = empty)",
    "instruction_bad_placeholders": "{...} in the instruction that name no input frame",
    "instruction_repeats": "words or sentences said twice in a row ('the the')",
    "instruction_duplicate": "1 when an earlier pair of the unit has the same input and "
    "instruction",
    # clip (open_clip from a local folder)
    "clip_image_similarity": "cosine of the input and target image embeddings, -1..1",
    "clip_direction": "cosine of the image edit direction (target - input) and the "
    "instruction's text embedding, -1..1",
    "clip_caption": "cosine of the target image and its caption, -1..1",
    # text_legibility (rapidocr)
    "text_legibility": "how well OCR reads the text the task wrote (0..1, 1 = exactly)",
    "text_remaining": "how well OCR still reads the removed text in the target (0 = gone)",
}


def unknown_score_hint(name: str) -> str:
    """The end of an error message about a score name that no scorer makes."""
    import difflib

    close = difflib.get_close_matches(name, SCORES, n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{guess}; known scores: {', '.join(SCORES)}"
