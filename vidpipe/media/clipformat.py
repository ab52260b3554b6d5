"""The canonical clip: the one encoding every clip of a project is kept in, so that the final
cut can copy clips' packets instead of re-encoding them (see vidpipe.media.stitch and
vidpipe.media.audiosplice).

A canonical clip has exactly two streams, video then audio:
- H.264 from `ffmpeg.video_codec_args` at the project's frame size and rate: its stream headers
  (SPS/PPS) are byte-identical to those of any other canonical clip, its frames are exactly
  the scene's number, timed every 1/fps s from 0, with a keyframe on every point of the grid;
- AAC, 48 kHz stereo, from the same encoder settings (identical headers), its packets laid out
  as that encoder lays them (1024 samples of priming first, which players skip), exactly as
  long as the video (to the sample).

`conform` brings a clip to that form once, in the clip step, re-encoding only the streams that
differ (a clip of the offline provider is canonical as rendered and is left alone).
"""

from __future__ import annotations

import functools
import io
import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from vidpipe.errors import FfmpegFailed, StepFailed
from vidpipe.media import ffmpeg

AAC_PRIMING = 1024  # samples an AAC encoder puts before the audio (decoders skip them)
# non-square pixels made square at the size they are shown (960x720 at 4:3 is shown 1280x720);
# ffmpeg itself turns the picture as its display matrix says (autorotate) before any filter
SQUARE_PIXELS = "scale=trunc(iw*sar/2)*2:ih,setsar=1"


@dataclass(frozen=True)
class ClipSpec:
    """The canonical form of one clip of a project."""

    width: int
    height: int
    fps: int
    frames: int
    fit: str = "crop"  # a clip of another shape: centre-cropped, or whole with bars ("bars")

    @property
    def samples(self) -> int:
        return round(self.frames * ffmpeg.AUDIO_RATE / self.fps)


@dataclass(frozen=True)
class VideoFacts:
    codec: str
    width: int
    height: int
    headers: bytes
    time_base: Fraction
    pts: tuple[int, ...]  # every frame's timestamp, in presentation order
    keyframes: frozenset[int]  # timestamps of the keyframes
    pixel_aspect: Fraction = Fraction(1)  # a pixel's width / height (1 when not given)
    rotation: int = 0  # degrees the display matrix turns the picture (0: none)


@dataclass(frozen=True)
class AudioFacts:
    codec: str
    rate: int
    channels: int
    headers: bytes
    start: int  # timestamp of the first sample, in samples (negative: encoder priming)
    end: int  # timestamp just after the last sample


@dataclass(frozen=True)
class ClipFacts:
    kinds: tuple[str, ...]  # the type of each stream, in order
    video: VideoFacts | None
    audio: AudioFacts | None


# what to do about a clip that cannot be used (a clip step makes a deleted clip again)
CLIP_FIX = "replace it with a complete video, or delete it to have the clip made again"
NOT_CONVERTED = "cannot be converted to the project's format"


def unusable(path: Path, what: str) -> StepFailed:
    """The one wording of a clip that cannot be used: its file, what is wrong, what to do."""
    return StepFailed(f"{path} {what}; {CLIP_FIX}")


def _unreadable(path: Path) -> str:
    """Why ffmpeg cannot open the file at `path`, in words."""
    if path.stat().st_size == 0:
        return "is empty (0 bytes)"
    with open(path, "rb") as handle:
        head = handle.read(12)
    if head[4:8] == b"ftyp" and b"moov" not in _top_level_boxes(path):
        return "is an MP4 without its index (no moov atom), as a copy cut short leaves it"
    return "is not a video ffmpeg can read"


def _top_level_boxes(path: Path) -> list[bytes]:
    """The types of the top-level boxes (atoms) of an MP4 file, as far as they are whole."""
    kinds, size = [], path.stat().st_size
    with open(path, "rb") as handle:
        position = 0
        while position + 8 <= size:
            handle.seek(position)
            header = handle.read(16)
            length, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if length == 1 and len(header) == 16:  # a 64-bit size follows the type
                length = int.from_bytes(header[8:16], "big")
            if length < 8 or position + length > size:
                break  # cut short (or zero: "to the end of the file")
            kinds.append(kind)
            position += length
    return kinds


