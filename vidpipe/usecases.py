"""What a user can do to a project, whichever door they use: the CLI (vidpipe.cli) and the
HTTP API (vidpipe.api) are thin translations of words or JSON into these calls, so each check
happens here, once, and the two doors cannot disagree.

Builds themselves run in vidpipe.build (the CLI runs one in its own process; the server runs
`vidpipe <command>` as a child process, which comes back through these same checks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
)
from vidpipe.project.location import projects_root
from vidpipe.project.settings import ProjectSettings, describe_validation_error, validate_settings
from vidpipe.project.status import read_status
from vidpipe.project.storyboard import (
    SCENE_ID_PATTERN,
    Scene,
    Storyboard,
    load_storyboard,
    storyboard_json,
)
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

    def change(scenes: list[dict[str, Any]]) -> None:
        _scene(project, scenes, scene_id).update(changes)

    return change_storyboard(project, change, "the edited scene is not valid").scene(scene_id)


def insert_scene(project: Project, fields: dict[str, Any], after: str | None) -> Scene:
    """A new scene after the scene `after` (None: first), with a new id unless `fields` names
    one; the prompts default to the description and the duration to the project's clip
    duration. The next build makes only the new scene and re-stitches the final cut."""
    new_id = ""

    def change(scenes: list[dict[str, Any]]) -> None:
        nonlocal new_id
        position = 0 if after is None else scenes.index(_scene(project, scenes, after)) + 1
        taken = {scene["id"] for scene in scenes}
        scene_id = fields.get("id") or next(
            f"s{n}" for n in range(1, len(scenes) + 2) if f"s{n}" not in taken
        )
        description = fields.get("description", "")
        scene = {"title": f"Scene {position + 1}", "image_prompt": description,
                 "video_prompt": description, "duration": project.settings.clip_duration,
                 **fields, "id": scene_id}  # fmt: skip
        scenes.insert(position, scene)
        new_id = scene_id

    return change_storyboard(project, change, "the new scene is not valid").scene(new_id)


def delete_scene(project: Project, scene_id: str) -> Storyboard:
    """Remove a scene (a storyboard keeps at least one); its files stay on disk, unused."""

    def change(scenes: list[dict[str, Any]]) -> None:
        scenes.remove(_scene(project, scenes, scene_id))

    return change_storyboard(project, change, "the storyboard would not be valid")


def reorder_scenes(project: Project, order: list[str]) -> Storyboard:
    """Put the scenes in `order` (every scene id once); the next build only re-stitches."""

    def change(scenes: list[dict[str, Any]]) -> None:
        ids = [scene["id"] for scene in scenes]
        if sorted(order) != sorted(ids):
            raise InvalidEdit(
                "the new order is not valid",
                [f"scenes: give every scene id once, in the new order (the scenes are "
                 f"{', '.join(ids)})"],
            )  # fmt: skip
        by_id = {scene["id"]: scene for scene in scenes}
        scenes[:] = [by_id[scene_id] for scene_id in order]

    return change_storyboard(project, change, "the new order is not valid")


def change_storyboard(
    project: Project, change: Callable[[list[dict[str, Any]]], None], invalid: str
) -> Storyboard:
    """Apply `change` to the storyboard's scenes under the project's lock and save the result
    when it is valid as a hand edit; otherwise raise InvalidEdit (`invalid` heads its message)
    and change nothing."""
    with project_lock(project):
        data = _storyboard(project).model_dump()
        change(data["scenes"])
        try:
            edited = Storyboard.model_validate(data)
        except ValidationError as err:
            details = describe_validation_error(err).split("; ")
            raise InvalidEdit(invalid, details) from None
        fsutil.write_text(project.storyboard_file, storyboard_json(edited))
    return edited


def _scene(project: Project, scenes: list[dict[str, Any]], scene_id: str) -> dict[str, Any]:
    scene = next((s for s in scenes if s["id"] == scene_id), None)
    if scene is None:
        raise SceneNotFound(f"project {project.id} has no scene {scene_id[:40]!r}")
    return scene


def replace_keyframe(project: Project, scene_id: str, picture: bytes) -> Path:
    """Keep `picture` (checked: a real PNG, JPEG or WebP of a sane size) as the scene's keyframe,
    as a hand-replaced keyframe: the next build remakes its clip and the final cut from it."""
    from vidpipe.media import stills  # Pillow only for pictures

    png = stills.checked_png(picture)
    with project_lock(project):
        _scene(project, _storyboard(project).model_dump()["scenes"], scene_id)
        target = project.keyframe_file(scene_id)
        with fsutil.writing(target) as partial:
            partial.write_bytes(png)
    return target


THUMBNAIL_WIDTH = 320


def first_keyframe(project: Project) -> Path | None:
    """The first scene's keyframe, when the storyboard names a first scene and it has one (read
    lightly: the projects list asks this of every project it shows)."""
    try:
        data = json.loads(project.storyboard_file.read_text(encoding="utf-8"))
        first = data["scenes"][0]["id"]
    except (OSError, ValueError, KeyError, IndexError, TypeError, RecursionError):
        return None
    if not isinstance(first, str) or not re.match(SCENE_ID_PATTERN, first):
        return None
    path = project.keyframe_file(first)
    return path if path.is_file() else None


def thumbnail(project: Project) -> Path:
    """A small JPEG of the project's first keyframe (made once per keyframe)."""
    source = first_keyframe(project)
    if source is None:
        raise NotReady(f"project {project.id} has no keyframe yet")
    from vidpipe.media import stills

    return stills.thumbnail(source, project.state_dir / "thumbnail.jpg", THUMBNAIL_WIDTH)


def rebuild_words(project: Project) -> list[str]:
    """The command that rebuilds a project after an edit: a build stopped for review at a stage
    (`until=`) stops there again, so reviewing does not start the expensive stages."""
    status = read_status(project)
    until = status.get("until") if status.get("state") == "stopped" else None
    return ["resume", *([f"until={until}"] if until else [])]


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
