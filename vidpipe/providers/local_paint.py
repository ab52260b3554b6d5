"""The offline keyframe painter: a deterministic illustration of a scene, drawn with Pillow.

It reads the scene's words, not pixels: the light (dawn ... night) and the shot (wide, medium,
close-up, low-angle) from the image prompt, the setting (sea, forest, city, mountains, desert)
from the prompt and description, and a palette and finish from the project's style. The same
scene always gives the same picture.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

RGB = tuple[int, int, int]

# light -> (sky top, sky horizon, ground, sun or moon colour, sun height 0=horizon..1=top)
LIGHTS: dict[str, tuple[RGB, RGB, RGB, RGB, float]] = {
    "dawn": ((70, 90, 150), (250, 190, 160), (70, 80, 90), (255, 225, 190), 0.12),
    "morning": ((110, 165, 225), (215, 230, 240), (95, 130, 90), (255, 250, 225), 0.45),
    "midday": ((60, 130, 215), (180, 215, 245), (110, 150, 85), (255, 255, 240), 0.85),
    "afternoon": ((80, 140, 210), (235, 220, 180), (115, 135, 80), (255, 240, 200), 0.55),
    "golden hour": ((120, 110, 170), (255, 180, 90), (120, 95, 60), (255, 200, 110), 0.2),
    "dusk": ((45, 40, 95), (235, 105, 80), (55, 45, 60), (255, 140, 90), 0.06),
    "night": ((8, 12, 35), (35, 45, 90), (20, 25, 35), (235, 235, 215), 0.7),
}
SHOTS = ("close-up", "low-angle", "medium", "wide")
SETTINGS = {
    "sea": (
        "sea",
        "ocean",
        "lighthouse",
        "bottle",
        "beach",
        "shore",
        "harbor",
        "harbour",
        "ship",
        "boat",
        "island",
        "wave",
        "lake",
        "river",
    ),
    "forest": ("forest", "tree", "woods", "jungle", "garden", "park"),
    "city": ("city", "street", "town", "building", "cafe", "office", "robot", "neon", "station"),
    "mountains": ("mountain", "peak", "valley", "snow", "cliff", "hill"),
    "desert": ("desert", "sand", "dune", "canyon", "mars"),
}
# style word -> (hue shift toward, saturation factor, finish)
STYLES: dict[str, tuple[float | None, float, str]] = {
    "watercolor": (None, 0.75, "watercolor"),
    "watercolour": (None, 0.75, "watercolor"),
    "pastel": (None, 0.55, "watercolor"),
    "cinematic": (None, 1.05, "cinematic"),
    "noir": (None, 0.0, "noir"),
    "black and white": (None, 0.0, "noir"),
    "neon": (0.85, 1.4, "neon"),
    "cyberpunk": (0.85, 1.4, "neon"),
    "pixel": (None, 1.2, "pixel"),
    "retro": (0.08, 0.9, "pixel"),
    "anime": (None, 1.35, "anime"),
    "vintage": (0.1, 0.6, "vintage"),
    "sepia": (0.1, 0.35, "vintage"),
}


@dataclass(frozen=True)
class Look:
    light: str
    shot: str
    setting: str
    hue_shift: float | None
    saturation: float
    finish: str


def read_look(image_prompt: str, context: str, style: str) -> Look:
    words = image_prompt.lower()
    light = next((name for name in LIGHTS if name in words), "afternoon")
    shot = next((name for name in SHOTS if name in words), "medium")
    context_words = f"{words} {context.lower()}"
    setting = next(
        (name for name, keys in SETTINGS.items() if any(key in context_words for key in keys)),
        "hills",
    )
    style_words = style.lower()
    hue, saturation, finish = next(
        (value for key, value in STYLES.items() if key in style_words),
        (_stable_fraction(style_words), 1.0, "plain"),
    )
    return Look(light, shot, setting, hue, saturation, finish)


def _stable_fraction(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _grade(color: RGB, look: Look, amount: float = 0.25) -> RGB:
    """Pull a colour toward the style's hue and saturation."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in color))
    if look.hue_shift is not None:
        h = h + (((look.hue_shift - h + 0.5) % 1.0) - 0.5) * amount
    s = min(1.0, s * look.saturation)
    return tuple(round(c * 255) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))  # type: ignore[return-value]


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def paint_keyframe(
    out: Path,
    size: tuple[int, int],
    *,
    image_prompt: str,
    context: str,
    style: str,
    title: str,
    caption: str,
) -> None:
    """Paint the scene to `out` (PNG)."""
    width, height = size
    look = read_look(image_prompt, context, style)
    seed = hashlib.sha256(f"{image_prompt}|{context}|{style}|{size}".encode()).hexdigest()
    rng = random.Random(seed)
    *colors, sun_height = LIGHTS[look.light]
    sky_top, sky_low, ground, sun_color = (_grade(c, look) for c in colors)
    horizon = {"wide": 0.62, "medium": 0.7, "close-up": 0.78, "low-angle": 0.86}[look.shot]
    horizon_y = round(height * horizon)
    unit = min(width, height)

    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(horizon_y + 1):
        draw.line([(0, y), (width, y)], fill=_mix(sky_top, sky_low, (y / horizon_y) ** 1.4))

    if look.light == "night":
        for _ in range(int(width * horizon_y / 2500)):
            x, y = rng.randrange(width), rng.randrange(horizon_y)
            shade = rng.randrange(150, 255)
            draw.point((x, y), fill=(shade, shade, shade))

    sun_x = width * rng.uniform(0.15, 0.85)
    sun_y = horizon_y - sun_height * horizon_y * 0.85
    radius = unit * (0.05 if look.light == "night" else 0.075)
    glow = Image.new("L", size, 0)
    ImageDraw.Draw(glow).ellipse(
        [sun_x - radius * 3, sun_y - radius * 3, sun_x + radius * 3, sun_y + radius * 3], fill=90
    )
    image.paste(sun_color, mask=glow.filter(ImageFilter.GaussianBlur(radius * 1.5)))
    draw.ellipse([sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius], fill=sun_color)

    _paint_setting(draw, rng, look, size, horizon_y, sky_low, ground)
    _paint_subject(draw, rng, look, size, horizon_y, sun_color)

    image = _finish(image, look, rng)
    _caption(image, title, caption)
    image.save(out, format="PNG", optimize=False, compress_level=1)


