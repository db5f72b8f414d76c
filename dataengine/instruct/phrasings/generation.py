"""Phrasings for text-to-image: no input frame, so no {image}; the caption is quoted."""

PHRASINGS: dict[str, tuple[str, ...]] = {
    "text_to_image": (
        '"$caption"',
        'Generate an image of "$caption".',
        'Create a picture: "$caption".',
        'Draw "$caption".',
        'Make an image showing "$caption".',
        'Please generate a photo of "$caption".',
        'I want a picture of "$caption".',
        'Render an image that matches this description: "$caption".',
        'Produce an image based on the text "$caption".',
        'Show me "$caption".',
    ),
}
