"""Phrasings for low-level analysis: a photo in, a map computed from it out."""

PHRASINGS: dict[str, tuple[str, ...]] = {
    "canny_extraction": (
        "Detect the edges of {image}.",
        "Use Canny to extract the edges of {image}.",
        "Generate the Canny edge map of {image}.",
        "Draw the outlines in {image} as white lines on a black background.",
        "What are the edges in {image}? Show them as a line map.",
        "Turn {image} into an edge map.",
        "Extract a Canny edge image from {image}.",
        "Trace the contours of everything in {image}.",
        "Give me the edge detection result for {image}.",
        "{image} as a black-and-white edge map, please.",
    ),
    "grayscale": (
        "Convert {image} to grayscale.",
        "Make {image} black and white.",
        "Remove all the colour from {image}.",
        "Turn {image} into a grayscale photo.",
        "Desaturate {image} completely.",
        "Show {image} in shades of gray.",
        "Give me a monochrome version of {image}.",
        "Strip the colours out of {image} and keep only the brightness.",
        "What would {image} look like as a black-and-white photo?",
    ),
}
