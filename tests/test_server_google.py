"""Paid builds through the HTTP API: nothing is spent without the go-ahead in the request."""

from __future__ import annotations

import pytest
from api_client import running_server
from conftest import probe, wait_until

pytestmark = pytest.mark.slow  # a server and builds

GOOGLE_OPTIONS = {"poll_interval": 0.02, "retry_initial_delay": 0.01, "retry_attempts": 3}
BODY = {
    "prompt": "A lighthouse keeper",
    "scenes": 2,
    "clip_duration": 1,
    "resolution": "360p",
    "providers": {"storyboard": "google", "keyframe": "google", "clip": "google"},
    "provider_options": {"google": GOOGLE_OPTIONS},
    "narration": False,  # 1 s scenes hold no narration
}


def wait_job(jobs, project_id: str) -> list[dict]:
    wait_until(lambda: not jobs.active(project_id), 120, what=f"the job of {project_id} to end")
    return list(jobs.jobs[project_id].events)


def test_paid_work_waits_for_yes_and_respects_the_budget(projects, fake, vertex, monkeypatch):
    for name, value in vertex.items():  # the builds are child processes of the server
        monkeypatch.setenv(name, value)
    with running_server(projects) as (client, jobs):
        answer = client.post("/api/generate", BODY)
        assert answer.status == 202, answer.body
        project_id = answer.json["id"]
        events = wait_job(jobs, project_id)
        estimate = next(event for event in events if event["event"] == "estimate")
        assert estimate["total_usd"] > 0
        assert events[-1] == {**events[-1], "event": "exit", "exit_code": 6}
        assert fake.paid() == []  # nothing was spent

        too_little = client.post(f"/api/projects/{project_id}/resume", {"yes": True, "budget": 0})
        assert too_little.status == 202
        wait_job(jobs, project_id)
        assert fake.paid() == []  # the first paid call would have gone over the budget

        go = client.post(f"/api/projects/{project_id}/resume", {"yes": True, "budget": 50})
        assert go.status == 202
        events = wait_job(jobs, project_id)
        assert events[-1]["exit_code"] == 0, events[-3:]
        status = client.get(f"/api/projects/{project_id}/status").json
        assert status["state"] == "complete"
        assert probe(projects / project_id / "final.mp4").frames == 48
        assert len(fake.paid()) > 0

        bad = client.post(f"/api/projects/{project_id}/resume", {"yes": "yes"})
        assert bad.status == 422
