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
    Artifact,
    artifacts,
    final_artifact,
    storyboard_inputs,
    storyboard_is_current,
)
from vidpipe.project.folder import Project
from vidpipe.project.stages import SCENE_TASK, parse_scene_task, scene_subtask
from vidpipe.project.storyboard import load_storyboard

STEPS = {"keyframe": steps.make_keyframe, "clip": steps.make_clip}

INPUTS = "vidpipe_inputs"  # a task's meta: the fingerprint its step records in provenance


def task_creators(project: Project) -> dict[str, Any]:
    """The namespace doit loads tasks from (as if it were a dodo.py for this project).

    doit runs with the project folder as its working directory and every path in the graph is
    relative to it, so a project folder can be moved or copied without rebuilding anything.
    The scene tasks and the final cut are made from vidpipe.inputs.artifacts, which a no-op
    resume checks without doit.
    """
    root = str(project.root.resolve())

    def rel(path: Path) -> str:
        return str(path.relative_to(project.root))

    def task(artifact: Artifact, action: Any) -> dict[str, Any]:
        return {
            "actions": [action],
            "file_dep": [rel(path) for path in artifact.files],
            "targets": [rel(artifact.target)],
            "uptodate": [config_changed(artifact.config)],
            "meta": {INPUTS: artifact.config},
        }

    def task_storyboard() -> dict[str, Any]:
        inputs = storyboard_inputs(project)
        return {
            "actions": [(steps.make_storyboard, [root, inputs])],
            "targets": [rel(project.storyboard_file)],
            "uptodate": [lambda: storyboard_is_current(project, inputs)],
        }

    @create_after(executed="storyboard")
    def task_scene():
        if not project.storyboard_file.exists():
            return  # the storyboard step failed (and said why): there are no scenes yet
        for artifact in artifacts(project, load_storyboard(project.storyboard_file)):
            scene_stage = parse_scene_task(artifact.task)
            if scene_stage is None:
                continue  # the final cut: task_final
            scene_id, stage = scene_stage
            action = (STEPS[stage], [root, scene_id, artifact.config])
            yield {"name": scene_subtask(scene_id, stage), **task(artifact, action)}

    @create_after(executed=SCENE_TASK)
    def task_final() -> dict[str, Any]:
        if not project.storyboard_file.exists():
            return {"actions": None}  # nothing to cut: the storyboard step failed
        artifact = final_artifact(project, load_storyboard(project.storyboard_file))
        return task(artifact, (steps.make_final, [root, artifact.config]))

    return {"task_storyboard": task_storyboard, "task_scene": task_scene, "task_final": task_final}
