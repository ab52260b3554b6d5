"""Paid work is paid for once and never hangs: faults of Google's service (a 504 answered after
the Veo job was made, a video answered as a Cloud Storage URI, a dropped connection while
polling, a hung call), injected in the loopback fake that the real google-genai SDK talks to."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO, doit_env, only_project, probe, run_doit, wait_until
from fake_google import Fault
from test_google import generate, resume, scene_of, text_priced

pytestmark = pytest.mark.slow  # doit builds against the loopback fake


def jobs_of(fake, scene_id: str) -> int:
    return sum(1 for call in fake.jobs() if scene_of(call) == scene_id)


def test_a_504_after_the_job_was_made_is_not_sent_again(projects, fake, vertex):
    fake.faults.append(Fault("video", status=504, after_create=True, match="shot 1"))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert "scene s1: the request for a Veo clip got no clear answer (504" in result.stdout
    assert "Google may have started the job and will bill it (about $0.48)" in result.stdout
    assert "a resume starts a new job and pays about $0.48 again" in result.stdout
    assert [jobs_of(fake, scene) for scene in ("s1", "s2", "s3")] == [1, 1, 1]
    project = only_project(projects)
    assert not project.clip_file("s1").exists() and project.clip_file("s2").exists()

    result = resume(project, vertex, "yes=1")  # as the message said: one more job, for s1
    assert result.returncode == 0, result.stdout + result.stderr
    assert [jobs_of(fake, scene) for scene in ("s1", "s2", "s3")] == [2, 1, 1]


def test_a_dropped_connection_on_a_submit_is_not_sent_again(projects, fake, vertex):
    fake.faults.append(Fault("video", drop=True, after_create=True, match="shot 2"))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert "scene s2: the request for a Veo clip got no clear answer" in result.stdout
    assert jobs_of(fake, "s2") == 1


def test_a_submit_that_times_out_is_not_sent_again(projects, fake, vertex):
    fake.faults.append(Fault("video", hang=3, match="shot 1"))  # then the job is made
    result = generate(vertex, "yes=1", "google.request_timeout=0.5")
    assert result.returncode == 1
    assert "scene s1: the request for a Veo clip got no clear answer (ReadTimeout" in (
        result.stdout
    )
    assert len([c for c in fake.calls if c.kind == "video" and "shot 1" in c.text]) == 1
    wait_until(lambda: jobs_of(fake, "s1") == 1, what="the fake making the job it was asked for")


def test_a_quota_refusal_of_a_submit_is_retried(projects, fake, vertex):
    # 429 is answered before a job is made: retried (here twice), one job in the end
    fake.faults.append(Fault("video", status=429, match="shot 3", times=2))
    result = generate(vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [c.status for c in fake.calls if c.kind == "video" and "shot 3" in c.text] == [
        429,
        429,
        200,
    ]
    assert jobs_of(fake, "s3") == 1


def test_a_video_answered_as_a_storage_uri_is_downloaded(projects, fake, vertex):
    uri = "gs://my-bucket/veo/shot 2/sample_0.mp4"
    fake.faults.append(Fault("video", uri=uri, match="shot 2"))
    result = generate(vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert fake.downloads == [uri]
    assert [jobs_of(fake, scene) for scene in ("s1", "s2", "s3")] == [1, 1, 1]
    assert probe(only_project(projects).final_file).frames == 3 * 24


def test_a_video_that_cannot_be_downloaded_is_kept_and_collected_by_a_resume(
    projects, fake, vertex
):
    uri = "gs://my-bucket/veo/s2.mp4"
    fake.faults.append(Fault("video", uri=uri, match="shot 2"))
    fake.storage_status = 403
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert f"scene s2: the clip is made and paid for, at {uri}, but it could not be" in (
        result.stdout
    )
    project = only_project(projects)
    assert (project.state_dir / "pending" / "clips" / "s2.mp4.json").exists()

    fake.storage_status = 200
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "estimated total" not in result.stdout  # nothing to pay for
    assert [jobs_of(fake, scene) for scene in ("s1", "s2", "s3")] == [1, 1, 1]
    assert fake.downloads == [uri, uri]


def test_a_dropped_connection_while_polling_is_polled_again(projects, fake, vertex):
    fake.faults.append(Fault("poll", drop=True, times=3))
    result = generate(vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(fake.jobs()) == 3


def test_a_hung_call_times_out(projects, fake, vertex):
    fake.faults.append(Fault("storyboard", hang=30, times=None))
    result = generate(vertex, "yes=1", "google.request_timeout=0.5", "google.retry_attempts=2")
    assert result.returncode == 1
    assert "gemini-3.5-flash did not answer within 0.5 s (google.request_timeout)" in (
        result.stdout
    )
    assert [call.kind for call in fake.calls] == ["storyboard"] * 2


def test_a_refused_call_gives_its_reservation_back_to_the_budget(projects, fake, vertex):
    # the storyboard (reserved at most $0.03, settled at its tokens: a few tenths of a cent) +
    # three keyframes $0.201 + one clip $0.48 fit in $0.70: the refused clip of s1 (400: no job
    # was made) costs nothing, so the clip of s2 still fits, and s3 does not
    fake.faults.append(Fault("video", status=400, match="shot 1"))
    result = generate(vertex, "yes=1", "budget=0.70", "workers=1")
    assert result.returncode == 1
    assert "scene s1: clip" in result.stdout and "Google refused the request (400" in result.stdout
    assert "scene s3: clip would cost about $0.48" in result.stdout
    project = only_project(projects)
    assert project.clip_file("s2").exists()
    assert [scene_of(call) for call in fake.jobs()] == ["s2"]


def test_a_failed_storyboard_step_says_one_line(projects, fake, vertex):
    fake.faults.append(Fault("storyboard", status=403, message="Permission denied"))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and "storyboard FAILED: Google refused the credentials" in failed[0]
    assert result.stderr == ""  # no traceback, no word of a missing storyboard.json


def test_a_resume_with_nothing_to_do_does_not_import_the_sdk(projects, fake, vertex):
    assert generate(vertex, "yes=1").returncode == 0
    project = only_project(projects)
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "doit", "resume", f"id={project.id}"],
        cwd=REPO,
        env=doit_env(**vertex),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "up to date" in result.stdout, result.stdout
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert "vidpipe.providers.google_env" in imported  # the provider was asked
    assert not [name for name in imported if name.startswith("google.genai")]


def test_a_refused_poll_keeps_the_clip_counted_as_paid(projects, fake, vertex):
    # the job is made (and paid for); the check on it is refused: the budget keeps it
    fake.faults.append(Fault("poll", status=403, message="Permission denied", times=None))
    result = generate(vertex, "yes=1", "budget=1.20", "workers=1")  # room for 2 clips
    assert result.returncode == 1
    assert "Google refused the credentials (403" in result.stdout
    assert "over budget=$1.20" in result.stdout  # s1 and s2 are paid: s3 does not fit
    assert [scene_of(call) for call in fake.jobs()] == ["s1", "s2"]
    project = only_project(projects)
    status = json.loads(run_doit("status", f"id={project.id}", "format=json", **vertex).stdout)
    storyboard = text_priced(fake.of_kind("storyboard")[0])
    assert status["cost_spent_usd"] == pytest.approx(storyboard + 3 * 0.067 + 2 * 0.48, abs=1e-4)
