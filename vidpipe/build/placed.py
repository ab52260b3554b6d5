"""Clips placed by hand (clips/<scene>.mp4 that no clip step made): checked and brought to the
project's format once, like the pipeline's own clips, not again at every stitch.

The converted copy lies in `.vidpipe/conformed/<scene>.mp4`, with a record (`.json`) of the
clip it was made from (clipformat.stamp: size, mtime, spec, encoder): a changed clip, scene
length or encoder makes it again. A clip already in the project's format is used as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vidpipe import fsutil
from vidpipe.media import clipformat
from vidpipe.project.folder import Project
from vidpipe.project.provenance import file_stamp


@dataclass(frozen=True)
class Placed:
    path: Path  # the clip to cut: the user's own, or its converted copy
    note: str | None  # what the cut does to it that the user should know (trimmed)


def conformed(project: Project, clip: Path, spec: clipformat.ClipSpec) -> Placed:
    """The clip placed by hand at `clip`, in the project's format (refused with its name and
    the fix when it cannot be used)."""
    copy = project.state_dir / "conformed" / clip.name
    record_file = copy.with_suffix(".json")
    stamp = clipformat.stamp(clip, spec)
    record = fsutil.read_json_object(record_file) or {}
    if record.get("stamp") == stamp:
        if record.get("canonical"):
            return Placed(clip, record.get("note"))
        if copy.exists() and record.get("copy") == file_stamp(copy):
            return Placed(copy, record.get("note"))
    canonical = clipformat.is_canonical(clip, spec)  # refuses a clip that cannot be used
    clipformat.check_decodes(clip)  # ... and one damaged inside
    note = clipformat.trimmed(clip, spec)
    made = {"stamp": stamp, "canonical": canonical, "note": note}
    if not canonical:
        with fsutil.writing(copy) as partial:
            clipformat.convert(clip, partial, spec)  # a failure names the user's clip
            made["copy"] = file_stamp(partial)  # a rename keeps size and mtime
    fsutil.write_text(record_file, json.dumps(made, indent=2) + "\n")
    return Placed(clip if canonical else copy, note)
