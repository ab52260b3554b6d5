"""What each artifact of a project is made from, as a fingerprint: the build's up-to-date checks
and the status readers compare the same fingerprints, so a status can never disagree with what a
resume would do."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidpipe.project.folder import Project
from vidpipe.project.provenance import (
    placed_by_hand,
    read_provenance,
    sha256_text,
    storyboard_edited_by_hand,
)
from vidpipe.project.settings import DEFAULT_FIT, ProjectSettings
from vidpipe.project.stages import (
    CAST_STAGE,
    FINAL_TASK,
    MUSIC_TASK,
    PICTURE_TASK,
    PORTRAIT_STAGE,
    SOUNDTRACK_TASK,
    SUBTITLES_TASK,
    character_task,
    scene_task,
)
from vidpipe.project.storyboard import Character, Scene, Storyboard, fingerprint
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
    settings: ProjectSettings,
    storyboard: Storyboard,
    scene: Scene,
    provider: Provider,
    declared: bool = True,
) -> str:
    """Everything a scene's keyframe depends on, besides files (recorded in its provenance);
    `provider`: the keyframe stage's; `declared` False: the scene's fields as vidpipe took
    them before providers declared the ones they use."""
    used = {
        "scene": scene_used(provider, "keyframe", scene, declared),
        "characters": storyboard.characters_text,
        "size": settings.frame_size(),
        "style": settings.style,
        "provider": provider.fingerprint("keyframe"),
    }
    cast = provider.portraits("keyframe", storyboard, scene)
    if cast:  # only then: a keyframe of a storyboard without characters is as it was
        used["cast"] = {
            "characters": [storyboard.character(each).model_dump() for each in cast],
            "provider": provider.fingerprint(CAST_STAGE),
        }
    return fingerprint(used)


def portrait_config(settings: ProjectSettings, character: Character, provider: Provider) -> str:
    """Everything a character's portrait depends on (`provider`: the keyframe stage's)."""
    return fingerprint(
        {
            "character": character.model_dump(),
            "style": settings.style,
            "provider": provider.fingerprint(PORTRAIT_STAGE),
        }
    )


def fit_used(project: Project, files: Iterable[Path]) -> dict[str, str]:
    """The `fit` setting, as a part of the fingerprint of what is made from `files`, where it
    may change it: when one of them was placed by the user (the pictures and clips of other
    shapes it is for). Its default is left out, so that fingerprints made before the setting
    existed stay as they were."""
    fit = project.settings.fit
    if fit == DEFAULT_FIT or not any(placed_by_hand(project, path) for path in files):
        return {}
    return {"fit": fit}


def clip_config(
    settings: ProjectSettings,
    storyboard: Storyboard,
    scene: Scene,
    provider: Provider,
    declared: bool = True,
    fit: dict[str, str] | None = None,
) -> str:
    """Everything a scene's clip depends on besides its keyframe file (`provider`: the clip
    stage's; `declared`: as for keyframe_config; `fit`: fit_used of its keyframes)."""
    used = {
        "scene": scene_used(provider, "clip", scene, declared),
        "size": settings.frame_size(),
        "style": settings.style,
        "fps": settings.fps,
        "provider": provider.fingerprint("clip"),
        **(fit or {}),
    }
    cast = provider.portraits("clip", storyboard, scene)
    if cast:  # Veo's asset references: the clip is made from these characters too
        used["cast"] = [storyboard.character(each).model_dump() for each in cast]
    return fingerprint(used)


def cut_plan(storyboard: Storyboard, fps: int, crossfade: float) -> dict[str, Any]:
    """What the final cut depends on besides the clip files: their order, lengths, transitions."""
    return {
        "order": [scene.id for scene in storyboard.scenes],
        "durations": [scene.duration for scene in storyboard.scenes],
        "fps": fps,
        "crossfade": crossfade,
    }


def final_config(project: Project, storyboard: Storyboard) -> str:
    """Everything the final cut depends on besides the clip files (the fit of clips placed by
    hand, which the cut conforms)."""
    settings = project.settings
    clips = [project.clip_file(scene.id) for scene in storyboard.scenes]
    plan = cut_plan(storyboard, settings.fps, settings.crossfade)
    return fingerprint({**plan, **fit_used(project, clips)})


@dataclass(frozen=True)
class Artifact:
    """A file the build makes (the target of one task) and what it is made from."""

    task: str  # its task name (vidpipe.project.stages)
    target: Path  # its provenance is this file's
    config: str  # the fingerprint of what it is made from besides files
    files: tuple[Path, ...]  # the files it is made from
    also: tuple[Path, ...] = ()  # other files the same step writes (final.vtt beside final.srt)
    # the fingerprint of the same inputs as vidpipe took them before providers declared the
    # scene fields they use, where it differs: a task done under it is not made again
    earlier: str | None = None


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


