"""ffmpeg: find the binary, animate a still into a clip, stitch clips into the final cut."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vidpipe.errors import MediaToolMissing, StepFailed

FFMPEG_ENV = "VIDPIPE_FFMPEG"
AUDIO_RATE = 48000
# One keyframe per second: any cut or transition point is at most a second from a keyframe.
VIDEO_CODEC_ARGS = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
AUDIO_CODEC_ARGS = ["-c:a", "aac", "-b:a", "128k", "-ar", str(AUDIO_RATE), "-ac", "2"]


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


_running: set[subprocess.Popen] = set()


def run_ffmpeg(args: list[str], doing: str) -> None:
    """Run ffmpeg quietly; on failure raise StepFailed with the end of its log."""
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as process:
        _running.add(process)
        try:
            _, stderr = process.communicate()
        finally:
            _running.discard(process)
    if process.returncode != 0:
        log = " | ".join(stderr.strip().splitlines()[-3:]) or f"exit {process.returncode}"
        raise StepFailed(f"ffmpeg failed while {doing}: {log}")


def stop_children() -> None:
    """Stop ffmpeg processes still running (a build that was interrupted)."""
    for process in list(_running):
        process.terminate()


@dataclass(frozen=True)
class CameraMove:
    """A Ken Burns move: zoom factor and crop centre (0..1 of the frame) at start and end."""

    zoom: tuple[float, float] = (1.0, 1.06)
    x: tuple[float, float] = (0.5, 0.5)
    y: tuple[float, float] = (0.5, 0.5)


def _lerp(pair: tuple[float, float], eased: str) -> str:
    start, end = pair
    return f"({start:.4f}+({end - start:.4f})*{eased})"


def ken_burns(
    still: Path, out: Path, size: tuple[int, int], fps: int, frames: int, move: CameraMove
) -> None:
    """Animate `still` into an H.264/AAC (silent) MP4 of exactly `frames` frames."""
    width, height = size
    eased = f"((1-cos(PI*min(on/{max(frames - 1, 1)},1)))/2)"
    zoom = _lerp(move.zoom, eased)
    pan = (
        f"zoompan=z='{zoom}':d={frames}:s={width}x{height}:fps={fps}"
        f":x='(iw-iw/zoom)*{_lerp(move.x, eased)}':y='(ih-ih/zoom)*{_lerp(move.y, eased)}'"
    )
    seconds = frames / fps
    run_ffmpeg(
        [
            "-i",
            str(still),
            "-f",
            "lavfi",
            "-t",
            f"{seconds:.6f}",
            "-i",
            f"anullsrc=channel_layout=stereo:sample_rate={AUDIO_RATE}",
            "-filter_complex",
            f"[0:v]scale={width}:{height},{pan},setsar=1[v]",
            "-map",
            "[v]",
            "-map",
            "1:a",
            "-frames:v",
            str(frames),
            "-t",
            f"{seconds:.6f}",
            *VIDEO_CODEC_ARGS,
            "-g",
            str(fps),
            "-r",
            str(fps),
            *AUDIO_CODEC_ARGS,
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(out),
        ],
        doing=f"animating {still.name}",
    )


def frame_count(seconds: float, fps: int) -> int:
    return max(1, round(seconds * fps))


@dataclass(frozen=True)
class ClipRef:
    path: Path
    frames: int


def stitch(clips: list[ClipRef], out: Path, fps: int, crossfade: float) -> None:
    """Join clips in order into `out`; `crossfade` seconds of overlap at each joint (0 = cuts)."""
    if crossfade > 0 and len(clips) > 1:
        _stitch_crossfade(clips, out, fps, crossfade)
    else:
        _stitch_cuts(clips, out, fps)


def _audio_trims(clips: list[ClipRef], fps: int, first_input: int) -> list[str]:
    """Per-clip audio trimmed or padded to exactly its video length (no drift at joints)."""
    chains = []
    for index, clip in enumerate(clips):
        seconds = clip.frames / fps
        chains.append(
            f"[{first_input + index}:a]atrim=end={seconds:.6f},asetpts=PTS-STARTPTS,"
            f"apad=whole_dur={seconds:.6f}[a{index}]"
        )
    return chains


def _stitch_cuts(clips: list[ClipRef], out: Path, fps: int) -> None:
    """Hard cuts: the video is stream-copied; the audio is re-encoded from trimmed pieces,
    since copying AAC keeps every clip's encoder priming and drifts out of sync."""
    listing = out.with_name(out.stem + ".concat.txt")
    listing.write_text("".join(f"file '{clip.path.resolve()}'\n" for clip in clips))
    try:
        inputs = [arg for clip in clips for arg in ("-i", str(clip.path))]
        labels = "".join(f"[a{index}]" for index in range(len(clips)))
        graph = ";".join(
            [*_audio_trims(clips, fps, 1), f"{labels}concat=n={len(clips)}:v=0:a=1[a]"]
        )
        run_ffmpeg(
            [
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                str(listing),
                *inputs,
                "-filter_complex",
                graph,
                "-map",
                "0:v",
                "-map",
                "[a]",
                "-c:v",
                "copy",
                *AUDIO_CODEC_ARGS,
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
                str(out),
            ],
            doing="joining the clips",
        )
    finally:
        listing.unlink(missing_ok=True)


def _stitch_crossfade(clips: list[ClipRef], out: Path, fps: int, crossfade: float) -> None:
    """One xfade/acrossfade chain over all clips, re-encoding the whole film."""
    inputs = [arg for clip in clips for arg in ("-i", str(clip.path))]
    graph = _audio_trims(clips, fps, 0)
    video, audio = "[0:v]", "[a0]"
    elapsed = clips[0].frames / fps
    for index, clip in enumerate(clips[1:], start=1):
        offset = elapsed - crossfade
        graph.append(
            f"{video}[{index}:v]xfade=transition=fade:duration={crossfade}:offset={offset:.6f}"
            f"[v{index}]"
        )
        graph.append(f"{audio}[a{index}]acrossfade=d={crossfade}[x{index}]")
        video, audio = f"[v{index}]", f"[x{index}]"
        elapsed = offset + clip.frames / fps
    run_ffmpeg(
        [
            *inputs,
            "-filter_complex",
            ";".join(graph),
            "-map",
            video,
            "-map",
            audio,
            *VIDEO_CODEC_ARGS,
            "-g",
            str(fps),
            "-r",
            str(fps),
            *AUDIO_CODEC_ARGS,
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(out),
        ],
        doing="crossfading the clips",
    )
