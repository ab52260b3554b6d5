"""The offline keyframe painter: a deterministic illustration of a scene, drawn with Pillow.

It reads the scene's words, not pixels, matching whole words (with their plurals), never parts
of words: the light (dawn ... night) and the shot (wide, medium, close-up, low-angle), the
setting from a table of settings and their synonyms (a street, a room, the sea ...), the
weather, the scene's main subject from the library in local_subjects (a lighthouse, a bottle, a
robot ...), and the characters it names, each drawn as its own figure (the same in every
scene). The project's style sets a palette and a finish. Every element is painted on a layer of
its own (`paint_layers`), so what was drawn can be checked. The same scene always gives the
same picture. Text is not painted here: the clip lays the caption over the moving picture.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from vidpipe.providers.local_subjects import (
    PEOPLE,
    SUBJECTS,
    Figure,
    Subject,
    draw_figure,
    figure_for,
)

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
# setting -> the whole words (or phrases) that name it; plurals match too ("streets", "cities").
# Checked in order: a street is also in a city, so the street comes first.
SETTINGS: dict[str, tuple[str, ...]] = {
    "room": (
        "kitchen",
        "room",
        "bedroom",
        "studio",
        "office",
        "cafe",
        "café",
        "shop",
        "store",
        "workshop",
        "classroom",
        "library",
        "indoors",
        "interior",
        "desk",
        "table",
        "counter",
    ),
    "street": ("street", "road", "avenue", "alley", "boulevard", "sidewalk", "crossing"),
    "sea": (
        "sea",
        "ocean",
        "lighthouse",
        "beach",
        "shore",
        "coast",
        "harbor",
        "harbour",
        "port",
        "bay",
        "island",
        "wave",
        "lake",
        "river",
        "sail",
        "sailing",
        "pier",
    ),
    "forest": ("forest", "woods", "woodland", "jungle", "park", "grove", "tree"),
    "mountains": ("mountain", "peak", "valley", "snow", "cliff", "alps", "highlands", "summit"),
    "desert": ("desert", "sand", "dune", "canyon", "mars", "savanna"),
    "city": (
        "city",
        "town",
        "downtown",
        "skyline",
        "building",
        "neon",
        "station",
        "market",
        "village",
        "square",
        "metropolis",
        "tokyo",
        "paris",
        "london",
        "new york",
        "lisbon",
        "rome",
        "berlin",
    ),
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


# light words besides the lights' own names
LIGHT_WORDS = {
    "sunrise": "dawn",
    "daybreak": "dawn",
    "noon": "midday",
    "sunset": "golden hour",
    "evening": "dusk",
    "twilight": "dusk",
    "midnight": "night",
    "nighttime": "night",
}
WEATHER = {
    "rain": ("rain", "rainy", "raining", "storm", "stormy"),
    "snow": ("snow", "snowy", "snowing", "winter"),
    "fog": ("fog", "foggy", "mist", "misty", "haze"),
}


@dataclass(frozen=True)
class Look:
    light: str
    shot: str
    setting: str
    weather: str
    subject: Subject | None
    hue_shift: float | None
    saturation: float
    finish: str


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-zà-ÿ]+", text.lower())


def _forms(word: str) -> set[str]:
    """A word and its plurals."""
    forms = {word, f"{word}s", f"{word}es"}
    if word.endswith("y"):
        forms.add(f"{word[:-1]}ies")
    if word.endswith("f"):
        forms.add(f"{word[:-1]}ves")
    return forms


@functools.cache
def _phrase(phrase: str) -> tuple[list[str], frozenset[str]]:
    """A phrase's leading words, and the forms of its last word."""
    *lead, last = words_of(phrase)
    return lead, frozenset(_forms(last))


def _at(words: Sequence[str], i: int, phrase: str) -> bool:
    """Whether the whole words of `phrase` start at `words[i]` (its last word may be plural)."""
    lead, last_forms = _phrase(phrase)
    n = len(lead) + 1
    return (
        list(words[i : i + n - 1]) == lead
        and i + n <= len(words)
        and words[i + n - 1] in last_forms
    )


