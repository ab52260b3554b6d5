"""The final cut: clips joined in order by hard cuts or crossfades, re-encoding only the frames
a crossfade touches.

Clips are canonical (vidpipe.media.clipformat): identical stream headers, a keyframe every
`ffmpeg.KEYFRAME_SECONDS`, audio exactly as long as the video. So most of the video is copied:

    clip 1  [copied ........ |tail]
    clip 2                   [head| copied ........ |tail]
    clip 3                                          [head| copied ...]

A rendered part runs from the last keyframe at or before a crossfade starts to the first
keyframe at or after it ends (with 0.5 s crossfades: exactly the crossfade). One ffmpeg run
renders every part, from a file holding just those windows of the clips (one decoder, one
encoder and one blend whatever the number of clips, so memory stays flat). Alongside it the
audio is made (vidpipe.media.audiosplice): with crossfades, from the clips' own AAC packets,
re-encoding only around the joints; with hard cuts, re-encoded in pieces on both cores, each
clip exactly in place (copying AAC as it is would keep every clip's encoder priming and
drift). PyAV then lays the copied and rendered packets end to end with exact timestamps.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vidpipe import fsutil
from vidpipe.errors import StepFailed
from vidpipe.media import audiosplice, clipformat, ffmpeg

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.packet import Packet

# the clips' colour tags: a mask stream tagged otherwise would be range-converted (0..255 to
# 16..235) on its way into maskedmerge, and no crossfade would start or end cleanly
COLOUR_TAGS = "setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"


@dataclass(frozen=True)
class ClipRef:
    path: Path
    frames: int
    canonical: bool = False  # known to be (vidpipe.media.clipformat.stamp): not probed again


# --- the plan: which frames are copied, which rendered ------------------------------------


@dataclass(frozen=True)
class Window:
    """Frames [start, end) of clip number `clip`."""

    clip: int
    start: int
    end: int

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Part:
    """A stretch of the final cut: one window copied as it is, or windows crossfaded into each
    other (rendered)."""

    windows: tuple[Window, ...]
    rendered: bool

    def frames(self, fade: int) -> int:
        return sum(window.frames for window in self.windows) - (len(self.windows) - 1) * fade


def plan(frames: list[int], fade: int, interval: int) -> list[Part]:
    """Cut clips of `frames` frames, joined by `fade`-frame crossfades, into parts, given
    keyframes every `interval` frames. A clip too short to have a copyable middle falls wholly
    inside the rendered part around it."""
    if fade == 0:
        return [Part((Window(k, 0, count),), rendered=False) for k, count in enumerate(frames)]
    last = len(frames) - 1
    parts: list[Part] = []
    pending: list[Window] = []  # windows of the rendered part being gathered
    for k, count in enumerate(frames):
        head = 0 if k == 0 else min(count, -(-fade // interval) * interval)
        tail = count if k == last else (count - fade) // interval * interval
        if head >= tail:
            pending.append(Window(k, 0, count))
            continue
        if pending:
            parts.append(Part((*pending, Window(k, 0, head)), rendered=True))
        parts.append(Part((Window(k, head, tail),), rendered=False))
        pending = [Window(k, tail, count)] if k < last else []
    if pending:
        parts.append(Part(tuple(pending), rendered=True))
    return parts


def fade_frames(crossfade: float, fps: int, frames: list[int]) -> int:
    """The crossfade in whole frames (at most half of the shortest clip)."""
    if crossfade <= 0 or len(frames) < 2:
        return 0
    return max(1, min(round(crossfade * fps), min(frames) // 2))


# --- the stitch -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cut:
    """What a stitch works from: canonical clips, their lengths, the crossfade and the plan."""

    paths: list[Path]
    frames: list[int]
    fade: int  # frames
    fps: int
    size: tuple[int, int]
    parts: list[Part]
    work: Path  # a temporary folder
    delay: int  # frames the clips' decoding times run behind (see _reorder_delay)

    @property
    def rendered(self) -> Path | None:
        """The file of the crossfaded parts, when there are any."""
        return self.work / "rendered.mp4" if any(p.rendered for p in self.parts) else None

    @property
    def windows(self) -> Path:
        return self.work / "windows.mp4"

    @property
    def audio(self) -> Path:
        return self.work / "audio.m4a"


def stitch(
    clips: list[ClipRef],
    out: Path,
    size: tuple[int, int],
    fps: int,
    crossfade: float,
    fit: str = "crop",
) -> None:
    """Join clips in order into `out`; `crossfade` seconds of overlap at each joint (0 = cuts);
    a clip of another shape fills the frame as `fit` says (vidpipe.media.clipformat)."""
    if not clips:
        raise StepFailed("there are no clips to join")
    frames = [clip.frames for clip in clips]
    fade = fade_frames(crossfade, fps, frames)
    parts = plan(frames, fade, ffmpeg.keyframe_interval(fps))
    with fsutil.work_folder(out) as folder:
        work = Path(folder)
        paths = _canonical_paths(clips, size, fps, fit, work)
        # each thread reads its own containers: the audio job, and this one
        with ffmpeg.Containers() as files, ffmpeg.Containers() as sounds:
            delay = _reorder_delay(files.open(paths[0]), fps)
            cut = Cut(paths, frames, fade, fps, size, parts, work, delay)
            if cut.rendered is not None:
                # written before other work competes for the interpreter, so that the
                # render's ffmpeg (the longest part of a stitch) starts as early as it can
                _write_windows(cut, files)
            with ThreadPoolExecutor(max_workers=2) as pool:
                # the crossfades and the audio are made side by side
                video = pool.submit(_render_video, cut)
                audio = pool.submit(_make_audio, cut, sounds)
                video.result()
                _assemble(cut, files, sounds, audio.result(), out)


def _canonical_paths(
    clips: list[ClipRef], size: tuple[int, int], fps: int, fit: str, work: Path
) -> list[Path]:
    """The clips' paths; a clip not known to be canonical is probed, and one not in the
    canonical form (made before clips were conformed, or replaced by hand) is conformed into a
    copy under `work`, its own file left as it is."""
    paths = []
    for index, clip in enumerate(clips):
        spec = clipformat.ClipSpec(*size, fps, clip.frames, fit)
        path = clip.path
        if clip.canonical:
            paths.append(path)
            continue
        canonical = clipformat.is_canonical(path, spec)  # refuses a clip that cannot be used
        clipformat.check_decodes(path)  # ... and one damaged inside
        if not canonical:
            path = work / f"clip{index}.mp4"
            clipformat.convert(clip.path, path, spec)  # a failure names the clip, not the copy
        paths.append(path)
    return paths


def _write_windows(cut: Cut, files: ffmpeg.Containers) -> None:
    """Copy the windows of the rendered parts, back to back, into one file (packets only)."""
    import av

    with av.open(str(cut.windows), "w", format="mp4") as output:
        stream = output.add_stream_from_template(files.open(cut.paths[0]).streams.video[0])
        position = 0
        for window in (w for part in cut.parts if part.rendered for w in part.windows):
            container, shift = files.open(cut.paths[window.clip]), position - window.start
            packets = _video_packets(container, window.start, window.end, cut.fps, shift, cut.delay)
            for packet in packets:
                packet.stream = stream
                output.mux(packet)
            position += window.frames


def _render_video(cut: Cut) -> None:
    """One ffmpeg run renders every crossfaded part (decoded from the windows file, written
    already) into `cut.rendered`, each part starting on a keyframe."""
    if cut.rendered is None:
        return
    graph, starts = _video_graph(cut)
    # by frame number: a time in seconds (16/24 = 0.666667) can round past its frame
    keyframes = "expr:" + "+".join(f"eq(n,{frame})" for frame in starts)
    ffmpeg.run_ffmpeg(
        [
            *("-i", str(cut.windows), "-filter_complex", graph, "-map", "[v]"),
            *ffmpeg.video_codec_args(cut.fps, quick=True),
            *("-forced-idr", "1", "-force_key_frames", keyframes),
            *("-an", "-f", "mp4", str(cut.rendered)),
        ],
        doing="rendering the crossfades",
    )


def _make_audio(cut: Cut, sounds: ffmpeg.Containers) -> audiosplice.Spliced | None:
    """The audio track: the clips' own packets where they can be copied, the rest re-encoded
    now; or (None, when PyAV cannot encode AAC as the clips were) re-encoded whole by ffmpeg
    into `cut.audio`."""
    plan = audiosplice.plan(cut.paths, cut.frames, cut.fade, cut.fps)
    # both cores for the audio when no crossfades are rendered beside it
    spliced = audiosplice.render(plan, sounds, threads=1 if cut.rendered else 2)
    if spliced is None:
        _render_audio(cut)
    return spliced


def _render_audio(cut: Cut) -> None:
    """One ffmpeg run makes the whole audio track from the clips' audio into `cut.audio`."""
    listing = cut.work / "clips.txt"
    listing.write_text("".join(f"file '{_quoted(path)}'\n" for path in cut.paths))
    ffmpeg.run_ffmpeg(
        [
            *("-f", "concat", "-safe", "0", "-i", str(listing)),
            *("-filter_complex", _audio_graph(cut), "-map", "[a]", *ffmpeg.AUDIO_CODEC_ARGS),
            *("-vn", "-f", "mp4", str(cut.audio)),
        ],
        doing="making the audio track",
    )


