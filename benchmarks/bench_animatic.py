"""The offline generate against ffmpeg's encode of the same frames alone, in one run.

    python benchmarks/bench_animatic.py [--runs 3] [--prompt "..."] [--silent]

Times `doit generate` of a 6-scene, 8 s, 16:9 720p project from the repository root (process
start, storyboard, painting, rendering, encoding and the final cut all included). The baseline
is ffmpeg alone encoding the same frames at the same settings: each clip of that project is
decoded to raw frames beforehand (not timed) and ffmpeg encodes them, one clip after another,
with the canonical video and audio settings of a clip. Prints the medians and their ratio (the
target is at most 1.3x). Projects are made under benchmarks/out/ (ignored by git).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "benchmarks" / "out" / "animatic"
sys.path.insert(0, str(REPO))

from vidpipe.media import ffmpeg  # noqa: E402

SIZE, FPS, SCENES, SECONDS = (1280, 720), 24, 6, 8
PROMPT = "A lighthouse keeper finds a message in a bottle"
SILENT = ["narration=0", "music=0", "subtitles=0"]


def child_cpu() -> float:
    """CPU seconds of this process's finished children (and theirs, waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def generate(prompt: str, extra: list[str]) -> tuple[float, float, Path]:
    """Wall and CPU seconds of a fresh `doit generate` (with the words `extra`), and the
    project's folder."""
    projects = OUT / "projects"
    subprocess.run(["rm", "-rf", str(projects)], check=True)
    env = {**os.environ, "VIDPIPE_PROJECTS": str(projects)}
    words = [f"prompt={prompt}", f"scenes={SCENES}", f"clip_duration={SECONDS}", *extra]
    started, cpu = time.perf_counter(), child_cpu()
    done = subprocess.run(
        [sys.executable, "-m", "doit", "generate", *words, "resolution=720p"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds, cpu = time.perf_counter() - started, child_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"generate failed:\n{done.stdout}\n{done.stderr}")
    (project,) = [path for path in projects.iterdir() if (path / "project.yaml").exists()]
    return seconds, cpu, project


def decode_raw(clip: Path, raw: Path) -> int:
    """The clip's frames as raw yuv420p; returns their number."""
    ffmpeg.run_ffmpeg(
        ["-i", str(clip), "-map", "0:v", "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)],
        doing="decoding a clip",
    )
    return raw.stat().st_size // (SIZE[0] * SIZE[1] * 3 // 2)


def encode_alone(raw: Path, frames: int, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds ffmpeg takes to encode `frames` raw frames as a canonical clip."""
    seconds = frames / FPS
    args = [
        *("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{SIZE[0]}x{SIZE[1]}", "-r", str(FPS)),
        # as they are: BT.709, TV range (untagged, ffmpeg takes them for BT.601 and converts them)
        *("-colorspace", "bt709", "-color_range", "tv", "-i", str(raw)),
        *("-f", "lavfi", "-t", f"{seconds:.6f}"),
        *("-i", f"anullsrc=channel_layout=stereo:sample_rate={ffmpeg.AUDIO_RATE}"),
        *("-map", "0:v", "-map", "1:a", "-frames:v", str(frames), "-t", f"{seconds:.6f}"),
        *ffmpeg.video_codec_args(FPS),
        *ffmpeg.AUDIO_CODEC_ARGS,
        *("-movflags", "+faststart", "-f", "mp4", str(out)),
    ]
    started, cpu = time.perf_counter(), child_cpu()
    ffmpeg.run_ffmpeg(args, doing="encoding raw frames")
    return time.perf_counter() - started, child_cpu() - cpu


def baseline(project: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds ffmpeg alone takes to encode the project's clips' frames, and
    their number."""
    wall, cpu, frames = 0.0, 0.0, 0
    for clip in sorted((project / "clips").glob("*.mp4")):
        raw = OUT / "frames.yuv"
        count = decode_raw(clip, raw)
        seconds, used = encode_alone(raw, count, OUT / "encoded.mp4")
        wall, cpu, frames = wall + seconds, cpu + used, frames + count
        raw.unlink()
    return wall, cpu, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prompt", default=PROMPT)
    parser.add_argument("--silent", action="store_true", help="without narration, music and "
                        "subtitles: the picture pipeline alone")  # fmt: skip
    args = parser.parse_args()
    extra = SILENT if args.silent else []
    OUT.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[float]] = {name: [] for name in ("generate", "encode", "gcpu", "ecpu")}
    frames = 0
    load = os.getloadavg()[0]
    for _ in range(args.runs):  # interleaved, so drift of the machine hits both alike
        seconds, cpu, project = generate(args.prompt, extra)
        runs["generate"].append(seconds)
        runs["gcpu"].append(cpu)
        seconds, cpu, frames = baseline(project)
        runs["encode"].append(seconds)
        runs["ecpu"].append(cpu)
    median = {name: statistics.median(values) for name, values in runs.items()}
    print(
        f"machine: {os.cpu_count()} cores; load average {load:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after (other work on the machine inflates wall times)"
    )
    print(f"prompt: {args.prompt!r}; {SCENES} scenes x {SECONDS} s, 16:9 720p, {frames} frames"
          + (", silent" if args.silent else ", with sound"))  # fmt: skip
    print(f"{'':46} {'wall s':>7} {'CPU s':>7}")
    print(
        f"{'doit generate (everything, process start too)':46} "
        f"{median['generate']:7.2f} {median['gcpu']:7.2f}"
    )
    print(
        f"{'ffmpeg alone, encoding the same frames':46} "
        f"{median['encode']:7.2f} {median['ecpu']:7.2f}"
    )
    print(
        f"ratio: {median['generate'] / median['encode']:.2f}x wall, "
        f"{median['gcpu'] / median['ecpu']:.2f}x CPU (target: at most 1.3x; median of {args.runs})"
    )


if __name__ == "__main__":
    main()
