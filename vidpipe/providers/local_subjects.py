"""The offline painter's library of subjects: simple drawings of things a scene's words name
(vehicles, buildings, animals, objects, people), and the figures of named characters.

Each drawing stands on the ground at (x, base) and is `size` pixels tall; it draws with a
Pillow ImageDraw on a layer of its own, so the painter (and a test) can find it.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import ImageDraw

RGB = tuple[int, int, int]
Draw = Callable[[ImageDraw.ImageDraw, float, float, float], None]

INK = (28, 28, 36)
WHITE = (240, 240, 235)


def _car(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 2.2
    d.rounded_rectangle(
        [x - w / 2, base - s * 0.75, x + w / 2, base - s * 0.25], s * 0.12, (200, 40, 45)
    )
    d.polygon(
        [
            (x - w * 0.28, base - s * 0.75),
            (x - w * 0.16, base - s),
            (x + w * 0.2, base - s),
            (x + w * 0.32, base - s * 0.75),
        ],
        fill=(200, 40, 45),
    )
    d.rectangle(
        [x - w * 0.13, base - s * 0.93, x + w * 0.17, base - s * 0.77], fill=(170, 210, 235)
    )
    for wheel in (x - w * 0.3, x + w * 0.3):
        d.ellipse([wheel - s * 0.22, base - s * 0.44, wheel + s * 0.22, base], fill=INK)


def _bus(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 2.6
    d.rounded_rectangle([x - w / 2, base - s, x + w / 2, base - s * 0.18], s * 0.1, (240, 180, 40))
    for i in range(5):
        left = x - w / 2 + w * (0.06 + i * 0.18)
        d.rectangle([left, base - s * 0.9, left + w * 0.13, base - s * 0.6], fill=(170, 210, 235))
    for wheel in (x - w * 0.32, x + w * 0.32):
        d.ellipse([wheel - s * 0.18, base - s * 0.36, wheel + s * 0.18, base], fill=INK)


def _train(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 3
    d.rectangle([x - w / 2, base - s * 0.85, x + w * 0.2, base - s * 0.2], fill=(40, 90, 160))
    d.rounded_rectangle(
        [x + w * 0.2, base - s * 0.85, x + w / 2, base - s * 0.2], s * 0.2, (40, 90, 160)
    )
    for i in range(4):
        left = x - w / 2 + w * (0.05 + i * 0.17)
        d.rectangle([left, base - s * 0.72, left + w * 0.11, base - s * 0.45], fill=(220, 230, 240))
    d.rectangle([x - w / 2, base - s * 0.2, x + w / 2, base - s * 0.08], fill=INK)


def _boat(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 1.6
    d.polygon(
        [
            (x - w / 2, base - s * 0.3),
            (x + w / 2, base - s * 0.3),
            (x + w * 0.35, base),
            (x - w * 0.35, base),
        ],
        fill=(120, 60, 35),
    )
    d.line([(x, base - s * 0.3), (x, base - s * 1.2)], fill=INK, width=max(2, round(s * 0.04)))
    d.polygon(
        [
            (x + s * 0.03, base - s * 1.15),
            (x + s * 0.03, base - s * 0.38),
            (x + w * 0.45, base - s * 0.38),
        ],
        fill=WHITE,
    )


def _bicycle(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    r, width = s * 0.32, max(2, round(s * 0.05))
    for cx in (x - s * 0.45, x + s * 0.45):
        d.ellipse([cx - r, base - 2 * r, cx + r, base], outline=INK, width=width)
    hub = base - r
    d.line(
        [(x - s * 0.45, hub), (x, hub), (x + s * 0.2, base - s * 0.75), (x + s * 0.45, hub)],
        fill=(30, 140, 90),
        width=width,
    )
    d.line(
        [(x, hub), (x - s * 0.15, base - s * 0.75), (x + s * 0.2, base - s * 0.75)],
        fill=(30, 140, 90),
        width=width,
    )


def _rocket(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 0.3
    d.polygon(
        [
            (x - w / 2, base - s * 0.2),
            (x - w / 2, base - s * 0.8),
            (x, base - s),
            (x + w / 2, base - s * 0.8),
            (x + w / 2, base - s * 0.2),
        ],
        fill=WHITE,
    )
    d.polygon(
        [(x - w / 2, base - s * 0.4), (x - w, base), (x - w / 2, base - s * 0.1)],
        fill=(200, 40, 45),
    )
    d.polygon(
        [(x + w / 2, base - s * 0.4), (x + w, base), (x + w / 2, base - s * 0.1)],
        fill=(200, 40, 45),
    )
    d.ellipse([x - w * 0.25, base - s * 0.68, x + w * 0.25, base - s * 0.56], fill=(80, 150, 220))


def _plane(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    y = base - s * 0.6
    d.rounded_rectangle([x - s, y - s * 0.1, x + s, y + s * 0.1], s * 0.1, WHITE)
    d.polygon(
        [(x - s * 0.2, y), (x + s * 0.25, y), (x - s * 0.05, y + s * 0.55)], fill=(200, 205, 215)
    )
    d.polygon(
        [(x - s * 0.95, y - s * 0.05), (x - s * 0.8, y - s * 0.4), (x - s * 0.65, y - s * 0.05)],
        fill=(200, 40, 45),
    )


def _lighthouse(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    bottom, top = s * 0.16, s * 0.1
    for band in range(5):
        y0, y1 = base - s * 0.8 * band / 5, base - s * 0.8 * (band + 1) / 5
        w0 = bottom + (top - bottom) * band / 5
        w1 = bottom + (top - bottom) * (band + 1) / 5
        color = (200, 40, 45) if band % 2 else WHITE
        d.polygon([(x - w0, y0), (x + w0, y0), (x + w1, y1), (x - w1, y1)], fill=color)
    d.rectangle([x - top, base - s * 0.92, x + top, base - s * 0.8], fill=(255, 235, 150))
    d.polygon(
        [(x - top * 1.3, base - s * 0.92), (x + top * 1.3, base - s * 0.92), (x, base - s)],
        fill=INK,
    )


def _house(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 1.1
    d.rectangle([x - w / 2, base - s * 0.6, x + w / 2, base], fill=(215, 190, 150))
    d.polygon(
        [(x - w * 0.6, base - s * 0.6), (x + w * 0.6, base - s * 0.6), (x, base - s)],
        fill=(150, 60, 45),
    )
    d.rectangle([x - w * 0.1, base - s * 0.3, x + w * 0.1, base], fill=(90, 55, 35))
    for wx in (x - w * 0.33, x + w * 0.2):
        d.rectangle([wx, base - s * 0.48, wx + w * 0.13, base - s * 0.33], fill=(250, 225, 140))


def _castle(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 1.4
    stone = (150, 145, 140)
    d.rectangle([x - w / 2, base - s * 0.55, x + w / 2, base], fill=stone)
    for tx in (x - w / 2, x + w / 2 - w * 0.22):
        d.rectangle([tx, base - s * 0.9, tx + w * 0.22, base], fill=stone)
        d.polygon(
            [
                (tx - w * 0.03, base - s * 0.9),
                (tx + w * 0.25, base - s * 0.9),
                (tx + w * 0.11, base - s),
            ],
            fill=(90, 60, 110),
        )
    d.chord([x - w * 0.1, base - s * 0.35, x + w * 0.1, base + s * 0.1], 180, 360, fill=INK)


def _tower(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 0.35
    d.rectangle([x - w / 2, base - s, x + w / 2, base], fill=(120, 130, 150))
    for row in range(8):
        y = base - s + s * (0.06 + row * 0.11)
        d.rectangle([x - w * 0.35, y, x + w * 0.35, y + s * 0.05], fill=(250, 225, 140))


def _bridge(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 3
    deck = base - s * 0.4
    d.rectangle([x - w / 2, deck, x + w / 2, deck + s * 0.08], fill=(170, 60, 45))
    d.arc(
        [x - w / 2, deck - s * 0.5, x + w / 2, deck + s * 0.5],
        180,
        360,
        fill=(170, 60, 45),
        width=max(2, round(s * 0.05)),
    )
    for px in (x - w * 0.3, x + w * 0.3):
        d.rectangle([px - s * 0.05, deck - s * 0.6, px + s * 0.05, base], fill=(170, 60, 45))


def _cat(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    fur = (230, 140, 50)
    d.ellipse([x - s * 0.4, base - s * 0.55, x + s * 0.3, base], fill=fur)
    d.ellipse([x + s * 0.1, base - s * 0.9, x + s * 0.5, base - s * 0.5], fill=fur)
    d.polygon(
        [
            (x + s * 0.12, base - s * 0.78),
            (x + s * 0.17, base - s),
            (x + s * 0.27, base - s * 0.86),
        ],
        fill=fur,
    )
    d.polygon(
        [
            (x + s * 0.33, base - s * 0.86),
            (x + s * 0.43, base - s),
            (x + s * 0.48, base - s * 0.78),
        ],
        fill=fur,
    )
    d.line(
        [(x - s * 0.38, base - s * 0.2), (x - s * 0.6, base - s * 0.6)],
        fill=fur,
        width=max(2, round(s * 0.08)),
    )


def _dog(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    fur = (140, 95, 60)
    d.rounded_rectangle([x - s * 0.5, base - s * 0.6, x + s * 0.3, base - s * 0.3], s * 0.12, fur)
    for lx in (x - s * 0.45, x - s * 0.3, x + s * 0.1, x + s * 0.22):
        d.rectangle([lx, base - s * 0.35, lx + s * 0.08, base], fill=fur)
    d.ellipse([x + s * 0.15, base - s * 0.95, x + s * 0.55, base - s * 0.55], fill=fur)
    d.ellipse([x + s * 0.12, base - s * 0.85, x + s * 0.25, base - s * 0.55], fill=(90, 60, 40))


def _bird(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    y = base - s * 0.8
    width = max(2, round(s * 0.06))
    d.arc([x - s * 0.5, y - s * 0.2, x, y + s * 0.2], 200, 340, fill=INK, width=width)
    d.arc([x, y - s * 0.2, x + s * 0.5, y + s * 0.2], 200, 340, fill=INK, width=width)


def _fish(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    y = base - s * 0.4
    d.ellipse([x - s * 0.5, y - s * 0.25, x + s * 0.3, y + s * 0.25], fill=(240, 120, 60))
    d.polygon(
        [(x + s * 0.25, y), (x + s * 0.55, y - s * 0.25), (x + s * 0.55, y + s * 0.25)],
        fill=(240, 120, 60),
    )
    d.ellipse([x - s * 0.35, y - s * 0.08, x - s * 0.25, y + s * 0.02], fill=INK)


def _horse(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    coat = (110, 70, 45)
    d.rounded_rectangle([x - s * 0.5, base - s * 0.75, x + s * 0.3, base - s * 0.4], s * 0.15, coat)
    for lx in (x - s * 0.45, x - s * 0.32, x + s * 0.12, x + s * 0.22):
        d.rectangle([lx, base - s * 0.45, lx + s * 0.07, base], fill=coat)
    d.polygon(
        [
            (x + s * 0.2, base - s * 0.7),
            (x + s * 0.35, base - s * 1.05),
            (x + s * 0.6, base - s * 0.9),
            (x + s * 0.32, base - s * 0.55),
        ],
        fill=coat,
    )


def _bottle(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    glass = (90, 160, 120)
    w = s * 0.3
    d.rounded_rectangle([x - w / 2, base - s * 0.65, x + w / 2, base], w * 0.2, glass)
    d.polygon(
        [
            (x - w / 2, base - s * 0.62),
            (x - w * 0.15, base - s * 0.82),
            (x + w * 0.15, base - s * 0.82),
            (x + w / 2, base - s * 0.62),
        ],
        fill=glass,
    )
    d.rectangle([x - w * 0.15, base - s, x + w * 0.15, base - s * 0.8], fill=glass)
    d.rectangle(
        [x - w * 0.3, base - s * 0.45, x + w * 0.3, base - s * 0.2], fill=(240, 230, 200)
    )  # the message


def _cup(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 0.7
    d.ellipse([x - w * 0.8, base - s * 0.1, x + w * 0.8, base + s * 0.02], fill=WHITE)  # saucer
    d.chord([x - w / 2, base - s * 1.1, x + w / 2, base], 0, 180, fill=WHITE)
    d.rectangle([x - w / 2, base - s * 0.6, x + w / 2, base - s * 0.55], fill=WHITE)
    d.arc(
        [x + w * 0.35, base - s * 0.5, x + w * 0.75, base - s * 0.15],
        270,
        90,
        fill=WHITE,
        width=max(2, round(s * 0.07)),
    )
    d.ellipse([x - w / 2, base - s * 0.66, x + w / 2, base - s * 0.5], fill=(90, 55, 30))  # coffee
    for sx in (x - w * 0.15, x + w * 0.15):
        d.arc(
            [sx - s * 0.08, base - s, sx + s * 0.08, base - s * 0.72],
            90,
            270,
            fill=(230, 230, 230),
            width=2,
        )


def _book(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 0.9
    d.polygon(
        [(x - w, base - s * 0.2), (x, base), (x, base - s * 0.7), (x - w, base - s * 0.9)],
        fill=WHITE,
    )
    d.polygon(
        [(x + w, base - s * 0.2), (x, base), (x, base - s * 0.7), (x + w, base - s * 0.9)],
        fill=(230, 225, 210),
    )
    for row in range(4):
        y = base - s * (0.7 - row * 0.13)
        d.line([(x - w * 0.85, y - s * 0.15), (x - w * 0.1, y)], fill=(150, 150, 160), width=1)


def _phone(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 0.5
    d.rounded_rectangle([x - w / 2, base - s, x + w / 2, base], w * 0.15, INK)
    d.rectangle([x - w * 0.42, base - s * 0.92, x + w * 0.42, base - s * 0.1], fill=(90, 170, 230))


def _robot(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    metal = (170, 180, 195)
    d.rectangle([x - s * 0.22, base - s * 0.65, x + s * 0.22, base - s * 0.25], fill=metal)
    d.rectangle([x - s * 0.18, base - s * 0.92, x + s * 0.18, base - s * 0.68], fill=metal)
    for ex in (x - s * 0.09, x + s * 0.09):
        d.ellipse(
            [ex - s * 0.04, base - s * 0.84, ex + s * 0.04, base - s * 0.76], fill=(80, 220, 255)
        )
    d.line([(x, base - s * 0.92), (x, base - s)], fill=metal, width=max(2, round(s * 0.03)))
    for lx in (x - s * 0.16, x + s * 0.08):
        d.rectangle([lx, base - s * 0.25, lx + s * 0.08, base], fill=metal)
    for ax in ((x - s * 0.35, x - s * 0.22), (x + s * 0.22, x + s * 0.35)):
        d.rectangle([ax[0], base - s * 0.62, ax[1], base - s * 0.35], fill=metal)


def _lamp(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    d.rectangle([x - s * 0.03, base - s * 0.9, x + s * 0.03, base], fill=INK)
    d.polygon(
        [
            (x - s * 0.15, base - s * 0.8),
            (x + s * 0.15, base - s * 0.8),
            (x + s * 0.08, base - s),
            (x - s * 0.08, base - s),
        ],
        fill=(255, 225, 140),
    )


def _flower(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    d.line([(x, base), (x, base - s * 0.7)], fill=(60, 130, 60), width=max(2, round(s * 0.05)))
    for dx, dy in ((0, -0.12), (0.12, 0), (0, 0.12), (-0.12, 0)):
        cx, cy = x + dx * s, base - s * 0.8 + dy * s
        d.ellipse([cx - s * 0.1, cy - s * 0.1, cx + s * 0.1, cy + s * 0.1], fill=(230, 80, 120))
    d.ellipse([x - s * 0.06, base - s * 0.86, x + s * 0.06, base - s * 0.74], fill=(250, 210, 60))


def _guitar(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    wood = (200, 120, 50)
    d.ellipse([x - s * 0.25, base - s * 0.45, x + s * 0.25, base], fill=wood)
    d.ellipse([x - s * 0.18, base - s * 0.65, x + s * 0.18, base - s * 0.35], fill=wood)
    d.ellipse([x - s * 0.07, base - s * 0.3, x + s * 0.07, base - s * 0.16], fill=INK)
    d.rectangle([x - s * 0.03, base - s, x + s * 0.03, base - s * 0.55], fill=(90, 55, 30))


def _backpack(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    w = s * 0.6
    d.rounded_rectangle([x - w / 2, base - s * 0.85, x + w / 2, base], w * 0.3, (40, 110, 170))
    d.rounded_rectangle(
        [x - w * 0.35, base - s * 0.4, x + w * 0.35, base - s * 0.1], w * 0.1, (30, 85, 140)
    )
    d.arc(
        [x - w * 0.25, base - s, x + w * 0.25, base - s * 0.7],
        180,
        360,
        fill=(30, 85, 140),
        width=max(2, round(s * 0.05)),
    )


def _shoe(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    d.polygon(
        [
            (x - s * 0.6, base - s * 0.1),
            (x - s * 0.5, base - s * 0.5),
            (x - s * 0.15, base - s * 0.5),
            (x + s * 0.1, base - s * 0.3),
            (x + s * 0.6, base - s * 0.2),
            (x + s * 0.6, base - s * 0.1),
        ],
        fill=(230, 60, 60),
    )
    d.rectangle([x - s * 0.62, base - s * 0.1, x + s * 0.62, base], fill=WHITE)


def _watch(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    d.rectangle([x - s * 0.12, base - s, x + s * 0.12, base], fill=(60, 50, 45))
    d.ellipse([x - s * 0.3, base - s * 0.8, x + s * 0.3, base - s * 0.2], fill=(200, 170, 90))
    d.ellipse([x - s * 0.25, base - s * 0.75, x + s * 0.25, base - s * 0.25], fill=WHITE)
    d.line([(x, base - s * 0.5), (x, base - s * 0.68)], fill=INK, width=2)
    d.line([(x, base - s * 0.5), (x + s * 0.13, base - s * 0.5)], fill=INK, width=2)


def _tree(d: ImageDraw.ImageDraw, x: float, base: float, s: float) -> None:
    d.rectangle([x - s * 0.06, base - s * 0.4, x + s * 0.06, base], fill=(100, 65, 40))
    d.ellipse([x - s * 0.35, base - s, x + s * 0.35, base - s * 0.3], fill=(50, 120, 55))


@dataclass(frozen=True)
class Subject:
    name: str
    words: tuple[str, ...]  # whole words (or phrases) that name it; plurals are matched too
    kind: str  # vehicle, building, animal, object
    draw: Draw
    scale: float  # height as a share of a standing figure's height


SUBJECTS: tuple[Subject, ...] = (
    Subject("car", ("car", "taxi", "automobile", "jeep", "van"), "vehicle", _car, 0.45),
    Subject("bus", ("bus", "tram", "coach"), "vehicle", _bus, 0.6),
    Subject("train", ("train", "locomotive", "subway", "metro"), "vehicle", _train, 0.6),
    Subject("boat", ("boat", "ship", "sailboat", "yacht", "raft", "ferry"), "vehicle", _boat, 0.9),
    Subject("bicycle", ("bicycle", "bike", "cyclist"), "vehicle", _bicycle, 0.55),
    Subject("rocket", ("rocket", "spaceship", "spacecraft"), "vehicle", _rocket, 1.6),
    Subject("plane", ("plane", "airplane", "aeroplane", "jet", "flight"), "vehicle", _plane, 0.5),
    Subject("lighthouse", ("lighthouse",), "building", _lighthouse, 2.2),
    Subject("house", ("house", "cottage", "cabin", "home", "farmhouse"), "building", _house, 1.4),
    Subject("castle", ("castle", "fortress", "palace"), "building", _castle, 1.8),
    Subject("tower", ("tower", "skyscraper"), "building", _tower, 2.4),
    Subject("bridge", ("bridge",), "building", _bridge, 1.0),
    Subject("cat", ("cat", "kitten"), "animal", _cat, 0.35),
    Subject("dog", ("dog", "puppy"), "animal", _dog, 0.4),
    Subject("bird", ("bird", "gull", "seagull", "crow", "owl"), "animal", _bird, 0.5),
    Subject("fish", ("fish", "whale", "dolphin"), "animal", _fish, 0.4),
    Subject("horse", ("horse", "pony"), "animal", _horse, 1.0),
    Subject("robot", ("robot", "android"), "object", _robot, 0.9),
    Subject("bottle", ("bottle",), "object", _bottle, 0.35),
    Subject("cup", ("cup", "coffee", "mug", "tea", "espresso"), "object", _cup, 0.3),
    Subject("book", ("book", "novel", "notebook", "diary", "letter"), "object", _book, 0.25),
    Subject("phone", ("phone", "smartphone", "app"), "object", _phone, 0.3),
    Subject("lamp", ("lamp", "lantern", "candle"), "object", _lamp, 0.4),
    Subject("flower", ("flower", "rose", "bloom", "garden"), "object", _flower, 0.3),
    Subject("guitar", ("guitar", "song", "band", "music"), "object", _guitar, 0.6),
    Subject("backpack", ("backpack", "rucksack", "bag"), "object", _backpack, 0.4),
    Subject("shoe", ("shoe", "sneaker", "trainer", "boot"), "object", _shoe, 0.25),
    Subject("watch", ("watch", "clock"), "object", _watch, 0.3),
    Subject("tree", ("tree", "oak", "pine"), "object", _tree, 1.3),
)
# words that name a person: drawn as a figure (a named character gets its own figure)
PEOPLE = (
    "person",
    "man",
    "woman",
    "boy",
    "girl",
    "child",
    "kid",
    "keeper",
    "chef",
    "baker",
    "dancer",
    "singer",
    "runner",
    "traveller",
    "traveler",
    "hiker",
    "painter",
    "artist",
    "farmer",
    "sailor",
    "detective",
    "explorer",
    "student",
    "teacher",
    "friend",
    "friends",
    "family",
    "hero",
    "heroine",
    "knight",
    "astronaut",
    "musician",
    "barista",
    "couple",
)


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """How one character is drawn, the same in every scene: from its name alone."""

    color: RGB
    body: str  # "coat" (a trapezoid), "dress" (a triangle), "round", "square"
    head: str  # "round" or "square"
    hat: bool


BODIES = ("coat", "dress", "round", "square")


def figure_for(name: str) -> Figure:
    digest = hashlib.sha256(name.strip().lower().encode()).digest()
    hue = digest[0] / 255
    r, g, b = colorsys.hsv_to_rgb(hue, 0.55 + digest[1] / 255 * 0.3, 0.55 + digest[2] / 255 * 0.3)
    return Figure(
        (round(r * 255), round(g * 255), round(b * 255)),
        BODIES[digest[3] % len(BODIES)],
        "square" if digest[4] % 3 == 0 else "round",
        digest[5] % 2 == 0,
    )


# colours a character's description may name: their figure wears the first one named
COLOR_WORDS: dict[str, RGB] = {
    "red": (196, 52, 46),
    "orange": (226, 128, 40),
    "yellow": (226, 196, 52),
    "green": (60, 150, 72),
    "blue": (48, 92, 186),
    "purple": (124, 70, 160),
    "pink": (222, 120, 160),
    "brown": (124, 84, 52),
    "black": (40, 40, 44),
    "white": (232, 232, 228),
    "grey": (128, 128, 132),
    "gray": (128, 128, 132),
}


def character_figure(name: str, description: str = "") -> Figure:
    """A character's figure: from the name, in the first colour the description names."""
    figure = figure_for(name)
    words = re.findall(r"[a-z]+", description.lower())
    color = next((COLOR_WORDS[word] for word in words if word in COLOR_WORDS), None)
    return replace(figure, color=color) if color else figure


