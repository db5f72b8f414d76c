"""Phrasings for controllable generation: a map or degraded image in, the photo out."""

PHRASINGS: dict[str, tuple[str, ...]] = {
    "canny_to_image": (
        'Generate an image that follows the edges of {image}: "$caption"',
        'Use the edge map {image} to create a picture of "$caption".',
        'Following the outlines in {image}, draw "$caption".',
        '{image} is a Canny edge map. Render it as a photo: "$caption"',
        'Create an image matching the contours of {image}, showing "$caption".',
        'Fill in the line drawing {image} so that it becomes "$caption".',
        'Based on the edges in {image}, generate a realistic image: "$caption"',
        'Paint "$caption", keeping the structure given by the edge map {image}.',
        'Turn the edge image {image} into a picture described as "$caption".',
    ),
    "colorization": (
        "Colorize {image}.",
        "Add natural colours to the black-and-white photo {image}.",
        "Bring {image} to life with realistic colours.",
        "Turn the grayscale image {image} into a colour photo.",
        "Restore the colours of {image}.",
        "What would {image} look like in colour? Colour it in.",
        "Give {image} plausible, natural colours.",
        'Colorize {image}; it shows "$caption".',
        'Add colour to {image} so it looks like "$caption".',
        'This is a black-and-white photo of "$caption": {image}. Make it colour.',
        'Turn {image} into a colour image of "$caption".',
        'Restore the colours of {image}, a picture of "$caption".',
        'Colour in the grayscale image {image} to show "$caption".',
    ),
}
