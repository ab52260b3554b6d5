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

INPUTS = "vidpipe_inputs"  # a task's meta: the fingerprint its step records in provenance
# ... and the fingerprint of the same inputs as vidpipe took them before providers declared the
# scene fields they use (only where it differs): a task done under it is not made again
EARLIER_INPUTS = "vidpipe_earlier_inputs"


def task_creators(project: Project) -> dict[str, Any]:
    """The namespace doit loads tasks from (as if it were a dodo.py for this project).

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
        if not project.storyboard_file.exists():
            return  # the storyboard step failed (and said why): there are no scenes yet
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
            keyframe_before = keyframe_config(settings, storyboard, scene, declared=False)
            clip_before = clip_config(settings, scene, declared=False)
            yield {
                "name": scene_subtask(scene.id, "keyframe"),
                "actions": [(steps.make_keyframe, [root, scene.id, keyframe_inputs])],
                "file_dep": keyframes_used("keyframe", scene),
                "targets": [keyframe],
                "uptodate": [config_changed(keyframe_inputs)],
                "meta": {INPUTS: keyframe_inputs, EARLIER_INPUTS: keyframe_before},
            }
            yield {
                "name": scene_subtask(scene.id, "clip"),
                "actions": [(steps.make_clip, [root, scene.id, clip_inputs])],
                "file_dep": [keyframe, *keyframes_used("clip", scene)],
                "targets": [rel(project.clip_file(scene.id))],
                "uptodate": [config_changed(clip_inputs)],
                "meta": {INPUTS: clip_inputs, EARLIER_INPUTS: clip_before},
            }

    @create_after(executed=SCENE_TASK)
    def task_final() -> dict[str, Any]:
        if not project.storyboard_file.exists():
            return {"actions": None}  # nothing to cut: the storyboard step failed
        storyboard = load_storyboard(project.storyboard_file)
        inputs = fingerprint(cut_plan(storyboard, settings.fps, settings.crossfade))
        return {
            "actions": [(steps.make_final, [root, inputs])],
            "file_dep": [rel(project.clip_file(scene.id)) for scene in storyboard.scenes],
            "targets": [rel(project.final_file)],
            "uptodate": [config_changed(inputs)],
            "meta": {INPUTS: inputs},
        }

    return {"task_storyboard": task_storyboard, "task_scene": task_scene, "task_final": task_final}
