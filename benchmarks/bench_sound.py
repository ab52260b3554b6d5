"""What sound costs, against the stitch without sound, in one run.

    python benchmarks/bench_sound.py [--resolution 720p] [--scenes 6 24]

For an offline project of N scenes of 8 s (narrated by the offline storyboard), times in
process: the stitch of the clips alone (what the final cut cost before sound: the baseline),
and each sound step (every scene's speech one after the other, the music bed, the mix, the
subtitles, the mux). Then, as a user runs it, a one-scene narration edit: the wall time of
`vidpipe resume` against a `vidpipe stitch` that re-cuts the same project. Prints seconds and
ratios to the baseline, and the narrator's real-time factor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vidpipe.build import sound_steps
from vidpipe.inputs import narration_config
from vidpipe.media import sound
from vidpipe.project.folder import all_projects
from vidpipe.project.storyboard import load_storyboard


def timed(action, *args) -> float:
    started = time.perf_counter()
    failed = action(*args)
    if failed is not None:  # a step's TaskFailed
        raise SystemExit(f"{action.__name__}: {failed}")
    return time.perf_counter() - started


def wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def bench(scenes: int, resolution: str, work: Path) -> None:
    env = {**os.environ, "VIDPIPE_PROJECTS": str(work / f"projects{scenes}")}
    vidpipe = [sys.executable, "-m", "vidpipe"]
    words = ["prompt=A lighthouse keeper finds a message in a bottle", f"scenes={scenes}"]
    words += ["clip_duration=8", f"resolution={resolution}"]
    subprocess.run([*vidpipe, "generate", *words], env=env, check=True, capture_output=True)
    project = all_projects(work / f"projects{scenes}")[0]
    root = str(project.root.resolve())
    storyboard = load_storyboard(project.storyboard_file)
    spoken = sound_steps.spoken(project, storyboard)

    # the picture step is the stitch the final cut was before sound (clips and their own sound)
    timed(sound_steps.make_picture, root)  # warms the caches
    baseline = timed(sound_steps.make_picture, root)
    speech = sum(
        timed(sound_steps.make_narration, root, s.id, narration_config(project.settings, s))
        for s in spoken
    )
    said = sum(len(sound.read_wav(project.narration_file(s.id))[0]) / sound.RATE for s in spoken)
    parts = {
        f"speech ({len(spoken)} scenes, one at a time)": speech,
        "music bed": timed(sound_steps.make_music, root, "bench"),
        "mix": timed(sound_steps.make_soundtrack, root),
        "subtitles": timed(sound_steps.make_subtitles, root),
        "mux (picture copied)": timed(sound_steps.make_mux, root),
    }
    total = sum(parts.values())
    print(f"\n{scenes} scenes of 8 s at {resolution} ({storyboard.total_duration():g} s of film)")
    print(f"  stitch without sound (baseline): {baseline:.2f} s")
    for name, seconds in parts.items():
        print(f"  {name:<36} {seconds:6.2f} s  {seconds / baseline:5.2f}x")
    print(f"  adding sound, all told:              {total:6.2f} s  {total / baseline:5.2f}x")
    print(f"  speech steps: {said:.1f} s of speech in {speech:.2f} s (real-time factor "
          f"{speech / said:.3f}, synthesis and conversion to the project's rate)")  # fmt: skip

    # as a user: one scene's narration edited, resumed; against a re-stitch of the same project
    data = json.loads(project.storyboard_file.read_text())
    data["scenes"][1]["narration"] = "The keeper reads the letter twice."
    project.storyboard_file.write_text(json.dumps(data, indent=2))
    edit = wall([*vidpipe, "resume", f"id={project.id}"], env)
    crossfade = project.settings.crossfade
    # a stitch with a new crossfade re-cuts everything: picture, music, mix, subtitles, mux
    restitch = wall([*vidpipe, "stitch", f"id={project.id}", "crossfade=0.5"], env)
    print(f"  one-scene narration edit, vidpipe resume: {edit:.2f} s "
          f"({edit / baseline:.2f}x the stitch without sound)")  # fmt: skip
    print(f"  re-cut with a new crossfade, vidpipe stitch: {restitch:.2f} s "
          f"(edit/stitch {edit / restitch:.2f}x; crossfade was {crossfade:g})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resolution", default="720p")
    parser.add_argument("--scenes", type=int, nargs="+", default=[6, 24])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for scenes in args.scenes:
            bench(scenes, args.resolution, Path(folder))


if __name__ == "__main__":
    main()
