"""The HTTP API: a Bottle app over the same projects and task graph as the CLI.

Every answer is JSON, errors included (`{"error": {"status", "message", "details"}}`). Builds
run as child processes (vidpipe.api.jobs). Request bodies are validated strictly by the same
pydantic models that the OpenAPI document (`/api/openapi.json`) is generated from.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any

import bottle
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vidpipe import __version__, fsutil
from vidpipe.api.jobs import JobBusy, JobManager
from vidpipe.api.openapi import openapi_document
from vidpipe.build.runner import check_crossfade, check_stitchable
from vidpipe.errors import NotReady, ProjectBusy, VidpipeError
from vidpipe.project.folder import PROJECT_ID_PATTERN, Project, create_project, project_lock
from vidpipe.project.settings import STAGES, ProjectSettings, describe_validation_error
from vidpipe.project.status import ACTIVE_STATES, STATES
from vidpipe.project.storyboard import (
    SCENE_ID_PATTERN,
    Storyboard,
    load_storyboard,
    storyboard_json,
)
from vidpipe.read import index
from vidpipe.read.summary import live_status, summarize

MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 200
MAX_WAIT_SECONDS = 30.0


class Spending(BaseModel):
    """The go-ahead for paid calls (`yes`) and a cap in dollars for the run (`budget`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    yes: bool = False
    budget: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    def words(self) -> list[str]:
        """As command-line words of the build."""
        budget = [] if self.budget is None else [f"budget={self.budget!r}"]
        return (["yes=1"] if self.yes else []) + budget


class GenerateRequest(ProjectSettings, Spending):
    """A new project: the same settings as `doit generate`, strictly typed, and the spending
    go-ahead for paid providers."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SceneEdit(BaseModel):
    """Fields of one scene to change; the result is validated like a hand edit."""

    model_config = ConfigDict(extra="forbid", strict=True)

    title: str | None = None
    description: str | None = None
    image_prompt: str | None = None
    video_prompt: str | None = None
    camera: str | None = None
    caption: str | None = None
    duration: float | None = None


class StitchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    crossfade: float


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or []


def _reject_constant(name: str) -> float:
    raise ApiError(422, f"{name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ApiError(400, "the JSON object repeats a key")
    return dict(pairs)


def read_json(model: type[BaseModel], optional: bool = False) -> Any:
    """The request body, parsed and validated by `model` (strict); `optional`: an empty body
    means the model's defaults."""
    if optional and not bottle.request.content_length:
        return model()
    kind = (bottle.request.content_type or "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, "send the body as JSON (Content-Type: application/json)")
    length = bottle.request.content_length
    if length > MAX_BODY_BYTES:
        raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
    raw = bottle.request.body.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        raise ApiError(400, "the body is not UTF-8") from None
    except json.JSONDecodeError as err:
        raise ApiError(400, f"the body is not valid JSON: {err.msg} at {err.pos}") from None
    except RecursionError:
        raise ApiError(400, "the JSON is nested too deeply") from None
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ApiError(422, "invalid request", describe_validation_error(err).split("; ")) from None


def make_app(projects_root: Path, jobs: JobManager, token: str | None = None) -> bottle.Bottle:
    app = bottle.Bottle()
    root = projects_root.resolve()

    def error_body(status: int, message: str, details: list[str] | None = None) -> str:
        bottle.response.status = status
        bottle.response.content_type = "application/json"
        return json.dumps({"error": {"status": status, "message": message,
                                     "details": details or []}})  # fmt: skip

    def default_error(err: bottle.HTTPError) -> str:
        message = {404: "no such resource", 405: "method not allowed here"}.get(
            err.status_code, str(err.body or err.status_line)
        )
        if err.status_code >= 500:
            message = "internal error"
        return error_body(err.status_code, message)

    app.default_error_handler = default_error  # type: ignore[method-assign]

    def api(func):
        """Turn ApiError and user errors into JSON answers."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                if token is not None:
                    check_token()
                result = func(*args, **kwargs)
            except ApiError as err:
                return error_body(err.status, err.message, err.details)
            except (ProjectBusy, NotReady) as err:
                return error_body(409, str(err))
            except VidpipeError as err:
                return error_body(422, str(err))
            if isinstance(result, bottle.HTTPResponse):
                return result
            bottle.response.content_type = "application/json"
            return json.dumps(result)

        wrapper.__name__ = func.__name__
        return wrapper

    def check_token() -> None:
        header = bottle.request.get_header("Authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), (token or "").encode()):
            bottle.response.set_header("WWW-Authenticate", "Bearer")
            raise ApiError(401, "send the API token: Authorization: Bearer <token>")

    def project_of(project_id: str) -> Project:
        if not PROJECT_ID_PATTERN.match(project_id):
            raise ApiError(404, f"no project {project_id[:80]!r}")
        project = Project(root / project_id)
        if not project.settings_file.is_file():
            raise ApiError(404, f"no project {project_id!r}")
        return project

    def urls(project: Project) -> dict[str, str]:
        base = f"/api/projects/{project.id}"
        return {"status": f"{base}/status", "detail": base, "download": f"{base}/download",
                "events": f"{base}/events"}  # fmt: skip

    def light(project: Project) -> dict[str, Any]:
        status = live_status(project)
        record = index.ProjectIndex(root).get(project.id) or summarize(project)
        job = jobs.active(project.id)
        return {
            "id": project.id,
            "state": status["state"],
            "step": status.get("step"),
            "error": status.get("error"),
            "scenes_done": record["scenes_done"],
            "scenes_total": record["scenes_total"],
            "job": job.state if job else None,
        }

    def enqueue(project: Project, words: list[str]) -> dict[str, Any]:
        try:
            jobs.submit(project.id, words)
        except JobBusy:
            raise ApiError(
                409, f"project {project.id} already has a build queued or running"
            ) from None
        return {"id": project.id, "job": "queued", **urls(project)}

    # --- routes --------------------------------------------------------------------------------
    @app.get("/api/health")
    @api
    def health():
        return {"status": "ok", "version": __version__, **jobs.counts()}

    @app.get("/api/openapi.json")
    @api
    def openapi():
        return openapi_document(GenerateRequest, SceneEdit, StitchRequest, Spending)

    @app.post("/api/generate")
    @api
    def generate():
        request = read_json(GenerateRequest)
        spending = Spending.model_validate(request.model_dump(include={"yes", "budget"}))
        settings = ProjectSettings.model_validate(request.model_dump(exclude={"yes", "budget"}))
        check_crossfade(settings.crossfade, {"clip_duration": settings.clip_duration})
        from vidpipe.providers import provider_for

        for stage in STAGES:
            provider_for(stage, settings)
        project = create_project(settings, root)
        index.refresh(project)
        bottle.response.status = 202
        bottle.response.set_header("Location", f"/api/projects/{project.id}")
        return enqueue(project, ["resume", *spending.words()])

    @app.get("/api/projects")
    @api
    def projects():
        query = bottle.request.query
        wanted = query.get("status")
        if wanted is not None and wanted not in STATES:
            raise ApiError(422, f"status must be one of: {', '.join(STATES)}")
        limit = _int_param(query.get("limit"), "limit", 50, 1, MAX_PAGE)
        offset = _int_param(query.get("offset"), "offset", 0, 0, 10**9)
        records = index.ProjectIndex(root).listing(wanted)
        page = [
            {
                key: r[key]
                for key in (
                    "id",
                    "title",
                    "state",
                    "scenes_done",
                    "scenes_total",
                    "created",
                    "updated",
                )
            }  # fmt: skip
            for r in records[offset : offset + limit]
        ]
        return {"projects": page, "total": len(records), "limit": limit, "offset": offset}

    @app.get("/api/projects/<project_id>")
    @api
    def detail(project_id: str):
        project = project_of(project_id)
        record = summarize(project)
        base = f"/api/projects/{project.id}"
        for scene in record["scenes"]:
            scene["keyframe_url"] = f"{base}/keyframes/{scene['id']}.png"
            scene["clip_url"] = f"{base}/clips/{scene['id']}.mp4"
        job = jobs.active(project.id)
        record["final"] = f"{base}/download" if record["final"] else None
        return {**record, "job": job.state if job else None, "urls": urls(project)}

    @app.get("/api/projects/<project_id>/status")
    @api
    def status(project_id: str):
        return light(project_of(project_id))

    @app.post("/api/projects/<project_id>/resume")
    @api
    def resume(project_id: str):
        project = project_of(project_id)
        spending = read_json(Spending, optional=True)
        state = live_status(project)["state"]
        if state in ACTIVE_STATES and state != "pending":
            raise ApiError(409, f"project {project.id} is being built")
        record = summarize(project)
        up_to_date = all(
            scene["keyframe"]["state"] == scene["clip"]["state"] == "done"
            for scene in record["scenes"]
        )
        if state == "complete" and up_to_date and record["final"]:
            raise ApiError(409, f"project {project.id} is complete; nothing to resume")
        bottle.response.status = 202
        return enqueue(project, ["resume", *spending.words()])

    @app.post("/api/projects/<project_id>/cancel")
    @api
    def cancel(project_id: str):
        project = project_of(project_id)
        if not jobs.cancel(project.id):
            raise ApiError(409, f"project {project.id} has no build to cancel")
        bottle.response.status = 202
        return {"id": project.id, "job": "cancelling"}

    @app.post("/api/projects/<project_id>/stitch")
    @api
    def stitch(project_id: str):
        project = project_of(project_id)
        request = read_json(StitchRequest)
        if not math.isfinite(request.crossfade) or request.crossfade < 0:
            raise ApiError(422, "crossfade must be a finite number of seconds, 0 or more")
        _storyboard(project)  # 409 without one
        check_stitchable(project, request.crossfade)
        bottle.response.status = 202
        return enqueue(project, ["stitch", f"crossfade={request.crossfade!r}"])

    @app.route("/api/projects/<project_id>/scenes/<scene_id>", method="PATCH")
    @api
    def edit_scene(project_id: str, scene_id: str):
        project = project_of(project_id)
        edit = read_json(SceneEdit)
        if jobs.active(project.id):
            raise ApiError(409, f"project {project.id} is being built; edit it when it is done")
        with project_lock(project):
            storyboard = _storyboard(project)
            data = storyboard.model_dump()
            scene = next((s for s in data["scenes"] if s["id"] == scene_id), None)
            if scene is None:
                raise ApiError(404, f"project {project.id} has no scene {scene_id[:40]!r}")
            scene.update(edit.model_dump(exclude_none=True))
            try:
                edited = Storyboard.model_validate(data)
            except ValidationError as err:
                details = describe_validation_error(err).split("; ")
                raise ApiError(422, "the edited scene is not valid", details) from None
            fsutil.write_text(project.storyboard_file, storyboard_json(edited))
        bottle.response.status = 202
        return {"scene": edited.scene(scene_id).model_dump(), **enqueue(project, ["resume"])}

    @app.get("/api/projects/<project_id>/events")
    @api
    def events(project_id: str):
        project = project_of(project_id)
        query = bottle.request.query
        after = _int_param(query.get("after"), "after", -1, -1, 10**12)
        wait = _float_param(query.get("wait"), "wait", 10.0, 0.0, MAX_WAIT_SECONDS)
        fresh, last, running = jobs.events(project.id, after, wait)
        return {"events": fresh, "next": last, "running": running}

    @app.get("/api/projects/<project_id>/download")
    def download(project_id: str):
        return serve_file(project_id, "final.mp4", "video/mp4", need_complete=True)

    @app.get("/api/projects/<project_id>/keyframes/<name>")
    def keyframe(project_id: str, name: str):
        return serve_file(project_id, f"keyframes/{name}", "image/png", scene_file=".png")

    @app.get("/api/projects/<project_id>/clips/<name>")
    def clip(project_id: str, name: str):
        return serve_file(project_id, f"clips/{name}", "video/mp4", scene_file=".mp4")

    @api
    def serve_file(
        project_id: str,
        relative: str,
        mimetype: str,
        need_complete: bool = False,
        scene_file: str | None = None,
    ):
        """A file of a project; `scene_file`: the name must be `<scene id><scene_file>`."""
        project = project_of(project_id)
        name = relative.rpartition("/")[2]
        if scene_file and not re.match(SCENE_ID_PATTERN, name.removesuffix(scene_file)):
            raise ApiError(404, f"no file {name[:80]!r}")
        if scene_file and not name.endswith(scene_file):
            raise ApiError(404, f"no file {name[:80]!r}")
        path = project.root / relative
        if need_complete and (live_status(project)["state"] != "complete" or not path.exists()):
            raise ApiError(409, f"project {project.id} has no finished video yet")
        resolved = path.resolve()
        if not path.is_file() or not resolved.is_relative_to(root):  # symlinks out: refused
            raise ApiError(404, f"no file {relative!r} in project {project.id}")
        answer = bottle.static_file(relative, root=str(project.root), mimetype=mimetype)
        if isinstance(answer, bottle.HTTPError):
            raise ApiError(answer.status_code, answer.body or answer.status_line)
        return answer

    return app


def _storyboard(project: Project) -> Storyboard:
    if not project.storyboard_file.exists():
        raise ApiError(409, f"project {project.id} has no storyboard yet")
    return load_storyboard(project.storyboard_file)


def _int_param(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if not re.fullmatch(r"-?\d{1,13}", value) or not low <= int(value) <= high:
        raise ApiError(422, f"{name} must be a whole number from {low} to {high}")
    return int(value)


def _float_param(value: str | None, name: str, default: float, low: float, high: float) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        raise ApiError(422, f"{name} must be a number from {low:g} to {high:g}")
    return number