def _ridge(rng: random.Random, width: int, base: float, amplitude: float, waves: int) -> list:
    phases = [rng.uniform(0, math.tau) for _ in range(3)]
    points = []
    for step in range(0, 101):
        x = width * step / 100
        t = step / 100 * math.tau
        y = base - amplitude * (
            0.6 * math.sin(t * waves / 2 + phases[0])
            + 0.3 * math.sin(t * waves + phases[1])
            + 0.1 * math.sin(t * waves * 3 + phases[2])
        )
        points.append((x, y))
    return points


def _paint_setting(draw, rng, look: Look, size, horizon_y: int, sky_low: RGB, ground: RGB) -> None:
    width, height = size
    far = _mix(sky_low, ground, 0.45)
    if look.setting == "mountains":
        peaks = _ridge(rng, width, horizon_y - height * 0.05, height * 0.22, 5)
        draw.polygon([(0, height), *peaks, (width, height)], fill=far)
    elif look.setting == "city":
        x = 0.0
        while x < width:
            w = width * rng.uniform(0.04, 0.09)
            top = horizon_y - height * rng.uniform(0.08, 0.35)
            draw.rectangle([x, top, x + w, height], fill=_mix(far, (0, 0, 0), rng.uniform(0, 0.3)))
            for wy in range(int(top) + 8, horizon_y - 6, 14):
                for wx in range(int(x) + 5, int(x + w) - 6, 12):
                    if rng.random() < (0.5 if look.light == "night" else 0.15):
                        draw.rectangle([wx, wy, wx + 4, wy + 6], fill=(250, 220, 140))
            x += w + rng.uniform(1, 6)
    else:
        hills = _ridge(rng, width, horizon_y - height * 0.02, height * 0.05, 3)
        draw.polygon([(0, height), *hills, (width, height)], fill=far)

    if look.setting == "sea":
        water = _mix(sky_low, (20, 60, 110), 0.55)
        draw.rectangle([0, horizon_y, width, height], fill=water)
        for row in range(horizon_y + 6, height, 9):
            depth = (row - horizon_y) / max(height - horizon_y, 1)
            for _ in range(int(4 + 10 * depth)):
                x = rng.uniform(0, width)
                length = width * 0.02 * (1 + 3 * depth)
                draw.line([(x, row), (x + length, row)], fill=_mix(water, sky_low, 0.5), width=1)
        shore = _ridge(rng, width, height * 0.95, height * 0.04, 2)
        draw.polygon(
            [(0, height), *shore, (width, height)], fill=_mix(ground, (200, 180, 130), 0.4)
        )
    else:
        near = _ridge(rng, width, horizon_y + height * 0.08, height * 0.04, 2)
        draw.polygon([(0, height), *near, (width, height)], fill=ground)

    if look.setting == "forest":
        for _ in range(rng.randrange(8, 16)):
            x = rng.uniform(0, width)
            base = rng.uniform(horizon_y, height)
            tall = height * rng.uniform(0.12, 0.3) * (base / height)
            color = _mix(ground, (10, 40, 20), rng.uniform(0.3, 0.7))
            draw.polygon(
                [(x, base - tall), (x - tall * 0.3, base), (x + tall * 0.3, base)], fill=color
            )
    elif look.setting == "desert":
        dunes = _ridge(rng, width, horizon_y + height * 0.15, height * 0.06, 2)
        draw.polygon(
            [(0, height), *dunes, (width, height)], fill=_mix(ground, (210, 170, 110), 0.6)
        )