def _quoted(path: Path) -> str:
    """A path for an ffmpeg concat listing (inside single quotes)."""
    return str(path.resolve()).replace("'", "'\\''")


def _video_graph(cut: Cut) -> tuple[str, list[int]]:
    """The filter graph crossfading the windows file's windows into `[v]`, and the first
    frame of each rendered part in its output.

    All crossfades are made by one `maskedmerge` (an `xfade` per joint would each keep tens of
    MB of frames to the end): stream A holds every window's frames except the first `fade` of
    each incoming window, stream B every frame except the last `fade` of each outgoing one. They
    differ only where windows overlap, and there the mask weighs B in frame by frame, as
    xfade's fade does."""
    fade = cut.fade
    incoming: list[tuple[int, int]] = []  # frame ranges of the windows stream, inclusive
    outgoing: list[tuple[int, int]] = []
    overlaps: list[int] = []  # the first output frame of each crossfade
    starts: list[int] = []
    position = output = 0  # frame in the windows stream, and in the output
    for part in (part for part in cut.parts if part.rendered):
        starts.append(output)
        for index, window in enumerate(part.windows):
            if index:
                incoming.append((position, position + fade - 1))
                outgoing.append((position - fade, position - 1))
                overlaps.append(output - fade)
            output += window.frames - (fade if index else 0)
            position += window.frames
    weight = "+".join(f"between(N,{first},{first + fade - 1})*(N-{first})" for first in overlaps)
    mask = f"min(255,({weight})*256/{fade})"
    width, height = cut.size
    chains = [
        f"[0:v]settb=1/{cut.fps},split=2[a][b]",
        f"[a]select='not({_any_between(incoming)})',setpts=N[A]",
        f"[b]select='not({_any_between(outgoing)})',setpts=N[B]",
        # the mask: computed at 16x16 (cheap), then scaled up
        f"nullsrc=s=16x16:r={cut.fps},trim=end_frame={output},settb=1/{cut.fps},setpts=N,"
        f"format=yuv420p,{COLOUR_TAGS},geq=lum='{mask}':cb='{mask}':cr='{mask}',"
        f"scale={width}:{height}:flags=neighbor[M]",
        "[A][B][M]maskedmerge,setsar=1[v]",
    ]
    return ";".join(chains), starts


