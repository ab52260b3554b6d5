"""The sound's part of a project's task graph (vidpipe.build.graph), when the settings ask
for sound:

```
storyboard.json -> narration/<id>.wav (a scene with narration) -+
clips/<id>.mp4 --> sound/picture.mp4 (the cut, no soundtrack) --+-> sound/soundtrack.m4a -+
                   sound/music.wav (the bed, the film's length) +                         |
narration/<id>.wav --> final.srt, final.vtt ------------------------------------------+-> final.mp4
```
A scene's speech is up to date on its narration and voice alone: a narration edit remakes
that scene's speech, the mix, the subtitles and the mux, and copies the picture as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from doit import create_after
from doit.tools import config_changed

from vidpipe.build import sound_steps
from vidpipe.inputs import (
    music_config,
    mux_config,
    narration_config,
    soundtrack_config,
    subtitles_config,
)
from vidpipe.project.folder import Project
from vidpipe.project.settings import ProjectSettings
from vidpipe.project.stages import (
    CUT_TASKS,
    FINAL_TASK,
    MUSIC_TASK,
    PICTURE_TASK,
    SCENE_TASK,
    SOUNDTRACK_TASK,
    SUBTITLES_TASK,
    scene_subtask,
)
from vidpipe.project.storyboard import Storyboard, load_storyboard


def narration_tasks(project: Project, storyboard: Storyboard) -> Iterator[dict[str, Any]]:
    """One speech task per scene with narration (sub-tasks of the scene creator)."""
    root = str(project.root.resolve())
    for scene in sound_steps.spoken(project, storyboard):
        inputs = narration_config(project.settings, scene)
        yield {
            "name": scene_subtask(scene.id, "narration"),
            "actions": [(sound_steps.make_narration, [root, scene.id, inputs])],
            "file_dep": [],
            "targets": [_rel(project, project.narration_file(scene.id))],
            "uptodate": [config_changed(inputs)],
        }


def _rel(project: Project, path: Path) -> str:
    return str(path.relative_to(project.root))


def creators(project: Project) -> dict[str, Any]:
    """The task creators of the picture cut, the music, the mix and the subtitles."""
    root = str(project.root.resolve())
    settings = project.settings

    def rel(path: Path) -> str:
        return _rel(project, path)

    def speech_files(storyboard: Storyboard) -> list[str]:
        return [rel(project.narration_file(s.id)) for s in sound_steps.spoken(project, storyboard)]

    @create_after(executed=SCENE_TASK)
    def task_picture() -> dict[str, Any]:
        from vidpipe.inputs import cut_plan
        from vidpipe.project.storyboard import fingerprint

        storyboard = load_storyboard(project.storyboard_file)
        return {
            "actions": [(sound_steps.make_picture, [root])],
            "file_dep": [rel(project.clip_file(scene.id)) for scene in storyboard.scenes],
            "targets": [rel(project.picture_file)],
            "uptodate": [
                config_changed(fingerprint(cut_plan(storyboard, settings.fps, settings.crossfade)))
            ],
        }

    @create_after(executed=SCENE_TASK)
    def task_music() -> dict[str, Any]:
        storyboard = load_storyboard(project.storyboard_file)
        inputs = music_config(settings, storyboard)
        return {
            "actions": [(sound_steps.make_music, [root, inputs])],
            "targets": [rel(project.music_file)],
            "uptodate": [config_changed(inputs)],
        }

    @create_after(executed=SCENE_TASK)
    def task_soundtrack() -> dict[str, Any]:
        storyboard = load_storyboard(project.storyboard_file)
        music = [rel(project.music_file)] if settings.music else []
        return {
            "actions": [(sound_steps.make_soundtrack, [root])],
            "file_dep": [rel(project.picture_file), *music, *speech_files(storyboard)],
            "task_dep": [PICTURE_TASK, *([MUSIC_TASK] if settings.music else [])],
            "targets": [rel(project.soundtrack_file)],
            "uptodate": [config_changed(soundtrack_config(settings, storyboard))],
        }

    @create_after(executed=SCENE_TASK)
    def task_subtitles() -> dict[str, Any]:
        storyboard = load_storyboard(project.storyboard_file)
        return {
            "actions": [(sound_steps.make_subtitles, [root])],
            "file_dep": speech_files(storyboard),
            "targets": [rel(path) for path in project.subtitle_files],
            "uptodate": [config_changed(subtitles_config(settings, storyboard))],
        }

    found = {"task_picture": task_picture, "task_soundtrack": task_soundtrack}
    if settings.music:
        found["task_music"] = task_music
    if settings.subtitles:
        found["task_subtitles"] = task_subtitles
    return found


def mux_task(project: Project) -> dict[str, Any]:
    """`final`: the picture cut, the soundtrack and the subtitles muxed into final.mp4."""
    settings = project.settings
    srt = [_rel(project, project.subtitle_files[0])] if settings.subtitles else []
    picture = _rel(project, project.picture_file)
    soundtrack = _rel(project, project.soundtrack_file)
    return {
        "actions": [(sound_steps.make_mux, [str(project.root.resolve())])],
        "file_dep": [picture, soundtrack, *srt],
        "task_dep": [SOUNDTRACK_TASK, *([SUBTITLES_TASK] if settings.subtitles else [])],
        "targets": [_rel(project, project.final_file)],
        "uptodate": [config_changed(mux_config(settings))],
    }


def cut_tasks(settings: ProjectSettings) -> list[str]:
    """The tasks that re-cut the film from its clips (`vidpipe stitch`), in order."""
    if not settings.has_sound():
        return [FINAL_TASK]
    off = {MUSIC_TASK: not settings.music, SUBTITLES_TASK: not settings.subtitles}
    return [task for task in CUT_TASKS if not off.get(task)]


def sound_task_count(project: Project, storyboard: Storyboard) -> int:
    """How many tasks the sound adds to a build of the storyboard (the final mux aside)."""
    settings = project.settings
    if not settings.has_sound():
        return 0
    return len(sound_steps.spoken(project, storyboard)) + len(cut_tasks(settings)) - 1
