"""What a build is about to pay for, decided by the same task graph and dependency DB that the
build itself uses: a resume or a one-scene rebuild is priced for only what it will redo.

A step runs when doit finds it out of date, or when a file it uses is rebuilt first (a
keyframe before its clip, a character's portrait before the keyframes of the scenes that show
the character, the first scene's keyframe before the other keyframes that take it as a
reference). A clip whose paid operation an earlier build already started costs nothing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from doit.dependency import Dependency
from doit.task import Task

from vidpipe.build import graph, steps
from vidpipe.build.depdb import DurableSqliteDB
from vidpipe.inputs import storyboard_inputs, storyboard_is_current
from vidpipe.project.costs import Charge
from vidpipe.project.folder import Project
from vidpipe.project.settings import ProjectSettings
from vidpipe.project.stages import (
    CHARACTER_TASK,
    PORTRAIT_STAGE,
    SCENE_TASK,
    parse_character_task,
    parse_scene_task,
)
from vidpipe.project.storyboard import MAX_PLANNED_CHARACTERS, load_storyboard
from vidpipe.providers import provider_for

DEP_FILE = ".vidpipe/doit.sqlite3"  # relative to the project, as the build opens it


@dataclass(frozen=True)
class BuildPlan:
    """What a build will do: the steps it will run (None: all of them, the storyboard being
    new), what they will cost, and how many steps are up to date."""

    steps: set[str] | None
    charges: list[Charge]
    up_to_date: int = 0
    # a new storyboard's characters are not known yet: the most their portraits may cost
    portraits: list[Charge] = field(default_factory=list)

    @property
    def nothing_to_do(self) -> bool:
        return self.steps is not None and not self.steps


def plan_build(
    project: Project, only: list[str] | None = None, until: str | None = None
) -> BuildPlan:
    """The plan of a build of `project` (of only the `only` tasks, when given; up to the stage
    `until`, when given)."""
    settings = project.settings
    if not storyboard_is_current(project, storyboard_inputs(project)):
        # a new storyboard: every scene will be new, as many as the settings ask for; its
        # characters are not known yet, so their portraits are priced apart, at most as many
        # as a provider's storyboard names (each is held to the budget as it is drawn)
        seconds = settings.clip_duration
        charges = provider_for("storyboard", settings).estimate("storyboard", seconds)
        for _ in range(settings.scenes if until != "storyboard" else 0):
            charges += provider_for("keyframe", settings).estimate("keyframe", seconds)
            if until is None:
                charges += provider_for("clip", settings).estimate("clip", seconds)
        if until is None:
            charges += fresh_sound_charges(settings)
        each = provider_for("keyframe", settings).estimate(PORTRAIT_STAGE, 0.0)
        portraits = each * MAX_PLANNED_CHARACTERS if until != "storyboard" else []
        if only is not None and not _calls_providers(only):
            charges, portraits = [], []
        return BuildPlan(None, charges, portraits=portraits)
    with contextlib.chdir(project.root):  # the graph's paths are relative to the project
        tasks = graph.later_tasks(project, until)
        stale = _out_of_date(tasks)
    # a step also runs when a file it uses is rebuilt before it
    made_by = {target: task.name for task in tasks for target in task.targets}
    rebuilt_inputs = set()
    changed = True
    while changed:
        changed = False
        for task in tasks:
            if task.name not in rebuilt_inputs and any(
                made_by.get(dep) in stale for dep in task.file_dep
            ):
                rebuilt_inputs.add(task.name)
                stale.add(task.name)
                changed = True
    names = {"storyboard", *(task.name for task in tasks)}
    selected = names if only is None else names & set(only)
    stale &= selected
    storyboard = load_storyboard(project.storyboard_file)
    charges = []
    for task in tasks:
        scene_stage = parse_scene_task(task.name)
        portrait = parse_character_task(task.name) is not None
        # a portrait placed by hand is kept, unpaid
        if (
            task.name in stale
            and portrait
            and not steps.placed_by_hand(project, project.root / task.targets[0])
        ):
            charges += provider_for("keyframe", settings).estimate(PORTRAIT_STAGE, 0.0)
        if task.name not in stale or scene_stage is None:
            continue
        scene_id, stage = scene_stage
        provider = provider_for(stage, settings)
        if stage == "narration":  # nothing paid for is collected later: all or nothing
            charges += provider.estimate(stage, storyboard.scene(scene_id).duration)
            continue
        make_job = steps.keyframe_job if stage == "keyframe" else steps.clip_job
        job = make_job(project, storyboard, scene_id, project.root / task.targets[0])
        if task.name in rebuilt_inputs:  # new inputs: whatever was paid for before does not fit
            charges += provider.estimate(stage, job.scene.duration)
        else:
            charges += steps.charges_of(provider, stage, job)
    return BuildPlan(stale, charges, up_to_date=len(selected - stale))


def _calls_providers(only: list[str]) -> bool:
    return any(name.startswith(("storyboard", SCENE_TASK, CHARACTER_TASK)) for name in only)


def _out_of_date(tasks: list[Task]) -> set[str]:
    """The tasks doit finds out of date by themselves (call in the project's folder)."""
    tasks_by_name = {task.name: task for task in tasks}
    deps = Dependency(DurableSqliteDB, DEP_FILE)
    try:
        return {
            task.name
            for task in tasks
            if deps.get_status(task, tasks_by_name).status != "up-to-date"
        }
    finally:
        deps.close()


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
