"""The audio track of a cut, made by copying the clips' AAC packets where it can and
re-encoding the rest in process (PyAV, numpy).

AAC codes audio in frames of 1024 samples, each overlapping the next (a decoder needs packet
n-1 to decode frame n). So a clip's packets can only be copied whole, to output positions a
whole number of frames from where the clip's own frames fall. With crossfades longer than a
frame, each clip is therefore placed at the frame boundary nearest its exact start: at most 512
samples (10.7 ms, a quarter of a video frame at 24 fps) early or late, never accumulating from
clip to clip, the crossfade hiding the move. Its packets are copied wherever the output is that
clip alone; the frames around a crossfade are re-encoded from the clips' decoded audio, mixed.
A hard cut has no overlap to hide a move in (clips would be up to 21 ms apart), so with hard
cuts (and crossfades no longer than a frame) every clip stays exactly in place, and only clips
that start on the grid are copied: the first, and all of them when every clip lasts a whole
number of frames (8 s at 24 fps: 384000 samples, 375 frames).

Re-encoded stretches are encoded in pieces of at most `PIECE` frames (on two threads when
nothing else is running: PyAV lets go of the interpreter while it encodes), each by its own
encoder started a few frames early, so that the first frame kept overlaps the one before it as
a single encoder's would; the last frames of the film are re-encoded too, so the track ends
exactly with the video.

Output packet n (n = 0 is the encoder priming, which players skip) decodes to the samples
[(n - 1) * FRAME, n * FRAME) of the cut; its encoding window spans [(n - 1) * FRAME,
(n + 1) * FRAME).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from vidpipe.errors import StepFailed
from vidpipe.media import ffmpeg

if TYPE_CHECKING:
    import numpy as np
    from av.audio.codeccontext import AudioCodecContext
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.packet import Packet
    from numpy.typing import NDArray

FRAME = 1024  # samples in an AAC frame
WARMUP = 4  # frames encoded (and dropped) before the first one kept: fewer leave a
# mismatch in the first frame kept (measured: 15 dB at 2 frames, clean from 3 on)
LOOKAHEAD = 2  # frames encoded (and dropped) after the last one kept
EDGE = 2  # frames next to a clip's edge that are re-encoded rather than copied (see `plan`)
PIECE = 256  # frames (5.5 s) encoded by one encoder: the memory of a piece, about 4 MB, is
# what the audio holds at a time, whatever the length of the film
TIME_BASE = Fraction(1, ffmpeg.AUDIO_RATE)


@dataclass(frozen=True)
class Track:
    """One clip's audio in the cut. `start`: the cut's sample where the clip's first sample
    plays (a whole number of frames); `solo`: the cut's samples [first, last) where the cut is
    this clip alone, at full volume."""

    path: Path
    samples: int
    start: int
    solo: tuple[int, int]

    @property
    def shift(self) -> int:
        """How many frames the clip's packets move by from the clip to the cut."""
        return self.start // FRAME


@dataclass(frozen=True)
class Fade:
    """A crossfade from one track to the next: over [begin, end) of the cut the outgoing
    track's volume falls from 1 to 0 and the incoming one's rises from 0 to 1."""

    begin: int
    end: int


@dataclass(frozen=True)
class Segment:
    """Output packets [first, last): copied from track `track`, or re-encoded (track None)."""

    first: int
    last: int
    track: int | None


@dataclass(frozen=True)
class Plan:
    tracks: list[Track]
    fades: list[Fade]
    samples: int  # the length of the cut
    segments: list[Segment]

    @property
    def packets(self) -> int:
        return _packets(self.samples)


