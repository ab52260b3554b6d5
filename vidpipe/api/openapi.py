"""The OpenAPI 3.1 document of the HTTP API, built from the request models that validate it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from vidpipe import __version__
from vidpipe.project.location import PROJECT_ID_PATTERN
from vidpipe.project.status import LISTED_STATES

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {
        400: "malformed body", 401: "missing or wrong API token", 404: "no such project or file",
        409: "conflicts with the project's state", 413: "body too large",
        415: "body is not JSON", 416: "range not satisfiable", 422: "invalid values",
    }  # fmt: skip
    return {str(code): _json(_ref("Error"), meaning[code]) for code in codes}


def _file(mime: str, description: str) -> dict[str, Any]:
    body = {"content": {mime: {"schema": {"type": "string", "format": "binary"}}}}
    return {"200": {"description": description, **body},
            "206": {"description": "the requested range", **body}}  # fmt: skip


def _body(model: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


PROJECT_ID = {
    "name": "project_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": PROJECT_ID_PATTERN.pattern, "maxLength": 64},
}
SCENE_ID = {"name": "scene_id", "in": "path", "required": True,
            "schema": {"type": "string", "maxLength": 40}}  # fmt: skip
OBJECT = {"type": "object"}


def _project_paths() -> dict[str, Any]:
    base = "/api/projects/{project_id}"
    queued = _json(_ref("Queued"), "accepted; the build runs in the background")
    return {
        base: {"get": {"summary": "Full detail: settings, scenes with their state, runs, costs",
                       "parameters": [PROJECT_ID],
                       "responses": {"200": _json(_ref("Detail"), "the project"),
                                     **_errors(401, 404)}}},
        f"{base}/status": {"get": {"summary": "Lightweight status", "parameters": [PROJECT_ID],
                                   "responses": {"200": _json(_ref("Status"), "status"),
                                                 **_errors(401, 404)}}},
        f"{base}/resume": {"post": {"summary": "Resume the build", "parameters": [PROJECT_ID],
                                    "requestBody": {**_body("BuildOptions"), "required": False},
                                    "responses": {"202": queued,
                                                  **_errors(400, 401, 404, 409, 413, 415,
                                                            422)}}},
        f"{base}/cancel": {"post": {"summary": "Stop a queued or running build (resumable)",
                                    "parameters": [PROJECT_ID],
                                    "responses": {"202": _json(OBJECT, "cancelling"),
                                                  **_errors(401, 404, 409)}}},
        f"{base}/stitch": {"post": {"summary": "Re-stitch the existing clips",
                                    "parameters": [PROJECT_ID], "requestBody": _body("Stitch"),
                                    "responses": {"202": queued,
                                                  **_errors(400, 401, 404, 409, 413, 415,
                                                            422)}}},
        f"{base}/scenes/{{scene_id}}": {"patch": {
            "summary": "Edit one scene (validated like a hand edit) and rebuild it",
            "parameters": [PROJECT_ID, SCENE_ID],
            "requestBody": _body("SceneEdit"),
            "responses": {"202": _json(_ref("Changed"), "edited; rebuild queued"),
                          **_errors(400, 401, 404, 409, 413, 415, 422)}},
            "delete": {
            "summary": "Delete a scene (the storyboard keeps at least one) and re-stitch",
            "parameters": [PROJECT_ID, SCENE_ID],
            "responses": {"202": _json(_ref("Changed"), "deleted; rebuild queued"),
                          **_errors(401, 404, 409, 422)}}},
        f"{base}/scenes": {"post": {
            "summary": "Insert a scene (validated like a hand edit) and build it",
            "parameters": [PROJECT_ID], "requestBody": _body("SceneInsert"),
            "responses": {"202": _json(_ref("Changed"), "inserted; rebuild queued"),
                          **_errors(400, 401, 404, 409, 413, 415, 422)}}},
        f"{base}/scene-order": {"put": {
            "summary": "Reorder the scenes (every scene id once) and re-stitch",
            "parameters": [PROJECT_ID], "requestBody": _body("SceneOrder"),
            "responses": {"202": _json(_ref("Changed"), "reordered; rebuild queued"),
                          **_errors(400, 401, 404, 409, 413, 415, 422)}}},
        f"{base}/thumbnail.jpg": {"get": {
            "summary": "A small JPEG of the first keyframe (cached)", "parameters": [PROJECT_ID],
            "responses": {"200": {"description": "the thumbnail", "content": {"image/jpeg": {
                "schema": {"type": "string", "format": "binary"}}}},
                "304": {"description": "not modified"}, **_errors(401, 404)}}},
        f"{base}/events": {"get": {
            "summary": "Progress events of the latest build (long polling)",
            "parameters": [
                PROJECT_ID,
                {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": -1}},
                {"name": "wait", "in": "query",
                 "schema": {"type": "number", "minimum": 0, "maximum": 30}},
            ],
            "responses": {"200": _json(_ref("Events"), "events after `after`"),
                          **_errors(401, 404, 422)}}},
        f"{base}/download": {"get": {"summary": "The final video", "parameters": [PROJECT_ID],
                                     "responses": {**_file("video/mp4", "final.mp4"),
                                                   **_errors(401, 404, 409, 416)}}},
        f"{base}/keyframes/{{name}}": {"get": {
            "summary": "A scene's keyframe (`<scene id>.png`)",
            "parameters": [PROJECT_ID, {"name": "name", "in": "path", "required": True,
                                        "schema": {"type": "string"}}],
            "responses": {**_file("image/png", "the keyframe"), **_errors(401, 404, 416)}},
            "put": {
            "summary": "Replace a scene's keyframe with a picture (PNG, JPEG or WebP, at most "
                       "25 MB, 16 to 8192 pixels a side) and rebuild its clip",
            "parameters": [PROJECT_ID, {"name": "name", "in": "path", "required": True,
                                        "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("image/png", "image/jpeg", "image/webp")}},
            "responses": {"202": _json(_ref("Changed"), "kept; rebuild queued"),
                          **_errors(401, 404, 409, 413, 415, 422)}}},
        f"{base}/clips/{{name}}": {"get": {
            "summary": "A scene's clip (`<scene id>.mp4`)",
            "parameters": [PROJECT_ID, {"name": "name", "in": "path", "required": True,
                                        "schema": {"type": "string"}}],
            "responses": {**_file("video/mp4", "the clip"), **_errors(401, 404, 416)}}},
    }  # fmt: skip


def openapi_document(*models: type[BaseModel]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    names = {"GenerateRequest": "Generate", "StitchRequest": "Stitch"}
    for model in models:
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[names.get(model.__name__, model.__name__)] = schema
    state = {"type": "string", "enum": list(LISTED_STATES)}
    nullable_text = {"type": ["string", "null"]}
    schemas.update(
        {
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["status", "message", "details"],
                "properties": {"status": {"type": "integer"}, "message": {"type": "string"},
                               "details": {"type": "array", "items": {"type": "string"}}}}}},
            "Queued": {"type": "object", "required": ["id", "job"],
                       "properties": {"id": {"type": "string"}, "job": {"const": "queued"}}},
            "Status": {"type": "object",
                       "required": ["id", "state", "scenes_done", "scenes_total"],
                       "properties": {"id": {"type": "string"}, "state": state,
                                      "step": nullable_text, "error": nullable_text,
                                      "scenes_done": {"type": "integer"},
                                      "scenes_total": {"type": "integer"},
                                      "job": nullable_text}},
            "Detail": {"type": "object", "required": ["id", "state", "settings", "scenes", "runs"],
                       "properties": {"id": {"type": "string"}, "state": state,
                                      "settings": OBJECT,
                                      "scenes": {"type": "array", "items": OBJECT},
                                      "runs": {"type": "array", "items": OBJECT}}},
            "ProjectList": {"type": "object",
                            "required": ["projects", "total", "limit", "offset"],
                            "properties": {"projects": {"type": "array", "items": OBJECT},
                                           "total": {"type": "integer"},
                                           "limit": {"type": "integer"},
                                           "offset": {"type": "integer"}}},
            "Changed": {"type": "object", "required": ["id", "job", "scenes"],
                        "properties": {"id": {"type": "string"}, "job": {"const": "queued"},
                                       "scenes": {"type": "array",
                                                  "items": {"type": "string"}}}},
            "Events": {"type": "object", "required": ["events", "next", "running"],
                       "properties": {"events": {"type": "array", "items": OBJECT},
                                      "next": {"type": "integer"},
                                      "running": {"type": "boolean"}}},
            "Health": {"type": "object", "required": ["status", "version"],
                       "properties": {"status": {"const": "ok"},
                                      "version": {"type": "string"}}},
        }
    )  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "vidpipe", "version": __version__},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
        "paths": {
            "/api/health": {"get": {"summary": "Service health",
                                    "responses": {"200": _json(_ref("Health"), "healthy"),
                                                  **_errors(401)}}},
            "/api/openapi.json": {"get": {"summary": "This document",
                                          "responses": {"200": _json(OBJECT, "OpenAPI 3.1"),
                                                        **_errors(401)}}},
            "/api/generate": {"post": {"summary": "Start a new video",
                                       "requestBody": _body("Generate"),
                                       "responses": {"202": _json(_ref("Queued"), "accepted"),
                                                     **_errors(400, 401, 413, 415, 422)}}},
            "/api/projects": {"get": {
                "summary": "All projects, newest first",
                "parameters": [
                    {"name": "status", "in": "query", "schema": state},
                    {"name": "limit", "in": "query",
                     "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {"name": "offset", "in": "query",
                     "schema": {"type": "integer", "minimum": 0}},
                ],
                "responses": {"200": _json(_ref("ProjectList"), "a page of projects"),
                              **_errors(401, 422)}}},
            **_project_paths(),
        },
    }  # fmt: skip
