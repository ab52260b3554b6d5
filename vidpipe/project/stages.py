"""The stages of a build and the names of its doit tasks, in one place.

Tasks are `storyboard`, `character:<character id>` (the character's portrait, drawn before the
keyframes of the scenes that show the character), `scene:<scene id>-keyframe`,
`scene:<scene id>-clip` and `final`
(the scene tasks are sub-tasks of the `scene` creator, so doit names them `scene:<name>`).
With sound, each scene also has `scene:<scene id>-narration`, the cut without sound is
`picture`, and `music`, `soundtrack` and `subtitles` come before `final`, which then muxes
the picture with the soundtrack and the subtitles.
"""

from __future__ import annotations

from typing import Literal, get_args

STAGES = ("storyboard", "keyframe", "clip")  # the stages a provider serves
# where a build may stop for review (`until=`): after the storyboard, or after every keyframe
StopStage = Literal["storyboard", "keyframes"]
STOP_STAGES: tuple[str, ...] = get_args(StopStage)
SCENE_TASK = "scene"  # the basename of the per-scene tasks
CHARACTER_TASK = "character"  # the basename of the portraits' tasks
PORTRAIT_STAGE = "portrait"  # drawn by the keyframe stage's provider
# what of a provider's configuration a keyframe with characters uses besides its keyframe
# stage's (its fingerprint: only such keyframes re-run when it changes)
CAST_STAGE = "cast"
FINAL_TASK = "final"

# The sound (vidpipe.build.sound_steps): stages served by providers, and the tasks of the cut.
SOUND_STAGES = ("narration", "music")
PICTURE_TASK = "picture"
MUSIC_TASK = "music"
SOUNDTRACK_TASK = "soundtrack"
SUBTITLES_TASK = "subtitles"
# what re-cutting the film from its clips runs, in order (`vidpipe stitch`)
CUT_TASKS = (PICTURE_TASK, MUSIC_TASK, SOUNDTRACK_TASK, SUBTITLES_TASK, FINAL_TASK)
SOUND_LABELS = {
    PICTURE_TASK: "picture cut",
    MUSIC_TASK: "music bed",
    SOUNDTRACK_TASK: "soundtrack mix",
    SUBTITLES_TASK: "subtitles",
}


def scene_subtask(scene_id: str, stage: str) -> str:
    """The sub-task's own name under SCENE_TASK: `s3-clip`."""
    return f"{scene_id}-{stage}"


def scene_task(scene_id: str, stage: str) -> str:
    """The full task name of a scene's stage: `scene:s3-clip`."""
    return f"{SCENE_TASK}:{scene_subtask(scene_id, stage)}"


def parse_scene_task(task_name: str) -> tuple[str, str] | None:
    """(scene id, stage) of a scene task's name, or None for another task."""
    if not task_name.startswith(f"{SCENE_TASK}:"):
        return None
    scene_id, _, stage = task_name.removeprefix(f"{SCENE_TASK}:").rpartition("-")
    return scene_id, stage


def character_task(character_id: str) -> str:
    """The full task name of a character's portrait: `character:mara`."""
    return f"{CHARACTER_TASK}:{character_id}"


def parse_character_task(task_name: str) -> str | None:
    """The character id of a portrait task's name, or None for another task."""
    if not task_name.startswith(f"{CHARACTER_TASK}:"):
        return None
    return task_name.removeprefix(f"{CHARACTER_TASK}:")


def step_of(task_name: str) -> tuple[str, str]:
    """(status state, label) of a task: `scene:s3-clip` -> ("video_gen", "scene s3: clip")."""
    character = parse_character_task(task_name)
    if character is not None:
        return "keyframes", f"character {character}: portrait"
    scene = parse_scene_task(task_name)
    if scene is not None:
        scene_id, stage = scene
        return ("keyframes" if stage == "keyframe" else "video_gen"), f"scene {scene_id}: {stage}"
    if task_name == FINAL_TASK:
        return "stitching", "final cut"
    if task_name in SOUND_LABELS:
        return "stitching", SOUND_LABELS[task_name]
    return "storyboard", task_name
