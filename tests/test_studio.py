"""The studio, in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright,
over the real server on loopback and real offline builds. Each test asserts on what the page
shows and on the project folder, and fails on any error in the page's console that it did not
expect (a refused request the story makes on purpose is named by its status).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from api_client import Client, running_server
from conftest import REPO, mtimes, probe, wait_until
from PIL import Image

from vidpipe.project.folder import Project

pytestmark = pytest.mark.slow  # a browser, a server and builds

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "no chromium on this machine (apt-get install chromium); .ci/run installs it",
        allow_module_level=True,
    )

# silent: these stories are about the pictures, and what each build made (sound: test_sound)
SILENT = {"narration": False, "music": False, "subtitles": False}
SMALL = {"scenes": 3, "clip_duration": 1, "resolution": "360p", **SILENT}
DOCS = REPO / "docs"
BUILD_TIMEOUT = 120_000  # ms, for a page to show a build's end


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class Studio:
    """A page of the studio and the server behind it; `expected`: the HTTP statuses of
    refused requests the test makes on purpose (the browser logs each as a console error)."""

    page: object
    client: Client
    root: Path
    base: str
    errors: list[str] = field(default_factory=list)
    expected: list[int] = field(default_factory=list)

    def open(self, hash_: str = "#/") -> None:
        """Go to a page of the studio and wait until it has drawn what it knows."""
        self.page.goto(f"{self.base}/{hash_}")
        self.page.locator("main[data-ready='1']").wait_for()

    def unexpected(self) -> list[str]:
        left = list(self.expected)
        out = []
        for error in self.errors:
            status = re.search(r"status of (\d{3})", error)
            if status and int(status.group(1)) in left:
                left.remove(int(status.group(1)))
            else:
                out.append(error)
        return out

    def make(self, prompt: str, **options) -> str:
        """A project made through the API and built to the end (offline)."""
        answer = self.client.post("/api/generate", {"prompt": prompt, **SMALL, **options})
        assert answer.status == 202, answer.body
        project_id = answer.json["id"]
        self.wait_settled(project_id)
        return project_id

    def wait_settled(self, project_id: str) -> dict:
        def settled():
            status = self.client.get(f"/api/projects/{project_id}/status").json
            idle = status["job"] not in ("queued", "running")
            return status if idle and status["state"] != "pending" else None

        return wait_until(settled, 120, what=f"the build of {project_id} to end")


def scene_ids(project: Project) -> list[str]:
    return [scene["id"] for scene in json.loads(project.storyboard_file.read_text())["scenes"]]


def _studio(browser, root: Path, token: str | None = None) -> Iterator[Studio]:
    with running_server(root, token=token) as (client, _jobs):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        studio = Studio(page, client, root, client.base)
        page.on("console", lambda m: m.type == "error" and studio.errors.append(m.text))
        page.on("pageerror", lambda e: studio.errors.append(f"page error: {e}"))
        try:
            yield studio
            assert studio.unexpected() == [], studio.errors
        finally:
            context.close()


@pytest.fixture
def studio(browser, projects) -> Iterator[Studio]:
    projects.mkdir()
    yield from _studio(browser, projects)


def short_and_silent(page, scenes):
    """Fill the new-project form for a quick build: 1 s scenes at 360p, no sound (these
    stories are about the pictures)."""
    page.locator("#f-scenes").fill(str(scenes))
    page.locator("#f-clip_duration").fill("1")
    for sound in ("narration", "music", "subtitles"):
        page.locator(f"#f-{sound}").uncheck()
    page.locator("#f-resolution").select_option("360p")


def edit_scene_2(page, label, value):
    page.locator("article.scene[data-scene=s2] button.edit").click()
    page.locator("form.edit-form[data-scene=s2]").get_by_label(label).fill(value)
    page.get_by_role("button", name="Save and rebuild").click()


def test_make_a_project_offline_watch_it_build_and_play(studio):
    page = studio.page
    studio.open()
    page.get_by_role("link", name="New project").first.click()
    # the form shows every option of generate with the server's defaults
    assert page.locator("#f-style").input_value() == "cinematic"
    assert page.locator("#f-aspect_ratio").input_value() == "16:9"
    assert page.locator("#f-scenes").input_value() == "6"
    assert page.locator("#f-provider-clip").input_value() == "local"
    page.get_by_label("Prompt").fill("A lighthouse keeper finds a message in a bottle")
    short_and_silent(page, scenes=3)
    page.screenshot(path=str(DOCS / "studio-new-project.png"), full_page=True)
    # a value over a limit is refused next to its field, and nothing is made
    page.locator("#f-workers").fill("99")
    studio.expected.append(422)
    page.get_by_role("button", name="Make the video").click()
    page.locator("#f-workers-error").wait_for()
    assert "less than or equal to 16" in page.locator("#f-workers-error").inner_text()
    assert not [path for path in studio.root.iterdir() if path.is_dir()]  # no project
    page.locator("#f-workers").fill("2")
    page.get_by_role("button", name="Make the video").click()

    page.wait_for_url(re.compile(r"#/p/"))
    project_id = page.url.rsplit("/", 1)[1]
    # live progress while it builds, without a reload
    page.locator("#running, #steps").first.wait_for(timeout=BUILD_TIMEOUT)
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    cards = page.locator("article.scene[data-scene]")
    assert cards.count() == 3
    assert page.locator("article.scene[data-clip=done]").count() == 3
    assert page.locator("#last-build").inner_text().endswith("final cut")
    assert page.locator("#steps").count() == 0  # no longer building

    # hovering a card plays its clip
    page.locator("article.scene[data-scene=s1] .media").hover()
    page.locator("article.scene[data-scene=s1] video.preview").wait_for()
    # the final cut plays in the page's player
    video = page.locator("video.final")
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('video.final').currentTime > 0.2")
    assert page.locator("#download").get_attribute("href").endswith(
        f"/api/projects/{project_id}/download?v=" + page.locator("#download")
        .get_attribute("href").rsplit("=", 1)[1])  # fmt: skip
    page.screenshot(path=str(DOCS / "studio-project.png"), full_page=True)
    project = Project(studio.root / project_id)
    assert probe(project.final_file).frames == 3 * 24

    # the list: the project with its thumbnail, status and scenes done
    page.get_by_role("link", name="Projects").first.click()
    row = page.locator(f"tr[data-id='{project_id}']")
    row.wait_for()
    assert row.locator(".state").inner_text() == "complete"
    assert row.locator(".scenes-done").inner_text() == "3/3"
    page.wait_for_function(
        f"() => document.querySelector(\"tr[data-id='{project_id}'] img.thumb\")?.naturalWidth > 0"
    )
    width = row.locator("img.thumb").evaluate("img => img.naturalWidth")
    assert 0 < width <= 320  # a thumbnail, not the keyframe
    page.select_option("#status-filter", "failed")
    row.wait_for(state="detached")
    page.select_option("#status-filter", "complete")
    row.wait_for()
    page.screenshot(path=str(DOCS / "studio-projects.png"), full_page=True)


def test_edit_one_scene_rebuilds_exactly_that_scene(studio):
    project_id = studio.make("A garden at dawn")
    project = Project(studio.root / project_id)
    before = mtimes(project.root)
    page = studio.page
    studio.open(f"#/p/{project_id}")
    page.locator("article.scene[data-scene=s2] button.edit").click()
    form = page.locator("form.edit-form[data-scene=s2]")
    form.get_by_label("Caption").fill("The first rose opens")
    form.get_by_role("button", name="Save and rebuild").click()
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    made = page.locator("#last-build").inner_text()
    assert made == "Made in this build: scene s2: keyframe, scene s2: clip, final cut"
    assert "The first rose opens" in page.locator("article.scene[data-scene=s2]").inner_text()
    changed = {k for k, v in mtimes(project.root).items() if before.get(k) != v}
    changed = {name for name in changed if not name.startswith(".vidpipe/")}
    assert changed == {"storyboard.json", "keyframes/s2.png", "clips/s2.mp4", "final.mp4"}


def test_an_invalid_edit_shows_its_error_by_the_field_and_changes_nothing(studio):
    project_id = studio.make("A bridge in fog")
    project = Project(studio.root / project_id)
    storyboard = project.storyboard_file.read_bytes()
    before = mtimes(project.root)
    page = studio.page
    studio.open(f"#/p/{project_id}")
    page.locator("article.scene[data-scene=s1] button.edit").click()
    form = page.locator("form.edit-form[data-scene=s1]")
    form.get_by_label("Duration").fill("-2")
    studio.expected.append(422)
    form.get_by_role("button", name="Save and rebuild").click()
    error = page.locator("#edit-s1-duration-error")
    error.wait_for()
    assert "greater than 0" in error.inner_text()
    assert form.is_visible()  # the form stays open with what was typed
    assert project.storyboard_file.read_bytes() == storyboard
    unlocked = {k: v for k, v in mtimes(project.root).items() if k != ".vidpipe/lock"}
    assert unlocked == {k: v for k, v in before.items() if k != ".vidpipe/lock"}
    assert studio.client.get(f"/api/projects/{project_id}/status").json["job"] == "finished"


def test_the_page_asks_for_the_token_once(browser, projects):
    projects.mkdir()
    for studio in _studio(browser, projects, token="s3cret-token"):
        made = Client(studio.base, "s3cret-token").post(
            "/api/generate", {"prompt": "A token kite", **SMALL}
        )
        studio.client = Client(studio.base, "s3cret-token")
        studio.wait_settled(made.json["id"])
        page = studio.page
        studio.expected += [401] * 4  # the first two calls, then again with the wrong token
        page.goto(f"{studio.base}/")  # not ready until it has the token
        dialog = page.locator("#token-dialog")
        dialog.wait_for()
        page.get_by_role("textbox", name="Token").fill("wrong")
        page.get_by_role("button", name="Use this token").click()
        page.locator("#token-error").wait_for()
        page.get_by_role("textbox", name="Token").fill("s3cret-token")
        page.get_by_role("button", name="Use this token").click()
        row = page.locator(f"tr[data-id='{made.json['id']}']")
        row.wait_for()
        # media are fetched with the token too (an <img> cannot send it)
        page.wait_for_function("() => document.querySelector('img.thumb')?.naturalWidth > 0")
        page.reload()  # asked once: the token is kept for the session
        row.wait_for()
        assert not dialog.is_visible()


def test_stop_at_keyframes_then_approve_the_clips(studio):
    page = studio.page
    studio.open("#/new")
    page.get_by_label("Prompt").fill("A paper boat on a river")
    short_and_silent(page, scenes=2)
    page.locator("#f-until").select_option("keyframes")
    page.get_by_role("button", name="Make the video").click()
    page.wait_for_url(re.compile(r"#/p/"))
    project = Project(studio.root / page.url.rsplit("/", 1)[1])
    page.locator("#stopped").wait_for(timeout=BUILD_TIMEOUT)
    assert page.locator("article.scene[data-keyframe=done]").count() == 2
    assert page.locator("article.scene[data-clip=missing]").count() == 2
    assert sorted(p.name for p in project.root.glob("keyframes/*.png")) == ["s1.png", "s2.png"]
    assert not list(project.root.glob("clips/*.mp4")) and not project.final_file.exists()
    page.screenshot(path=str(DOCS / "studio-review.png"), full_page=True)

    # an edit while stopped rebuilds that keyframe and stops again
    page.locator("article.scene[data-scene=s2] button.edit").click()
    page.locator("form.edit-form[data-scene=s2]").get_by_label("Caption").fill("Downstream")
    page.get_by_role("button", name="Save and rebuild").click()
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=stopped][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    assert not list(project.root.glob("clips/*.mp4"))

    page.get_by_role("button", name=re.compile("Approve")).click()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    assert probe(project.final_file).frames == 2 * 24


def test_reorder_upload_and_restitch(studio):
    project_id = studio.make("Three bells")
    project = Project(studio.root / project_id)
    page = studio.page
    studio.open(f"#/p/{project_id}")
    page.locator("main[data-ready='1']").wait_for()

    keyframes = {p.name: p.stat().st_mtime_ns for p in project.root.glob("keyframes/*.png")}
    page.get_by_role("button", name=re.compile("move .* later")).first.click()
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    order = scene_ids(project)
    assert order == ["s2", "s1", "s3"]
    assert (
        page.locator("article.scene[data-scene]").evaluate_all(
            "cards => cards.map(c => c.dataset.scene)"
        )
        == order
    )
    assert page.locator("#last-build").inner_text() == "Made in this build: final cut"
    assert {p.name: p.stat().st_mtime_ns for p in project.root.glob("keyframes/*.png")} == (
        keyframes
    )

    # or drag a card onto another: s3 takes the first place
    page.drag_and_drop("article.scene[data-scene=s3]", "article.scene[data-scene=s2]")
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    assert scene_ids(project) == ["s3", "s2", "s1"]

    # a picture of one's own as the keyframe of s3: its clip and the final cut are rebuilt
    picture = io.BytesIO()
    Image.new("RGB", (640, 360), (200, 30, 30)).save(picture, "JPEG")
    page.set_input_files("#upload-s3", files=[
        {"name": "red.jpg", "mimeType": "image/jpeg", "buffer": picture.getvalue()}])  # fmt: skip
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    assert page.locator("#last-build").inner_text() == (
        "Made in this build: scene s3: clip, final cut"
    )
    with Image.open(project.keyframe_file("s3")) as kept:
        assert kept.format == "PNG" and kept.getpixel((10, 10))[0] > 150

    # a file that is not a picture is refused, next to nothing changed
    studio.expected.append(422)
    page.set_input_files("#upload-s1", files=[
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture"}])  # fmt: skip
    page.locator("#action-error").wait_for()
    assert "not a picture" in page.locator("#action-error").inner_text()

    page.locator("#crossfade").fill("0.5")
    assert page.locator("#crossfade-value").inner_text() == "0.5 s"
    page.get_by_role("button", name=re.compile("Re-stitch")).click()
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    assert page.locator("#last-build").inner_text() == "Made in this build: final cut"
    assert probe(project.final_file).frames == 3 * 24 - 2 * 12


def test_cancel_a_build_and_resume_it(studio):
    # long enough that the list sees it part done (a 360p build of 3 s clips ended first)
    long = {"prompt": "A long film", "scenes": 8, "clip_duration": 6, "resolution": "720p",
            **SILENT}  # fmt: skip
    project_id = studio.client.post("/api/generate", long).json["id"]
    project = Project(studio.root / project_id)
    page = studio.page
    # the list follows the build without a reload: its scenes done count goes up
    studio.open()
    done = page.locator(f"tr[data-id='{project_id}'] .scenes-done")
    done.wait_for()
    page.wait_for_function(
        "id => { const cell = document.querySelector(`tr[data-id='${id}'] .scenes-done`);"
        " return cell && /^[1-7]\\/8$/.test(cell.textContent); }",
        arg=project_id,
        timeout=BUILD_TIMEOUT,
    )
    page.locator(f"tr[data-id='{project_id}'] a").click()
    page.get_by_role("button", name="Cancel the build").click()
    page.locator("main[data-state=interrupted][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    assert not project.final_file.exists()
    page.get_by_role("button", name="Resume the build").click()
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    assert probe(project.final_file).frames == 8 * 6 * 24


GOOGLE_OPTIONS = {"poll_interval": 0.02, "retry_initial_delay": 0.01, "retry_attempts": 3}


def test_a_paid_project_shows_the_estimate_and_spends_nothing_until_approved(
    studio, fake, vertex, monkeypatch
):
    for name, value in vertex.items():  # the builds are child processes of the server
        monkeypatch.setenv(name, value)
    page = studio.page
    studio.open("#/new")
    page.get_by_label("Prompt").fill("A lighthouse keeper")
    for stage in ("storyboard", "keyframe", "clip"):
        page.locator(f"#f-provider-{stage}").select_option("google")
    short_and_silent(page, scenes=2)
    page.locator("#f-provider_options").fill(json.dumps({"google": GOOGLE_OPTIONS}))
    page.get_by_role("button", name="Make the video").click()
    page.wait_for_url(re.compile(r"#/p/"))
    project = Project(studio.root / page.url.rsplit("/", 1)[1])

    estimate = page.locator("#estimate")
    estimate.wait_for(timeout=BUILD_TIMEOUT)
    total = float(re.search(r"\$(\d+\.\d\d)", estimate.locator("h2").inner_text()).group(1))
    assert total > 0 and "veo" in estimate.inner_text().lower()
    portraits = estimate.locator("#portraits-estimate").inner_text()  # the cast is not known yet
    assert re.search(r"And up to \$0\.\d\d for portraits", portraits), portraits
    assert fake.paid() == [] and not project.storyboard_file.exists()  # nothing was spent
    page.screenshot(path=str(DOCS / "studio-estimate.png"), full_page=True)

    page.locator("#budget").fill("50")
    page.get_by_role("button", name="Go ahead and pay").click()
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    paid = len(fake.paid())
    assert paid > 0 and probe(project.final_file).frames == 48

    # a caption is for people: no Google prompt reads it, so its edit rebuilds for free
    edit_scene_2(page, "Caption", "At night")
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    assert estimate.count() == 0 and len(fake.paid()) == paid

    # a paid rebuild of one edited scene is priced first, for that scene alone
    edit_scene_2(page, "Video prompt", "The lamp turns slowly at night")
    estimate.wait_for(timeout=BUILD_TIMEOUT)
    again = float(re.search(r"\$(\d+\.\d\d)", estimate.locator("h2").inner_text()).group(1))
    assert 0 < again < total and len(fake.paid()) == paid


def test_add_a_scene_then_delete_it_with_the_keyboard(studio):
    project_id = studio.make("A harbour at noon")
    project = Project(studio.root / project_id)
    page = studio.page
    studio.open(f"#/p/{project_id}")
    form = page.locator("#insert-scene")
    form.get_by_label("Description").fill("A gull lands on the mast")
    form.get_by_label("Caption").fill("The gull")
    form.get_by_role("button", name="Add the scene").click()
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    made = page.locator("#last-build").inner_text()
    assert made == "Made in this build: scene s4: keyframe, scene s4: clip, final cut"
    assert page.locator("article.scene[data-scene=s4][data-clip=done]").count() == 1
    assert probe(project.final_file).frames == 4 * 24

    # the clip preview and the actions work from the keyboard too
    page.locator("article.scene[data-scene=s4] .media").focus()
    page.locator("article.scene[data-scene=s4] video.preview").wait_for()
    page.locator("article.scene[data-scene=s4] button.delete").focus()
    page.keyboard.press("Enter")
    page.locator("main[data-live='1']").wait_for()
    page.locator("main[data-state=complete][data-live='0']").wait_for(timeout=BUILD_TIMEOUT)
    assert page.locator("#last-build").inner_text() == "Made in this build: final cut"
    assert page.locator("article.scene[data-scene]").count() == 3
    assert probe(project.final_file).frames == 3 * 24
