"""ffmpeg: find the binary, run it, open MP4s with PyAV; the project's clip encoding."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, cast

from vidpipe.errors import DiskFull, FfmpegFailed, MediaToolMissing

if TYPE_CHECKING:
    from fractions import Fraction

    from av.container import InputContainer, OutputContainer
    from av.stream import Stream
    from av.video.stream import VideoStream

FFMPEG_ENV = "VIDPIPE_FFMPEG"
AUDIO_RATE = 48000
# Every clip and every re-encoded part of a final cut uses these settings (x264_options and
# VIDEO_FORMAT_ARGS): equal settings give byte-identical stream headers (SPS/PPS; `stitchable`
# keeps x264 from tuning them to the content, and the colour tags and square pixels are fixed),
# so encoded pieces can be joined by stream copy.
VIDEO_FORMAT_ARGS = [
    *("-pix_fmt", "yuv420p", "-colorspace", "bt709", "-color_primaries", "bt709"),
    *("-color_trc", "bt709", "-color_range", "tv"),
]
# No B-frames, no early skips, no dropping of blocks with few small coefficients: with them x264
# coded the slow, steady motion of a pan over a smooth picture as near-frozen frames and a jump
# at each keyframe (measured: 0.14 px steps, then 1.35 px, for 0.47 px a frame). About a
# quarter more CPU and 1.8x the bytes of an 8 s 720p animatic clip.
X264_PARAMS = "stitchable=1:bframes=0:no-fast-pskip=1:no-dct-decimate=1"
# For the few blended frames of a crossfade: x264's quickest motion search, which leaves the
# stream headers as they are; a quarter less CPU for 2.4% more bytes (measured on the 720p
# benchmark clips).
X264_QUICK_PARAMS = f"{X264_PARAMS}:subme=1:me=dia:b-adapt=0"
# A keyframe (closed GOP) exactly every half second: a transition is cut at most that far
# from where it starts and ends.
KEYFRAME_SECONDS = 0.5
# The fast coder: ffmpeg's default from 2018 for years (at higher bitrates twoloop sounded no
# better, for much more CPU); it takes about half the CPU of twoloop on real-world audio.
AUDIO_BITRATE = 128_000
AUDIO_CODEC_ARGS = [
    *("-c:a", "aac", "-aac_coder", "fast", "-b:a", str(AUDIO_BITRATE)),
    *("-ar", str(AUDIO_RATE), "-ac", "2"),
]


@functools.cache
def ffmpeg_exe() -> str:
    """`$VIDPIPE_FFMPEG`, else the binary of the imageio-ffmpeg wheel (a recent static build
    with libx264), else `ffmpeg` on PATH."""
    configured = os.environ.get(FFMPEG_ENV)
    if configured:
        if shutil.which(configured) is None:
            raise MediaToolMissing(f"{FFMPEG_ENV}={configured} is not an executable ffmpeg")
        return configured
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("ffmpeg")
    if found is None:
        raise MediaToolMissing(
            "ffmpeg not found: `pip install imageio-ffmpeg`, install ffmpeg on PATH, "
            f"or set {FFMPEG_ENV} to an ffmpeg binary"
        )
    return found


@functools.cache
def encoder_identity() -> str:
    """Names what encodes clips: the ffmpeg binary (path, size, modification time) and the
    settings. A clip checked under one identity need not be checked again under it."""
    exe = ffmpeg_exe()
    stat = os.stat(shutil.which(exe) or exe)
    settings = [*video_codec_args(24), *AUDIO_CODEC_ARGS, str(KEYFRAME_SECONDS)]
    named = f"{exe}|{stat.st_size}|{stat.st_mtime_ns}|{' '.join(settings)}"
    return hashlib.sha256(named.encode()).hexdigest()[:16]


_running: set[subprocess.Popen] = set()


def run_ffmpeg(args: list[str], doing: str, env: dict[str, str] | None = None) -> None:
    """Run ffmpeg quietly (with `env` added to the environment); on failure raise StepFailed
    with the end of its log."""
    _run(args, doing, env, capture=False)


def ffmpeg_output(args: list[str], doing: str) -> bytes:
    """Run ffmpeg quietly with its output (`pipe:1`, the last of `args`) read into memory:
    nothing is written to disk, so a kill leaves nothing behind."""
    return _run(args, doing, None, capture=True)


def _run(args: list[str], doing: str, env: dict[str, str] | None, capture: bool) -> bytes:
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env} if env else None,
    ) as process:
        _running.add(process)
        try:
            stdout, stderr = process.communicate()
        finally:
            _running.discard(process)
    log = stderr.decode(errors="replace")
    _check(process.returncode, log, doing, Path(args[-1]))  # the last word: its output
    return stdout or b""


def _check(returncode: int, stderr: str, doing: str, output: Path) -> None:
    if returncode != 0:
        # the first lines name the cause; drop ffmpeg's "[component @ 0x...]" prefixes
        lines = [re.sub(r"^\[[^]]*\] ", "", line) for line in stderr.strip().splitlines()]
        log = " | ".join(lines[:2]) or f"exit code {returncode}"
        if "No space left on device" in stderr:
            raise DiskFull(f"ffmpeg {doing}", output.parent)
        raise FfmpegFailed(f"ffmpeg failed while {doing}: {log}", log)


def open_mp4(path: Path) -> InputContainer:
    """Open one of vidpipe's own MP4 files for reading with PyAV (naming the format skips
    probing for it: a third of the time of opening a clip)."""
    import av

    return av.open(str(path), format="mp4")


def time_base(stream: Stream) -> Fraction:
    """A stream's time base (PyAV types it optional: the streams of an opened file have one)."""
    assert stream.time_base is not None
    return stream.time_base