def names(words: Sequence[str], phrase: str) -> bool:
    """Whether `words` contain `phrase` as whole words."""
    return any(_at(words, i, phrase) for i in range(len(words)))


def _first(texts: Sequence[Sequence[str]], table: Mapping[str, tuple[str, ...]]) -> str | None:
    """The first entry of `table` named in the first of `texts` that names any."""
    for words in texts:
        for key, phrases in table.items():
            if any(names(words, phrase) for phrase in phrases):
                return key
    return None


def find_subject(*texts: str) -> Subject | None:
    """The library's subject named first in the first of `texts` that names one."""
    for text in texts:
        words = words_of(text)
        for i in range(len(words)):
            for subject in SUBJECTS:
                if any(_at(words, i, phrase) for phrase in subject.words):
                    return subject
    return None


def read_look(image_prompt: str, context: str, style: str, characters: Sequence[str] = ()) -> Look:
    shot_words, context_words = words_of(image_prompt), words_of(context)
    lights = {
        name: (name, *[w for w, light in LIGHT_WORDS.items() if light == name]) for name in LIGHTS
    }
    light = _first([context_words, shot_words], lights) or "afternoon"
    shots = {name: (name.replace("-", " "),) for name in SHOTS}
    shot = _first([shot_words], shots) or "medium"
    setting = _first([shot_words, context_words], SETTINGS) or "hills"
    weather = _first([context_words, shot_words], WEATHER) or ""
    # in the shot's own words a character's name is not a subject ("the lighthouse keeper and
    # the bottle": the bottle); the scene's other words may name it
    shot_only = image_prompt
    for name in sorted(characters, key=len, reverse=True):
        shot_only = re.sub(rf"\b{re.escape(name)}\b", " ", shot_only, flags=re.IGNORECASE)
    subject = find_subject(shot_only, context)
    style_words = style.lower()
    hue, saturation, finish = next(
        (value for key, value in STYLES.items() if names(words_of(style_words), key)),
        (_stable_fraction(style_words), 1.0, "plain"),
    )
    return Look(light, shot, setting, weather, subject, hue, saturation, finish)


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


@dataclass
class Layer:
    """One element of the picture, on a transparent layer of the frame's size."""

    name: str  # "sky", "setting:street", "weather:rain", "subject:lighthouse", "character:Mara"
    image: Image.Image  # RGBA

    @classmethod
    def new(cls, name: str, size: tuple[int, int]) -> tuple[Layer, ImageDraw.ImageDraw]:
        layer = cls(name, Image.new("RGBA", size, (0, 0, 0, 0)))
        return layer, ImageDraw.Draw(layer.image)


def paint_keyframe(
    out: Path,
    size: tuple[int, int],
    *,
    image_prompt: str,
    context: str,
    style: str,
    characters: Sequence[str] = (),
    figures: Mapping[str, Figure] | None = None,
) -> list[str]:
    """Paint the scene to `out` (PNG); returns the names of the layers painted. `figures`:
    the scene's own cast (name -> figure, from their portraits), instead of the `characters`
    its words name."""
    image, layers = paint_layers(
        size,
        image_prompt=image_prompt,
        context=context,
        style=style,
        characters=characters,
        figures=figures,
    )
    image.save(out, format="PNG", optimize=False, compress_level=1)
    return [layer.name for layer in layers]


