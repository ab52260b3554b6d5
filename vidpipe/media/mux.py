"""The final mux: the picture cut with the soundtrack and a soft subtitle track (mov_text),
the picture's packets copied as they are; or, with the subtitles burnt in, the picture
re-encoded with them drawn on it (libass, with the fonts of the given folders, found through a
fontconfig file of their own, so that a glyph missing from one font is taken from another:
accented Latin, Chinese and Arabic in one line)."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.sax.saxutils import escape

from vidpipe import fsutil
from vidpipe.media import ffmpeg

SUBTITLE_STYLE = "FontName=Noto Sans,FontSize=18,Outline=1.5,Shadow=0,MarginV=20"


def mux(
    picture: Path,
    soundtrack: Path,
    subtitles: Path | None,
    out: Path,
    fps: int,
    fonts: list[Path] | None = None,
) -> None:
    """Write `out`: the picture's video, the soundtrack's audio, the subtitles (an .srt file,
    or None) as a track; with `fonts` (folders of font files) also drawn into the picture."""
    with fsutil.work_folder(out) as folder:
        work = Path(folder)
        inputs = ["-i", str(picture), "-i", str(soundtrack)]
        maps = ["-map", "0:v:0", "-map", "1:a:0"]
        video, env = ["-c:v", "copy"], None
        if subtitles is not None:
            inputs += ["-i", str(subtitles)]
            maps += ["-map", "2:s:0"]
            if fonts:
                # paths of our own making, with nothing the filter syntax would need escaped
                local = work / "subtitles.srt"
                shutil.copyfile(subtitles, local)
                drawn = f"[0:v]subtitles=filename={local}:force_style='{SUBTITLE_STYLE}'[v]"
                maps = ["-filter_complex", drawn, "-map", "[v]", *maps[2:]]
                video = ffmpeg.video_codec_args(fps)
                env = {"FONTCONFIG_FILE": str(_fontconfig(work, fonts))}
        ffmpeg.run_ffmpeg(
            [
                *inputs,
                *maps,
                *video,
                *("-c:a", "copy"),
                *(["-c:s", "mov_text", "-metadata:s:s:0", "language=und"] if subtitles else []),
                *("-movflags", "+faststart", "-f", "mp4", str(out)),
            ],
            doing="muxing the soundtrack" if env is None else "drawing the subtitles",
            env=env,
        )


def _fontconfig(work: Path, fonts: list[Path]) -> Path:
    """A fontconfig file that knows exactly the given font folders."""
    dirs = "".join(f"  <dir>{escape(str(folder))}</dir>\n" for folder in fonts)
    config = work / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"{dirs}  <cachedir>{escape(str(work / 'fontcache'))}</cachedir>\n</fontconfig>\n"
    )
    return config
