"""Template phrasings of mined pairs (the mined_* tasks of dataengine/mine/pair_maker.py).

$removed names what goes ("the red circle at the top left"), $added what comes ("a green
star at the center"); both come from the two captions (dataengine/mine/caption_diff.py). {image} is
the source.
"""

PHRASINGS: dict[str, tuple[str, ...]] = {
    "mined_edit": (
        "Replace $removed with $added in {image}.",
        "In {image}, change $removed into $added.",
        "Turn $removed in {image} into $added.",
        "Swap $removed for $added in {image}.",
        "Edit {image} so that $added appears instead of $removed.",
        "Change $removed in {image} to $added.",
        "Make {image} show $added where it now shows $removed.",
        "In {image}, substitute $added for $removed.",
    ),
    "mined_add": (
        "Add $added to {image}.",
        "Put $added into {image}.",
        "Place $added in {image}.",
        "Insert $added into {image}.",
        "Edit {image} to include $added.",
        "Draw $added in {image}.",
        "In {image}, add $added.",
        "Make {image} also show $added.",
    ),
    "mined_remove": (
        "Remove $removed from {image}.",
        "Take $removed out of {image}.",
        "Erase $removed in {image}.",
        "Delete $removed from {image}.",
        "Edit {image} so that $removed is gone.",
        "In {image}, get rid of $removed.",
        "Make {image} without $removed.",
        "Clear $removed from {image}.",
    ),
}
