"""A loopback stand-in for Google's REST API, spoken to by the real google-genai SDK.

It answers the calls vidpipe makes, in the wire shapes the SDK sends and accepts (Vertex AI and
the Developer API alike): `:generateContent` (a JSON storyboard, or an image), Veo's
`:predictLongRunning` and `:fetchPredictOperation`, and Cloud Storage's object download (a
finished video answered as a `gs://` URI). Every call is logged, so tests can count what a build
paid for, and faults can be injected: HTTP errors (also after a video job was created), a
dropped connection, a hung answer, operations that end in an error or in the safety filter or
with a URI instead of the video, a malformed storyboard, a blocked image, a storyboard cut off
at its max_output_tokens, an answer without its token counts, a model served only in some
locations (404 elsewhere, as Vertex AI answers). Each call keeps the location of its path, its
labels and its seed. A storyboard's answer carries
`usageMetadata` as Gemini bills it (the prompt, the answer and the thinking, in tokens); a
storyboard asked of Gemini 3.5 or later with a thinking budget is refused, as Google refuses it
(those models take a thinking level).
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image

PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$")
LOCATION = re.compile(r"/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/")
OBJECT = re.compile(r"^/storage/v1/b/(?P<bucket>[^/]+)/o/(?P<object>[^?]+)\?alt=media$")


DROP = -1  # the status of a call whose connection was closed without an answer


@dataclass
class Call:
    method: str  # generateContent / predictLongRunning / fetchPredictOperation
    model: str
    body: dict[str, Any]
    status: int = 200
    created: bool = False  # a video job was created for it
    usage: dict[str, int] | None = None  # the usageMetadata of a storyboard's answer
    location: str | None = None  # the Vertex AI location of its path (None: none in it)
    project: str | None = None  # and the project

    @property
    def labels(self) -> dict[str, str] | None:
        return self.body.get("labels")

    @property
    def seed(self) -> int | None:
        """The seed it asked for (a generateContent's generationConfig, or Veo's parameters)."""
        if self.method == "predictLongRunning":
            return self.parameters.get("seed")
        return self.body.get("generationConfig", {}).get("seed")

    @property
    def thinking(self) -> dict[str, Any]:
        """A text call's thinkingConfig, its keys in camelCase (the SDK sends them snake_case;
        Google's JSON takes both)."""
        sent = self.body.get("generationConfig", {}).get("thinkingConfig") or {}
        return {_camel(key): value for key, value in sent.items()}

    @property
    def kind(self) -> str:
        """storyboard, image, speech, video or poll."""
        if self.method == "generateContent":
            modalities = self.body.get("generationConfig", {}).get("responseModalities") or []
            if "AUDIO" in modalities:
                return "speech"
            return "image" if "IMAGE" in modalities else "storyboard"
        return {"predictLongRunning": "video", "fetchPredictOperation": "poll"}[self.method]

    @property
    def text(self) -> str:
        """The prompt text of the call (all text parts, or the video prompt)."""
        if self.method == "predictLongRunning":
            return self.body["instances"][0].get("prompt", "")
        parts = [p for c in self.body.get("contents", []) for p in c.get("parts", [])]
        return "\n".join(p["text"] for p in parts if "text" in p)

    @property
    def images_sent(self) -> int:
        parts = [p for c in self.body.get("contents", []) for p in c.get("parts", [])]
        return sum(1 for p in parts if "inlineData" in p)

    @property
    def parameters(self) -> dict[str, Any]:
        return self.body.get("parameters", {})


@dataclass
class Fault:
    """Answer matching calls with an HTTP error (`status`) or, for video calls, make their
    operation end badly (`error` or `filtered`). `times=None`: every matching call."""

    kind: str
    status: int | None = None
    error: str | None = None
    filtered: str | None = None
    malformed: str | None = None  # storyboard text to answer with instead of valid JSON
    blocked: str | None = None  # an image answered with this finish reason and no image
    match: str = ""  # only calls whose prompt text contains this
    times: int | None = 1
    after_create: bool = False  # video: the job is created (and paid), then `status` answered
    drop: bool = False  # close the connection without an answer
    hang: float = 0.0  # seconds to wait before answering
    uri: str | None = None  # video: the finished operation names this gs:// URI, no bytes
    message: str | None = None  # the error message of an HTTP error
    cut_off: bool = False  # storyboard: half the answer, stopped at MAX_TOKENS
    no_usage: bool = False  # storyboard: an answer without usageMetadata


