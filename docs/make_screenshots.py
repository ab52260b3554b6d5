"""Paint the README's pictures of the offline animatic: keyframes of a few kinds of prompt, as
the local provider plans and paints them, with each scene's caption laid over as the clip lays
it.

    python docs/make_screenshots.py

Writes docs/animatic-<kind>.png (small PNGs: a strip of three scenes per prompt).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

from vidpipe.providers.local import plan_scenes  # noqa: E402
from vidpipe.providers.local_paint import paint_caption, paint_keyframe  # noqa: E402
from vidpipe.providers.local_story import character_names  # noqa: E402

SIZE = (640, 360)  # painted at 360p, shown at half that
EXAMPLES = {
    "story": ("Mara and Theo build a raft to cross the river", "watercolor"),
    "explainer": ("How to make a perfect cup of coffee", "plain"),
    "product": ("An ad for a solar-powered backpack that charges your phone", "cinematic"),
    "place": ("A weekend trip to Lisbon", "vintage"),
    "mood": ("A rainy street in Tokyo at night", "neon"),
}


def strip(prompt: str, style: str, folder: Path) -> Image.Image:
    board = plan_scenes(prompt, style, 6, 8.0)
    cast = character_names(board.characters)
    frames = []
    for scene in board.scenes[:3]:
        still, caption = folder / f"{scene.id}.png", folder / f"{scene.id}.caption.png"
        context = f"{scene.title}. {scene.description} {prompt}"
        paint_keyframe(still, SIZE, image_prompt=scene.image_prompt, context=context,
                       style=style, characters=cast)  # fmt: skip
        paint_caption(caption, SIZE, scene.title, scene.caption)
        with Image.open(still) as picture, Image.open(caption) as text:
            frame = picture.convert("RGBA")
            frame.alpha_composite(text)
            frames.append(frame.convert("RGB").resize((SIZE[0] // 2, SIZE[1] // 2)))
    gap = 4
    width = sum(frame.width for frame in frames) + gap * (len(frames) - 1)
    sheet = Image.new("RGB", (width, frames[0].height), (255, 255, 255))
    for index, frame in enumerate(frames):
        sheet.paste(frame, (index * (frame.width + gap), 0))
    return sheet


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for kind, (prompt, style) in EXAMPLES.items():
            out = DOCS / f"animatic-{kind}.png"
            strip(prompt, style, Path(folder)).save(out, optimize=True)
            print(f"{out.relative_to(DOCS.parent)}: {prompt!r}, style={style}")


if __name__ == "__main__":
    main()
