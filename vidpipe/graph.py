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

from vidpipe import steps
from vidpipe.project import Project
from vidpipe.providers import provider_for
from vidpipe.settings import ProjectSettings
from vidpipe.storyboard import Scene, Storyboard, fingerprint, load_storyboard


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
    if steps.storyboard_edited_by_hand(project):
        return True
    record = steps.read_provenance(project, project.storyboard_file) or {}
    return record.get("inputs") == inputs


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
                "name": f"{scene.id}-keyframe",
                "actions": [(steps.make_keyframe, [root, scene.id, keyframe_inputs])],
                "file_dep": keyframes_used("keyframe", scene),
                "targets": [keyframe],
                "uptodate": [config_changed(keyframe_inputs)],
            }
            yield {
                "name": f"{scene.id}-clip",
                "actions": [(steps.make_clip, [root, scene.id, clip_inputs])],
                "file_dep": [keyframe, *keyframes_used("clip", scene)],
                "targets": [rel(project.clip_file(scene.id))],
                "uptodate": [config_changed(clip_inputs)],
            }

    @create_after(executed="scene")
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

    return {"task_storyboard": task_storyboard, "task_scene": task_scene, "task_final": task_final}


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
