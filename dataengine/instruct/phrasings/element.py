"""Phrasings for element editing: add or remove one piece of text or one object.

Text tasks always quote the exact text: "$text" (with $color, the colour name, in some).
Shapes-world object tasks fill $object ("small blue triangle") and $position ("top left",
a cell of the 3x3 grid). Photo cut-out tasks fill $shape ("star-shaped", "oval") and
$position; add_object_photo shows the photo the piece is cut from as {image1}.
"""

PHRASINGS: dict[str, tuple[str, ...]] = {
    "text_render": (
        'Write "$text" on {image}.',
        'Add the text "$text" to {image}.',
        'Put the words "$text" somewhere on {image}.',
        'Render the text "$text" onto {image}.',
        'Label {image} with "$text".',
        'Type "$text" over {image}.',
        'Overlay the caption "$text" on {image}.',
        'Add "$text" as text on top of {image}.',
        'Write "$text" on {image} in $color letters.',
        'Add the text "$text" to {image} in $color.',
        'Print "$text" on {image} using a $color font.',
        'Overlay "$text" on {image}, written in $color.',
    ),
    "text_removal": (
        'Remove the text "$text" from {image}.',
        'Erase the words "$text" in {image}.',
        'Delete "$text" from {image} and restore what is behind it.',
        'Get rid of the writing "$text" on {image}.',
        'Clean the text "$text" off {image}.',
        'Take away the caption "$text" from {image}, leaving the picture intact.',
        '{image} has "$text" written on it. Remove it.',
        'Wipe the text "$text" out of {image}.',
        'Make {image} look as if "$text" had never been written on it.',
    ),
    "add_object": (
        "Add a $object at the $position of {image}.",
        "Put a $object in the $position of {image}.",
        "Place a $object at the $position of {image}.",
        "Draw a $object in the $position of {image}.",
        "Insert a $object into {image}, at the $position.",
        "{image} needs a $object at the $position. Add one.",
        "Add a $object to {image}.",
        "Put a $object somewhere free in {image}.",
        "Draw one more shape in {image}: a $object at the $position.",
    ),
    "remove_object": (
        "Remove the $object from {image}.",
        "Delete the $object in {image}.",
        "Erase the $object at the $position of {image}.",
        "Take the $object out of {image}.",
        "Get rid of the $object in the $position of {image}.",
        "Remove the $object and show the background behind it in {image}.",
        "Make the $object in {image} disappear.",
        "{image} without the $object, please.",
        "Clear the $position of {image} by removing the $object.",
    ),
    "add_object_photo": (
        "Cut the masked $shape piece out of {image1} and paste it into the masked area of {image}.",
        "Paste the $shape region marked in {image1} onto {image} at the masked spot.",
        "Take the masked part of {image1} and place it in the masked region of {image}.",
        "Copy the $shape cut-out from {image1} into the $position of {image}.",
        "Add the marked $shape piece of {image1} to {image}, where the mask is.",
        "Stick the $shape patch from {image1} onto the $position of {image}.",
        "Composite the masked region of {image1} into {image} at the masked place.",
        "Insert the $shape cut-out of {image1} into the masked area of {image}.",
        "Move the masked piece of {image1} over to the $position of {image}.",
    ),
    "remove_object_photo": (
        "Remove the $shape patch from {image}.",
        "Delete the pasted $shape piece at the $position of {image}.",
        "Erase the $shape cut-out in the $position of {image} and restore the photo behind it.",
        "Get rid of the $shape sticker on {image}.",
        "Take the pasted $shape patch off {image}.",
        "Something $shape was pasted onto {image}; remove it.",
        "Clean up {image} by removing the $shape overlay at the $position.",
        "Restore {image} as it was before the $shape patch was pasted on.",
        "Remove the foreign $shape piece from the $position of {image}.",
    ),
}
