"""Phrasings for multi-turn editing.

A multi-turn sample is phrased as its last turn's task (the maker sets `template_task`),
and its history frames as their own turns' tasks, so these generic continuations are only
a fallback for a sample that lost that record.
"""

PHRASINGS: dict[str, tuple[str, ...]] = {
    "multi_turn_edit": (
        "Continue editing {image}.",
        "Now apply the next edit to {image}.",
        "Keep going: make the next change to {image}.",
        "Carry on editing {image} from where we left off.",
        "Take {image} and make the following edit.",
        "One more change to {image}, please.",
        "Next step: edit {image} further.",
        "Build on {image} with the next edit.",
    ),
}
