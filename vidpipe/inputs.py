"""What each artifact of a project is made from, as a fingerprint: the build's up-to-date checks
and the status readers compare the same fingerprints, so a status can never disagree with what a
resume would do."""

from __future__ import annotations

from typing import Any

from vidpipe.project.folder import Project
from vidpipe.project.provenance import read_provenance, sha256_text, storyboard_edited_by_hand
from vidpipe.project.settings import ProjectSettings
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


def scene_used(
    provider: Provider, stage: str, scene: Scene, declared: bool = True
) -> dict[str, Any]:
    """The fields of `scene` that the provider's `stage` uses (as it declares; `declared`
    False: every field that may change the artifact, as before providers declared them)."""
    fields = provider.scene_fields(stage) if declared else None
    if fields is None:
        return scene.keyframe_fields() if stage == "keyframe" else scene.clip_fields()
    return scene.model_dump(include=set(fields))


def keyframe_config(
    settings: ProjectSettings, storyboard: Storyboard, scene: Scene, declared: bool = True
) -> str:
    """Everything a scene's keyframe depends on, besides files (recorded in its provenance)."""
    provider = provider_for("keyframe", settings)
    return fingerprint(
        {
            "scene": scene_used(provider, "keyframe", scene, declared),
            "characters": storyboard.characters,
            "size": settings.frame_size(),
            "style": settings.style,
            "provider": provider.fingerprint("keyframe"),
        }
    )


def clip_config(settings: ProjectSettings, scene: Scene, declared: bool = True) -> str:
    """Everything a scene's clip depends on besides its keyframe file."""
    provider = provider_for("clip", settings)
    return fingerprint(
        {
            "scene": scene_used(provider, "clip", scene, declared),
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
