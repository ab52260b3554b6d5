"""What each Google call says about itself: the project's labels (so a bill can be matched to
projects), its seed (recorded, stable across resumes), and the location it goes to (Gemini image
models are served only on global, Veo in regions); checked on the requests the real google-genai
SDK sends to the loopback fake."""

from __future__ import annotations

import pytest
import yaml
from conftest import only_project
from test_google import generate, resume

from vidpipe.project.folder import Project
from vidpipe.project.provenance import read_provenance
from vidpipe.project.storyboard import load_storyboard
from vidpipe.providers.google_options import GoogleOptions, labels

pytestmark = pytest.mark.slow  # doit builds against the loopback fake

IMAGE, VIDEO = "gemini-3.1-flash-image", "veo-3.1-fast-generate-001"
# two scenes long enough to be narrated, one character: every kind of call vidpipe makes
EVERY_CALL = ["scenes=2", "clip_duration=4", "narration=1", "narration_provider=google"]


def seed_of(project: Project, artifact) -> int | None:
    """The seed the artifact's record says its call asked for."""
    return (read_provenance(project, artifact) or {})["extra"]["seed"]


def set_google(project: Project, **options) -> None:
    """Change the project's Google settings in project.yaml, as a user would."""
    path = project.root / "project.yaml"
    data = yaml.safe_load(path.read_text())
    data["provider_options"]["google"].update(options)
    path.write_text(yaml.safe_dump(data))


def test_every_call_carries_the_projects_labels_and_a_seed_it_records(projects, fake, vertex):
    fake.cast, fake.cast_in = {"Mara": "a keeper in a yellow coat"}, {1: ["Mara"]}
    result = generate(vertex, "yes=1", *EVERY_CALL)
    assert result.returncode == 0, result.stdout + result.stderr
    project = only_project(projects)
    kinds = sorted(call.kind for call in fake.paid())
    assert kinds == ["image"] * 3 + ["speech"] * 2 + ["storyboard"] + ["video"] * 2
    for call in fake.paid():
        assert call.labels == {"app": "vidpipe", "vidpipe_project": project.id}, call.kind

    # the seed: derived from the project's id and the scene's (or the character's)
    seed = GoogleOptions().seed_for
    mara = load_storyboard(project.storyboard_file).characters[0].id
    assert [c.seed for c in fake.of_kind("storyboard")] == [seed(project.id, "storyboard")]
    assert sorted(c.seed for c in fake.of_kind("image")) == sorted(
        [seed(project.id, "s1"), seed(project.id, "s2"), seed(project.id, f"character:{mara}")]
    )
    assert sorted(c.seed for c in fake.of_kind("video")) == sorted(
        [seed(project.id, "s1"), seed(project.id, "s2")]
    )
    assert len({c.seed for c in fake.of_kind("video")}) == 2  # one a scene
    # and each record holds the seed its call asked for
    assert seed_of(project, project.keyframe_file("s2")) == seed(project.id, "s2")
    assert seed_of(project, project.clip_file("s2")) == seed(project.id, "s2")
    assert seed_of(project, project.portrait_file(mara)) == seed(project.id, f"character:{mara}")
    assert seed_of(project, project.storyboard_file) == seed(project.id, "storyboard")

    calls = len(fake.calls)
    result = resume(project, vertex, "yes=1")  # nothing changed: nothing is asked again
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(fake.calls) == calls


def test_a_seed_set_remakes_the_pictures_with_it_and_not_the_storyboard(projects, fake, vertex):
    assert generate(vertex, "yes=1").returncode == 0
    project = only_project(projects)
    made = len(fake.calls)
    set_google(project, seed="none")  # from the derived seed to none: nothing to remake
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(fake.calls) == made

    set_google(project, seed=7)  # a seed of the user's: new pictures and clips
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    remade = [call for call in fake.calls[made:] if call.kind != "poll"]
    assert sorted(call.kind for call in remade) == ["image"] * 3 + ["video"] * 3
    assert {call.seed for call in remade} == {7}
    assert seed_of(project, project.clip_file("s3")) == 7
    made = len(fake.calls)
    assert resume(project, vertex, "yes=1").returncode == 0
    assert len(fake.calls) == made


def test_no_seed_is_sent_with_seed_none(projects, fake, vertex):
    result = generate(vertex, "yes=1", "google.seed=none", "scenes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [call.seed for call in fake.paid()] == [None, None, None]
    project = only_project(projects)
    assert seed_of(project, project.clip_file("s1")) is None


def test_a_label_holds_at_most_63_characters_of_the_id():
    assert labels("a" * 64) == {"app": "vidpipe", "vidpipe_project": "a" * 63}
    assert labels("My Film.2") == {"app": "vidpipe", "vidpipe_project": "my_film_2"}


def test_image_calls_go_to_global_and_veo_to_the_region_by_default(projects, fake, vertex):
    # as Vertex AI serves them: the image model only on global, Veo only in its region
    fake.served = {IMAGE: ["global"], VIDEO: ["us-central1"]}
    result = generate(vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    where = {(call.kind, call.location) for call in fake.calls}
    assert where == {
        ("storyboard", "us-central1"),  # GOOGLE_CLOUD_LOCATION
        ("image", "global"),  # the catalog marks the image model global-only
        ("video", "us-central1"),
        ("poll", "us-central1"),
    }
    assert all(call.status == 200 for call in fake.calls)


def test_a_location_setting_sends_its_stage_there(projects, fake, vertex):
    fake.served = {VIDEO: ["europe-west4"]}
    result = generate(vertex, "yes=1", "google.video_location=europe-west4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert {call.location for call in fake.calls if call.kind in ("video", "poll")} == {
        "europe-west4"
    }


def test_a_model_not_served_in_the_location_names_the_setting(projects, fake, vertex):
    fake.served = {IMAGE: ["global"]}
    result = generate(vertex, "yes=1", "google.image_location=us-central1")
    assert result.returncode == 1
    assert "Google refused the model 'gemini-3.1-flash-image' (404 NOT_FOUND" in result.stdout
    assert "since it may not be served in the location us-central1, set " in result.stdout
    assert "google.image_location to a location that serves it" in result.stdout
    assert not fake.of_kind("image") and not fake.jobs()
