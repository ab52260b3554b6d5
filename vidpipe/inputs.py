"""What each artifact of a project is made from, as a fingerprint: the build's up-to-date checks
and the status readers compare the same fingerprints, so a status can never disagree with what a
resume would do."""

from __future__ import annotations

from typing import Any

from vidpipe.project.folder import Project
from vidpipe.project.provenance import read_provenance, storyboard_edited_by_hand
from vidpipe.project.settings import ProjectSettings
from vidpipe.project.storyboard import Scene, Storyboard, fingerprint
from vidpipe.providers import provider_for


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
    return record.get("inputs") == inputs


def keyframe_config(settings: ProjectSettings, storyboard: Storyboard, scene: Scene) -> str:
    """Everything a scene's keyframe depends on, besides files (recorded in its provenance)."""
    return fingerprint(
        {
            "scene": scene.keyframe_fields(),
            "characters": storyboard.characters,
            "size": settings.frame_size(),
            "style": settings.style,
            "provider": provider_for("keyframe", settings).fingerprint("keyframe"),
        }
    )


def clip_config(settings: ProjectSettings, scene: Scene) -> str:
    """Everything a scene's clip depends on besides its keyframe file."""
    return fingerprint(
        {
            "scene": scene.clip_fields(),
            "size": settings.frame_size(),
            "style": settings.style,
            "fps": settings.fps,
            "provider": provider_for("clip", settings).fingerprint("clip"),
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


# --- the sound (vidpipe.build.sound_steps) -------------------------------------------------
MIX_VERSION = 1  # bump when the mix, the subtitles' timing or the mux change their output


def narration_config(settings: ProjectSettings, scene: Scene) -> str:
    """What a scene's speech is made from: its narration, and the provider (voice included)."""
    provider = provider_for("narration", settings).fingerprint("narration")
    return fingerprint({"narration": scene.narration, "provider": provider})


def music_config(settings: ProjectSettings, storyboard: Storyboard) -> str:
    """What the music bed is made from: the style, the title and the film's length (the
    clips' lengths and the crossfade, in any order)."""
    plan = cut_plan(storyboard, settings.fps, settings.crossfade)
    return fingerprint(
        {
            "style": settings.style,
            "title": storyboard.title,
            "durations": sorted(plan["durations"]),
            "fps": settings.fps,
            "crossfade": settings.crossfade,
            "provider": provider_for("music", settings).fingerprint("music"),
        }
    )


def soundtrack_config(settings: ProjectSettings, storyboard: Storyboard) -> str:
    """What the mix depends on besides its files: where each scene's speech goes."""
    return fingerprint(
        {
            "cut": cut_plan(storyboard, settings.fps, settings.crossfade),
            "spoken": [s.id for s in storyboard.scenes if settings.narration and s.narration],
            "music": settings.music,
            "version": MIX_VERSION,
        }
    )


def subtitles_config(settings: ProjectSettings, storyboard: Storyboard) -> str:
    return fingerprint(
        {
            "cut": cut_plan(storyboard, settings.fps, settings.crossfade),
            "texts": [[s.id, s.narration] for s in storyboard.scenes],
            "spoken": settings.narration,
            "version": MIX_VERSION,
        }
    )


def mux_config(settings: ProjectSettings) -> str:
    return fingerprint(
        {"subtitles": settings.subtitles, "burn": settings.burn_subtitles, "version": MIX_VERSION}
    )