def draw_figure(d: ImageDraw.ImageDraw, x: float, base: float, s: float, figure: Figure) -> None:
    """A standing figure `s` pixels tall, feet at (x, base)."""
    head = s * 0.13
    body_top = base - s * 0.75
    color = figure.color
    if figure.body == "coat":
        d.polygon(
            [
                (x - s * 0.13, base),
                (x + s * 0.13, base),
                (x + s * 0.09, body_top),
                (x - s * 0.09, body_top),
            ],
            fill=color,
        )
    elif figure.body == "dress":
        d.polygon(
            [(x - s * 0.18, base), (x + s * 0.18, base), (x, body_top - s * 0.02)], fill=color
        )
        d.rectangle([x - s * 0.05, body_top, x + s * 0.05, base - s * 0.35], fill=color)
    elif figure.body == "round":
        d.ellipse([x - s * 0.15, body_top, x + s * 0.15, base - s * 0.12], fill=color)
        for lx in (x - s * 0.08, x + s * 0.04):
            d.rectangle([lx, base - s * 0.16, lx + s * 0.04, base], fill=INK)
    else:
        d.rectangle([x - s * 0.11, body_top, x + s * 0.11, base - s * 0.25], fill=color)
        for lx in (x - s * 0.1, x + s * 0.04):
            d.rectangle([lx, base - s * 0.25, lx + s * 0.06, base], fill=INK)
    face = (235, 200, 170)
    top = body_top - head * 2.05
    if figure.head == "square":
        d.rectangle([x - head * 0.9, top, x + head * 0.9, body_top - head * 0.1], fill=face)
    else:
        d.ellipse([x - head, top, x + head, body_top - head * 0.05], fill=face)
    if figure.hat:
        d.rectangle(
            [x - head * 1.5, top + head * 0.15, x + head * 1.5, top + head * 0.35], fill=INK
        )
        d.rectangle([x - head * 0.9, top - head * 0.6, x + head * 0.9, top + head * 0.2], fill=INK)
