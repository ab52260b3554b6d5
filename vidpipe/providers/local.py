"""The offline provider: a free animatic with no network and no key.

Storyboard: a story arc from `templates/storyboard/local_arc.yaml` filled in with the prompt.
Keyframes: painted with Pillow (local_paint). Clips: Ken Burns pan/zoom over the keyframe with
ffmpeg, the move chosen from the scene's camera words. Deterministic for the same input.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from vidpipe import templates
from vidpipe.media import ffmpeg
from vidpipe.media.kenburns import CameraMove, ken_burns
from vidpipe.project.storyboard import Scene, Storyboard
from vidpipe.providers.base import ClipJob, KeyframeJob, Provenance, Provider
from vidpipe.providers.local_sound import local_narration

ARC_TEMPLATE = "storyboard/local_arc.yaml"
MODEL = "vidpipe-animatic-1"
PAINTER_VERSION = 1  # bump when the painter's output changes, so keyframes are redrawn
CLIP_VERSION = 2  # same for the clip renderer

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
    """Pick `count` beats from the arc (the most important ones, in story order), fill them in
    and number them s1..sN."""
    arc = yaml.safe_load(templates.source_text(ARC_TEMPLATE))
    beats: list[dict[str, Any]] = arc["beats"]
    if count <= len(beats):
        keep = sorted(beats, key=lambda beat: beat["rank"])[:count]
        picks = [beat for beat in beats if beat in keep]
    else:
        turn = next(i for i, beat in enumerate(beats) if beat.get("development"))
        extra = count - len(beats)
        development = [
            {**beats[turn], "title": f"{beats[turn]['title']} ({part})"}
            for part in range(2, extra + 2)
        ]
        picks = beats[: turn + 1] + development + beats[turn + 1 :]

    story = prompt.rstrip(".!?")
    if len(story) > 1 and not story[1].isupper():
        story = story[0].lower() + story[1:]

    def fill(text: str) -> str:
        return templates.render_string(text, prompt=prompt, story=story, style=style).strip()

    scenes = [
        Scene(
            id=f"s{number}",
            title=fill(beat["title"]),
            description=fill(beat["description"]),
            image_prompt=fill(beat["image_prompt"]),
            video_prompt=fill(beat["video_prompt"]),
            camera=fill(beat["camera"]),
            caption=fill(beat["caption"])[:300],
            duration=duration,
            narration=local_narration(fill(beat["description"]), fill(beat["caption"]), duration),
        )
        for number, beat in enumerate(picks, start=1)
    ]
    title = fill(arc["title"])
    return Storyboard(title=title[:200], scenes=scenes)


class LocalProvider(Provider):
    name = "local"
    stages = frozenset({"storyboard", "keyframe", "clip"})

    def fingerprint(self, stage: str) -> dict[str, Any]:
        versions = {
            "storyboard": templates.source_text(ARC_TEMPLATE),
            "keyframe": PAINTER_VERSION,
            "clip": CLIP_VERSION,
        }
        return {"provider": self.name, "model": MODEL, "version": versions[stage]}

    def write_storyboard(self) -> tuple[Storyboard, Provenance]:
        s = self.settings
        storyboard = plan_scenes(s.prompt, s.style, s.scenes, s.clip_duration)
        return storyboard, Provenance(self.name, MODEL, prompt=s.prompt)

    def draw_keyframe(self, job: KeyframeJob) -> Provenance:
        from vidpipe.providers.local_paint import paint_keyframe  # Pillow only when painting

        scene = job.scene
        paint_keyframe(
            job.out,
            job.settings.frame_size(),
            image_prompt=scene.image_prompt,
            context=f"{scene.description} {job.settings.prompt}",
            style=job.settings.style,
            title=scene.title,
            caption=scene.caption,
        )
        return Provenance(self.name, MODEL, prompt=scene.image_prompt)

    def render_clip(self, job: ClipJob) -> Provenance:
        scene = job.scene
        frames = ffmpeg.frame_count(scene.duration, job.settings.fps)
        move = camera_move(f"{scene.camera} {scene.video_prompt}")
        ken_burns(job.keyframe, job.out, job.settings.frame_size(), job.settings.fps, frames, move)
        return Provenance(self.name, MODEL, prompt=scene.camera, extra={"frames": frames})
