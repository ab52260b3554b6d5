"""The task graph of one project, as doit task creators.

```
project.yaml -> storyboard.json -> keyframes/<id>.png -> clips/<id>.mp4 -> final.mp4
```
Scene tasks are created once the storyboard exists, one keyframe and one clip task per scene id,
each up to date on only its own scene's fields (`config_changed`) and its input file.
storyboard.json is deliberately not a file_dep of the scene tasks: editing one scene must not
rebuild the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from doit import create_after
from doit.tools import config_changed

from vidpipe.build import steps
from vidpipe.inputs import (
    clip_config,
    cut_plan,
    keyframe_config,
    storyboard_inputs,
    storyboard_is_current,
)
from vidpipe.project.folder import Project
from vidpipe.project.stages import SCENE_TASK, scene_subtask
from vidpipe.project.storyboard import Scene, fingerprint, load_storyboard
from vidpipe.providers import provider_for


def task_creators(project: Project, until: str | None = None) -> dict[str, Any]:
    """The namespace doit loads tasks from (as if it were a dodo.py for this project); `until`
    (a STOP_STAGES name) leaves out the tasks after that stage.

    doit runs with the project folder as its working directory and every path in the graph is
    relative to it, so a project folder can be moved or copied without rebuilding anything.
    """
    root = str(project.root.resolve())
    settings = project.settings

    def rel(path: Path) -> str:
        return str(path.relative_to(project.root))

    def task_storyboard() -> dict[str, Any]:
        inputs = storyboard_inputs(project)
        return {
            "actions": [(steps.make_storyboard, [root, inputs])],
            "targets": [rel(project.storyboard_file)],
            "uptodate": [lambda: storyboard_is_current(project, inputs)],
        }

    @create_after(executed="storyboard")
    def task_scene():
        storyboard = load_storyboard(project.storyboard_file)
        keyframer = provider_for("keyframe", settings)
        animator = provider_for("clip", settings)

        def keyframes_used(stage: str, scene: Scene) -> list[str]:
            """Other scenes' keyframes a provider uses (e.g. as reference images): edges."""
            provider = keyframer if stage == "keyframe" else animator
            used = steps.reference_keyframes(project, storyboard, provider, stage, scene)
            return [rel(path) for path in used.values()]

        for scene in storyboard.scenes:
            keyframe = rel(project.keyframe_file(scene.id))
            keyframe_inputs = keyframe_config(settings, storyboard, scene)
            clip_inputs = clip_config(settings, scene)
            yield {
                "name": scene_subtask(scene.id, "keyframe"),
                "actions": [(steps.make_keyframe, [root, scene.id, keyframe_inputs])],
                "file_dep": keyframes_used("keyframe", scene),
                "targets": [keyframe],
                "uptodate": [config_changed(keyframe_inputs)],
            }
            if until is not None:
                continue
            yield {
                "name": scene_subtask(scene.id, "clip"),
                "actions": [(steps.make_clip, [root, scene.id, clip_inputs])],
                "file_dep": [keyframe, *keyframes_used("clip", scene)],
                "targets": [rel(project.clip_file(scene.id))],
                "uptodate": [config_changed(clip_inputs)],
            }

    @create_after(executed=SCENE_TASK)
    def task_final() -> dict[str, Any]:
        storyboard = load_storyboard(project.storyboard_file)
        return {
            "actions": [(steps.make_final, [root])],
            "file_dep": [rel(project.clip_file(scene.id)) for scene in storyboard.scenes],
            "targets": [rel(project.final_file)],
            "uptodate": [
                config_changed(fingerprint(cut_plan(storyboard, settings.fps, settings.crossfade)))
            ],
        }

    creators: dict[str, Any] = {"task_storyboard": task_storyboard}
    if until != "storyboard":
        creators["task_scene"] = task_scene
    if until is None:
        creators["task_final"] = task_final
    return creators