def probe(path: Path) -> ClipFacts:
    """A clip's streams and packet timestamps, read with PyAV (only the first frame is
    decoded, for the rotation of its display matrix). A clip
    that cannot be used (unreadable, without video, holding fewer frames than its index
    declares) is refused with its name and what to do."""
    import av

    try:
        container = av.open(str(path))
    except av.error.FFmpegError:
        raise unusable(path, _unreadable(path)) from None
    with container:
        kinds = tuple(stream.type for stream in container.streams)
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        if video is None:
            has = "only audio" if audio is not None else "no streams"
            raise unusable(path, f"has no video ({has})")
        pts: list[int] = []
        keyframes: set[int] = set()
        audio_start: int | None = None
        audio_end = 0
        for packet in container.demux([s for s in (video, audio) if s is not None]):
            if packet.pts is None:
                continue
            if packet.stream is video:
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keyframes.add(packet.pts)
            else:
                audio_start = packet.pts if audio_start is None else audio_start
                audio_end = max(audio_end, packet.pts + (packet.duration or 0))
        declared = video.frames  # from the index: 0 where the container does not say
        if declared and len(pts) < declared:
            raise unusable(path, f"is cut short: it holds {len(pts)} of its {declared} frames")
        return ClipFacts(
            kinds,
            _video_facts(video, sorted(pts), keyframes, _rotation(container, video)),
            _audio_facts(audio, audio_start or 0, audio_end) if audio is not None else None,
        )


