"""The Ken Burns renderer: a still animated into a clip by a pan or zoom (ffmpeg's zoompan)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vidpipe.media.ffmpeg import AUDIO_CODEC_ARGS, AUDIO_RATE, run_ffmpeg, video_codec_args


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
            *video_codec_args(fps),
            *AUDIO_CODEC_ARGS,
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(out),
        ],
        doing=f"animating {still.name}",
    )
