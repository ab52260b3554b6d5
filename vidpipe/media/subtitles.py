"""Subtitles: a scene's narration cut into cues timed over its speech, written as SubRip
(.srt) and WebVTT (.vtt)."""

from __future__ import annotations

import re
from dataclasses import dataclass

LINE_CHARS = 42  # a subtitle line, and two lines to a cue (broadcast practice)
CUE_CHARS = 2 * LINE_CHARS


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str


def chunks(text: str, limit: int = CUE_CHARS) -> list[str]:
    """The text in pieces of at most `limit` characters, cut after sentences where it can,
    else between words (a word longer than `limit` stands alone)."""
    pieces: list[str] = []
    for sentence in re.split(r"(?<=[.!?。！？])\s+", " ".join(text.split())):
        current = ""
        for word in sentence.split(" "):
            joined = f"{current} {word}".strip()
            if current and len(joined) > limit:
                pieces.append(current)
                current = word
            else:
                current = joined
        if current:
            pieces.append(current)
    return pieces


def wrapped(text: str) -> str:
    """A cue's text on at most two lines, broken at the space nearest the middle."""
    if len(text) <= LINE_CHARS or " " not in text:
        return text
    middle = len(text) // 2
    spaces = [at for at, char in enumerate(text) if char == " "]
    cut = min(spaces, key=lambda at: abs(at - middle))
    return f"{text[:cut]}\n{text[cut + 1 :]}"


def cues_for(text: str, start: float, end: float) -> list[Cue]:
    """Cues for `text` spoken over [start, end): one per piece, timed by its share of the
    characters (speech runs at a roughly even rate of characters)."""
    pieces = chunks(text)
    total = sum(len(piece) for piece in pieces)
    cues, at = [], start
    for piece in pieces:
        length = (end - start) * len(piece) / total
        cues.append(Cue(at, at + length, wrapped(piece)))
        at += length
    return cues


def _stamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{separator}{millis:03d}"


def srt(cues: list[Cue]) -> str:
    return "".join(
        f"{number}\n{_stamp(cue.start, ',')} --> {_stamp(cue.end, ',')}\n{cue.text}\n\n"
        for number, cue in enumerate(cues, start=1)
    )


def vtt(cues: list[Cue]) -> str:
    body = "".join(
        f"{_stamp(cue.start, '.')} --> {_stamp(cue.end, '.')}\n{_vtt_text(cue.text)}\n\n"
        for cue in cues
    )
    return "WEBVTT\n\n" + body


def _vtt_text(text: str) -> str:
    """Cue text as WebVTT reads it (`<` and `&` start markup there)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