def _any_between(ranges: list[tuple[int, int]]) -> str:
    return "+".join(f"between(n,{first},{last})" for first, last in ranges)


def _audio_graph(cut: Cut) -> str:
    """The filter graph of the audio track `[a]` from the clips' audio, decoded back to back
    (each exactly as long as its video): as it is for hard cuts; for crossfades each clip is cut
    out to the sample, then acrossfaded in turn. Timed from 0 either way (ffmpeg would start the
    decoded audio after the first clip's AAC priming)."""
    if not cut.fade:
        return "[0:a]asetpts=PTS-STARTPTS[a]"
    per_frame = ffmpeg.AUDIO_RATE // cut.fps
    count = len(cut.frames)
    chains = [f"[0:a]asplit={count}" + "".join(f"[s{k}]" for k in range(count))]
    start = 0
    for k, length in enumerate(cut.frames):
        samples = length * per_frame
        chains.append(
            f"[s{k}]atrim=start_sample={start}:end_sample={start + samples},"
            f"asetpts=PTS-STARTPTS[c{k}]"
        )
        start += samples
    label = "[c0]"
    for k in range(1, count):
        mixed = "[a]" if k == count - 1 else f"[m{k}]"
        chains.append(f"{label}[c{k}]acrossfade=ns={cut.fade * per_frame}:c1=tri:c2=tri{mixed}")
        label = mixed
    return ";".join(chains)


def _video_packets(
    container: InputContainer, start: int, end: int, fps: int, shift: int, delay: int
) -> Iterator[Packet]:
    """The video packets of frames [start, end), moved by `shift` frames. Frame `start` is a
    keyframe and no frame before `end` refers to one after it (closed GOPs, `end` on a
    keyframe or the end), so these packets decode on their own.

    Their decoding timestamps are made anew, one frame apart and `delay` frames behind the
    frame count (see _reorder_delay): packets joined from several encodes keep increasing,
    where each encode's own could collide at a joint (encodes do not agree on where within a
    GOP their decoding times fall)."""
    stream = container.streams.video[0]
    ticks = 1 / (fps * ffmpeg.time_base(stream))  # timestamp ticks per frame
    frames_per_tick = float(1 / ticks)
    moved = round(shift * ticks)
    container.seek(round(start * ticks), stream=stream, backward=True)
    count = 0
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        frame = round(packet.pts * frames_per_tick)
        if frame >= end and packet.is_keyframe:
            break
        if start <= frame < end:
            if count == 0 and not packet.is_keyframe:
                raise StepFailed(f"{_name(container)}: frame {start} is not a keyframe")
            packet.pts += moved
            packet.dts = round((start + shift + count - delay) * ticks)
            if packet.dts > packet.pts:
                raise StepFailed(f"{_name(container)}: frames reordered more than {delay} deep")
            count += 1
            yield packet
    if count != end - start:
        raise StepFailed(f"{_name(container)}: found {count} of the {end - start} frames")