def check_decodes(path: Path) -> None:
    """Refuse a clip whose video does not decode to its end: damaged data decodes to fewer
    frames, or fails, where ffmpeg itself would carry on (and exit 0) with a frozen frame."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = decoded = 0
        try:
            for packet in container.demux(stream):
                packets += packet.size > 0
                decoded += len(packet.decode())
        except av.error.FFmpegError:
            pass  # counted below: the frames before the damage decoded
    if decoded < packets:
        raise unusable(path, f"is damaged: only {decoded} of its {packets} frames decode")


def _rotation(container, stream) -> int:
    """The rotation of the stream's display matrix, read from its first frame (the one thing
    probe decodes: PyAV gives the matrix only with frames)."""
    import av

    container.seek(0, stream=stream)
    try:
        for frame in container.decode(stream):
            return round(frame.rotation) % 360
    except av.error.FFmpegError:
        pass  # a damaged clip: check_decodes says so
    return 0


def _video_facts(stream, pts: list[int], keyframes: set[int], rotation: int) -> VideoFacts:
    context = stream.codec_context
    aspect = context.sample_aspect_ratio
    return VideoFacts(
        context.name,
        context.width,
        context.height,
        bytes(context.extradata or b""),
        Fraction(stream.time_base),
        tuple(pts),
        frozenset(keyframes),
        Fraction(aspect) if aspect else Fraction(1),
        rotation,
    )


def _audio_facts(stream, start: int, end: int) -> AudioFacts:
    context = stream.codec_context
    samples = stream.time_base * context.sample_rate  # one timestamp tick, in samples
    return AudioFacts(
        context.name,
        context.sample_rate,
        context.channels,
        bytes(context.extradata or b""),
        round(start * samples),
        round(end * samples),
    )


@functools.cache
def canonical_headers(width: int, height: int, fps: int) -> tuple[bytes, bytes]:
    """The stream headers (video, audio) of the canonical encoding, read from a one-frame
    sample encoded with it, in memory (a fragmented MP4 on a pipe: its headers are those of
    a file's, and a kill leaves no sample behind, in TMPDIR or elsewhere)."""
    import av

    sample = ffmpeg.ffmpeg_output(
        [
            *("-f", "lavfi", "-i", f"color=black:s={width}x{height}:r={fps}"),
            *("-f", "lavfi", "-i", f"anullsrc=channel_layout=stereo:r={ffmpeg.AUDIO_RATE}"),
            *("-vf", "setsar=1", "-frames:v", "1", "-t", f"{1 / fps:.6f}"),
            *ffmpeg.video_codec_args(fps),
            *ffmpeg.AUDIO_CODEC_ARGS,
            *("-movflags", "frag_keyframe+empty_moov", "-f", "mp4", "pipe:1"),
        ],
        doing="finding the project's encoder settings",
    )
    with av.open(io.BytesIO(sample), format="mp4") as container:
        video = container.streams.video[0].codec_context
        audio = container.streams.audio[0].codec_context
        return bytes(video.extradata or b""), bytes(audio.extradata or b"")


def video_problems(facts: ClipFacts, spec: ClipSpec, headers: bytes) -> list[str]:
    """How the video differs from the canonical form (empty: it can be copied as it is)."""
    video = facts.video
    if video is None:
        raise StepFailed("the clip has no video stream")
    if (video.codec, video.width, video.height) != ("h264", spec.width, spec.height):
        return [f"video is {video.codec} {video.width}x{video.height}"]
    if video.headers != headers:
        return ["video encoder settings differ"]
    if video.pixel_aspect != 1:
        return [f"pixels are not square (aspect {video.pixel_aspect})"]
    if video.rotation:
        return [f"video is shown turned {video.rotation} degrees"]
    if len(video.pts) != spec.frames:
        return [f"{len(video.pts)} frames instead of {spec.frames}"]
    # frame i at i/fps s: pts * time_base == i / fps, in integers
    ticks, second = video.time_base.numerator * spec.fps, video.time_base.denominator
    if any(pts * ticks != frame * second for frame, pts in enumerate(video.pts)):
        return [f"frames are not every 1/{spec.fps} s from 0"]
    grid = video.pts[:: ffmpeg.keyframe_interval(spec.fps)]
    if not video.keyframes.issuperset(grid):
        return [f"keyframes are not every {ffmpeg.KEYFRAME_SECONDS} s"]
    return []


def audio_problems(facts: ClipFacts, spec: ClipSpec, headers: bytes) -> list[str]:
    """How the audio differs from the canonical form (empty: clips' audio can be decoded one
    after another without a gap or overlap)."""
    audio = facts.audio
    if audio is None:
        return ["no audio"]
    problems = []
    expected = ("aac", ffmpeg.AUDIO_RATE, 2, headers)
    if (audio.codec, audio.rate, audio.channels, audio.headers) != expected:
        problems.append(f"audio is {audio.codec} {audio.rate} Hz {audio.channels} channels")
    # packets laid out as the encoder lays them: the splicing of crossfades counts on it
    if audio.start != -AAC_PRIMING or audio.end != spec.samples:
        seconds = (audio.end - max(audio.start, 0)) / audio.rate
        problems.append(f"audio lasts {seconds:.3f} s instead of {spec.frames / spec.fps:.3f} s")
    return problems


def problems(facts: ClipFacts, spec: ClipSpec) -> tuple[list[str], list[str]]:
    """(video problems, audio problems) of a clip against the canonical form."""
    video_headers, audio_headers = canonical_headers(spec.width, spec.height, spec.fps)
    return video_problems(facts, spec, video_headers), audio_problems(facts, spec, audio_headers)


def stamp(path: Path, spec: ClipSpec) -> str:
    """What a clip found canonical is known by: its size and modification time, its spec (the
    fit too: a clip converted to fit the frame is converted again when it changes) and the
    encoder (ffmpeg.encoder_identity). A clip whose stamp is unchanged need not be probed
    again; any change to the file or the encoder changes the stamp."""
    stat = path.stat()
    fit = "" if spec.fit == "crop" else f":{spec.fit}"  # the default: stamps made before fit
    return (
        f"{stat.st_size}:{stat.st_mtime_ns}:{spec.width}x{spec.height}@{spec.fps}:"
        f"{spec.frames}{fit}:{ffmpeg.encoder_identity()}"
    )


def trimmed(path: Path, spec: ClipSpec) -> str | None:
    """What the stitch cuts off a clip longer than its scene, in words (None: nothing)."""
    video = probe(path).video
    assert video is not None  # probe refuses a clip without video
    if not video.pts:
        return None
    # the span of its frames' times: one frame short of its length
    seconds, scene = (
        (video.pts[-1] - video.pts[0]) * video.time_base,
        Fraction(spec.frames, spec.fps),
    )
    if seconds < scene:
        return None
    return f"it is longer than its scene: trimmed to {float(scene):g} s"


def is_canonical(path: Path, spec: ClipSpec) -> bool:
    facts = probe(path)
    video, audio = problems(facts, spec)
    return facts.kinds == ("video", "audio") and not video and not audio


def conform(path: Path, spec: ClipSpec, named: Path | None = None) -> list[str]:
    """Bring the clip at `path` to the canonical form, in place (see convert; `named`: the
    clip's name in messages). Returns what was changed (empty when it was canonical already)."""
    facts = probe(path)
    changes = _changes(facts, spec)
    if not changes:
        return []
    fixed = path.with_name(f"{path.stem}.conformed{path.suffix}")
    try:
        _rewritten(path, fixed, spec, facts, named or path)
        os.replace(fixed, path)
    finally:
        fixed.unlink(missing_ok=True)
    return changes


def convert(source: Path, out: Path, spec: ClipSpec) -> list[str]:
    """Write the clip at `source` to `out` in the canonical form, re-encoding only the streams
    that differ (a copy when none does). Returns what was changed. A clip that cannot be
    converted is refused with its name (the file the user knows, never a temporary one),
    what went wrong and what to do."""
    facts = probe(source)
    changes = _changes(facts, spec)
    if changes:
        _rewritten(source, out, spec, facts, source)
    else:
        shutil.copyfile(source, out)
    return changes


def _changes(facts: ClipFacts, spec: ClipSpec) -> list[str]:
    """What converting a clip to the canonical form changes (empty: it is canonical)."""
    video, audio = problems(facts, spec)
    layout = [] if facts.kinds == ("video", "audio") else ["other streams dropped"]
    return [*video, *audio, *layout]


def _rewritten(source: Path, out: Path, spec: ClipSpec, facts: ClipFacts, named: Path) -> None:
    """`source` re-encoded into `out` where it differs from the canonical form, and checked;
    a clip that cannot be is refused as `named`."""
    video, audio = problems(facts, spec)
    try:
        _rewrite(source, out, spec, facts, video=bool(video), audio=bool(audio))
    except FfmpegFailed as err:
        raise unusable(named, f"{NOT_CONVERTED} (ffmpeg: {err.log})") from None
    video_left, audio_left = problems(probe(out), spec)
    if video_left or audio_left:
        raise unusable(named, f"{NOT_CONVERTED}: {(video_left + audio_left)[0]}")


def _fit_filter(spec: ClipSpec) -> str:
    """Scale to the frame: cover it and centre-crop, or (`bars`) fit inside it, centred on
    black (vidpipe.media.stills.fitted does the same to a keyframe)."""
    width, height = spec.width, spec.height
    if spec.fit == "bars":
        return (
            f"scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:black"
        )
    return f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height}"


