"""Phrasings for layer editing: split a composite into its layers, or merge layers.

$background is the plain colour ("white", "black") a foreground is shown on; $object names
a shapes-world object ("large red circle") and is absent for photo cut-outs, which the
input's mask marks. merge_layers shows the background as {image} and the layer as {image1}.
"""

PHRASINGS: dict[str, tuple[str, ...]] = {
    "extract_foreground": (
        "Extract the masked object of {image} onto a plain $background background.",
        "Cut out the foreground of {image} and put it on $background.",
        "Isolate the masked element of {image} on a $background background.",
        "Show only the marked object from {image}, with a $background background.",
        "Separate the foreground layer of {image} and place it on solid $background.",
        "Remove everything but the masked object in {image}; fill the rest with $background.",
        "Extract the $object from {image} onto a plain $background background.",
        "Cut out the $object in {image} and put it on $background.",
        "Show only the $object of {image} on a $background background.",
        "Isolate the $object from {image}; make the background solid $background.",
        "Give me the $object layer of {image} on $background.",
        "Keep the $object of {image} and paint everything else $background.",
    ),
    "extract_background": (
        "Extract the background of {image} without the masked object.",
        "Remove the foreground layer of {image} and show the background behind it.",
        "Show the background layer of {image} alone.",
        "Take away the masked element of {image} and reveal what is behind it.",
        "What does {image} look like without its foreground? Show the background.",
        "Separate out the background of {image}, leaving out the marked object.",
        "Extract the background of {image} without the $object.",
        "Remove the $object layer from {image} and show the background.",
        "Show {image} with the $object taken off, background only.",
        "Peel the $object off {image} to reveal the background.",
        "Give me the background layer of {image}, without the $object.",
        "Hide the $object of {image} and show what lies behind it.",
    ),
    "merge_layers": (
        "Merge the layer {image1} onto the background {image}.",
        "Composite the masked foreground of {image1} over {image}.",
        "Place the cut-out in {image1} onto {image} at the same position.",
        "Combine the background {image} with the foreground layer {image1}.",
        "Flatten the layers: {image} below, the masked part of {image1} on top.",
        "Put the object from {image1} on top of {image}, keeping its place.",
        "Paste the masked region of {image1} into {image}.",
        "Merge {image1}, without its $background background, onto {image}.",
        "Lay the foreground of {image1} over {image}, dropping the plain $background.",
        "Composite {image1} onto {image}, ignoring its $background background.",
    ),
}