def _packets(samples: int) -> int:
    """Packets in a track of `samples` samples, the priming one included."""
    return -(-samples // FRAME) + 1


def plan(paths: list[Path], frames: list[int], fade: int, fps: int) -> Plan:
    """Where each clip's audio goes and which packets are copied, for clips of `frames`
    frames joined by `fade`-frame crossfades (0: hard cuts)."""
    per_frame = ffmpeg.AUDIO_RATE // fps
    overlap = fade * per_frame
    lengths = [count * per_frame for count in frames]
    exact = [sum(lengths[:k]) - k * overlap for k in range(len(lengths))]  # true starts
    # with crossfades longer than a frame each clip moves onto the frame grid, to be copied
    movable = overlap > FRAME
    starts = [round(start / FRAME) * FRAME for start in exact] if movable else exact
    total = exact[-1] + lengths[-1]
    fades = []
    for k in range(len(paths) - 1):
        # the span where both clips sound, within the crossfade: each clip is at most
        # FRAME / 2 from its true place, so it is at least `overlap - FRAME` long
        end_of_outgoing = starts[k] + lengths[k]
        begin = max(starts[k + 1], end_of_outgoing - overlap)
        end = min(end_of_outgoing, starts[k + 1] + overlap)
        fades.append(Fade(begin, end))
    tracks = []
    for k, path in enumerate(paths):
        # Near its edges a clip's own encoder coded against silence and its end of stream,
        # which the cut's encoders do not see the same way: frames coded differently do not
        # join cleanly (11 to 16 dB, measured), so those are re-encoded, not copied. Only the
        # film's very start is the same for both.
        first = fades[k - 1].end + EDGE * FRAME if k else -FRAME  # (clip 0's priming packet)
        if k < len(fades):
            last = fades[k].begin - EDGE * FRAME
        else:
            last = min(total, starts[k] + lengths[k]) - EDGE * FRAME
        tracks.append(Track(path, lengths[k], starts[k], (first, last)))
    return Plan(tracks, fades, total, _segments(tracks, _packets(total)))


def _segments(tracks: list[Track], packets: int) -> list[Segment]:
    """Copy a packet from a track when its whole encoding window is that track alone;
    re-encode the rest."""
    segments: list[Segment] = []
    position = 0
    for index, track in enumerate(tracks):
        if track.start % FRAME:
            continue  # off the grid: none of its packets can be copied
        solo_first, solo_last = track.solo
        first = -(-solo_first // FRAME) + 1  # window start (n - 1) * FRAME >= solo_first
        last = solo_last // FRAME  # window end (n + 1) * FRAME <= solo_last
        if first >= last:
            continue
        if first > position:
            segments.append(Segment(position, first, None))
        segments.append(Segment(first, last, index))
        position = last
    if position < packets:
        segments.append(Segment(position, packets, None))
    return segments


# --- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spliced:
    """A planned track with its re-encoded segments made: the first packet of each, and its
    packets."""

    plan: Plan
    rendered: dict[int, list[Packet]]


def render(plan: Plan, clips: ffmpeg.Containers, threads: int = 1) -> Spliced | None:
    """Re-encode every segment that is not copied, in pieces, on this thread or on `threads`
    threads of their own; None when PyAV's AAC encoder writes other stream headers than the
    clips have (an ffmpeg of another version made them), so that its packets cannot join
    theirs."""
    if encoder().extradata != _audio(clips, plan.tracks[0].path).codec_context.extradata:
        return None
    # (the segment each piece is of, the piece)
    pieces = [
        (segment.first, Segment(first, min(first + PIECE, segment.last), None))
        for segment in plan.segments
        if segment.track is None
        for first in range(segment.first, segment.last, PIECE)
    ]
    if threads == 1:
        encoded = [_encode(plan, clips, piece) for _, piece in pieces]
    else:
        encoded = [[] for _ in pieces]
        with ThreadPoolExecutor(max_workers=threads) as pool:
            shares = [[piece for _, piece in pieces[k::threads]] for k in range(threads)]
            for k, share in enumerate(pool.map(functools.partial(_encode_apart, plan), shares)):
                encoded[k::threads] = share
    rendered: dict[int, list[Packet]] = {}
    for (segment, _), packets in zip(pieces, encoded, strict=True):
        rendered.setdefault(segment, []).extend(packets)
    return Spliced(plan, rendered)


def _encode_apart(plan: Plan, pieces: list[Segment]) -> list[list[Packet]]:
    """Re-encode `pieces` one after another, on a thread of their own (so with containers of
    their own)."""
    with ffmpeg.Containers() as clips:
        return [_encode(plan, clips, piece) for piece in pieces]


def packets(spliced: Spliced, clips: ffmpeg.Containers) -> Iterator[Packet]:
    """Every packet of the cut's audio, in order, timed."""
    plan = spliced.plan
    for segment in plan.segments:
        packets: Iterable[Packet]
        if segment.track is None:
            packets = spliced.rendered[segment.first]
        else:
            packets = _copied(clips, plan.tracks[segment.track], segment)
        for number, packet in enumerate(packets, start=segment.first):
            packet.pts = packet.dts = (number - 1) * FRAME
            packet.time_base = TIME_BASE
            yield packet


def _audio(clips: ffmpeg.Containers, path: Path) -> AudioStream:
    return clips.open(path).streams.audio[0]


def _samples_per_tick(stream: AudioStream) -> float:
    return float(ffmpeg.time_base(stream) / TIME_BASE)


def _clip_packets(stream: AudioStream, first: int, last: int) -> Iterator[tuple[int, Packet]]:
    """(number, packet) for a clip's packets number `first` to `last` - 1 (0 is the priming)."""
    samples = _samples_per_tick(stream)
    container = ffmpeg.input_container(stream)
    container.seek(round((first - 1) * FRAME / samples), stream=stream)
    for packet in container.demux(stream):
        if packet.pts is None:
            continue
        number = round(packet.pts * samples) // FRAME + 1
        if number >= last:
            break
        if number >= first:
            yield number, packet


def _copied(clips: ffmpeg.Containers, track: Track, segment: Segment) -> Iterator[Packet]:
    stream = _audio(clips, track.path)
    first, last = segment.first - track.shift, segment.last - track.shift
    expected = first
    for number, packet in _clip_packets(stream, first, last):
        if number != expected:
            break
        expected += 1
        yield packet
    if expected != last:
        raise StepFailed(f"{track.path.name}: audio packet {expected} is missing")


def _decoded(clips: ffmpeg.Containers, track: Track, first: int, last: int) -> NDArray[np.float32]:
    """The clip's decoded samples [first, last), as a (channels, samples) float array."""
    import numpy as np

    stream = _audio(clips, track.path)
    out = np.zeros((2, last - first), dtype=np.float32)
    # frame k holds samples [(k - 1) * FRAME, k * FRAME) and needs packet k - 1 decoded first
    needed = first // FRAME + 1
    decoder = stream.codec_context
    decoder.flush_buffers()
    samples_per_tick = _samples_per_tick(stream)
    for number, packet in _clip_packets(stream, needed - 1, (last - 1) // FRAME + 2):
        for frame in decoder.decode(packet):
            if number < needed or frame.pts is None:
                continue  # the warm-up packet: its frame lacks the one before
            at = round(frame.pts * samples_per_tick)
            samples = frame.to_ndarray()
            lo, hi = max(at, first), min(at + frame.samples, last)
            if lo < hi:
                out[:, lo - first : hi - first] = samples[:, lo - at : hi - at]
    return out


def _volume(plan: Plan, index: int, first: int, last: int) -> NDArray[np.float32]:
    """Track `index`'s volume over the cut's samples [first, last)."""
    import numpy as np

    at = np.arange(first, last, dtype=np.float64)
    volume = np.ones(last - first, dtype=np.float64)
    # (at a hard cut the fade is empty: the clips do not overlap, so each sounds at full volume)
    if index > 0 and plan.fades[index - 1].end > plan.fades[index - 1].begin:
        fade = plan.fades[index - 1]
        volume *= np.clip((at - fade.begin) / (fade.end - fade.begin), 0, 1)
    if index < len(plan.fades) and plan.fades[index].end > plan.fades[index].begin:
        fade = plan.fades[index]
        volume *= 1 - np.clip((at - fade.begin) / (fade.end - fade.begin), 0, 1)
    return volume.astype(np.float32)


def _mixed(plan: Plan, clips: ffmpeg.Containers, first: int, last: int) -> NDArray[np.float32]:
    """The cut's samples [first, last): every track that sounds there, at its volume."""
    import numpy as np

    out = np.zeros((2, last - first), dtype=np.float32)
    for index, track in enumerate(plan.tracks):
        lo, hi = max(first, track.start), min(last, track.start + track.samples)
        if lo >= hi:
            continue
        samples = _decoded(clips, track, lo - track.start, hi - track.start)
        out[:, lo - first : hi - first] += samples * _volume(plan, index, lo, hi)
    return out


def encoder() -> AudioCodecContext:
    """An AAC encoder with the clips' settings (ffmpeg.AUDIO_CODEC_ARGS)."""
    import av

    context = av.CodecContext.create("aac", "w")
    _clip_audio(context)
    context.format = "fltp"
    context.time_base = TIME_BASE
    context.open()
    return context


def _clip_audio(context: AudioCodecContext) -> None:
    """The clips' AAC settings (ffmpeg.AUDIO_CODEC_ARGS), on an encoder's context."""
    context.sample_rate = ffmpeg.AUDIO_RATE
    context.layout = "stereo"
    context.bit_rate = ffmpeg.AUDIO_BITRATE
    context.options = {"aac_coder": "fast"}


def _encode(plan: Plan, clips: ffmpeg.Containers, segment: Segment) -> list[Packet]:
    """Re-encode the packets of `segment` from the mixed clips."""
    read = functools.partial(_mixed, plan, clips)
    return encode_piece(read, plan.samples, segment.first, segment.last)


def encode_piece(
    read: Callable[[int, int], NDArray[np.float32]], samples: int, first: int, last: int
) -> list[Packet]:
    """Packets [first, last) of a track of `samples` samples, encoded from `read(begin, end)`
    (its samples [begin, end), planar stereo) by an encoder of their own, started WARMUP frames
    early so that they join the packets before them as one encoder's would."""
    import av

    warmup = min(WARMUP, first)
    at_end = last == _packets(samples)
    end = samples if at_end else min(samples, (last + LOOKAHEAD) * FRAME)
    planar = read((first - warmup) * FRAME, end)
    context = encoder()
    packets: list[Packet] = []
    for offset in range(0, planar.shape[1], FRAME):
        frame = av.AudioFrame.from_ndarray(
            planar[:, offset : offset + FRAME], format="fltp", layout="stereo"
        )
        frame.sample_rate, frame.pts, frame.time_base = ffmpeg.AUDIO_RATE, offset, TIME_BASE
        packets += context.encode(frame)
    packets += context.encode(None)
    kept = packets[warmup : warmup + last - first]
    if len(kept) != last - first:
        raise StepFailed("the AAC encoder gave fewer frames than the track needs")
    if at_end:  # the last packet holds only the track's final samples
        kept[-1].duration = samples - (_packets(samples) - 2) * FRAME
    return kept


def mux_track(container: OutputContainer, packets: list[Packet]) -> None:
    """`packets` (encode_track's) as the AAC stream of `container`, in the clips' settings."""
    stream = container.add_stream("aac", rate=ffmpeg.AUDIO_RATE)
    _clip_audio(stream.codec_context)
    for packet in packets:
        packet.stream = stream
        container.mux(packet)


def encode_track(planar: NDArray[np.float32], threads: int = 2) -> list[Packet]:
    """Every packet of a whole track (planar stereo floats), timed, the priming one first:
    encoded in pieces of PIECE frames on `threads` threads (PyAV lets go of the interpreter
    while it encodes)."""
    samples = planar.shape[1]
    count = _packets(samples)
    pieces = [(first, min(first + PIECE, count)) for first in range(0, count, PIECE)]

    def encode(piece: tuple[int, int]) -> list[Packet]:
        return encode_piece(lambda begin, end: planar[:, begin:end], samples, *piece)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        packets = [packet for piece in pool.map(encode, pieces) for packet in piece]
    for number, packet in enumerate(packets):
        packet.pts = packet.dts = (number - 1) * FRAME
        packet.time_base = TIME_BASE
    return packets