def _rewrite(
    source: Path, out: Path, spec: ClipSpec, facts: ClipFacts, video: bool, audio: bool
) -> None:
    """Write `source` in the canonical form: re-encode the video and/or the audio, copy the
    rest. Both streams are timed from 0 (a late start is padded), then cut or padded to the
    scene's length."""
    fps = spec.fps
    inputs = ["-i", str(source)]
    graph, outputs = [], []
    if video:
        # fill the frame (scale, then centre-crop or pad), hold the last frame when it is short
        graph.append(
            f"[0:v:0]{SQUARE_PIXELS},fps={fps}:start_time=0,{_fit_filter(spec)},setsar=1,"
            f"tpad=stop_mode=clone:stop={spec.frames}[v]"
        )
        outputs += ["-map", "[v]", "-frames:v", str(spec.frames), *ffmpeg.video_codec_args(fps)]
    else:
        outputs += ["-map", "0:v:0", "-c:v", "copy"]
    if facts.audio is None:
        inputs += ["-f", "lavfi", "-i", f"anullsrc=channel_layout=stereo:r={ffmpeg.AUDIO_RATE}"]
        graph.append(f"[1:a]atrim=end_sample={spec.samples}[a]")
    elif audio:
        graph.append(
            f"[0:a:0]aresample={ffmpeg.AUDIO_RATE}:first_pts=0,aformat=channel_layouts=stereo,"
            f"apad=whole_len={spec.samples},atrim=end_sample={spec.samples}[a]"
        )
    if facts.audio is None or audio:
        outputs += ["-map", "[a]", *ffmpeg.AUDIO_CODEC_ARGS]
    else:
        outputs += ["-map", "0:a:0", "-c:a", "copy"]
    filters = ["-filter_complex", ";".join(graph)] if graph else []
    ffmpeg.run_ffmpeg(
        [*inputs, *filters, *outputs, "-movflags", "+faststart", "-f", "mp4", str(out)],
        doing="converting a clip to the project's format",
    )
