"""No-op resume of a finished 24-scene project against doit's own start-up, in one run.

    python benchmarks/bench_startup.py [--runs 7]

Prints the median wall time of `vidpipe resume id=<project>` on an up-to-date project and of
`python -m doit list` on a trivial dodo file, and their ratio (the target is at most 2x).
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
        times: dict[str, list[float]] = {"resume": [], "doit": []}
        for _ in range(args.runs):  # interleaved, so drift of the machine hits both alike
            times["resume"].append(wall(resume, work, env))
            times["doit"].append(wall(doit, work, env))
    resume_s, doit_s = (statistics.median(times[name]) for name in ("resume", "doit"))
    print(f"no-op resume, 24 scenes: {resume_s:.3f} s (median of {args.runs})")
    print(f"doit start-up, trivial dodo: {doit_s:.3f} s")
    print(f"ratio: {resume_s / doit_s:.2f}x (target: at most 2x)")


if __name__ == "__main__":
    main()
