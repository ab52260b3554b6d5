"""What a build is about to pay for, decided by the same task graph and dependency DB that the
build itself uses: a resume or a one-scene rebuild is priced for only what it will redo.

A step runs when doit finds it out of date, or when a file it uses is rebuilt first (a
keyframe before its clip, the first scene's keyframe before the other keyframes that take it
as a reference). A clip whose paid operation an earlier build already started costs nothing.
"""

from __future__ import annotations

import contextlib

from doit.dependency import Dependency
from doit.loader import generate_tasks

from vidpipe.build import graph, steps
from vidpipe.build.depdb import DurableSqliteDB
from vidpipe.inputs import storyboard_inputs, storyboard_is_current
from vidpipe.project.costs import Charge
from vidpipe.project.folder import Project
from vidpipe.project.settings import ProjectSettings
from vidpipe.project.stages import SCENE_TASK, parse_scene_task
from vidpipe.project.storyboard import load_storyboard
from vidpipe.providers import provider_for

DEP_FILE = ".vidpipe/doit.sqlite3"  # relative to the project, as the build opens it


def planned_charges(project: Project, only: list[str] | None = None) -> list[Charge]:
    """The charges of the steps the build will run (only the `only` tasks, when given)."""
    settings = project.settings
    if only is not None and not any(name.startswith(("storyboard", SCENE_TASK)) for name in only):
        return []  # e.g. only the final cut: no provider is called
    if not storyboard_is_current(project, storyboard_inputs(project)):
        # a new storyboard: every scene will be new, as many as the settings ask for
        seconds = settings.clip_duration
        charges = provider_for("storyboard", settings).estimate("storyboard", seconds)
        for _ in range(settings.scenes):
            charges += provider_for("keyframe", settings).estimate("keyframe", seconds)
            charges += provider_for("clip", settings).estimate("clip", seconds)
        return charges + fresh_sound_charges(settings)

    storyboard = load_storyboard(project.storyboard_file)
    with contextlib.chdir(project.root):  # the graph's paths are relative to the project
        creator = graph.task_creators(project)["task_scene"]
        tasks = [task for task in generate_tasks(SCENE_TASK, creator()) if task.actions]
        tasks_by_name = {task.name: task for task in tasks}
        deps = Dependency(DurableSqliteDB, DEP_FILE)
        try:
            stale = {
                task.name
                for task in tasks
                if deps.get_status(task, tasks_by_name).status != "up-to-date"
            }
        finally:
            deps.close()
        # a step also runs when a file it uses is rebuilt before it
        made_by = {target: task.name for task in tasks for target in task.targets}
        changed = True
        while changed:
            changed = False
            for task in tasks:
                inputs_rebuilt = any(made_by.get(dep) in stale for dep in task.file_dep)
                if task.name not in stale and inputs_rebuilt:
                    stale.add(task.name)
                    changed = True

        charges = []
        for task in tasks:
            if task.name not in stale or (only is not None and task.name not in only):
                continue
            scene_id, stage = parse_scene_task(task.name) or ("", "")
            provider = provider_for(stage, settings)
            if stage == "narration":  # nothing paid for is collected later: all or nothing
                charges += provider.estimate(stage, storyboard.scene(scene_id).duration)
                continue
            make_job = steps.keyframe_job if stage == "keyframe" else steps.clip_job
            job = make_job(project, storyboard, provider, scene_id, project.root / task.targets[0])
            inputs_rebuilt = any(made_by.get(dep) in stale for dep in task.file_dep)
            if inputs_rebuilt:  # new inputs: whatever was paid for before does not fit
                charges += provider.estimate(stage, job.scene.duration)
            else:
                charges += steps.charges_of(provider, stage, job)
        return charges


def fresh_sound_charges(settings: ProjectSettings) -> list[Charge]:
    """What the sound of a new storyboard costs: speech for every scene (priced for the whole
    scene, the most it can hold), and the music bed."""
    seconds = settings.clip_duration
    charges: list[Charge] = []
    if settings.narration:
        narrator = provider_for("narration", settings)
        charges += [
            c for _ in range(settings.scenes) for c in narrator.estimate("narration", seconds)
        ]
    if settings.music:
        charges += provider_for("music", settings).estimate("music", seconds * settings.scenes)
    return charges
