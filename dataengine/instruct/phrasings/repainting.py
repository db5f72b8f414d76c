"""Phrasings for repainting: fill or extend a masked region.

object_inpainting names the hidden object in $object ("large red circle") in half of its
pairs; outpainting, like inpainting, may quote the caption of the whole photo.
"""

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
    "object_inpainting": (
        "Fill in the masked region of {image}.",
        "Repaint the black hole in {image} so that it matches the scene.",
        "Something was erased from {image}; draw it back in the masked area.",
        "Complete the missing part of {image}.",
        "Inpaint the blanked-out shape region of {image}.",
        "Restore whatever belongs in the masked area of {image}.",
        "Fill the gap in {image} with the object that was there.",
        "Fill in the masked region of {image} with a $object.",
        "Draw a $object in the black area of {image}.",
        "Paint a $object into the masked hole of {image}, matching the scene.",
        "The masked part of {image} hides a $object. Restore it.",
        "Inpaint {image}: put a $object in the blanked-out region.",
        "Complete {image} by repainting the masked area as a $object.",
        "Bring back the $object that was erased from {image}.",
    ),
    "outpainting": (
        "Extend {image} to fill the black border.",
        "Outpaint {image}: continue the picture into the masked margin.",
        "Expand the scene of {image} beyond its edges.",
        "Fill the empty border around {image} so the picture continues naturally.",
        "Zoom out of {image} and paint what lies outside the frame.",
        "Complete the missing edges of {image}.",
        "Widen {image} by inventing what surrounds it.",
        'Extend {image} into the black border; the whole picture shows "$caption".',
        'Outpaint {image} so that the full image is "$caption".',
        'Continue {image} beyond its edges to give "$caption".',
        'Fill the masked margin of {image}: the complete picture is "$caption".',
        'Zoom out of {image}, a detail of "$caption", and paint the rest.',
        'Expand {image} into a full view of "$caption".',
        'Paint the missing border of {image} so that it becomes "$caption".',
    ),
}