def _reorder_delay(container: InputContainer, fps: int) -> int:
    """How many frames the clips' decoding times run behind their frames (the encoder's
    reordering depth: 2 for x264's B-frame pyramid), read from the first packet."""
    stream = container.streams.video[0]
    container.seek(0, stream=stream)
    first = next(packet.dts for packet in container.demux(stream) if packet.dts is not None)
    return max(0, round(-first * fps * ffmpeg.time_base(stream)))


def _name(container: InputContainer) -> str:
    return Path(container.name).name


def _assemble(
    cut: Cut,
    files: ffmpeg.Containers,
    sounds: ffmpeg.Containers,
    spliced: audiosplice.Spliced | None,
    out: Path,
) -> None:
    """Write the final MP4: the copied and rendered video packets end to end (read from
    `files`), and the audio (spliced, its copied packets read from `sounds`, or the track
    re-encoded whole)."""
    import av

    with av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as output:
        clip = files.open(cut.paths[0])
        template = clip.streams.video[0]
        video = output.add_stream_from_template(template)
        audio = output.add_stream_from_template(clip.streams.audio[0])
        video_packets = _cut_packets(cut, files, template.codec_context.extradata)
        if spliced is not None:
            audio_packets: Iterator[Packet] = audiosplice.packets(spliced, sounds)
            tick = float(audiosplice.TIME_BASE)
        else:
            track = files.open(cut.audio).streams.audio[0]
            audio_packets = ffmpeg.input_container(track).demux(track)
            tick = float(ffmpeg.time_base(track))
        # interleaved by decoding time, in seconds
        packets = heapq.merge(
            ((at, packet, video) for at, packet in video_packets),
            ((p.dts * tick, p, audio) for p in audio_packets if p.dts is not None),
            key=lambda item: item[0],
        )
        for _, packet, stream in packets:
            packet.stream = stream
            output.mux(packet)


def _cut_packets(
    cut: Cut, files: ffmpeg.Containers, headers: bytes | None
) -> Iterator[tuple[float, Packet]]:
    """Every video packet of the final cut, in order, with its final timestamps, and its
    decoding time in seconds."""
    rendered = None
    if cut.rendered is not None:
        rendered = files.open(cut.rendered)
        if rendered.streams.video[0].codec_context.extradata != headers:
            raise StepFailed("the re-encoded crossfades do not match the clips' encoding")
    position = 0  # the part's first frame in the final cut
    rendered_position = 0  # the part's first frame in the rendered file
    for part in cut.parts:
        length = part.frames(cut.fade)
        if part.rendered:
            assert rendered is not None  # the cut has rendered parts
            container, start = rendered, rendered_position
            rendered_position += length
        else:
            window = part.windows[0]
            container, start = files.open(cut.paths[window.clip]), window.start
        tick = float(ffmpeg.time_base(container.streams.video[0]))
        shift = position - start
        for packet in _video_packets(container, start, start + length, cut.fps, shift, cut.delay):
            assert packet.dts is not None  # set by _video_packets
            yield packet.dts * tick, packet
        position += length


# --- the naive way, kept as the reference -----------------------------------------------------


def reencode_crossfade(clips: list[ClipRef], out: Path, fps: int, crossfade: float) -> None:
    """One xfade/acrossfade chain over all clips, re-encoding the whole film: the quality
    reference for `stitch` (its memory grows with the number of clips)."""
    inputs = [arg for clip in clips for arg in ("-i", str(clip.path))]
    graph = []
    for index, clip in enumerate(clips):
        seconds = clip.frames / fps
        graph.append(
            f"[{index}:a]atrim=end={seconds:.6f},asetpts=PTS-STARTPTS,"
            f"apad=whole_dur={seconds:.6f}[a{index}]"
        )
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
    ffmpeg.run_ffmpeg(
        [
            *inputs,
            *("-filter_complex", ";".join(graph), "-map", video, "-map", audio),
            *ffmpeg.video_codec_args(fps),
            *ffmpeg.AUDIO_CODEC_ARGS,
            *("-movflags", "+faststart", "-f", "mp4", str(out)),
        ],
        doing="crossfading the clips",
    )
