"""Stitch speed and memory, and the offline pipeline end to end, each against its baselines
measured in the same run.

    python benchmarks/bench_stitch.py [--counts 2 8 32] [--repeat 3] [--skip-pipeline]
                                      [--workers 1 2 3]

Stitching 8 s 720p clips with audio (a tone over soft noise, different in each clip), 0.5 s
crossfades:
  (a) stream copy: ffmpeg's concat demuxer, `-c copy` (hard cuts, audio drifting: the floor);
  (b) full re-encode: one xfade/acrossfade chain over all clips (`stitch.reencode_crossfade`);
  (c) vidpipe's crossfade (`stitch.stitch`), and vidpipe's hard cuts for reference, of these
      clips (whose audio is all copied: each starts on the AAC frame grid) and of 7.5 s clips
      (whose audio after the first clip is re-encoded).
Each measurement runs in a fresh child process; wall time is the stitch call alone (the
interpreter's start excluded); peak memory is the largest resident size summed over
the ffmpeg processes it runs (and, in another column, with the Python process too), polled every
5 ms. The median of the repeats is shown.

Then the offline pipeline: `doit generate` of a 6-scene, 8 s, 16:9 720p project and its no-op
`doit resume`, and the no-op resume of a finished 24-scene project (720p, 8 s scenes), from the
repository root, process start included.

Before each measurement the script waits (up to 2 minutes) for the CPU to be at least 90%
idle, and names the measurements that had to be taken while other work ran. Clips and projects
are made under benchmarks/out/ (kept between runs, ignored by git).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out"
sys.path.insert(0, str(REPO))

from vidpipe.media import clipformat, ffmpeg, kenburns, stitch  # noqa: E402

SIZE, FPS, SECONDS, CROSSFADE = (1280, 720), 24, 8.0, 0.5
# 8 s at 48 kHz is a whole number of AAC frames (384000 samples = 375 x 1024), so with hard
# cuts every clip starts on the AAC frame grid and its audio is copied; clips of this length
# do not, and their audio after the first clip is re-encoded
OFF_GRID_SECONDS = 7.5
DISTINCT = 8  # distinct clips; longer lists repeat them
METHODS = {
    "copy": "(a) stream copy, concat -c copy",
    "full": "(b) full re-encode, xfade chain",
    "vidpipe": "(c) vidpipe crossfade",
    "vidpipe-cuts": "    vidpipe hard cuts",
    "vidpipe-cuts-off-grid": f"    vidpipe hard cuts, {OFF_GRID_SECONDS:g} s clips",
}


# --- the clips ------------------------------------------------------------------------------


def make_clips(seconds: float = SECONDS) -> list[Path]:
    """DISTINCT canonical 720p clips: Ken Burns moves over painted stills, with audio."""
    from vidpipe.providers.local_paint import paint_keyframe

    folder = OUT / f"clips-720p-{seconds:g}s"
    folder.mkdir(parents=True, exist_ok=True)
    frames = round(seconds * FPS)
    spec = clipformat.ClipSpec(*SIZE, FPS, frames)
    paths = []
    for index in range(DISTINCT):
        path = folder / f"clip{index}.mp4"
        if not (path.exists() and clipformat.is_canonical(path, spec)):
            still, silent = folder / f"still{index}.png", folder / f"silent{index}.mp4"
            paint_keyframe(
                still,
                SIZE,
                image_prompt=f"a lighthouse on a cliff at dusk, scene {index}",
                context="a keeper finds a message in a bottle",
                style="cinematic",
            )
            move = kenburns.CameraMove(zoom=(1.0, 1.2), x=(0.3 + index * 0.05, 0.6))
            kenburns.ken_burns(still, silent, SIZE, FPS, frames, move)
            add_audio(silent, path, index, spec.samples)
            assert clipformat.is_canonical(path, spec), path
        paths.append(path)
    return paths


def add_audio(silent: Path, out: Path, index: int, samples: int) -> None:
    tone = f"sine=f={220 + 55 * index}:r={ffmpeg.AUDIO_RATE}"
    noise = f"anoisesrc=c=pink:a=0.05:seed={index}:r={ffmpeg.AUDIO_RATE}"
    ffmpeg.run_ffmpeg(
        [
            *("-i", str(silent), "-f", "lavfi", "-i", tone, "-f", "lavfi", "-i", noise),
            "-filter_complex",
            f"[1:a][2:a]amix=normalize=0,aformat=channel_layouts=stereo,"
            f"atrim=end_sample={samples}[a]",
            *("-map", "0:v", "-c:v", "copy", "-map", "[a]", *ffmpeg.AUDIO_CODEC_ARGS),
            *("-movflags", "+faststart", "-f", "mp4", str(out)),
        ],
        doing="adding audio to a benchmark clip",
    )


# --- one measurement, in a child process ------------------------------------------------------


def run_method(method: str, count: int, out: Path) -> float:
    """Stitch `count` clips with `method` into `out`; returns the wall time in seconds."""
    seconds = OFF_GRID_SECONDS if method.endswith("off-grid") else SECONDS
    paths = make_clips(seconds)
    # checked by make_clips, as a project's clip step checks its clips (vidpipe.build.steps)
    frames = round(seconds * FPS)
    clips = [stitch.ClipRef(paths[i % DISTINCT], frames, canonical=True) for i in range(count)]
    started = time.perf_counter()
    if method == "copy":
        listing = out.with_suffix(".txt")
        listing.write_text("".join(f"file '{clip.path}'\n" for clip in clips))
        ffmpeg.run_ffmpeg(
            ["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(out)],
            doing="copying",
        )
    elif method == "full":
        stitch.reencode_crossfade(clips, out, FPS, CROSSFADE)
    else:
        crossfade = CROSSFADE if method == "vidpipe" else 0
        stitch.stitch(clips, out, SIZE, FPS, crossfade)
    return time.perf_counter() - started


def tree_rss(root: int) -> tuple[int, int]:
    """Resident bytes of `root`'s descendants (the ffmpeg processes), and of them with `root`."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    descendants, todo = 0, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        descendants += rss.get(pid, 0)
        todo += children.get(pid, [])
    return descendants, descendants + rss.get(root, 0)


