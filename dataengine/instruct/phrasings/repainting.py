"""Phrasings for repainting: fill or extend a masked region."""

PHRASINGS: dict[str, tuple[str, ...]] = {
    "inpainting": (
        "Fill in the masked region of {image}.",
        "Inpaint the black area in {image} so it blends with the rest.",
        "Restore the missing part of {image}.",
        "Complete {image} by repainting the masked area.",
        "Something is cut out of {image}; fill the gap naturally.",
        "Repaint the hidden region of {image} to match its surroundings.",
        "Fix the blanked-out area in {image}.",
        'Fill in the masked region of {image} so the whole image shows "$caption".',
        'Inpaint {image}; the complete picture is "$caption".',
        'Restore the missing part of {image}. It is a picture of "$caption".',
        'Complete the masked area of {image} to give "$caption".',
        'Repaint the black region in {image} so that it fits "$caption".',
        'Fill the hole in {image}: the finished image should be "$caption".',
    ),
}
