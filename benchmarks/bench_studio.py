"""How fast the studio becomes usable in a real browser: the projects page with 500 projects
and a project page with 64 scenes, each against a baseline measured in the same run (the same
page with 1 project, and with 1 scene).

    python benchmarks/bench_studio.py [--projects 500] [--scenes 64]

"Usable" is the moment the page has drawn every row or card (the page marks itself
`data-ready`), from the start of the navigation; the figure is the median of 3 warm loads
after a first, cold one. The server is the real app (waitress) on 127.0.0.1 and the browser
is Debian's headless Chromium driven by Playwright.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from api_client import running_server  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from vidpipe.project.folder import Project, create_project  # noqa: E402
from vidpipe.project.settings import ProjectSettings  # noqa: E402
from vidpipe.project.status import write_status  # noqa: E402
from vidpipe.project.storyboard import Scene, Storyboard, storyboard_json  # noqa: E402

LOADS = 3


def keyframe_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1280, 720), (40, 90, 160)).save(out, "PNG")
    return out.getvalue()


def make_project(root: Path, title: str, scenes: int, picture: bytes) -> Project:
    """A project folder as a finished build leaves it, less the videos (not loaded here)."""
    project = create_project(ProjectSettings(prompt=title, scenes=scenes), root)
    board = Storyboard(title=title, scenes=[
        Scene(id=f"s{n}", title=f"Scene {n}", description=f"part {n}", image_prompt=f"image {n}",
              video_prompt=f"video {n}", duration=8.0)
        for n in range(1, scenes + 1)
    ])  # fmt: skip
    project.storyboard_file.write_text(storyboard_json(board))
    (project.root / "keyframes").mkdir()
    for scene in board.scenes:
        project.keyframe_file(scene.id).write_bytes(picture)
    write_status(project, "complete")
    return project


def usable_ms(page, url: str, rows: str, count: int) -> float:
    """Milliseconds from navigation to the page drawing `count` of `rows`, median of warm loads."""
    times = []
    for _ in range(LOADS + 1):
        page.goto("about:blank")
        start = time.perf_counter()
        page.goto(url)
        page.locator("main[data-ready='1']").wait_for(timeout=60_000)
        drawn = page.locator(rows).count()
        times.append((time.perf_counter() - start) * 1000)
        assert drawn == count, (url, drawn, count)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--scenes", type=int, default=64)
    args = parser.parse_args()
    picture = keyframe_bytes()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("no chromium here: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        small_root, big_root = Path(tmp, "small"), Path(tmp, "big")
        small_root.mkdir()
        big_root.mkdir()
        one = make_project(small_root, "One scene", 1, picture)
        many = [make_project(big_root, f"Project {n}", 1, picture) for n in range(args.projects)]
        big = make_project(big_root, "Many scenes", args.scenes, picture)
        del many
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            figures = {}
            for name, root, project, list_count in (
                ("baseline", small_root, one, 1),
                ("big", big_root, big, args.projects + 1),
            ):
                with running_server(root, max_builds=0) as (client, _jobs):
                    figures[name] = (
                        usable_ms(page, f"{client.base}/#/", "tr[data-id]", list_count),
                        usable_ms(page, f"{client.base}/#/p/{project.id}",
                                  "article.scene[data-scene]", 1 if name == "baseline"
                                  else args.scenes),
                    )  # fmt: skip
                    page.goto("about:blank")  # its connections close before the server does
            browser.close()
    (list_base, page_base), (list_big, page_big) = figures["baseline"], figures["big"]
    print(f"projects page, 1 project:      {list_base:7.0f} ms")
    print(f"projects page, {args.projects} projects: {list_big:7.0f} ms "
          f"({list_big / list_base:.1f}x the baseline)")  # fmt: skip
    print(f"project page, 1 scene:         {page_base:7.0f} ms")
    print(f"project page, {args.scenes} scenes:       {page_big:7.0f} ms "
          f"({page_big / page_base:.1f}x the baseline)")  # fmt: skip


if __name__ == "__main__":
    main()
