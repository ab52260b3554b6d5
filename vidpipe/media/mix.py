"""The soundtrack mix: speech on top, the music bed and the clips' own sound ducked under it,
the whole normalised to a loudness target (ITU-R BS.1770 integrated loudness) with its true
peak held under a ceiling.

Ducking is a gain envelope computed from where the speech is (deterministic, sample exact): the
bed falls by `DUCK_DB` over `ATTACK` seconds before each line starts and rises back over
`RELEASE` seconds after it ends. The clips' own sound arrives already cut and crossfaded with
the picture, so it fades with the picture; the speech of a scene lies inside its scene.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

TARGET_LUFS = -16.0  # integrated loudness of the soundtrack
TOLERANCE_LU = 0.5  # how near the target a limited track must come (streaming checks: 1 LU)
CEILING_DBTP = -1.5  # true peak after the limiter: 0.5 dB under -1 dBTP for the AAC encoder
SPEECH_DBFS = -20.0  # RMS of a line of speech before the whole track is normalised
# a line's peaks are limited to this, and its level restored, three times over (its crest
# comes down to about 13 dB, as broadcast speech is compressed), so that the whole track
# reaches its loudness target with its peaks under the ceiling, or nearly
SPEECH_PEAK_DB = -12.0
MUSIC_DBFS = -28.0  # RMS of the music bed between lines
DUCK_DB = -12.0  # the bed's gain under speech
ATTACK = 0.25  # seconds the bed takes to duck before a line
RELEASE = 0.5  # seconds it takes to come back after one


@dataclass(frozen=True)
class Line:
    """A line of speech (mono) starting at sample `start` of the soundtrack."""

    start: int
    samples: NDArray[np.float32]

    @property
    def end(self) -> int:
        return self.start + len(self.samples)


def duck_envelope(length: int, spans: list[tuple[int, int]], rate: int) -> NDArray[np.float32]:
    """The bed's gain at each of `length` samples: 1 away from speech, DUCK_DB under the
    speech spans [start, end), with linear ramps of ATTACK before and RELEASE after."""
    import numpy as np

    depth = 1.0 - 10 ** (DUCK_DB / 20)
    ducked = np.zeros(length, dtype=np.float32)
    attack, release = int(ATTACK * rate), int(RELEASE * rate)
    for start, end in spans:
        first, last = max(0, start - attack), min(length, end + release)
        if first >= last:
            continue
        at = np.arange(first, last)
        # 0 -> 1 over the attack, 1 over the span, 1 -> 0 over the release
        shape = np.interp(at, [start - attack, start, end, end + release], [0.0, 1.0, 1.0, 0.0])
        ducked[first:last] = np.maximum(ducked[first:last], shape)
    return (1.0 - depth * ducked).astype(np.float32)


def rms_db(samples: NDArray[np.float32]) -> float:
    import numpy as np

    power = float(np.mean(np.square(samples, dtype=np.float64))) if samples.size else 0.0
    return 10 * np.log10(power) if power > 0 else -np.inf


def at_level(samples: NDArray[np.float32], dbfs: float) -> NDArray[np.float32]:
    """The samples scaled to an RMS of `dbfs` (silence stays silence)."""
    import numpy as np

    level = rms_db(samples)
    if not np.isfinite(level):
        return samples
    return (samples * 10 ** ((dbfs - level) / 20)).astype(np.float32)


def mix(
    clips: NDArray[np.float32],
    music: NDArray[np.float32] | None,
    lines: list[Line],
    rate: int,
) -> NDArray[np.float32]:
    """The stereo soundtrack, as long as `clips` (the cut's own sound, stereo)."""
    import numpy as np

    length = len(clips)
    envelope = duck_envelope(length, [(line.start, line.end) for line in lines], rate)
    bed = clips.astype(np.float32, copy=True)
    if music is not None:
        fitted = np.zeros(length, dtype=np.float32)
        fitted[: min(length, len(music))] = music[:length]
        bed += at_level(fitted, MUSIC_DBFS)[:, None]
    track = bed * envelope[:, None]
    for line in lines:
        speech = at_level(line.samples, SPEECH_DBFS)
        for _ in range(3):  # peaks down, level back up: each round lowers the crest a little
            speech = at_level(limit(speech, rate, SPEECH_PEAK_DB), SPEECH_DBFS)
        end = min(length, line.end)
        if end > line.start:
            track[line.start : end] += speech[: end - line.start, None]
    return track


# (integrated loudness in LUFS, true peak in dBTP) of a track: vidpipe.media.sound.measure
Meter = Callable[["NDArray[np.float32]"], tuple[float, float]]


def sample_peak_db(track: NDArray[np.float32]) -> float:
    import numpy as np

    peak = float(np.max(np.abs(track))) if track.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else -np.inf


def limit(track: NDArray[np.float32], rate: int, ceiling_db: float) -> NDArray[np.float32]:
    """Hold the sample peaks under `ceiling_db`: a gain per 5 ms block, taken down ahead of
    each peak and back up after it (look-ahead), changing smoothly between blocks."""
    import numpy as np

    block = max(1, rate // 200)
    frames = track if track.ndim == 2 else track[:, None]
    count = -(-len(frames) // block)
    padded = np.zeros((count * block, frames.shape[1]), dtype=np.float32)
    padded[: len(frames)] = np.abs(frames)
    peaks = padded.reshape(count, -1).max(axis=1)
    ceiling = 10 ** (ceiling_db / 20)
    if peaks.max(initial=0.0) <= ceiling:
        return track
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    reach = 4  # blocks (20 ms) each side of a peak
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(need, reach, constant_values=1.0), 2 * reach + 1
    )
    gains = windows.min(axis=1).astype(np.float32)
    # the block gains as sample gains: a moving average over a block ramps them from block to
    # block, and no sample gets more gain than its own block allows
    held = np.repeat(gains, block)[: len(frames)]
    sums = np.concatenate([[0.0], np.cumsum(held, dtype=np.float64)])
    ends = np.minimum(np.arange(len(held)) + block, len(held))
    starts = np.maximum(ends - block, 0)
    smooth = ((sums[ends] - sums[starts]) / (ends - starts)).astype(np.float32)
    gain = np.minimum(smooth, held)
    return track * (gain[:, None] if track.ndim == 2 else gain)


def normalise(
    track: NDArray[np.float32],
    rate: int,
    meter: Meter,
    target: float = TARGET_LUFS,
    ceiling: float = CEILING_DBTP,
) -> tuple[NDArray[np.float32], float, float]:
    """The track brought to `target` LUFS integrated with its true peak under `ceiling` dBTP
    (measured by `meter`), and its loudness and true peak. A silent track is left as it is.

    Loudness and peaks scale with a gain: when the gain alone keeps the peak under the ceiling
    nothing needs measuring again. Otherwise the limiter holds the sample peaks under the
    ceiling less the track's own inter-sample overshoot, and the result is measured again
    (limiting lowers the loudness a little: the gain is then made up, a few times at most)."""
    import numpy as np

    level, peak = meter(track)
    if not np.isfinite(level):
        return track, level, peak
    overshoot = max(0.0, peak - sample_peak_db(track)) + 0.2  # dB, inter-sample, with a margin
    for _ in range(3):
        gain = target - level
        louder = (track * 10 ** (gain / 20)).astype(np.float32)
        if peak + gain <= ceiling:
            return louder, target, peak + gain
        track = limit(louder, rate, ceiling - overshoot)
        level, peak = meter(track)
        if abs(level - target) <= TOLERANCE_LU and peak <= ceiling:
            break
        overshoot += max(0.0, peak - ceiling)
    return track, level, peak