def portrait_files(
    project: Project,
    storyboard: Storyboard,
    stage: str,
    scene: Scene,
    provider: Provider | None = None,
) -> dict[str, Path]:
    """The portraits the stage's provider uses for this scene: character id -> file."""
    provider = provider or provider_for(stage, project.settings)
    used = provider.portraits(stage, storyboard, scene)
    return {each: project.portrait_file(each) for each in used}


def portrait_artifacts(project: Project, storyboard: Storyboard) -> list[Artifact]:
    """A portrait of each character, when the keyframe stage's provider draws them."""
    drawer = provider_for("keyframe", project.settings)
    if not drawer.draws_portraits:
        return []
    return [
        Artifact(
            character_task(character.id),
            project.portrait_file(character.id),
            portrait_config(project.settings, character, drawer),
            (),
        )
        for character in storyboard.characters
    ]


def artifacts(project: Project, storyboard: Storyboard) -> list[Artifact]:
    """Every file the build makes after the storyboard: each character's portrait, then each
    scene's keyframe and clip, in order, then the sound (when the settings ask for it) and the
    final cut. The task graph is made of exactly these."""
    settings = project.settings
    keyframer, animator = provider_for("keyframe", settings), provider_for("clip", settings)
    made = portrait_artifacts(project, storyboard)
    for scene in storyboard.scenes:
        keyframe = project.keyframe_file(scene.id)
        keyframe_refs = reference_keyframes(project, storyboard, "keyframe", scene, keyframer)
        keyframe_cast = portrait_files(project, storyboard, "keyframe", scene, keyframer)
        clip_refs = reference_keyframes(project, storyboard, "clip", scene, animator)
        fit = fit_used(project, [keyframe, *clip_refs.values()])
        clip_cast = portrait_files(project, storyboard, "clip", scene, animator)
        made += [
            Artifact(
                scene_task(scene.id, "keyframe"),
                keyframe,
                keyframe_config(settings, storyboard, scene, keyframer),
                (*keyframe_refs.values(), *keyframe_cast.values()),
                earlier=keyframe_config(settings, storyboard, scene, keyframer, declared=False),
            ),
            Artifact(
                scene_task(scene.id, "clip"),
                project.clip_file(scene.id),
                clip_config(settings, storyboard, scene, animator, fit=fit),
                (keyframe, *clip_refs.values(), *clip_cast.values()),
                earlier=clip_config(settings, storyboard, scene, animator, declared=False, fit=fit),
            ),
        ]
    if settings.has_sound():
        return [*made, *sound_artifacts(project, storyboard)]
    return [*made, final_artifact(project, storyboard)]


def artifact(project: Project, storyboard: Storyboard, task: str) -> Artifact:
    """The artifact of the task named `task`."""
    return next(made for made in artifacts(project, storyboard) if made.task == task)


def spoken(settings: ProjectSettings, storyboard: Storyboard) -> list[Scene]:
    """The scenes whose narration is read aloud."""
    return [scene for scene in storyboard.scenes if settings.narration and scene.narration]


def sound_artifacts(project: Project, storyboard: Storyboard) -> list[Artifact]:
    """Each spoken scene's speech, the picture cut (with the clips' own sound), the music bed,
    the soundtrack mixed of them, the subtitles, and the final mux (vidpipe.build.sound_steps)."""
    settings = project.settings
    speech = [
        Artifact(scene_task(scene.id, "narration"), project.narration_file(scene.id),
                 narration_config(settings, scene), ())
        for scene in spoken(settings, storyboard)
    ]  # fmt: skip
    said = tuple(made.target for made in speech)
    clips = tuple(project.clip_file(scene.id) for scene in storyboard.scenes)
    picture = Artifact(PICTURE_TASK, project.picture_file, final_config(project, storyboard), clips)
    music = [
        Artifact(MUSIC_TASK, project.music_file, music_config(settings, storyboard), ())
    ] if settings.music else []  # fmt: skip
    mixed_from = (project.picture_file, *(bed.target for bed in music), *said)
    soundtrack = Artifact(SOUNDTRACK_TASK, project.soundtrack_file,
                          soundtrack_config(settings, storyboard), mixed_from)  # fmt: skip
    srt, vtt = project.subtitle_files
    subtitles = [
        Artifact(SUBTITLES_TASK, srt, subtitles_config(settings, storyboard), said, also=(vtt,))
    ] if settings.subtitles else []  # fmt: skip
    muxed_from = (project.picture_file, project.soundtrack_file, *([srt] if subtitles else []))
    final = Artifact(FINAL_TASK, project.final_file, mux_config(settings), muxed_from)
    return [*speech, picture, *music, soundtrack, *subtitles, final]


def final_artifact(project: Project, storyboard: Storyboard) -> Artifact:
    clips = tuple(project.clip_file(scene.id) for scene in storyboard.scenes)
    config = final_config(project, storyboard)
    return Artifact(FINAL_TASK, project.final_file, config, clips)


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
