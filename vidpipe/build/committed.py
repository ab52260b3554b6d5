"""Artifacts that are complete but that doit's dependency DB does not know as done.

A step moves its artifact into place after writing its record (provenance), and doit records
the task as done after the step returns: a build killed in between leaves a finished artifact
that doit would make again (with a paid model: pay again). Before a build, each such task whose
artifact matches its record and its inputs (`provenance.made_as_recorded`) is recorded as done
in doit's DB, as doit itself would have recorded it. So is a task that an earlier vidpipe
recorded under an older fingerprint of the same inputs (see `_done_before`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from doit.dependency import Dependency
from doit.task import Task

from vidpipe.build import graph, steps
from vidpipe.build.depdb import DurableSqliteDB
from vidpipe.build.estimate import DEP_FILE
from vidpipe.project.folder import Project
from vidpipe.project.provenance import made_as_recorded, restamp


def record_committed(project: Project) -> list[str]:
    """Record as done the tasks whose artifact is complete and made from their current inputs;
    returns their names (call with the project's lock held, before doit runs)."""
    if not project.storyboard_file.exists():
        return []
    recorded = []
    with contextlib.chdir(project.root):  # the graph's paths are relative to the project
        tasks = graph.later_tasks(project)
        by_name = {task.name: task for task in tasks}
        deps = Dependency(DurableSqliteDB, DEP_FILE)
        try:
            for task in tasks:  # in the graph's order: a keyframe before its clip
                if deps.get_status(task, by_name).status == "up-to-date":
                    continue
                artifact = project.root / task.targets[0]
                inputs = task.meta[graph.INPUTS]
                if not made_as_recorded(project, artifact, inputs):
                    if not _done_before(project, deps, task, artifact):
                        continue
                    restamp(project, artifact, inputs)
                task.save_extra_values()  # config_changed's digest, set by get_status
                deps.save_success(task)
                recorded.append(task.name)
                # a clip's paid job, if any, is collected: the clip is in place
                steps.pending_file(project, artifact).unlink(missing_ok=True)
        finally:
            deps.close()
    return recorded


def _done_before(project: Project, deps: Dependency, task: Task, artifact: Path) -> bool:
    """A task doit recorded as done under the fingerprint vidpipe took before providers
    declared the scene fields they use, whose inputs have not changed since: done."""
    earlier = task.meta.get(graph.EARLIER_INPUTS)
    if earlier is None or earlier == task.meta[graph.INPUTS]:
        return False
    if deps.get_values(task.name).get("_config_changed") != earlier:
        return False
    return made_as_recorded(project, artifact, earlier, stamped=False)
