"""The task graph of one project, as doit task creators.

```
project.yaml -> storyboard.json -> characters/<id>.png -> keyframes/<id>.png -> clips/<id>.mp4
                                                                                  -> final.mp4
```
Portrait tasks (`character:<id>`), then scene tasks are created once the storyboard exists,
one keyframe and one clip task per scene id, each up to date on only its own scene's fields
(`config_changed`) and its input files (a keyframe's: the portraits of its scene's cast).
storyboard.json is deliberately not a file_dep of the scene tasks: editing one scene must not
rebuild the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from doit import create_after
from doit.loader import generate_tasks
from doit.task import Task
from doit.tools import config_changed

from vidpipe.build import sound_steps, steps
from vidpipe.inputs import Artifact, artifacts, storyboard_inputs, storyboard_is_current
from vidpipe.project.folder import Project
from vidpipe.project.stages import (
    CHARACTER_TASK,
    FINAL_TASK,
    MUSIC_TASK,
    PICTURE_TASK,
    SCENE_TASK,
    SOUNDTRACK_TASK,
    SUBTITLES_TASK,
    parse_character_task,
    parse_scene_task,
    scene_subtask,
)
from vidpipe.project.storyboard import load_storyboard

SCENE_STEPS = {
    "keyframe": steps.make_keyframe,
    "clip": steps.make_clip,
    "narration": sound_steps.make_narration,
}
# the tasks after the scenes, their steps, and the tasks each must follow (their artifacts are
# created after the scenes', so doit is told the order as well as the files)
CUT_STEPS = {
    PICTURE_TASK: (sound_steps.make_picture, ()),
    MUSIC_TASK: (sound_steps.make_music, ()),
    SOUNDTRACK_TASK: (sound_steps.make_soundtrack, (PICTURE_TASK, MUSIC_TASK)),
    SUBTITLES_TASK: (sound_steps.make_subtitles, ()),
}

INPUTS = "vidpipe_inputs"  # a task's meta: the fingerprint its step records in provenance
# ... and the fingerprint of the same inputs as vidpipe took them before providers declared the
# scene fields they use (only where it differs): a task done under it is not made again
EARLIER_INPUTS = "vidpipe_earlier_inputs"


def task_creators(project: Project, until: str | None = None) -> dict[str, Any]:
    """The namespace doit loads tasks from (as if it were a dodo.py for this project); `until`
    (a STOP_STAGES name) leaves out the tasks after that stage.

    doit runs with the project folder as its working directory and every path in the graph is
    relative to it, so a project folder can be moved or copied without rebuilding anything.
    Every task after the storyboard is made from one of vidpipe.inputs.artifacts, which a
    no-op resume checks without doit.
    """
    root = str(project.root.resolve())
    settings = project.settings

    def rel(path: Path) -> str:
        return str(path.relative_to(project.root))

    def made() -> dict[str, Artifact]:
        if not project.storyboard_file.exists():
            return {}  # the storyboard step failed (and said why): there are no scenes yet
        return {a.task: a for a in artifacts(project, load_storyboard(project.storyboard_file))}

    def task(artifact: Artifact, action: Any, after: tuple[str, ...] = ()) -> dict[str, Any]:
        return {
            "actions": [action],
            "file_dep": [rel(path) for path in artifact.files],
            "task_dep": [name for name in after if f"task_{name}" in creators],
            "targets": [rel(path) for path in (artifact.target, *artifact.also)],
            "uptodate": [config_changed(artifact.config)],
            "meta": {INPUTS: artifact.config, EARLIER_INPUTS: artifact.earlier},
        }

    def task_storyboard() -> dict[str, Any]:
        inputs = storyboard_inputs(project)
        return {
            "actions": [(steps.make_storyboard, [root, inputs])],
            "targets": [rel(project.storyboard_file)],
            "uptodate": [lambda: storyboard_is_current(project, inputs)],
        }

    @create_after(executed="storyboard")
    def task_character():
        for name, artifact in made().items():
            character_id = parse_character_task(name)
            if character_id is not None:
                action = (steps.make_portrait, [root, character_id, artifact.config])
                yield {"name": character_id, **task(artifact, action)}

    # the keyframes are created once the portraits they take are drawn
    @create_after(executed=CHARACTER_TASK if until != "storyboard" else "storyboard")
    def task_scene():
        for name, artifact in made().items():
            scene_stage = parse_scene_task(name)
            if scene_stage is not None and (until is None or scene_stage[1] == "keyframe"):
                scene_id, stage = scene_stage
                action = (SCENE_STEPS[stage], [root, scene_id, artifact.config])
                yield {"name": scene_subtask(scene_id, stage), **task(artifact, action)}

    def cut_creator(name: str) -> Any:
        step, after = CUT_STEPS.get(name, (steps.make_final, ()))
        if name == FINAL_TASK and settings.has_sound():  # the picture cut, its sound muxed on
            step, after = sound_steps.make_mux, (SOUNDTRACK_TASK, SUBTITLES_TASK)

        @create_after(executed=SCENE_TASK)
        def creator() -> dict[str, Any]:
            artifact = made().get(name)
            if artifact is None:
                return {"actions": None}  # nothing to cut: the storyboard step failed
            return task(artifact, (step, [root, artifact.config]), after)

        return creator

    cuts = [*(CUT_STEPS if settings.has_sound() else ()), FINAL_TASK]
    wanted = {MUSIC_TASK: settings.music, SUBTITLES_TASK: settings.subtitles}
    creators: dict[str, Any] = {"task_storyboard": task_storyboard}
    if until != "storyboard":
        creators |= {"task_character": task_character, "task_scene": task_scene}
    if until is None:
        creators |= {f"task_{name}": cut_creator(name) for name in cuts if wanted.get(name, True)}
    return creators


def later_tasks(project: Project, until: str | None = None) -> list[Task]:
    """Every task after the storyboard (up to the stage `until`), as doit sees them (call in
    the project's folder)."""
    return [
        task
        for name, creator in task_creators(project, until).items()
        if name != "task_storyboard"
        for task in generate_tasks(name.removeprefix("task_"), creator())
        if task.actions
    ]
