"""Sound as numpy arrays: WAV files in and out, any file's audio decoded at the project's rate,
a track encoded to AAC. Float samples in [-1, 1], shaped (samples,) for mono or (samples, 2)."""

from __future__ import annotations

import math
import re
import subprocess
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from vidpipe.errors import StepFailed
from vidpipe.media import ffmpeg

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

RATE = ffmpeg.AUDIO_RATE
SILENT_LUFS = -70.0  # what ffmpeg's meter reports for silence
SILENCE_DB = -45.0  # quieter than this, over a 10 ms window, counts as silence when trimming


def read_wav(path: Path) -> tuple[NDArray[np.float32], int]:
    """A 16-bit PCM WAV file as floats, and its sample rate."""
    import numpy as np

    try:
        with wave.open(str(path), "rb") as source:
            if source.getsampwidth() != 2:
                raise StepFailed(f"{path}: not 16-bit PCM audio")
            channels, rate = source.getnchannels(), source.getframerate()
            data = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as err:
        raise StepFailed(f"{path}: not a readable WAV file ({err})") from None
    samples = data.astype(np.float32) / 32768.0
    return (samples.reshape(-1, channels) if channels > 1 else samples), rate


def write_wav(path: Path, samples: NDArray[np.float32], rate: int = RATE) -> None:
    """Floats as a 16-bit PCM WAV file (clipped to [-1, 1])."""
    import numpy as np

    channels = 1 if samples.ndim == 1 else samples.shape[1]
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def decode(path: Path, channels: int = 2) -> NDArray[np.float32]:
    """The audio of any file ffmpeg reads, at RATE, as floats (an MP4's encoder priming is
    skipped, as a player skips it)."""
    import numpy as np

    command = [
        *(ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"),
        *("-i", str(path), "-vn", "-ac", str(channels), "-ar", str(RATE), "-f", "f32le", "-"),
    ]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0:
        log = result.stderr.decode(errors="replace").strip().splitlines()[:2]
        raise StepFailed(f"ffmpeg failed while reading the sound of {path.name}: {' | '.join(log)}")
    samples = np.frombuffer(result.stdout, dtype="<f4").copy()
    return samples if channels == 1 else samples.reshape(-1, channels)


def at_rate(path: Path) -> NDArray[np.float32]:
    """A provider's sound file as mono floats at RATE: read as it is when it is already so,
    else converted by ffmpeg (any format, any rate)."""
    try:
        samples, rate = read_wav(path)
        if rate == RATE and samples.ndim == 1:
            return samples
    except StepFailed:
        pass
    return decode(path, channels=1)


def encode_aac(samples: NDArray[np.float32], out: Path, threads: int = 2) -> None:
    """Encode a stereo track as AAC in an MP4 (.m4a) file, with the clips' audio settings, in
    pieces on `threads` threads (vidpipe.media.audiosplice.encode_track; the encoder's
    priming is recorded in the file, so players skip it)."""
    import av
    import numpy as np

    from vidpipe.media import audiosplice

    packets = audiosplice.encode_track(np.ascontiguousarray(samples.T, dtype=np.float32), threads)
    with av.open(str(out), "w", format="mp4") as container:
        audiosplice.mux_track(container, packets)


def decode_mp4(path: Path) -> NDArray[np.float32]:
    """The audio of one of vidpipe's own MP4s (48 kHz stereo AAC), decoded in process, as
    (samples, 2) floats from its first played sample (the priming skipped)."""
    import numpy as np

    chunks = []
    with ffmpeg.open_mp4(path) as container:
        for frame in container.decode(audio=0):
            chunks.append(frame.to_ndarray())
    if not chunks:
        return np.zeros((0, 2), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(chunks, axis=1).T, dtype=np.float32)


def trim_silence(
    samples: NDArray[np.float32], rate: int, keep: float = 0.03
) -> NDArray[np.float32]:
    """The samples without the silence before the first and after the last sound (keeping
    `keep` seconds on each side, so no word's edge is cut)."""
    import numpy as np

    window = max(1, rate // 100)
    count = len(samples) // window
    if count == 0:
        return samples[:0]
    blocks = samples[: count * window].reshape(count, window)
    loud = np.sqrt(np.mean(np.square(blocks, dtype=np.float64), axis=1)) > 10 ** (SILENCE_DB / 20)
    if not loud.any():
        return samples[:0]
    first, last = int(np.argmax(loud)), count - int(np.argmax(loud[::-1]))
    margin = int(keep * rate)
    return samples[max(0, first * window - margin) : min(len(samples), last * window + margin)]


def measure(samples: NDArray[np.float32]) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) of a track at RATE, by ffmpeg's
    EBU R128 meter (ITU-R BS.1770; -inf for silence). Measured on the floats as they are."""
    channels = "1" if samples.ndim == 1 else str(samples.shape[1])
    command = [
        *(ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info"),
        *("-f", "f32le", "-ar", str(RATE), "-ac", channels, "-i", "pipe:0"),
        *("-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"),
    ]
    # through a pipe: no temporary file to leave behind when the step is killed
    done = subprocess.run(command, input=samples.astype("<f4").tobytes(), capture_output=True)
    summary = done.stderr.decode(errors="replace").rpartition("Summary:")[2]
    loudness = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if done.returncode != 0 or not loudness or not peak:
        raise StepFailed(f"ffmpeg could not measure the soundtrack's loudness: {summary[-200:]}")
    level = float(loudness[1])
    return (level if level > SILENT_LUFS else -math.inf), float(peak[1])