def input_container(stream: Stream) -> InputContainer:
    """The container a stream of a file opened for reading is in (PyAV types it as any
    container, input or output)."""
    return cast("InputContainer", stream.container)


class Containers(contextlib.ExitStack):
    """vidpipe's own MP4 files opened for reading, each once, all closed together (a stitch
    reads each clip more than once). A container is not to be read by two threads at once."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: dict[Path, InputContainer] = {}

    def open(self, path: Path) -> InputContainer:
        if path not in self.opened:
            self.opened[path] = self.enter_context(open_mp4(path))
        return self.opened[path]


def stop_children() -> None:
    """Stop the ffmpeg processes still running (a build that was interrupted)."""
    for process in list(_running):
        process.terminate()


def keyframe_interval(fps: int) -> int:
    """Frames from one keyframe to the next."""
    return max(1, round(fps * KEYFRAME_SECONDS))


def x264_options(fps: int, quick: bool = False) -> dict[str, str]:
    """libx264's options in the canonical video encoding at `fps`: keyframes only on the fixed
    grid (no scene-cut keyframes, so the grid holds whatever the content). `quick`: a faster
    motion search."""
    interval = str(keyframe_interval(fps))
    params = X264_QUICK_PARAMS if quick else X264_PARAMS
    return {"preset": "veryfast", "crf": "23", "x264-params": params, "g": interval,
            "keyint_min": interval, "sc_threshold": "0"}  # fmt: skip


def video_codec_args(fps: int, quick: bool = False) -> list[str]:
    """The canonical video encoding at `fps`, as ffmpeg's arguments."""
    options = [
        word for name, value in x264_options(fps, quick).items() for word in (f"-{name}", value)
    ]
    return ["-c:v", "libx264", *options, *VIDEO_FORMAT_ARGS, "-r", str(fps)]


def x264_stream(
    container: OutputContainer, size: tuple[int, int], fps: int, threads: int = 0
) -> VideoStream:
    """A video stream of `container` in the canonical encoding, for frames encoded in process
    by PyAV's libx264 on `threads` threads (0: as many as x264 chooses). ffmpeg's
    -color_primaries and -color_trc do not reach a clip's stream headers (it takes the frames'
    own, unspecified): only the matrix and the range are set here, for the same headers. (A
    PyAV whose x264 writes other headers makes clips the clip step converts.)"""
    from fractions import Fraction

    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.codec_context.thread_count = threads
    stream.codec_context.sample_aspect_ratio = Fraction(1, 1)
    stream.options = {**x264_options(fps), "colorspace": "bt709", "color_range": "tv"}
    return stream


def encoder_threads(encoders: int) -> int:
    """Threads for each of `encoders` x264 encoders that run at once: the machine's cores
    shared out. Two clips on two cores, each on one thread, took about 5% less time and CPU
    in the animatic benchmark than each on a pool of x264's own choosing (which counts every
    core as its own)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // encoders)


def frame_count(seconds: float, fps: int) -> int:
    return max(1, round(seconds * fps))
