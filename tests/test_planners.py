"""Properties of the two pure planners of a stitch: which video frames are copied and which
re-encoded around each crossfade (vidpipe.media.stitch.plan), and which AAC packets are copied
and which re-encoded (vidpipe.media.audiosplice.plan). No ffmpeg: these are plain functions."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from vidpipe.media import audiosplice, ffmpeg, stitch
from vidpipe.media.audiosplice import EDGE, FRAME
from vidpipe.media.stitch import Part

FAST = settings(max_examples=200, deadline=None)
FPS = [12, 24, 25, 30, 48, 50, 60]  # rates that divide the audio rate, as the pipeline's do


@st.composite
def cuts(draw, min_frames: int = 2) -> tuple[list[int], int, int]:
    """(clip lengths in frames, crossfade in frames, keyframe interval in frames): a crossfade
    of at most half the shortest clip, as `stitch.fade_frames` makes it."""
    frames = draw(st.lists(st.integers(min_frames, 400), min_size=1, max_size=8))
    fade = 0 if len(frames) == 1 else draw(st.integers(0, min(frames) // 2))
    interval = draw(
        st.integers(1, 40) | st.sampled_from([ffmpeg.keyframe_interval(f) for f in FPS])
    )
    return frames, fade, interval


def windows_of(parts: list[Part]):
    return [window for part in parts for window in part.windows]


# --- the video plan -------------------------------------------------------------------------


@FAST
@given(cuts())
def test_the_parts_cover_every_frame_of_every_clip_once_in_order(cut):
    frames, fade, interval = cut
    windows = windows_of(stitch.plan(frames, fade, interval))
    assert all(window.start < window.end for window in windows)
    # laid end to end, the windows are clip 0 from its first frame to its last, then clip 1...
    tiles = [(window.clip, window.start, window.end) for window in windows]
    expected_next = [(0, 0)]
    for clip, start, end in tiles:
        assert (clip, start) in expected_next, (tiles, clip, start)
        expected_next = [(clip, end)] if end < frames[clip] else [(clip + 1, 0)]
    assert expected_next == [(len(frames), 0)], tiles


@FAST
@given(cuts())
def test_the_cut_is_as_long_as_the_clips_less_one_crossfade_per_joint(cut):
    frames, fade, interval = cut
    parts = stitch.plan(frames, fade, interval)
    assert sum(part.frames(fade) for part in parts) == sum(frames) - (len(frames) - 1) * fade


@FAST
@given(cuts())
def test_hard_cuts_copy_every_clip_whole(cut):
    frames, _, interval = cut
    parts = stitch.plan(frames, 0, interval)
    assert [(p.rendered, [(w.clip, w.start, w.end) for w in p.windows]) for p in parts] == [
        (False, [(k, 0, count)]) for k, count in enumerate(frames)
    ]


@FAST
@given(cuts())
def test_copied_parts_are_one_clip_alone_from_keyframe_to_keyframe(cut):
    frames, fade, interval = cut
    last = len(frames) - 1
    for part in stitch.plan(frames, fade, interval):
        if part.rendered:
            continue
        (window,) = part.windows
        count = frames[window.clip]
        assert window.start % interval == 0  # a copy starts on a keyframe
        assert window.end == count or window.end % interval == 0  # and the next part too
        if fade:  # no frame of a crossfade is copied
            assert window.clip == 0 or window.start >= fade
            assert window.clip == last or window.end <= count - fade


@FAST
@given(cuts())
def test_each_crossfade_lies_inside_one_rendered_part_starting_on_a_keyframe(cut):
    frames, fade, interval = cut
    parts = stitch.plan(frames, fade, interval)
    joints = []
    for part in parts:
        if not part.rendered:
            continue
        windows = part.windows
        assert windows[0].start % interval == 0  # its frames are cut from the clip at a keyframe
        assert [w.clip for w in windows] == list(
            range(windows[0].clip, windows[0].clip + len(windows))
        )
        for before, after in zip(windows, windows[1:], strict=False):
            # the joint from `before` to `after`: both windows hold the whole crossfade
            assert before.end == frames[before.clip] and after.start == 0
            assert before.frames >= fade and after.frames >= fade
            joints.append(before.clip)
    assert joints == (list(range(len(frames) - 1)) if fade else [])


@FAST
@given(cuts())
def test_rendered_parts_reach_only_to_the_nearest_keyframes(cut):
    """ "A rendered part runs from the last keyframe at or before a crossfade starts to the
    first keyframe at or after it ends"; a clip too short for a copyable middle falls wholly
    inside it."""
    frames, fade, interval = cut
    for part in stitch.plan(frames, fade, interval):
        if not part.rendered:
            continue
        first, final = part.windows[0], part.windows[-1]
        if len(part.windows) > 1:
            count = frames[first.clip]
            if first.start > 0:
                assert first.start <= count - fade < first.start + interval
            if final.end < frames[final.clip]:
                assert final.end - interval < fade <= final.end
        for window in part.windows[1:-1]:  # clips wholly inside: no keyframe pair to copy between
            assert (window.start, window.end) == (0, frames[window.clip])


@FAST
@given(cuts())
def test_copied_and_rendered_parts_alternate(cut):
    frames, fade, interval = cut
    kinds = [part.rendered for part in stitch.plan(frames, fade, interval)]
    if fade:
        assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False)), kinds
    else:
        assert not any(kinds)


@FAST
@given(cuts(), st.floats(0, 3), st.sampled_from(FPS))
def test_the_crossfade_in_frames_is_at_most_half_the_shortest_clip(cut, seconds, fps):
    frames = cut[0]
    fade = stitch.fade_frames(seconds, fps, frames)
    if seconds <= 0 or len(frames) < 2:
        assert fade == 0
    else:
        assert 1 <= fade <= max(1, min(frames) // 2)
        assert fade <= round(seconds * fps) or fade == 1


# --- the audio plan -------------------------------------------------------------------------


@st.composite
def audio_cuts(draw) -> tuple[list[int], int, int]:
    frames, fade, _ = draw(cuts())
    return frames, fade, draw(st.sampled_from(FPS))


def audio_plan(frames: list[int], fade: int, fps: int) -> audiosplice.Plan:
    paths = [Path(f"clip{k}.mp4") for k in range(len(frames))]
    return audiosplice.plan(paths, frames, fade, fps)


@FAST
@given(audio_cuts())
def test_the_audio_is_exactly_as_long_as_the_video(cut):
    frames, fade, fps = cut
    plan = audio_plan(frames, fade, fps)
    video_frames = sum(frames) - (len(frames) - 1) * fade
    assert plan.samples * fps == video_frames * ffmpeg.AUDIO_RATE
    assert plan.packets == -(-plan.samples // FRAME) + 1  # the priming packet, then the audio
    assert [track.samples * fps for track in plan.tracks] == [
        count * ffmpeg.AUDIO_RATE for count in frames
    ]


@FAST
@given(audio_cuts())
def test_audio_segments_tile_the_packets_with_no_gap_or_overlap(cut):
    plan = audio_plan(*cut)
    segments = plan.segments
    assert segments[0].first == 0 and segments[-1].last == plan.packets
    assert all(s.first < s.last for s in segments)
    assert all(a.last == b.first for a, b in zip(segments, segments[1:], strict=False))
    assert segments[-1].track is None  # the film's last frames are re-encoded: it ends exactly
    copied = [s.track for s in segments if s.track is not None]
    assert copied == sorted(set(copied))  # each clip copied at most once, in order


@FAST
@given(audio_cuts())
def test_clips_move_onto_the_frame_grid_only_under_a_crossfade_longer_than_a_frame(cut):
    frames, fade, fps = cut
    plan = audio_plan(frames, fade, fps)
    per_frame = ffmpeg.AUDIO_RATE // fps
    exact = [(sum(frames[:k]) - k * fade) * per_frame for k in range(len(frames))]
    starts = [track.start for track in plan.tracks]
    if fade * per_frame > FRAME:
        assert all(start % FRAME == 0 for start in starts)
        assert all(
            abs(start - true) <= FRAME // 2 for start, true in zip(starts, exact, strict=True)
        )
    else:
        assert starts == exact  # hard cuts: every clip exactly in place


@FAST
@given(audio_cuts())
def test_the_audio_crossfades_lie_within_both_clips(cut):
    frames, fade, fps = cut
    plan = audio_plan(frames, fade, fps)
    overlap = fade * (ffmpeg.AUDIO_RATE // fps)
    assert len(plan.fades) == len(frames) - 1
    for k, one in enumerate(plan.fades):
        outgoing, incoming = plan.tracks[k], plan.tracks[k + 1]
        assert incoming.start <= one.begin <= one.end <= outgoing.start + outgoing.samples
        assert one.end - one.begin <= overlap
        if overlap > FRAME:  # each clip at most half a frame from its place
            assert one.end - one.begin >= overlap - FRAME


@FAST
@given(audio_cuts())
def test_copied_packets_are_one_clip_alone_away_from_its_edges(cut):
    """Output packet n decodes [(n - 1) * FRAME, n * FRAME) and is encoded from [(n - 1) *
    FRAME, (n + 1) * FRAME): a copied one has that whole window in its own clip, solo, at least
    EDGE frames from the clip's edges and crossfades, the clip on the grid."""
    plan = audio_plan(*cut)
    for segment in plan.segments:
        if segment.track is None:
            continue
        k, track = segment.track, plan.tracks[segment.track]
        assert track.start % FRAME == 0 and track.shift * FRAME == track.start
        low = plan.fades[k - 1].end + EDGE * FRAME if k else -FRAME  # clip 0: its priming too
        end = min(plan.samples, track.start + track.samples)
        high = (plan.fades[k].begin if k < len(plan.fades) else end) - EDGE * FRAME
        assert (segment.first - 1) * FRAME >= low
        assert segment.last * FRAME <= high  # the window of its last packet, last - 1
        assert (segment.first - 1) * FRAME >= track.start - (FRAME if k == 0 else 0)