def _paint_subject(draw, rng, look: Look, size, horizon_y: int, light: RGB) -> None:
    """A figure (or, in a close-up, the glowing object of the story) on a third of the frame."""
    width, height = size
    x = width * rng.choice((1 / 3, 2 / 3))
    ink = (18, 18, 26)
    if look.shot == "close-up":
        radius = min(width, height) * 0.16
        y = horizon_y - radius * 0.4
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=_mix(light, ink, 0.35))
        inner = radius * 0.55
        draw.ellipse(
            [x - inner, y - inner * 1.3, x + inner * 0.4, y], fill=_mix(light, (255,) * 3, 0.6)
        )
        return
    scale = {"wide": 0.16, "medium": 0.34, "low-angle": 0.55}[look.shot] * height
    feet = horizon_y + scale * 0.25
    head = scale * 0.13
    body_top = feet - scale * 0.78
    draw.polygon(
        [
            (x - scale * 0.12, feet),
            (x + scale * 0.12, feet),
            (x + scale * 0.09, body_top),
            (x - scale * 0.09, body_top),
        ],
        fill=ink,
    )
    draw.ellipse([x - head, body_top - head * 2.05, x + head, body_top - 0.05 * head], fill=ink)


def _finish(image: Image.Image, look: Look, rng: random.Random) -> Image.Image:
    width, height = image.size
    if look.finish == "watercolor":
        paper = Image.effect_noise(image.size, 28).convert("RGB")
        image = Image.blend(image.filter(ImageFilter.GaussianBlur(3)), paper, 0.08)
        image = Image.blend(image, Image.new("RGB", image.size, (250, 245, 235)), 0.18)
    elif look.finish == "noir":
        image = ImageOps.autocontrast(ImageOps.grayscale(image), cutoff=2).convert("RGB")
    elif look.finish == "pixel":
        small = image.resize((max(width // 8, 1), max(height // 8, 1)), Image.Resampling.BILINEAR)
        image = small.resize(image.size, Image.Resampling.NEAREST)
    elif look.finish == "vintage":
        image = ImageOps.colorize(ImageOps.grayscale(image), (40, 25, 15), (245, 225, 190))
    elif look.finish == "neon":
        edges = image.filter(ImageFilter.FIND_EDGES).filter(ImageFilter.GaussianBlur(2))
        image = Image.blend(
            image, ImageOps.colorize(ImageOps.grayscale(edges), "black", "#ff3cf0"), 0.35
        )
    elif look.finish == "anime":
        image = image.filter(ImageFilter.EDGE_ENHANCE_MORE)
    if look.finish in ("cinematic", "noir"):
        vignette = Image.new("L", image.size, 0)
        ImageDraw.Draw(vignette).ellipse(
            [-width * 0.15, -height * 0.2, width * 1.15, height * 1.2], fill=255
        )
        vignette = vignette.filter(ImageFilter.GaussianBlur(min(width, height) * 0.12))
        image = Image.composite(image, Image.new("RGB", image.size, (0, 0, 0)), vignette)
    return image


def _caption(image: Image.Image, title: str, caption: str) -> None:
    width, height = image.size
    unit = min(width, height)
    draw = ImageDraw.Draw(image, "RGBA")
    title_font = ImageFont.load_default(size=max(10, round(unit * 0.035)))
    draw.text((unit * 0.04, unit * 0.04), title.upper(), font=title_font, fill=(255, 255, 255, 200))
    if not caption:
        return
    font = ImageFont.load_default(size=max(12, round(unit * 0.05)))
    text = _fit(caption, font, width * 0.86)
    box = draw.multiline_textbbox((0, 0), text, font=font, align="center")
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    top = height - text_h - unit * 0.09
    draw.rectangle([0, top - unit * 0.03, width, height - unit * 0.03], fill=(0, 0, 0, 110))
    draw.multiline_text(
        ((width - text_w) / 2, top), text, font=font, fill=(255, 255, 255, 235), align="center"
    )


def _fit(
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    max_width: float,
    max_lines: int = 2,
) -> str:
    """Wrap to at most `max_lines` lines, with an ellipsis when the text does not fit."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if font.getlength(trial) <= max_width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(".,;: ") + "…"
    return "\n".join(lines)