def paint_layers(
    size: tuple[int, int],
    *,
    image_prompt: str,
    context: str,
    style: str,
    characters: Sequence[str] = (),
    figures: Mapping[str, Figure] | None = None,
) -> tuple[Image.Image, list[Layer]]:
    """The finished picture and its layers, bottom to top (before the style's finish)."""
    width, height = size
    look = read_look(image_prompt, context, style, [*characters, *(figures or {})])
    seed = hashlib.sha256(
        f"{image_prompt}|{context}|{style}|{size}|{characters}|{figures or ''}".encode()
    )
    rng = random.Random(seed.hexdigest())
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
    glow = _soft(
        size,
        [sun_x - radius * 3, sun_y - radius * 3, sun_x + radius * 3, sun_y + radius * 3],
        90,
        radius * 1.5,
    )
    image.paste(sun_color, mask=glow)
    draw.ellipse([sun_x - radius, sun_y - radius, sun_x + radius, sun_y + radius], fill=sun_color)

    layers: list[Layer] = []
    setting, setting_draw = Layer.new(f"setting:{look.setting}", size)
    if look.setting == "room":
        _paint_room(setting_draw, rng, look, size, horizon_y, sky_low, ground)
    elif look.setting == "street":
        _paint_street(setting_draw, rng, look, size, horizon_y, sky_low, ground)
    else:
        _paint_setting(setting_draw, rng, look, size, horizon_y, sky_low, ground)
    layers.append(setting)
    text = f"{image_prompt} {context}"
    cast = (
        dict(figures)
        if figures is not None
        else {name: figure_for(name) for name in scene_characters(characters, text)}
    )
    layers += _paint_cast(rng, look, size, horizon_y, cast, text)
    if look.weather:
        layers.append(_paint_weather(rng, look.weather, size))
    picture = image.convert("RGBA")
    for layer in layers:
        box = layer.image.getbbox()  # only where it drew
        if box:
            picture.alpha_composite(layer.image, dest=box[:2], source=box)
    return _finish(picture.convert("RGB"), look, rng), layers


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


