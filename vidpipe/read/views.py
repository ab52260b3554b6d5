"""Text views of projects for the terminal: the status of one, the listing of all."""

from __future__ import annotations

import time
from typing import Any

from vidpipe.project.stages import step_of

COLOURS = {
    "complete": "32",  # green
    "failed": "31",  # red
    "interrupted": "33",  # yellow
    "stopped": "35",  # magenta: waits for review (until=)
    "pending": "2",  # dim
}
ACTIVE_COLOUR = "36"  # cyan: a build is running


def one_line(text: str) -> str:
    """Text for one line of a terminal: newlines and tabs as spaces, other control characters
    (refused in what users give, but a file may be edited by hand) left out."""
    return "".join(" " if c in "\n\t\r" else c for c in text if c.isprintable() or c in "\n\t\r")


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else "-"


def _paint(text: str, state: str, colour: bool) -> str:
    if not colour:
        return text
    return f"\033[{COLOURS.get(state, ACTIVE_COLOUR)}m{text}\033[0m"


def _artifact(state: dict[str, Any]) -> str:
    said = state.get("reason") or state.get("note")
    return f"{state['state']} ({said})" if said else state["state"]


def stage_times(run: dict[str, Any]) -> str:
    """Seconds spent per stage in one run: `keyframes 0.4s, video_gen 1.0s`."""
    totals: dict[str, float] = {}
    for step in run.get("steps", []):
        stage = step_of(step["task"])[0]
        totals[stage] = totals.get(stage, 0.0) + step.get("seconds", 0.0)
    return ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in totals.items()) or "-"


def status_text(record: dict[str, Any], colour: bool = False) -> str:
    s = record["settings"]
    providers = "/".join(s["providers"].values())
    lines = [
        f"project {record['id']}: {_paint(record['state'], record['state'], colour)}",
        f"  title:     {one_line(record['title'])}",
        f"  prompt:    {one_line(record['prompt'])}",
        f"  settings:  {s['aspect_ratio']} {s['resolution']}, {s['scenes']} scenes x "
        f"{s['clip_duration']:g}s, crossfade {s['crossfade']:g}s, style {s['style']!r}, "
        f"providers {providers}",
    ]
    if record["state"] == "failed" or record.get("error"):
        lines.append(f"  failed at: {record.get('step') or '-'}: {record.get('error')}")
    elif record.get("step") and record["state"] not in ("complete", "pending"):
        lines.append(f"  step:      {record['step']}")
    lines.append(f"  video:     {record['final'] or 'not made yet'}")
    lines.append(f"  scenes:    {record['scenes_done']}/{record['scenes_total']} done")
    for scene in record["scenes"]:
        lines.append(
            f"    {scene['id']:<8} {one_line(scene['title'])[:28]:<28} {scene['duration']:>5g}s  "
            f"keyframe {_artifact(scene['keyframe'])}, clip {_artifact(scene['clip'])}"
        )
    if record["runs"]:
        lines.append("  runs:")
    for run in record["runs"]:
        lines.append(
            f"    {_when(run['started'])}  {run['outcome']:<11} {run['seconds']:7.1f}s  "
            f"ran {run['ran']}, up to date {run['up_to_date']}  ({stage_times(run)})"
        )
    estimated = record.get("cost_estimated_usd")
    lines.append(
        f"  cost:      ${record['cost_spent_usd']:.2f} spent"
        + (f", ${estimated:.2f} estimated for the last run" if estimated is not None else "")
    )
    return "\n".join(lines)


def listing_text(records: list[dict[str, Any]], colour: bool = False) -> str:
    if not records:
        return "no projects"
    header = f"{'id':<44} {'status':<12} {'scenes':>7}  {'created':<16}  {'updated':<16}  title"
    lines = [header]
    for record in records:
        state = record["state"]
        lines.append(
            f"{record['id']:<44} {_paint(f'{state:<12}', state, colour)} "
            f"{record['scenes_done']:>3}/{record['scenes_total']:<3}  "
            f"{_when(record['created'])}  {_when(record['updated'])}  "
            f"{one_line(record['title'])[:40]}"
        )
    return "\n".join(lines)
