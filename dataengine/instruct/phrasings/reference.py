"""Phrasings for reference generation: {image1} shows what to use (a style, an object)."""

PHRASINGS: dict[str, tuple[str, ...]] = {
    "style_reference": (
        "Paint {image} in the style of {image1}.",
        "Redraw {image} so that it looks like {image1}.",
        "Apply the style of {image1} to {image}.",
        "Use {image1} as a style reference and restyle {image} to match.",
        "Make {image} look as if it were made the same way as {image1}.",
        "Transfer the artistic style of {image1} onto {image}, keeping its content.",
        "Render the content of {image} with the look of {image1}.",
        'Paint {image}, a picture of "$caption", in the style of {image1}.',
        'Restyle {image} like {image1}; it should still show "$caption".',
        'Apply the style of {image1} to {image} so that it shows "$caption" in that style.',
        'Using {image1} as the style example, redraw "$caption" from {image}.',
        'Make {image} ("$caption") look like {image1}.',
        'Render "$caption" as in {image}, but in the style of {image1}.',
    ),
    "object_reference": (
        "Add the object from {image1} to {image}, at the $where.",
        "Place the object shown in {image1} at the $where of {image}.",
        "Put the $object from {image1} into {image} at the $where.",
        "Insert the thing in {image1} into {image}; it goes at the $where.",
        "Copy the object of {image1} into the $where of {image}, at the same size.",
        "Using {image1} as a reference, add a $size $object at the $where of {image}.",
        "{image1} shows an object. Add it to {image} at the $where.",
        "Bring the $object of {image1} into {image} and set it at the $where.",
        "Edit {image}: add the object from {image1} at the $where and change nothing else.",
    ),
}