def _paint_room(draw, rng, look: Look, size, horizon_y: int, sky_low: RGB, ground: RGB) -> None:
    """An interior: a wall with a window onto the sky, a floor, a table edge."""
    width, height = size
    wall = _grade(_mix((200, 180, 150), sky_low, 0.2), look)
    draw.rectangle([0, 0, width, height], fill=wall)
    wx = width * rng.uniform(0.55, 0.7)
    window = [wx, height * 0.12, wx + width * 0.24, horizon_y - height * 0.12]
    draw.rectangle(window, fill=(0, 0, 0, 0))  # the sky shows through
    draw.rectangle(window, outline=_mix(wall, (60, 40, 30), 0.5), width=max(3, width // 150))
    mid = (window[0] + window[2]) / 2
    draw.line([(mid, window[1]), (mid, window[3])], fill=_mix(wall, (60, 40, 30), 0.5), width=3)
    shelf_y = height * rng.uniform(0.25, 0.35)
    draw.rectangle(
        [width * 0.06, shelf_y, width * 0.4, shelf_y + height * 0.02], fill=(120, 80, 50)
    )
    for i in range(rng.randrange(3, 7)):
        jar = width * (0.08 + i * 0.05)
        draw.rectangle(
            [jar, shelf_y - height * 0.06, jar + width * 0.03, shelf_y],
            fill=_grade((rng.randrange(80, 220), rng.randrange(80, 200), 120), look),
        )
    draw.rectangle([0, horizon_y, width, height], fill=_mix(ground, (110, 80, 60), 0.6))
    draw.rectangle([0, horizon_y, width, horizon_y + height * 0.03], fill=(90, 60, 40))


def _paint_street(draw, rng, look: Look, size, horizon_y: int, sky_low: RGB, ground: RGB) -> None:
    """A street in perspective: buildings on both sides, a road to the vanishing point."""
    width, height = size
    vanish = width * rng.uniform(0.42, 0.58)
    far = _mix(sky_low, (60, 60, 70), 0.5)
    draw.polygon(
        [
            (0, height),
            (vanish - width * 0.03, horizon_y),
            (vanish + width * 0.03, horizon_y),
            (width, height),
        ],
        fill=_mix(ground, (60, 60, 65), 0.8),
    )
    draw.polygon(
        [(vanish, horizon_y), (vanish - width * 0.01, height), (vanish + width * 0.01, height)],
        fill=(220, 210, 150),
    )
    night = look.light in ("night", "dusk")
    for side in (-1, 1):
        edge = vanish + side * width * 0.04
        x = 0.0 if side < 0 else float(width)
        while (x < edge) if side < 0 else (x > edge):
            w = width * rng.uniform(0.06, 0.12)
            depth = abs(x - vanish) / (width * 0.6)
            top = horizon_y - height * (0.1 + 0.55 * depth) * rng.uniform(0.7, 1.1)
            near_x, far_x = (x, x - w * side)
            color = _mix(far, (20, 20, 30), rng.uniform(0.1, 0.5))
            draw.rectangle(
                [min(near_x, far_x), top, max(near_x, far_x), horizon_y + height * 0.3 * depth],
                fill=color,
            )
            for wy in range(int(top) + 8, horizon_y - 4, 16):
                for wx in range(int(min(near_x, far_x)) + 5, int(max(near_x, far_x)) - 6, 12):
                    if rng.random() < (0.55 if night else 0.2):
                        draw.rectangle([wx, wy, wx + 4, wy + 7], fill=(250, 220, 140))
            x -= w * side * 0.85
    for side in (-1, 1):  # street lamps
        for step in range(3):
            t = 0.35 + step * 0.25
            lx = vanish + side * width * 0.5 * t
            ly = horizon_y + (height - horizon_y) * t
            tall = height * 0.35 * t
            draw.line([(lx, ly), (lx, ly - tall)], fill=(30, 30, 35), width=max(2, round(4 * t)))
            draw.ellipse(
                [lx - 6 * t, ly - tall - 6 * t, lx + 6 * t, ly - tall + 6 * t], fill=(255, 230, 150)
            )


def _paint_weather(rng: random.Random, weather: str, size: tuple[int, int]) -> Layer:
    width, height = size
    layer, draw = Layer.new(f"weather:{weather}", size)
    if weather == "rain":
        for _ in range(width * height // 2500):
            x, y = rng.uniform(0, width), rng.uniform(0, height)
            draw.line([(x, y), (x - 3, y + height * 0.04)], fill=(200, 210, 230, 120), width=1)
    elif weather == "snow":
        for _ in range(width * height // 3000):
            x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(1, 3)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255, 200))
    else:
        for band in range(6):
            y = height * (0.35 + band * 0.1)
            draw.rectangle([0, y, width, y + height * 0.08], fill=(225, 225, 230, 40))
    return layer


LITTLE_WORDS = {"the", "a", "an", "of", "and", "in", "on", "at", "to", "with", "old", "young", "my"}


def scene_characters(characters: Sequence[str], text: str) -> list[str]:
    """The characters (names) that `text` names, by any word of their name ("the lighthouse
    keeper" by "keeper" too), but for little words ("the")."""
    words = words_of(text)
    return [
        name
        for name in characters
        if any(names(words, part) for part in words_of(name) if part not in LITTLE_WORDS)
    ]


def _paint_cast(
    rng, look: Look, size, horizon_y: int, figures: Mapping[str, Figure], text: str
) -> list[Layer]:
    """The scene's subject and characters (name -> figure), on the thirds of the frame."""
    width, height = size
    layers: list[Layer] = []
    cast = list(figures)[:3]
    people = [word for word in PEOPLE if names(words_of(text), word)]
    if not cast and people and look.subject is None:
        cast = [people[0]]  # an unnamed person the words name ("a chef")
        figures = {people[0]: figure_for(people[0])}
    scale = {"wide": 0.16, "medium": 0.34, "close-up": 0.42, "low-angle": 0.55}[look.shot] * height
    feet = horizon_y + scale * 0.25
    slots = [width / 3, width * 2 / 3, width / 2]
    if rng.random() < 0.5:
        slots[:2] = slots[1::-1]
    subject = look.subject
    if subject is not None:
        layer, draw = Layer.new(f"subject:{subject.name}", size)
        big = look.shot == "close-up" or not cast
        tall = min(scale * subject.scale * (2.2 if look.shot == "close-up" else 1.0), height * 0.75)
        if big and subject.scale < 0.7:
            tall = max(tall, height * (0.45 if look.shot == "close-up" else 0.3))
        x = width / 2 if look.shot == "close-up" and not cast else slots.pop(0)
        base = feet if subject.kind != "building" else horizon_y + height * 0.02
        tall = min(tall, base - height * 0.06)  # the whole of it in the frame
        subject.draw(draw, x, base, tall)
        layers.append(layer)
    for name in cast:
        layer, draw = Layer.new(f"character:{name}", size)
        draw_figure(draw, slots.pop(0), feet, scale, figures[name])
        layers.append(layer)
        if not slots:
            break
    return layers


# --- portraits ------------------------------------------------------------------------------
# where a portrait's figure stands, as fractions of its height: feet, and height
PORTRAIT_FEET, PORTRAIT_HEIGHT = 0.92, 0.8


def paint_portrait(out: Path, side: int, name: str, figure: Figure, style: str) -> None:
    """A character's portrait (PNG, `side` pixels square): their figure standing on a plain
    backdrop in the style's hue, their name below. Not finished in the style: the keyframes
    read the figure's colour back from it (`portrait_figure`)."""
    hue = read_look("", "", style).hue_shift
    backdrop = colorsys.hsv_to_rgb(hue if hue is not None else 0.6, 0.12, 0.92)
    image = Image.new("RGB", (side, side), tuple(round(c * 255) for c in backdrop))
    draw = ImageDraw.Draw(image)
    draw_figure(draw, side / 2, side * PORTRAIT_FEET, side * PORTRAIT_HEIGHT, figure)
    font = ImageFont.load_default(size=max(10, round(side * 0.05)))
    width = font.getlength(name)
    draw.text(((side - width) / 2, side * 0.935), name, font=font, fill=(28, 28, 36))
    image.save(out, format="PNG", compress_level=1)


def portrait_figure(path: Path, drawn: Figure) -> Figure:
    """The figure of a character as their portrait shows it: `drawn` (their figure by name and
    description) in the commonest colour at the middle of the portrait's body, so that a portrait
    replaced by hand recolours the character in every scene."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    x, y = width / 2, height * (PORTRAIT_FEET - PORTRAIT_HEIGHT * 0.5)
    box = (round(x - width * 0.02), round(y - height * 0.02))
    patch = image.crop(
        (*box, box[0] + max(1, round(width * 0.04)), box[1] + max(1, round(height * 0.04)))
    )
    counted = patch.getcolors(maxcolors=patch.width * patch.height) or []
    if not counted:
        return drawn
    commonest: Any = max(counted)[1]  # an RGB image's colours are (r, g, b) tuples
    return replace(drawn, color=tuple(commonest))


def _soft(size: tuple[int, int], oval: list[float], level: int, blur: float) -> Image.Image:
    """A blurred oval mask, drawn and blurred at a quarter of the size (it is smooth anyway)."""
    small = Image.new("L", (max(size[0] // 4, 1), max(size[1] // 4, 1)), 0)
    ImageDraw.Draw(small).ellipse([v / 4 for v in oval], fill=level)
    small = small.filter(ImageFilter.GaussianBlur(blur / 4))
    return small.resize(size, Image.Resampling.BILINEAR)


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
        oval = [-width * 0.15, -height * 0.2, width * 1.15, height * 1.2]
        vignette = _soft(image.size, oval, 255, min(width, height) * 0.12)
        image = Image.composite(image, Image.new("RGB", image.size, (0, 0, 0)), vignette)
    return image


def paint_caption(out: Path, size: tuple[int, int], title: str, caption: str) -> None:
    """The scene's title and caption on a transparent image of the frame's size (PNG): the
    clip lays it over every frame, so the text stays put while the camera moves."""
    width, height = size
    unit = min(width, height)
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    title_font = ImageFont.load_default(size=max(10, round(unit * 0.035)))
    draw.text((unit * 0.04, unit * 0.04), title.upper(), font=title_font, fill=(255, 255, 255, 200))
    if caption:
        font = ImageFont.load_default(size=max(12, round(unit * 0.05)))
        text = _fit(caption, font, width * 0.86)
        box = draw.multiline_textbbox((0, 0), text, font=font, align="center")
        text_w, text_h = box[2] - box[0], box[3] - box[1]
        top = height - text_h - unit * 0.09
        draw.rectangle([0, top - unit * 0.03, width, height - unit * 0.03], fill=(0, 0, 0, 110))
        draw.multiline_text(
            ((width - text_w) / 2, top), text, font=font, fill=(255, 255, 255, 235), align="center"
        )
    image.save(out, format="PNG", compress_level=1)


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
