"""A loopback stand-in for Google's REST API, spoken to by the real google-genai SDK.

It answers the calls vidpipe makes, in the wire shapes the SDK sends and accepts (Vertex AI and
the Developer API alike): `:generateContent` (a JSON storyboard, or an image), Veo's
`:predictLongRunning` and `:fetchPredictOperation`. Every call is logged, so tests can count
what a build paid for, and faults can be injected: HTTP errors, operations that end in an
error or in the safety filter, a malformed storyboard, a blocked image.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image

PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$")


@dataclass
class Call:
    method: str  # generateContent / predictLongRunning / fetchPredictOperation
    model: str
    body: dict[str, Any]
    status: int = 200

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
    release: threading.Event = field(default_factory=threading.Event)  # cleared: ops never end

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.release.set()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                status, answer = fake.answer(self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
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
        }

    def api_key_env(self) -> dict[str, str]:
        """Environment of a user with only a Gemini Developer API key."""
        return {"GOOGLE_API_KEY": "fake-key", "GOOGLE_GEMINI_BASE_URL": self.url}

    # --- what happened ------------------------------------------------------------------
    def of_kind(self, kind: str) -> list[Call]:
        with self.lock:
            return [call for call in self.calls if call.kind == kind and call.status == 200]

    def paid(self) -> list[Call]:
        """Calls that were answered and cost money (storyboards, images, started videos)."""
        with self.lock:
            return [c for c in self.calls if c.kind != "poll" and c.status == 200]

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
        call = Call(found["method"], found["model"], body)
        with self.lock:
            self.calls.append(call)
            fault = self._fault(call) if call.kind != "poll" else None
            if fault and fault.status:
                call.status = fault.status
                state = {429: "RESOURCE_EXHAUSTED", 404: "NOT_FOUND"}.get(
                    fault.status, "UNAVAILABLE"
                )
                message = f"injected {fault.status}"
                return fault.status, {
                    "error": {"code": fault.status, "message": message, "status": state}
                }
            if call.kind == "storyboard":
                return 200, self._storyboard(call, fault)
            if call.kind == "image":
                return 200, self._image(fault)
            if call.kind == "speech":
                return 200, self._speech(call)
            if call.kind == "video":
                name = f"projects/p/locations/l/publishers/google/models/{call.model}"
                name += f"/operations/op{len(self.operations) + 1}"
                self.operations[name] = Operation(name, call, fault)
                self.max_running = max(self.max_running, self.running())
                return 200, {"name": name}
            return 200, self._poll(body["operationName"])

    def _storyboard(self, call: Call, fault: Fault | None) -> dict[str, Any]:
        if fault and fault.malformed is not None:
            return _text_answer(fault.malformed)
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
            }
            for n in range(1, count + 1)
        ]
        story = {"title": "The Lighthouse", "characters": "An old keeper.", "scenes": scenes}
        return _text_answer(json.dumps(story))

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
        video = {
            "bytesBase64Encoded": base64.b64encode(self.video_bytes).decode(),
            "mimeType": "video/mp4",
        }
        return {"name": name, "done": True, "response": {"videos": [video]}}


def _text_answer(text: str) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}
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
