"""A re-stitch of a project with 4 clips placed by hand, none in the project's format, against
the same re-stitch converting them again (vidpipe before clips placed by hand were cached), in
the same run.

    python benchmarks/bench_placed_clips.py [--repeat 3]

The project: 4 scenes of 8 s at 720p made by the offline provider (`doit generate`), each clip
then replaced by an 8 s 1280x720 clip of another encoder's settings (x264 `medium`, AAC at 44.1
kHz, as another tool writes them). Timed, in process: the stitch step's work
(`steps.stitch_clips`) with 0.5 s crossfades
  (a) before: the clips handed to the stitch as unknown, so it converts a copy of each;
  (b) after, first stitch: each clip converted once into its cache;
  (c) after, re-stitch: the converted copies taken from the cache.
Median of the repeats. Made under benchmarks/out/placed/ (ignored by git).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out" / "placed"
sys.path.insert(0, str(REPO))


def project_with_placed_clips():
    from vidpipe.media import ffmpeg
    from vidpipe.project.folder import all_projects

    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    words = ["prompt=A harbour at dawn", "scenes=4", "clip_duration=8", "resolution=720p"]
    subprocess.run(
        [sys.executable, "-m", "doit", "generate", *words],
        cwd=REPO,
        env={**os.environ, "VIDPIPE_PROJECTS": str(OUT)},
        check=True,
        capture_output=True,
    )
    (project,) = all_projects(OUT)
    for n, clip in enumerate(sorted((project.root / "clips").glob("s*.mp4"))):
        subprocess.run(
            [
                *(ffmpeg.ffmpeg_exe(), "-v", "error", "-y"),
                *("-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=24,hue=h={n * 40}"),
                *("-f", "lavfi", "-i", f"sine=f={300 + 100 * n}:r=44100", "-t", "8"),
                *("-c:v", "libx264", "-preset", "medium", "-pix_fmt", "yuv420p"),
                *("-c:a", "aac", "-ar", "44100", str(clip)),
            ],
            check=True,
        )
    return project


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from vidpipe.build import steps

    project = project_with_placed_clips()
    target = project.root / "bench-final.mp4"
    cache = project.state_dir / "conformed"

    def before() -> None:  # the stitch converts every clip it does not know, every time
        real = steps.placed_by_hand
        steps.placed_by_hand = lambda project, path: False  # type: ignore[assignment]
        try:
            steps.stitch_clips(project, target, "bench")
        finally:
            steps.placed_by_hand = real

    def first() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        steps.stitch_clips(project, target, "bench")

    def again() -> None:
        steps.stitch_clips(project, target, "bench")

    results = {}
    for name, action in [("before", before), ("first", first), ("after", again)]:
        results[name] = statistics.median(timed(action) for _ in range(args.repeat))
    print("re-stitch of 4 scenes of 8 s at 720p, 4 clips placed by hand in another format")
    print(f"  (a) before: converted at every stitch     {results['before']:6.2f} s")
    print(f"  (b) after, the first stitch (converts)    {results['first']:6.2f} s")
    print(f"  (c) after, a re-stitch (cached)           {results['after']:6.2f} s")
    print(f"  ratio re-stitch before/after: {results['before'] / results['after']:.2f}x faster")


if __name__ == "__main__":
    main()