def cpu_idle(seconds: float = 0.5) -> float:
    """The share of the machine's CPU time that was idle over the next `seconds`."""

    def sample() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        return fields[3] + fields[4], sum(fields)  # idle + iowait, all

    idle, total = sample()
    time.sleep(seconds)
    idle2, total2 = sample()
    return (idle2 - idle) / max(total2 - total, 1)


def wait_quiet(limit: float = 120) -> bool:
    """Wait (up to `limit` s) until other work leaves the CPU at least 90% idle: timings taken
    while something else runs are not this code's. Returns whether it became quiet."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cpu_idle() >= 0.9:
            return True
    return False


NOISY: list[str] = []  # measurements taken while the machine was busy


def measure(method: str, count: int) -> tuple[float, int, int]:
    """(wall seconds, peak bytes of its ffmpeg processes, peak bytes of them with the Python
    process) of one stitch in a fresh child process."""
    out = OUT / f"stitched-{method}-{count}.mp4"
    if not wait_quiet():
        NOISY.append(f"{method} x{count}")
    child = subprocess.Popen(
        [sys.executable, __file__, "--one", method, str(count), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    peaks = [0, 0]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peaks[:] = [max(pair) for pair in zip(peaks, tree_rss(child.pid), strict=True)]
            time.sleep(0.005)

    poller = threading.Thread(target=poll)
    poller.start()
    output, _ = child.communicate()
    stop.set()
    poller.join()
    if child.returncode != 0:
        raise SystemExit(f"{method} {count} failed")
    return json.loads(output)["seconds"], peaks[0], peaks[1]


def check(method: str, count: int) -> str:
    """What the output is: frames, seconds, audio seconds (every frame decoded)."""
    import av

    path = OUT / f"stitched-{method}-{count}.mp4"
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(audio=0))
        audio_seconds = samples / audio.rate
    return f"{frames} frames = {frames / FPS:.3f} s, audio {audio_seconds:.3f} s"


# --- the pipeline ---------------------------------------------------------------------------


def doit(projects: Path, *words: str) -> float:
    env = {**os.environ, "VIDPIPE_PROJECTS": str(projects)}
    wait_quiet()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "doit", *words], cwd=REPO, env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"doit {' '.join(words)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def fresh_project(name: str, *words: str) -> tuple[Path, str, float]:
    projects = OUT / name
    subprocess.run(["rm", "-rf", str(projects)], check=True)
    seconds = doit(projects, "generate", "prompt=A lighthouse keeper finds a message", *words)
    (project,) = [path.name for path in projects.iterdir() if (path / "project.yaml").exists()]
    return projects, project, seconds


def noop_resume(projects: Path, project: str, repeat: int = 5) -> float:
    return statistics.median(doit(projects, "resume", f"id={project}") for _ in range(repeat))


# --- the report -----------------------------------------------------------------------------


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text().splitlines()
    names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    cpu = names[0] if names else platform.processor()
    version = subprocess.run(
        [ffmpeg.ffmpeg_exe(), "-version"], capture_output=True, text=True
    ).stdout.split()[2]
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, ffmpeg {version}"


def stitch_table(counts: list[int], repeat: int) -> None:
    print(f"stitch: {SECONDS:g} s {SIZE[1]}p clips with audio, {CROSSFADE:g} s crossfades")
    print(
        f"{'clips':>5}  {'method':34} {'wall s':>7} {'ffmpeg MB':>9} {'all MB':>7}  "
        f"{'vs (b)':>7}  {'vs (a)':>7}"
    )
    for count in counts:
        results = {}
        for method in METHODS:
            runs = 1 if method == "full" and count > 8 else repeat  # the full chain at 32: 45 s+
            samples = [measure(method, count) for _ in range(runs)]
            results[method] = [statistics.median(column) for column in zip(*samples, strict=True)]
        full, copy = results["full"][0], results["copy"][0]
        for method, (seconds, encoder, everything) in results.items():
            faster = f"{full / seconds:6.1f}x" if method.startswith("vidpipe") else ""
            slower = f"{seconds / copy:6.1f}x" if method != "copy" else ""
            print(
                f"{count:>5}  {METHODS[method]:34} {seconds:7.2f} {encoder / 2**20:9.0f} "
                f"{everything / 2**20:7.0f}  {faster:>7}  {slower:>7}"
            )
        for method in ("copy", "full", "vidpipe"):
            print(f"{'':>7}{method}: {check(method, count)}")
    print("(ffmpeg MB: peak of the ffmpeg processes together; all MB: with the Python process that")
    print(" runs the stitch. vs (b): how many times faster than the full re-encode; vs (a): how")
    print(" many times the stream-copy time. Stream copy keeps each clip's AAC priming: its audio")
    print(" drifts.)")
    if NOISY:
        print(f"taken while the machine was busy with other work: {', '.join(NOISY)}")


def pipeline_table(workers: list[int]) -> None:
    print()
    print("offline pipeline (doit from the repository root, process start included)")
    for count in workers:
        _, _, seconds = fresh_project("bench-6", f"workers={count}")
        print(f"  generate, 6 scenes x 8 s, 720p, workers={count}: {seconds:6.2f} s")
    projects, project, seconds = fresh_project("bench-6")
    print(f"  generate, 6 scenes x 8 s, 16:9 720p:   {seconds:6.2f} s")
    print(f"  no-op resume of it (median of 5):       {noop_resume(projects, project):6.3f} s")
    projects, project, seconds = fresh_project("bench-24", "scenes=24")
    print(f"  generate, 24 scenes x 8 s, 720p:        {seconds:6.2f} s")
    print(f"  no-op resume of it (median of 5):       {noop_resume(projects, project):6.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[2, 8, 32])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--workers", type=int, nargs="*", default=[], help="also time these")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        method, count, out = args.one
        print(json.dumps({"seconds": run_method(method, int(count), Path(out))}))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    make_clips()
    make_clips(OFF_GRID_SECONDS)
    print(machine())
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    stitch_table(args.counts, args.repeat)
    if not args.skip_pipeline:
        pipeline_table(args.workers)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
