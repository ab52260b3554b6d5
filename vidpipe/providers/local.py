"""The offline provider: a free animatic with no network and no key.

Storyboard: the beats of the prompt's kind (`templates/storyboard/<kind>.yaml`) filled in with
the prompt's own phrases (local_story). Keyframes: painted with Pillow (local_paint). Clips: a
steady Ken Burns pan or zoom over the keyframe, the move chosen from the scene's camera words,
with the caption laid over it unmoving. Deterministic for the same input.
"""

from __future__ import annotations

import re
from typing import Any

from vidpipe import templates
from vidpipe.media import ffmpeg
from vidpipe.media.camera import CameraMove
from vidpipe.project.storyboard import Scene, Storyboard
from vidpipe.providers.base import ClipJob, KeyframeJob, PortraitJob, Provenance, Provider

MODEL = "vidpipe-animatic-1"
PAINTER_VERSION = 2  # bump when the painter's output changes, so keyframes are redrawn
PORTRAIT_VERSION = 1  # same for the portraits
CLIP_VERSION = 3  # same for the clip renderer

# camera words -> move; checked in order, first match wins
CAMERA_MOVES: list[tuple[str, CameraMove]] = [
    (r"zoom(ing)? out|pull(s|ing)? (back|out)|dolly out|widen", CameraMove(zoom=(1.25, 1.0))),
    (r"fast push|crash zoom|snap zoom", CameraMove(zoom=(1.0, 1.4))),
    (
        r"zoom(ing)? in|push(es|ing)? in|dolly in|move(s)? in|close in",
        CameraMove(zoom=(1.0, 1.25)),
    ),
    (r"pan(s|ning)? left|track(s|ing)? left", CameraMove(zoom=(1.2, 1.2), x=(0.85, 0.15))),
    (
        r"pan(s|ning)? right|track(s|ing)? right|pan",
        CameraMove(zoom=(1.2, 1.2), x=(0.15, 0.85)),
    ),
    (r"tilt(s|ing)? up|crane up|rise|rising", CameraMove(zoom=(1.2, 1.2), y=(0.85, 0.15))),
    (r"tilt(s|ing)? down|crane down|descend", CameraMove(zoom=(1.2, 1.2), y=(0.15, 0.85))),
    (r"static|still|locked|hold", CameraMove(zoom=(1.0, 1.03))),
]


def camera_move(words: str) -> CameraMove:
    text = words.lower()
    move = next((move for pattern, move in CAMERA_MOVES if re.search(pattern, text)), None)
    move = move or CameraMove()
    if "slow" in text:  # a slow move travels half as far
        zoom_start, zoom_end = move.zoom
        move = CameraMove(
            zoom=(zoom_start, (zoom_start + zoom_end) / 2), x=_halve(move.x), y=_halve(move.y)
        )
    return move


def _halve(pair: tuple[float, float]) -> tuple[float, float]:
    """Half the travel, about the same middle point."""
    start, end = pair
    quarter = (end - start) / 4
    middle = (start + end) / 2
    return (middle - quarter, middle + quarter)


def plan_scenes(prompt: str, style: str, count: int, duration: float) -> Storyboard:
    from vidpipe.providers.local_story import plan_storyboard  # Jinja2 only when planning

    return plan_storyboard(prompt, style, count, duration)


class LocalProvider(Provider):
    name = "local"
    stages = frozenset({"storyboard", "keyframe", "clip"})
    draws_portraits = True

    def fingerprint(self, stage: str) -> dict[str, Any]:
        if stage == "storyboard":
            version: object = templates.kind_sources()
        else:
            version = {
                "keyframe": PAINTER_VERSION,
                "portrait": PORTRAIT_VERSION,
                "cast": PORTRAIT_VERSION,
                "clip": CLIP_VERSION,
            }[stage]
        return {"provider": self.name, "model": MODEL, "version": version}

    def write_storyboard(self) -> tuple[Storyboard, Provenance]:
        s = self.settings
        storyboard = plan_scenes(s.prompt, s.style, s.scenes, s.clip_duration)
        return storyboard, Provenance(self.name, MODEL, prompt=s.prompt)

    def portraits(self, stage: str, storyboard: Storyboard, scene: Scene) -> list[str]:
        return list(scene.characters) if stage == "keyframe" else []

    def draw_portrait(self, job: PortraitJob) -> Provenance:
        from vidpipe.providers.local_paint import paint_portrait
        from vidpipe.providers.local_subjects import character_figure

        who = job.character
        side = min(job.settings.frame_size())
        figure = character_figure(who.name, who.description)
        paint_portrait(job.out, side, who.name, figure, job.settings.style)
        return Provenance(self.name, MODEL, prompt=f"{who.name}: {who.description}")

    def draw_keyframe(self, job: KeyframeJob) -> Provenance:
        from vidpipe.providers.local_paint import paint_keyframe, portrait_figure
        from vidpipe.providers.local_story import character_names
        from vidpipe.providers.local_subjects import character_figure

        scene, storyboard = job.scene, job.storyboard
        # the scene's own cast, as their portraits show them; else the names its words say
        figures = {
            who.name: portrait_figure(
                job.portraits[who.id], character_figure(who.name, who.description)
            )
            for who in storyboard.cast(scene)
        }
        named = [who.name for who in storyboard.characters]
        paint_keyframe(
            job.out,
            job.settings.frame_size(),
            image_prompt=scene.image_prompt,
            context=f"{scene.title}. {scene.description} {job.settings.prompt}",
            style=job.settings.style,
            characters=[*named, *character_names(storyboard.characters_text)],
            figures=figures if storyboard.characters else None,
        )
        return Provenance(
            self.name, MODEL, prompt=scene.image_prompt, extra={"portraits": scene.characters}
        )

    def render_clip(self, job: ClipJob) -> Provenance:
        from vidpipe.media.kenburns import ken_burns
        from vidpipe.providers.local_paint import paint_caption

        scene = job.scene
        size = job.settings.frame_size()
        frames = ffmpeg.frame_count(scene.duration, job.settings.fps)
        move = camera_move(f"{scene.camera} {scene.video_prompt}")
        caption = job.out.with_name(f"{job.out.stem}.caption.png")
        try:
            paint_caption(caption, size, scene.title, scene.caption)
            fps, fit = job.settings.fps, job.settings.fit
            threads = ffmpeg.encoder_threads(job.settings.workers)
            ken_burns(job.keyframe, job.out, size, fps, frames, move, caption, fit, threads)
        finally:
            caption.unlink(missing_ok=True)
        return Provenance(self.name, MODEL, prompt=scene.camera, extra={"frames": frames})