@FAST
@given(audio_cuts())
def test_every_clip_on_the_grid_with_room_for_a_packet_is_copied(cut):
    """Nothing is re-encoded that could be copied: a clip on the grid whose solo span holds
    a whole packet window has its packets copied, every one that fits."""
    plan = audio_plan(*cut)
    copied = {s.track: s for s in plan.segments if s.track is not None}
    for k, track in enumerate(plan.tracks):
        first, last = track.solo
        fitting = [
            n for n in range(plan.packets) if (n - 1) * FRAME >= first and (n + 1) * FRAME <= last
        ]
        if track.start % FRAME or not fitting:
            assert k not in copied
        else:
            assert (copied[k].first, copied[k].last) == (fitting[0], fitting[-1] + 1)


@FAST
@given(st.lists(st.integers(1, 6), min_size=1, max_size=6), st.sampled_from(FPS))
def test_hard_cuts_of_whole_frame_clips_copy_every_clip(seconds, fps):
    """ "all of them when every clip lasts a whole number of frames (8 s at 24 fps)": clips of
    whole multiples of 8 s (384000 samples, 375 AAC frames) are all copied."""
    unit = 8 * fps
    plan = audio_plan([n * unit for n in seconds], 0, fps)
    assert all(track.start % FRAME == 0 for track in plan.tracks)
    assert [s.track for s in plan.segments if s.track is not None] == list(range(len(seconds)))
