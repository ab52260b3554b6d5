"""What a user can do to a project, whichever door they use: the CLI (vidpipe.cli) and the
HTTP API (vidpipe.api) are thin translations of words or JSON into these calls, so each check
happens here, once, and the two doors cannot disagree.

Builds themselves run in vidpipe.build (the CLI runs one in its own process; the server runs
`vidpipe <command>` as a child process, which comes back through these same checks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vidpipe import fsutil
from vidpipe.errors import InvalidEdit, NotReady, ProjectNotFound, SceneNotFound
from vidpipe.project.cut import check_crossfade, check_stitchable
from vidpipe.project.folder import (
    Project,
    all_projects,
    create_project,
    project_lock,
    projects_root,
)
from vidpipe.project.settings import ProjectSettings, describe_validation_error, validate_settings
from vidpipe.project.status import read_status
from vidpipe.project.storyboard import Scene, Storyboard, load_storyboard, storyboard_json
from vidpipe.providers import check_providers


def new_project(settings: ProjectSettings, source: str, root: Path | None = None) -> Project:
    """A new project of `settings`, checked as its build will check them (the crossfade fits a
    scene, the providers exist and have what they need); `source` names where they came from
    in errors. Nothing is created when a check fails."""
    check_crossfade(settings.crossfade, {"clip_duration": settings.clip_duration})
    settings = check_providers(settings, source=source)
    project = create_project(settings, root)
    from vidpipe.read import index  # TinyDB: only when there is a record to write

    index.refresh(project)
    return project


def stitch_settings(project: Project, crossfade: Any, source: str) -> ProjectSettings:
    """The project's settings with a new `crossfade` (None: keep it), checked for a re-stitch:
    the project has every clip, and the crossfade fits every scene."""
    settings = project.settings
    if crossfade is not None:
        data = {**settings.model_dump(), "crossfade": crossfade}
        settings = validate_settings(data, source=source)
    _storyboard(project)
    check_stitchable(project, settings.crossfade)
    return settings


def edit_scene(project: Project, scene_id: str, changes: dict[str, Any]) -> Scene:
    """Change fields of one scene in storyboard.json, validated as a hand edit is; an invalid
    edit raises InvalidEdit and changes nothing. The next build remakes what the edit touched."""
    with project_lock(project):
        data = _storyboard(project).model_dump()
        scene = next((s for s in data["scenes"] if s["id"] == scene_id), None)
        if scene is None:
            raise SceneNotFound(f"project {project.id} has no scene {scene_id[:40]!r}")
        scene.update(changes)
        try:
            edited = Storyboard.model_validate(data)
        except ValidationError as err:
            details = describe_validation_error(err).split("; ")
            raise InvalidEdit("the edited scene is not valid", details) from None
        fsutil.write_text(project.storyboard_file, storyboard_json(edited))
    return edited.scene(scene_id)


def _storyboard(project: Project) -> Storyboard:
    if not project.storyboard_file.exists():
        raise NotReady(
            f"project {project.id} has no storyboard yet; build it first: "
            f"vidpipe resume id={project.id}"
        )
    return load_storyboard(project.storyboard_file)


def latest_unfinished() -> Project | None:
    """The most recently touched project whose last build did not complete (None: all are)."""
    candidates = [
        (status.get("updated", 0.0), project)
        for project in _all_projects()
        if (status := read_status(project)).get("state") != "complete"
    ]
    return max(candidates, key=lambda pair: pair[0])[1] if candidates else None


def newest_project() -> Project:
    return max(_all_projects(), key=lambda project: project.created())


def _all_projects() -> list[Project]:
    projects = all_projects()
    if not projects:
        raise ProjectNotFound(
            f'no projects in {projects_root()}/ yet; start one with: vidpipe generate prompt="..."'
        )
    return projects