@dataclass
class Operation:
    name: str
    call: Call
    fault: Fault | None
    polls: int = 0
    done: bool = False


@dataclass
class FakeGoogle:
    video_bytes: bytes
    polls_until_done: int = 2
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    operations: dict[str, Operation] = field(default_factory=dict)
    max_running: int = 0  # most operations running at the same time
    objects: dict[str, bytes] = field(default_factory=dict)  # gs:// URI -> what it holds
    downloads: list[str] = field(default_factory=list)  # the gs:// URIs downloaded
    title: str = "The Lighthouse"  # of every storyboard it writes
    # the characters of every storyboard it writes (name -> description), and the names in
    # each scene (scene number -> names)
    cast: dict[str, str] = field(default_factory=dict)
    cast_in: dict[int, list[str]] = field(default_factory=dict)
    storage_status: int = 200  # what Cloud Storage answers a download (403: no access)
    release: threading.Event = field(default_factory=threading.Event)  # cleared: ops never end
    thoughts: int = 321  # the thinking tokens of every storyboard answer
    # model -> the locations that serve it (Vertex AI answers 404 elsewhere); absent: all
    served: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.release.set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, answer = fake.answer(self.path, body)
                if status == DROP:
                    self.close_connection = True
                    return
                self._send(status, json.dumps(answer).encode(), "application/json")

            def do_GET(self) -> None:
                status, data = fake.download(self.path, self.headers.get("Authorization"))
                self._send(status, data, "video/mp4" if status == 200 else "application/json")

            def _send(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- running ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def start(self) -> FakeGoogle:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def vertex_env(self, credentials: Path) -> dict[str, str]:
        """Environment of a user who set up Vertex AI with application default credentials."""
        return {
            "GOOGLE_GENAI_USE_VERTEXAI": "true",
            "GOOGLE_CLOUD_PROJECT": "fake-project",
            "GOOGLE_CLOUD_LOCATION": "us-central1",
            "GOOGLE_APPLICATION_CREDENTIALS": str(credentials),
            "GOOGLE_VERTEX_BASE_URL": self.url,
            "STORAGE_EMULATOR_HOST": self.url.rstrip("/"),
        }

    def api_key_env(self) -> dict[str, str]:
        """Environment of a user with only a Gemini Developer API key."""
        return {"GOOGLE_API_KEY": "fake-key", "GOOGLE_GEMINI_BASE_URL": self.url}

    # --- what happened ------------------------------------------------------------------
    def of_kind(self, kind: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.kind == kind and call.status == 200]

    def paid(self) -> list[Call]:
        """Calls that cost money: answered storyboards and images, and every video job
        created (also one whose answer was an error after it was created)."""
        with self.lock:
            return [c for c in self.calls if c.kind != "poll" and (c.status == 200 or c.created)]

    def jobs(self) -> list[Call]:
        """The video jobs created (each one paid for)."""
        with self.lock:
            return [op.call for op in self.operations.values()]

    def running(self) -> int:
        return sum(1 for op in self.operations.values() if not op.done)

    # --- answering ----------------------------------------------------------------------
    def _fault(self, call: Call) -> Fault | None:
        for fault in self.faults:
            if fault.kind == call.kind and fault.match in call.text and fault.times != 0:
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        found = PATH.search(path)
        if not found:
            return 404, {
                "error": {"code": 404, "message": f"no route {path}", "status": "NOT_FOUND"}
            }
        where = LOCATION.search(path)
        call = Call(found["method"], found["model"], body)
        if where:
            call.location, call.project = where["location"], where["project"]
        with self.lock:
            self.calls.append(call)
            if (refused := self._not_served(call)) is not None:
                return 404, refused
            fault = self._fault(call)
        if fault and fault.hang:
            time.sleep(fault.hang)
        with self.lock:
            answered_badly = fault and (fault.status or fault.drop)
            if fault and fault.after_create and answered_badly and call.kind == "video":
                self._create(call, None)
            if fault and fault.drop:
                call.status = DROP
                return DROP, {}
            if fault and fault.status:
                call.status = fault.status
                state = {429: "RESOURCE_EXHAUSTED", 404: "NOT_FOUND"}.get(
                    fault.status, "UNAVAILABLE"
                )
                message = fault.message or f"injected {fault.status}"
                return fault.status, {
                    "error": {"code": fault.status, "message": message, "status": state}
                }
            if call.kind == "storyboard" and (refused := _refused(call)):
                call.status = 400
                return 400, refused
            if call.kind == "storyboard":
                return 200, self._storyboard(call, fault)
            if call.kind == "image":
                return 200, self._image(fault)
            if call.kind == "speech":
                return 200, self._speech(call)
            if call.kind == "video":
                return 200, {"name": self._create(call, fault)}
            return 200, self._poll(body["operationName"])

    def _not_served(self, call: Call) -> dict[str, Any] | None:
        """Vertex AI's answer to a call for a model in a location that does not serve it."""
        places = self.served.get(call.model)
        if places is None or call.location is None or call.location in places:
            return None
        call.status = 404
        message = (
            f"Publisher Model `projects/{call.project}/locations/{call.location}/publishers/google/"
            f"models/{call.model}` was not found or your project does not have access to it."
        )
        return {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}}

    def _create(self, call: Call, fault: Fault | None) -> str:
        # named as Vertex AI names it: in the project and location it was made in (a poll goes
        # there)
        where = f"projects/{call.project or 'p'}/locations/{call.location or 'l'}"
        name = f"{where}/publishers/google/models/{call.model}"
        name += f"/operations/op{len(self.operations) + 1}"
        self.operations[name] = Operation(name, call, fault)
        call.created = True
        self.max_running = max(self.max_running, self.running())
        return name

    def download(self, path: str, authorization: str | None) -> tuple[int, bytes]:
        """Cloud Storage's JSON API: GET /storage/v1/b/BUCKET/o/OBJECT?alt=media."""
        from urllib.parse import unquote

        found = OBJECT.match(path)
        uri = f"gs://{found['bucket']}/{unquote(found['object'])}" if found else path
        with self.lock:
            self.downloads.append(uri)
            if authorization != "Bearer fake-token":
                return 401, b'{"error": {"code": 401, "message": "no credentials"}}'
            if self.storage_status != 200:
                return self.storage_status, b'{"error": {"message": "refused by the fake"}}'
            if uri not in self.objects:
                return 404, b'{"error": {"code": 404, "message": "no such object"}}'
            return 200, self.objects[uri]

    def _storyboard(self, call: Call, fault: Fault | None) -> dict[str, Any]:
        config = call.body.get("generationConfig", {})
        text, finish = self._story(call), "STOP"
        if fault and fault.malformed is not None:
            text = fault.malformed
        elif fault and fault.cut_off:
            text, finish = text[: len(text) // 2], "MAX_TOKENS"
        answer = _text_answer(text, finish)
        # about 4 bytes a token; stopped at the limit, the answer and the thinking fill it
        written = math.ceil(len(text) / 4)
        if finish == "MAX_TOKENS":
            written = config.get("maxOutputTokens", written + self.thoughts) - self.thoughts
        call.usage = {
            "promptTokenCount": math.ceil(len(json.dumps(call.body).encode()) / 4),
            "candidatesTokenCount": written,
            "thoughtsTokenCount": self.thoughts,
        }
        call.usage["totalTokenCount"] = sum(call.usage.values())
        if not (fault and fault.no_usage):
            answer["usageMetadata"] = call.usage
        return answer

    def _story(self, call: Call) -> str:
        """A storyboard of as many scenes as the answer's schema asks for, as JSON."""
        config = call.body.get("generationConfig", {})
        schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
        scenes_schema = schema.get("properties", {}).get("scenes", {})
        count = int(scenes_schema.get("minItems") or scenes_schema.get("min_items") or 3)
        scenes = [
            {
                "title": f"Scene {n}",
                "description": f"What happens in scene {n}.",
                "image_prompt": f"A lighthouse at dusk, shot {n}",
                "video_prompt": f"Waves roll in, shot {n}",
                "camera": "slow push in",
                "caption": f"Part {n}",
                "narration": f"The keeper climbs, shot {n}.",
                "characters": self.cast_in.get(n, []),
            }
            for n in range(1, count + 1)
        ]
        characters = [{"name": name, "description": said} for name, said in self.cast.items()]
        story = {"title": self.title, "characters": characters, "scenes": scenes}
        return json.dumps(story)

    def _image(self, fault: Fault | None) -> dict[str, Any]:
        if fault and fault.blocked:
            return {
                "candidates": [
                    {"content": {"role": "model", "parts": []}, "finishReason": fault.blocked}
                ]
            }
        data = base64.b64encode(self._png(len(self.calls))).decode()
        parts = [{"text": "Here it is."}, {"inlineData": {"mimeType": "image/png", "data": data}}]
        return {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]
        }

    @staticmethod
    def _speech(call: Call) -> dict[str, Any]:
        """Speech as Gemini's TTS models send it: 24 kHz 16-bit PCM, here a hum of 70 ms a
        character of the text, between short silences."""
        rate = 24000
        seconds = min(10.0, 0.07 * len(call.text))
        count = int(seconds * rate)
        pcm = bytearray(int(0.1 * rate) * 2)  # silence first, as a voice starts
        for n in range(count):
            value = int(
                8000 * math.sin(2 * math.pi * 180 * n / rate) * math.sin(math.pi * n / count)
            )
            pcm += struct.pack("<h", value)
        pcm += bytes(int(0.1 * rate) * 2)
        data = base64.b64encode(bytes(pcm)).decode()
        parts = [{"inlineData": {"mimeType": f"audio/L16;codec=pcm;rate={rate}", "data": data}}]
        return {
            "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]
        }

    @staticmethod
    def _png(number: int) -> bytes:
        """A real PNG, different for every call (as a new drawing would be)."""
        buffer = io.BytesIO()
        Image.new("RGB", (640, 360), (number * 37 % 256, 90, 160)).save(buffer, "PNG")
        return buffer.getvalue()

    def _poll(self, name: str) -> dict[str, Any]:
        op = self.operations.get(name)
        if op is None:
            return {
                "name": name,
                "done": True,
                "error": {"code": 5, "message": "no such operation"},
            }
        op.polls += 1
        if not self.release.is_set() or op.polls < self.polls_until_done:
            return {"name": name}
        op.done = True
        if op.fault and op.fault.error:
            return {"name": name, "done": True, "error": {"code": 3, "message": op.fault.error}}
        if op.fault and op.fault.filtered:
            response = {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": [op.fault.filtered]}
            return {"name": name, "done": True, "response": response}
        if op.fault and op.fault.uri:
            self.objects[op.fault.uri] = self.video_bytes  # Veo wrote it to the bucket
            video = {"gcsUri": op.fault.uri, "mimeType": "video/mp4"}
        else:
            video = {
                "bytesBase64Encoded": base64.b64encode(self.video_bytes).decode(),
                "mimeType": "video/mp4",
            }
        return {"name": name, "done": True, "response": {"videos": [video]}}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def _refused(call: Call) -> dict[str, Any] | None:
    """Google's answer to a thinking budget sent to Gemini 3.5 or later, which take a
    thinking level instead; None when the call is fine."""
    version = re.match(r"gemini-(\d+(?:\.\d+)?)", call.model)
    if "thinkingBudget" not in call.thinking or not version or float(version[1]) < 3.5:
        return None
    message = f"thinking_budget is not supported by {call.model}; use thinking_level instead."
    return {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}


def _text_answer(text: str, finish: str = "STOP") -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": finish}
        ]
    }


def write_credentials(path: Path) -> Path:
    """Application default credentials holding a token that never expires (no refresh, so
    the SDK never reaches Google's token server)."""
    info = {
        "type": "authorized_user",
        "client_id": "fake-client",
        "client_secret": "fake-secret",
        "refresh_token": "fake-refresh",
        "token": "fake-token",
        "expiry": "2099-01-01T00:00:00Z",
    }
    path.write_text(json.dumps(info))
    return path
