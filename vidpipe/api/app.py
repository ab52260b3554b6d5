"""The HTTP API: a Bottle app over the same projects and task graph as the CLI.

Every answer is JSON, errors included (`{"error": {"status", "message", "details"}}`). Builds
run as child processes (vidpipe.api.jobs). Request bodies are validated strictly by the same
pydantic models that the OpenAPI document (`/api/openapi.json`) is generated from.

The routes are small module-level functions; two Bottle plugins (the "Plugin API":
`apply(callback, route)`) do the rest: `ApiPlugin` checks the bearer token and turns errors
and returned dicts into JSON answers, `ProjectPlugin` hands every route with a `project_id`
URL argument its `project` (or answers 404) and every route that asks for it the `ctx`.
"""

from __future__ import annotations

import hmac
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import bottle
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vidpipe import __version__, usecases
from vidpipe.api.jobs import JobBusy, Jobs
from vidpipe.api.openapi import openapi_document
from vidpipe.errors import (
    InvalidEdit,
    NotReady,
    ProjectBusy,
    ProjectNotFound,
    SceneNotFound,
    VidpipeError,
)
from vidpipe.media.stills import MAX_PICTURE_BYTES
from vidpipe.project.folder import Project
from vidpipe.project.jobrecord import ACTIVE_JOB_STATES
from vidpipe.project.location import PROJECT_ID_PATTERN
from vidpipe.project.settings import STAGES, ProjectSettings, describe_validation_error
from vidpipe.project.stages import StopStage
from vidpipe.project.status import ACTIVE_STATES, LISTED_STATES
from vidpipe.project.storyboard import SCENE_ID_PATTERN, load_storyboard
from vidpipe.providers import available
from vidpipe.read import index
from vidpipe.read.summary import live_status, summarize

MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 200
MAX_WAIT_SECONDS = 30.0


class Spending(BaseModel):
    """The go-ahead for paid calls (`yes`) and a cap in dollars for the run (`budget`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    yes: bool = False
    budget: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        None, description="a cap in dollars on what this run may spend"
    )

    def words(self) -> list[str]:
        """As command-line words of the build."""
        budget = [] if self.budget is None else [f"budget={self.budget!r}"]
        return (["yes=1"] if self.yes else []) + budget


class BuildOptions(Spending):
    """How far to build (`until`: stop after that stage, to review it) and the spending
    go-ahead."""

    until: StopStage | None = Field(
        None, description="stop after this stage to review it; a resume without it goes on"
    )

    def words(self) -> list[str]:
        return super().words() + ([] if self.until is None else [f"until={self.until}"])


class GenerateRequest(ProjectSettings, BuildOptions):
    """A new project: the same settings as `doit generate`, strictly typed, how far to build,
    and the spending go-ahead for paid providers. `provider` names one provider for every
    stage (the CLI's `provider=`); `providers` names them stage by stage; not both."""

    model_config = ConfigDict(extra="forbid", strict=True)

    provider: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    def settings(self) -> ProjectSettings:
        """The project's settings (`provider` spread over every stage)."""
        if self.provider is not None and "providers" in self.model_fields_set:
            raise ApiError(
                422, "give provider (one for every stage) or providers (per stage), not both"
            )
        data = self.model_dump(exclude={"yes", "budget", "until", "provider"})
        if self.provider is not None:
            data["providers"] = {stage: self.provider for stage in STAGES}
        return ProjectSettings.model_validate(data)


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
    narration: str | None = None  # only the scene's speech, the mix and the mux are remade


# The scene fields a client can edit, shown in the project detail.
SCENE_FIELDS = tuple(SceneEdit.model_fields)


class SceneInsert(SceneEdit):
    """A new scene after the scene `after` (none: first); `id` is made when not given, the
    prompts default to the description and the duration to the project's clip duration."""

    id: Annotated[str, Field(max_length=40)] | None = None
    after: Annotated[str, Field(max_length=40)] | None = None
    description: str  # type: ignore[assignment]


class SceneOrder(BaseModel):
    """Every scene id of the storyboard once, in the new order."""

    model_config = ConfigDict(extra="forbid", strict=True)

    scenes: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=1000)]


class StitchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    crossfade: float


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or []


@dataclass(frozen=True)
class Context:
    """What the routes work on: the projects folder and the builds."""

    root: Path
    jobs: Jobs

    def project(self, project_id: str) -> Project:
        """The project `project_id`, or a 404."""
        if not PROJECT_ID_PATTERN.match(project_id):
            raise ApiError(404, f"no project {project_id[:80]!r}")
        project = Project(self.root / project_id)
        if not project.settings_file.is_file():
            raise ApiError(404, f"no project {project_id!r}")
        return project


