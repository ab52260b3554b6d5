"""What each artifact of a project is made from, as a fingerprint: the build's up-to-date checks
and the status readers compare the same fingerprints, so a status can never disagree with what a
resume would do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidpipe.project.folder import Project
from vidpipe.project.provenance import read_provenance, sha256_text, storyboard_edited_by_hand
from vidpipe.project.settings import ProjectSettings
from vidpipe.project.stages import FINAL_TASK, scene_task
from vidpipe.project.storyboard import Scene, Storyboard, fingerprint
from vidpipe.providers import provider_for
from vidpipe.providers.base import Provider


def storyboard_inputs(project: Project) -> str:
    """What the generated storyboard depends on."""
    s = project.settings
    provider = provider_for("storyboard", s)
    return fingerprint(
        {
            "prompt": s.prompt,
            "style": s.style,
            "scenes": s.scenes,
            "clip_duration": s.clip_duration,
            "aspect_ratio": s.aspect_ratio,
            "provider": provider.fingerprint("storyboard"),
        }
    )


def storyboard_is_current(project: Project, inputs: str) -> bool:
    """Up to date when it exists and either was edited by hand (a hand edit always wins) or
    was generated from the same inputs."""
    if not project.storyboard_file.exists():
        return False
    if storyboard_edited_by_hand(project):
        return True
    record = read_provenance(project, project.storyboard_file) or {}
    # the text the record describes: not the one it replaced (a write cut short by a kill)
    text = project.storyboard_file.read_text(encoding="utf-8")
    return record.get("inputs") == inputs and record.get("sha256") == sha256_text(text)


def scene_used(provider: Provider, stage: str, scene: Scene) -> dict[str, Any]:
    """The fields of `scene` that the provider's `stage` uses (as it declares)."""
    fields = provider.scene_fields(stage)
    if fields is None:
        return scene.keyframe_fields() if stage == "keyframe" else scene.clip_fields()
    return scene.model_dump(include=set(fields))


def keyframe_config(
    settings: ProjectSettings, storyboard: Storyboard, scene: Scene, provider: Provider
) -> str:
    """Everything a scene's keyframe depends on, besides files (recorded in its provenance);
    `provider`: the keyframe stage's."""
    return fingerprint(
        {
            "scene": scene_used(provider, "keyframe", scene),
            "characters": storyboard.characters,
            "size": settings.frame_size(),
            "style": settings.style,
            "provider": provider.fingerprint("keyframe"),
        }
    )


def clip_config(settings: ProjectSettings, scene: Scene, provider: Provider) -> str:
    """Everything a scene's clip depends on besides its keyframe file (`provider`: the clip
    stage's)."""
    return fingerprint(
        {
            "scene": scene_used(provider, "clip", scene),
            "size": settings.frame_size(),
            "style": settings.style,
            "fps": settings.fps,
            "provider": provider.fingerprint("clip"),
        }
    )


def cut_plan(storyboard: Storyboard, fps: int, crossfade: float) -> dict[str, Any]:
    """What the final cut depends on besides the clip files: their order, lengths, transitions."""
    return {
        "order": [scene.id for scene in storyboard.scenes],
        "durations": [scene.duration for scene in storyboard.scenes],
        "fps": fps,
        "crossfade": crossfade,
    }


def final_config(settings: ProjectSettings, storyboard: Storyboard) -> str:
    """Everything the final cut depends on besides the clip files."""
    return fingerprint(cut_plan(storyboard, settings.fps, settings.crossfade))


@dataclass(frozen=True)
class Artifact:
    """A file the build makes (the target of one task) and what it is made from."""

    task: str  # its task name (vidpipe.project.stages)
    target: Path
    config: str  # the fingerprint of what it is made from besides files
    files: tuple[Path, ...]  # the files it is made from


def reference_keyframes(
    project: Project,
    storyboard: Storyboard,
    stage: str,
    scene: Scene,
    provider: Provider | None = None,
) -> dict[str, Path]:
    """Other scenes' keyframes the stage's provider uses for this scene: scene id -> file."""
    provider = provider or provider_for(stage, project.settings)
    used = provider.references(stage, storyboard, scene)
    return {ref: project.keyframe_file(ref) for ref in used}


def artifacts(project: Project, storyboard: Storyboard) -> list[Artifact]:
    """Every file the build makes after the storyboard: each scene's keyframe and clip, in
    order, then the final cut. The task graph is made of exactly these."""
    settings = project.settings
    keyframer, animator = provider_for("keyframe", settings), provider_for("clip", settings)
    made = []
    for scene in storyboard.scenes:
        keyframe = project.keyframe_file(scene.id)
        keyframe_refs = reference_keyframes(project, storyboard, "keyframe", scene, keyframer)
        clip_refs = reference_keyframes(project, storyboard, "clip", scene, animator)
        made += [
            Artifact(
                scene_task(scene.id, "keyframe"),
                keyframe,
                keyframe_config(settings, storyboard, scene, keyframer),
                tuple(keyframe_refs.values()),
            ),
            Artifact(
                scene_task(scene.id, "clip"),
                project.clip_file(scene.id),
                clip_config(settings, scene, animator),
                (keyframe, *clip_refs.values()),
            ),
        ]
    return [*made, final_artifact(project, storyboard)]


def final_artifact(project: Project, storyboard: Storyboard) -> Artifact:
    clips = tuple(project.clip_file(scene.id) for scene in storyboard.scenes)
    config = final_config(project.settings, storyboard)
    return Artifact(FINAL_TASK, project.final_file, config, clips)
