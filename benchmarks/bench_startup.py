"""No-op resume of a finished 24-scene project against doit's own start-up, in one run.

    python benchmarks/bench_startup.py [--runs 7]

Prints the median wall time of `vidpipe resume id=<project>` on an up-to-date project and of
`python -m doit list` on a trivial dodo file, and their ratio (the target is at most 2x). The
resume is timed twice: answered from the answer kept by the last full check (file times
alone: vidpipe.read.snapshot), and with that answer removed before each run (the full check
from the project's provenance and fingerprints).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vidpipe.read import snapshot  # noqa: E402


def wall(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = {**os.environ, "VIDPIPE_PROJECTS": str(work / "projects")}
        vidpipe = [sys.executable, "-m", "vidpipe"]
        words = ["prompt=A busy harbour", "scenes=24", "clip_duration=1", "resolution=360p"]
        made = subprocess.run([*vidpipe, "generate", *words], cwd=work, env=env, check=True,
                              capture_output=True, text=True)  # fmt: skip
        project_id = made.stdout.split()[1].rstrip(":")  # "project <id>: <folder>"
        (work / "dodo.py").write_text('def task_x():\n    return {"actions": None}\n')
        resume = [*vidpipe, "resume", f"id={project_id}"]
        doit = [sys.executable, "-m", "doit", "-f", str(work / "dodo.py"), "list"]
        kept = work / "projects" / snapshot.FOLDER / f"{project_id}.json"
        time.sleep(snapshot.RACY_NS / 1e9 + 0.1)  # the build's files old enough to keep an answer
        times: dict[str, list[float]] = {"kept": [], "full": [], "doit": []}
        for _ in range(args.runs):  # interleaved, so drift of the machine hits all alike
            kept.unlink(missing_ok=True)
            times["full"].append(wall(resume, work, env))  # and keeps its answer
            times["kept"].append(wall(resume, work, env))
            times["doit"].append(wall(doit, work, env))
        if not kept.exists():
            raise SystemExit("the full check kept no answer")
    kept_s, full_s, doit_s = (statistics.median(times[name]) for name in ("kept", "full", "doit"))
    print(f"doit start-up, trivial dodo: {doit_s:.3f} s (medians of {args.runs})")
    print(f"no-op resume, 24 scenes, kept answer: {kept_s:.3f} s: {kept_s / doit_s:.2f}x"
          " (target: at most 2x)")  # fmt: skip
    print(f"no-op resume, 24 scenes, full check: {full_s:.3f} s: {full_s / doit_s:.2f}x")


if __name__ == "__main__":
    main()