# --- plugins -------------------------------------------------------------------------------------
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


class ApiPlugin:
    """Who may ask (the Host and Origin headers, then the bearer token when one is set), and
    JSON answers: returned dicts as they are, ApiError with its status, no such project or
    scene 404, a busy or unready project 409, other user errors 422."""

    name = "vidpipe_api"
    api = 2

    def __init__(self, token: str | None = None, hosts: frozenset[str] | None = None) -> None:
        self.token, self.hosts = token, hosts

    def check_origin(self) -> None:
        """A browser is not to be turned against a local server: refuse a Host header that
        names another host (DNS rebinding) and an Origin other than the server's own (a page
        of another site posting here)."""
        host = bottle.request.get_header("Host")
        if host is not None and self.hosts is not None:
            name = host.rpartition(":")[0] if host.rpartition(":")[2].isdigit() else host
            if name.strip("[]").lower() not in self.hosts:
                raise ApiError(403, f"this server does not answer for the host {host[:80]!r}")
        origin = bottle.request.get_header("Origin")
        if origin is not None and host is not None and origin.partition("://")[2] != host:
            raise ApiError(403, "requests from another site's page are refused")

    def check_token(self) -> None:
        header = bottle.request.get_header("Authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), (self.token or "").encode()):
            bottle.response.set_header("WWW-Authenticate", "Bearer")
            raise ApiError(401, "send the API token: Authorization: Bearer <token>")

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        public = route.config.get("public", False)  # the studio's own files: it asks for the token

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                self.check_origin()
                if self.token is not None and not public:
                    self.check_token()
                result = callback(*args, **kwargs)
            except ApiError as err:
                return error_body(err.status, err.message, err.details)
            except (ProjectNotFound, SceneNotFound) as err:
                return error_body(404, str(err))
            except (ProjectBusy, NotReady) as err:
                return error_body(409, str(err))
            except InvalidEdit as err:
                return error_body(422, err.message, list(err.details))
            except VidpipeError as err:
                return error_body(422, str(err))
            if isinstance(result, dict):
                bottle.response.content_type = "application/json"
                return json.dumps(result)
            return result

        return wrapper


class ProjectPlugin:
    """Hands a route with a `project_id` URL argument its `project` instead (404 when there
    is no such project), and a route with a `ctx` parameter the Context."""

    name = "vidpipe_project"
    api = 2

    def __init__(self, context: Context) -> None:
        self.context = context

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        wants_project = "project_id" in re.findall(r"<(\w+)", route.rule)
        wants_context = "ctx" in route.get_callback_args()
        if not (wants_project or wants_context):
            return callback
        context = self.context

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if wants_project:
                kwargs["project"] = context.project(kwargs.pop("project_id"))
            if wants_context:
                kwargs["ctx"] = context
            return callback(*args, **kwargs)

        return wrapper


# --- request bodies ------------------------------------------------------------------------------
def _reject_constant(name: str) -> float:
    raise ApiError(422, f"{name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ApiError(400, "the JSON object repeats a key")
    return dict(pairs)


def read_json(model: type[BaseModel], optional: bool = False) -> Any:
    """The request body, parsed and validated by `model` (strict); `optional`: no body (or an
    empty one) means the model's defaults."""
    request = bottle.request
    if optional and request.content_length <= 0 and not request.chunked:
        return model()
    kind = (request.content_type or "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(415, "send the body as JSON (Content-Type: application/json)")
    if request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
    raw = request.body.read(MAX_BODY_BYTES + 1)
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
    except ValueError:  # an integer of more digits than Python converts
        raise ApiError(400, "the body holds a number with too many digits") from None
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ApiError(422, "invalid request", describe_validation_error(err).split("; ")) from None


# --- helpers -------------------------------------------------------------------------------------
def urls(project: Project) -> dict[str, str]:
    base = f"/api/projects/{project.id}"
    return {"status": f"{base}/status", "detail": base, "download": f"{base}/download",
            "events": f"{base}/events"}  # fmt: skip


def enqueue(ctx: Context, project: Project, words: list[str]) -> dict[str, Any]:
    try:
        ctx.jobs.submit(project.id, words)
    except JobBusy:
        raise ApiError(409, f"project {project.id} already has a build queued or running") from None
    return {"id": project.id, "job": "queued", **urls(project)}


def _scene_fields(project: Project) -> dict[str, dict[str, Any]]:
    """Scene id -> the scene's editable fields, from storyboard.json (none without a valid
    one)."""
    if not project.storyboard_file.exists():
        return {}
    try:
        storyboard = load_storyboard(project.storyboard_file)
    except VidpipeError:
        return {}
    return {scene.id: scene.model_dump(include=set(SCENE_FIELDS)) for scene in storyboard.scenes}


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


# --- routes --------------------------------------------------------------------------------------
def health(ctx: Context) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, **ctx.jobs.counts()}


def openapi() -> dict[str, Any]:
    document = openapi_document(GenerateRequest, SceneEdit, SceneInsert, SceneOrder,
                                StitchRequest, BuildOptions)  # fmt: skip
    # the providers installed here, for clients that offer a choice (any name is checked)
    names = sorted(available())
    for stage in STAGES:
        document["components"]["schemas"]["Providers"]["properties"][stage]["examples"] = names
    return document


def generate(ctx: Context) -> dict[str, Any]:
    """A new project (vidpipe.usecases checks it, as for `vidpipe generate`), its build queued."""
    request = read_json(GenerateRequest)
    options = BuildOptions.model_validate(request.model_dump(include={"yes", "budget", "until"}))
    project = usecases.new_project(request.settings(), source="request", root=ctx.root)
    bottle.response.status = 202
    bottle.response.set_header("Location", f"/api/projects/{project.id}")
    return enqueue(ctx, project, ["resume", *options.words()])


LISTED = ("id", "title", "state", "scenes_done", "scenes_total", "created", "updated")


def projects(ctx: Context) -> dict[str, Any]:
    query = bottle.request.query
    wanted = query.get("status")
    if wanted is not None and wanted not in LISTED_STATES:
        raise ApiError(422, f"status must be one of: {', '.join(LISTED_STATES)}")
    limit = _int_param(query.get("limit"), "limit", 50, 1, MAX_PAGE)
    offset = _int_param(query.get("offset"), "offset", 0, 0, 10**9)
    records = index.ProjectIndex(ctx.root).listing(wanted)
    page = [{key: r[key] for key in LISTED} for r in records[offset : offset + limit]]
    for record in page:
        record["thumbnail"] = thumbnail_url(Project(ctx.root / record["id"]))
    return {"projects": page, "total": len(records), "limit": limit, "offset": offset}


def detail(ctx: Context, project: Project) -> dict[str, Any]:
    record = summarize(project)
    fields = _scene_fields(project)
    base = f"/api/projects/{project.id}"
    for scene in record["scenes"]:
        scene.update(fields.get(scene["id"], {}))
        scene["keyframe_url"] = f"{base}/keyframes/{scene['id']}.png"
        scene["clip_url"] = f"{base}/clips/{scene['id']}.mp4"
        # the files' versions (None: no file yet), so a client can cache them by URL
        scene["keyframe_version"] = _version(project.keyframe_file(scene["id"]))
        scene["clip_version"] = _version(project.clip_file(scene["id"]))
    record["final"] = f"{base}/download" if record["final"] else None
    return {**record, "job": ctx.jobs.state(project.id), "urls": urls(project)}


def _version(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def status(ctx: Context, project: Project) -> dict[str, Any]:
    state = live_status(project)
    record = index.ProjectIndex(ctx.root).get(project.id) or summarize(project)
    return {
        "id": project.id,
        "state": state["state"],
        "step": state.get("step"),
        "error": state.get("error"),
        "scenes_done": record["scenes_done"],
        "scenes_total": record["scenes_total"],
        "job": ctx.jobs.state(project.id),
    }


def resume(ctx: Context, project: Project) -> dict[str, Any]:
    spending = read_json(BuildOptions, optional=True)
    state = live_status(project)["state"]
    if state in ACTIVE_STATES and state != "pending":
        raise ApiError(409, f"project {project.id} is being built")
    record = summarize(project)
    up_to_date = all(
        scene["keyframe"]["state"] == scene["clip"]["state"] == "done" for scene in record["scenes"]
    )
    if state == "complete" and up_to_date and record["final"] and spending.until is None:
        raise ApiError(409, f"project {project.id} is complete; nothing to resume")
    bottle.response.status = 202
    return enqueue(ctx, project, ["resume", *spending.words()])


def cancel(ctx: Context, project: Project) -> dict[str, Any]:
    if not ctx.jobs.cancel(project.id):
        raise ApiError(409, f"project {project.id} has no build to cancel")
    bottle.response.status = 202
    return {"id": project.id, "job": "cancelling"}


def stitch(ctx: Context, project: Project) -> dict[str, Any]:
    """Re-stitch with a new crossfade, checked as `vidpipe stitch crossfade=...` checks it."""
    request = read_json(StitchRequest)
    settings = usecases.stitch_settings(project, request.crossfade, source="request")
    bottle.response.status = 202
    return enqueue(ctx, project, ["stitch", f"crossfade={settings.crossfade!r}"])


def edit_scene(ctx: Context, project: Project, scene_id: str) -> dict[str, Any]:
    edit = read_json(SceneEdit)
    _not_building(ctx, project)
    scene = usecases.edit_scene(project, scene_id, edit.model_dump(exclude_none=True))
    return {"scene": scene.model_dump(), **_rebuild(ctx, project)}


def insert_scene(ctx: Context, project: Project) -> dict[str, Any]:
    """A new scene; the rebuild that makes it is queued."""
    request = read_json(SceneInsert)
    _not_building(ctx, project)
    fields = request.model_dump(exclude_none=True, exclude={"after"})
    scene = usecases.insert_scene(project, fields, request.after)
    return {"scene": scene.model_dump(), **_rebuild(ctx, project)}


def delete_scene(ctx: Context, project: Project, scene_id: str) -> dict[str, Any]:
    _not_building(ctx, project)
    usecases.delete_scene(project, scene_id)
    return _rebuild(ctx, project)


def reorder_scenes(ctx: Context, project: Project) -> dict[str, Any]:
    request = read_json(SceneOrder)
    _not_building(ctx, project)
    usecases.reorder_scenes(project, request.scenes)
    return _rebuild(ctx, project)


def _rebuild(ctx: Context, project: Project) -> dict[str, Any]:
    """202: the storyboard changed, its rebuild queued (stopping where a stopped build did)."""
    bottle.response.status = 202
    return {"scenes": _scene_ids(project), **enqueue(ctx, project, usecases.rebuild_words(project))}


PICTURE_TYPES = ("image/png", "image/jpeg", "image/webp")


def upload_keyframe(ctx: Context, project: Project, name: str) -> dict[str, Any]:
    """Replace a scene's keyframe with the picture in the body (PNG, JPEG or WebP)."""
    scene_id = name.removesuffix(".png")
    if not name.endswith(".png") or not re.match(SCENE_ID_PATTERN, scene_id):
        raise ApiError(404, f"no keyframe {name[:80]!r}; upload to <scene id>.png")
    request = bottle.request
    kind = (request.content_type or "").split(";")[0].strip().lower()
    if kind not in PICTURE_TYPES:
        raise ApiError(415, f"send the picture as one of: {', '.join(PICTURE_TYPES)}")
    if request.content_length > MAX_PICTURE_BYTES:
        raise ApiError(413, f"the picture is over {MAX_PICTURE_BYTES} bytes")
    data = request.body.read(MAX_PICTURE_BYTES + 1)
    if len(data) > MAX_PICTURE_BYTES:
        raise ApiError(413, f"the picture is over {MAX_PICTURE_BYTES} bytes")
    _not_building(ctx, project)
    usecases.replace_keyframe(project, scene_id, data)
    return {"scene": scene_id, **_rebuild(ctx, project)}


def _not_building(ctx: Context, project: Project) -> None:
    if ctx.jobs.state(project.id) in ACTIVE_JOB_STATES:
        raise ApiError(409, f"project {project.id} is being built; change it when it is done")


def _scene_ids(project: Project) -> list[str]:
    return list(_scene_fields(project))


def events(ctx: Context, project: Project) -> dict[str, Any]:
    query = bottle.request.query
    after = _int_param(query.get("after"), "after", -1, -1, 10**12)
    wait = _float_param(query.get("wait"), "wait", 10.0, 0.0, MAX_WAIT_SECONDS)
    fresh, last, running = ctx.jobs.events(project.id, after, wait)
    return {"events": fresh, "next": last, "running": running}


def download(ctx: Context, project: Project) -> bottle.HTTPResponse:
    return serve_file(ctx, project, "final.mp4", "video/mp4", need_complete=True)


def keyframe(ctx: Context, project: Project, name: str) -> bottle.HTTPResponse:
    return serve_file(ctx, project, f"keyframes/{name}", "image/png", scene_file=".png")


def clip(ctx: Context, project: Project, name: str) -> bottle.HTTPResponse:
    return serve_file(ctx, project, f"clips/{name}", "video/mp4", scene_file=".mp4")


THUMBNAIL_CACHE = "private, max-age=86400"  # the listing's URL changes with the keyframe


def thumbnail(ctx: Context, project: Project) -> bottle.HTTPResponse:
    """A small JPEG of the first keyframe, for the projects list."""
    try:
        path = usecases.thumbnail(project)
    except NotReady as err:
        raise ApiError(404, str(err)) from None
    answer = bottle.static_file(path.name, root=str(path.parent), mimetype="image/jpeg")
    answer.set_header("Cache-Control", THUMBNAIL_CACHE)
    return answer


def thumbnail_url(project: Project) -> str | None:
    """The thumbnail's URL, versioned by its keyframe (None: no keyframe yet)."""
    source = usecases.first_keyframe(project)
    version = None if source is None else _version(source)
    return None if version is None else f"/api/projects/{project.id}/thumbnail.jpg?v={version}"


# --- the studio: the web page over this API -----------------------------------------------------
STUDIO = resources.files("vidpipe.api") / "studio"


def studio_index() -> bottle.HTTPResponse:
    return studio_file("index.html")


def studio_file(name: str) -> bottle.HTTPResponse:
    answer = bottle.static_file(name, root=str(STUDIO))
    if isinstance(answer, bottle.HTTPError):
        raise ApiError(answer.status_code, f"no studio file {name[:80]!r}")
    answer.set_header("Cache-Control", "no-cache")  # revalidated: a new version shows at once
    return answer


def serve_file(
    ctx: Context,
    project: Project,
    relative: str,
    mimetype: str,
    need_complete: bool = False,
    scene_file: str | None = None,
) -> bottle.HTTPResponse:
    """A file of a project; `scene_file`: the name must be `<scene id><scene_file>`."""
    name = relative.rpartition("/")[2]
    if scene_file and not re.match(SCENE_ID_PATTERN, name.removesuffix(scene_file)):
        raise ApiError(404, f"no file {name[:80]!r}")
    if scene_file and not name.endswith(scene_file):
        raise ApiError(404, f"no file {name[:80]!r}")
    path = project.root / relative
    if need_complete and (live_status(project)["state"] != "complete" or not path.exists()):
        raise ApiError(409, f"project {project.id} has no finished video yet")
    resolved = path.resolve()
    if not path.is_file() or not resolved.is_relative_to(ctx.root):  # symlinks out: refused
        raise ApiError(404, f"no file {relative!r} in project {project.id}")
    answer = bottle.static_file(relative, root=str(project.root), mimetype=mimetype)
    if isinstance(answer, bottle.HTTPError):
        raise ApiError(answer.status_code, answer.body or answer.status_line)
    return answer


PROJECT = "/api/projects/<project_id>"
ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", "/api/health", health),
    ("GET", "/api/openapi.json", openapi),
    ("POST", "/api/generate", generate),
    ("GET", "/api/projects", projects),
    ("GET", PROJECT, detail),
    ("GET", f"{PROJECT}/status", status),
    ("POST", f"{PROJECT}/resume", resume),
    ("POST", f"{PROJECT}/cancel", cancel),
    ("POST", f"{PROJECT}/stitch", stitch),
    ("PATCH", f"{PROJECT}/scenes/<scene_id>", edit_scene),
    ("DELETE", f"{PROJECT}/scenes/<scene_id>", delete_scene),
    ("POST", f"{PROJECT}/scenes", insert_scene),
    ("PUT", f"{PROJECT}/scene-order", reorder_scenes),
    ("GET", f"{PROJECT}/events", events),
    ("GET", f"{PROJECT}/download", download),
    ("GET", f"{PROJECT}/keyframes/<name>", keyframe),
    ("PUT", f"{PROJECT}/keyframes/<name>", upload_keyframe),
    ("GET", f"{PROJECT}/clips/<name>", clip),
    ("GET", f"{PROJECT}/thumbnail.jpg", thumbnail),
]
# the studio's page and files: served without the token (they hold no data; the page asks for
# the token and sends it with every API call)
PUBLIC_ROUTES: list[tuple[str, Callable[..., Any]]] = [
    ("/", studio_index),
    ("/studio/<name:path>", studio_file),
]


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def make_app(
    projects_root: Path,
    jobs: Jobs,
    token: str | None = None,
    hosts: frozenset[str] | None = LOOPBACK_NAMES,
) -> bottle.Bottle:
    """The API over the projects in `projects_root`, building with `jobs`; `token`: the bearer
    token every request must carry; `hosts`: the names it answers for in the Host header
    (None: any, for a server on a public address, which has a token)."""
    app = bottle.Bottle()
    app.default_error_handler = default_error  # type: ignore[method-assign]
    app.uninstall("json")  # ApiPlugin writes every answer
    app.install(ApiPlugin(token, hosts))  # outermost: auth first, and it answers the others' errors
    app.install(ProjectPlugin(Context(projects_root.resolve(), jobs)))
    for method, path, callback in ROUTES:
        app.route(path, method, callback)
    for path, callback in PUBLIC_ROUTES:
        app.route(path, "GET", callback, public=True)
    return app
