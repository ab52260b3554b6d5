"""A music bed synthesised with numpy: soft chords (a pad of detuned partials over a bass
note) and a gentle arpeggio, four chords to a loop, tiled to any length. No samples, no
randomness: the same mood and key give the same samples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# chords as semitones above the key's root (the bass plays the first note an octave down)
PROGRESSIONS = {
    "bright": [(0, 4, 7, 11), (7, 11, 14, 17), (9, 12, 16, 19), (5, 9, 12, 16)],  # I V vi IV
    "dark": [(9, 12, 16, 19), (5, 9, 12, 16), (0, 4, 7, 11), (7, 11, 14, 17)],  # vi IV I V
}
ROOT_HZ = 130.81  # C3
FADE_IN, FADE_OUT = 1.0, 2.0  # seconds


@dataclass(frozen=True)
class Bed:
    mood: str  # a key of PROGRESSIONS
    key: int  # semitones above C
    chord_seconds: float = 3.0


def _note(semitones: float) -> float:
    return ROOT_HZ * 2 ** (semitones / 12)


def _chord(bed: Bed, index: int, rate: int) -> NDArray[np.float32]:
    """Chord number `index` of the progression: its length, and a second of it ringing out."""
    import numpy as np

    chord = PROGRESSIONS[bed.mood][index]
    length, ring = int(bed.chord_seconds * rate), rate
    t = np.arange(length + ring) / rate
    swell = np.minimum(1.0, t / 0.6) * np.clip((length + ring - t * rate) / ring, 0.0, 1.0)
    voice = np.zeros(len(t), np.float32)
    for semitones in chord:  # the pad: two slightly detuned sines and a soft octave
        f = _note(bed.key + semitones)
        voice += _sine(f, t) + 0.6 * _sine(f * 1.003, t) + 0.15 * _sine(2 * f, t)
    voice += 1.5 * _sine(_note(bed.key + chord[0] - 12), t)  # the bass
    voice *= swell.astype(np.float32)
    # the arpeggio: chord notes an octave up, plucked on each half second
    step = int(0.5 * rate)
    for beat, first in enumerate(range(0, length, step)):
        f = 2 * _note(bed.key + chord[beat % len(chord)])
        tau = t[: length + ring - first]
        voice[first:] += 0.8 * _sine(f, tau) * np.exp(tau.astype(np.float32) * -3.0)
    return voice


def _sine(hz: float, t: NDArray[np.float64]) -> NDArray[np.float32]:
    """sin(2 pi hz t): the phase reduced to one turn in double precision, the sine taken in
    single (a tenth of the time; the bed is 16-bit in the end)."""
    import numpy as np

    turns = hz * t
    turns -= np.floor(turns)
    return np.sin(turns.astype(np.float32) * np.float32(2 * np.pi))


def _chords(bed: Bed, count: int, rate: int) -> NDArray[np.float32]:
    """The first `count` samples of the progression, played round and round: each chord's
    tail rings into the next one, the last chord's into the first (so a loop is seamless)."""
    import numpy as np

    chords = len(PROGRESSIONS[bed.mood])
    length = int(bed.chord_seconds * rate)
    needed = -(-count // length)
    if needed >= chords:  # one whole pass, wrapped round, then tiled
        loop = np.zeros(length * chords)
        for index in range(chords):
            voice = _chord(bed, index, rate)
            start = index * length
            inside = min(len(voice), len(loop) - start)  # the rest rings on from the start
            loop[start : start + inside] += voice[:inside]
            loop[: len(voice) - inside] += voice[inside:]
        track = np.tile(loop, -(-count // len(loop)))[:count]
    else:  # a film shorter than a pass: just the chords it needs
        track = np.zeros(needed * length + rate)
        for index in range(needed):
            track[index * length : index * length + length + rate] += _chord(bed, index, rate)
        track = track[:count]
    peak = np.max(np.abs(track)) if count else 1.0
    return (track / peak).astype(np.float32)


def music_bed(bed: Bed, seconds: float, rate: int) -> NDArray[np.float32]:
    """`seconds` of the bed (mono), faded in at the start and out at the end."""
    import numpy as np

    count = max(0, round(seconds * rate))
    track = _chords(bed, count, rate)
    ramp_in, ramp_out = min(count, int(FADE_IN * rate)), min(count, int(FADE_OUT * rate))
    track[:ramp_in] *= np.linspace(0.0, 1.0, ramp_in, dtype=np.float32)
    if ramp_out:
        track[-ramp_out:] *= np.linspace(1.0, 0.0, ramp_out, dtype=np.float32)
    return track
