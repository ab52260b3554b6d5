"""The final mux: the picture cut with the soundtrack and a soft subtitle track (mov_text),
the picture's packets copied as they are; or, with the subtitles burnt in, the picture
re-encoded with them drawn on it (libass, with the fonts of a given folder)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from vidpipe.media import ffmpeg


def mux(
    picture: Path,
    soundtrack: Path,
    subtitles: Path | None,
    out: Path,
    fps: int,
    burn_fonts: Path | None = None,
) -> None:
    """Write `out`: the picture's video, the soundtrack's audio, the subtitles (an .srt file,
    or None) as a track; with `burn_fonts` (a folder of font files) also drawn in."""
    with tempfile.TemporaryDirectory(prefix="vidpipe-mux-") as folder:
        inputs = ["-i", str(picture), "-i", str(soundtrack)]
        maps = ["-map", "0:v:0", "-map", "1:a:0"]
        video = ["-c:v", "copy"]
        if subtitles is not None:
            inputs += ["-i", str(subtitles)]
            maps += ["-map", "2:s:0"]
            if burn_fonts is not None:
                # the filter's own syntax: a plain path of our making, nothing to escape
                local = Path(folder) / "subtitles.srt"
                shutil.copyfile(subtitles, local)
                drawn = f"subtitles=filename={local}:fontsdir={burn_fonts}:force_style="
                style = "'FontName=Noto Sans,FontSize=20,Outline=2,Shadow=0,MarginV=24'"
                maps = ["-filter_complex", f"[0:v]{drawn}{style}[v]", "-map", "[v]", *maps[2:]]
                video = ffmpeg.video_codec_args(fps)
        ffmpeg.run_ffmpeg(
            [
                *inputs,
                *maps,
                *video,
                *("-c:a", "copy"),
                *(["-c:s", "mov_text", "-metadata:s:s:0", "language=und"] if subtitles else []),
                *("-movflags", "+faststart", "-f", "mp4", str(out)),
            ],
            doing="muxing the soundtrack",
        )
