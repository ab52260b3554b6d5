"""What a final cut of a project needs: a crossfade that fits every scene, and every clip."""

from __future__ import annotations

from vidpipe.errors import BadInput, NotReady
from vidpipe.project.folder import Project
from vidpipe.project.storyboard import load_storyboard


def check_crossfade(crossfade: float, durations: dict[str, float]) -> None:
    """A crossfade may take at most half of any scene (`durations`: name -> seconds)."""
    for name, seconds in durations.items():
        if crossfade * 2 > seconds:
            raise BadInput(
                f"crossfade={crossfade:g} is too long for {name} ({seconds:g}s): "
                f"a crossfade may take at most half of a scene; use crossfade={seconds / 2:g} "
                "or less"
            )


def check_stitchable(project: Project, crossfade: float) -> None:
    """Every scene has a clip, and `crossfade` fits every scene."""
    storyboard = load_storyboard(project.storyboard_file)
    check_crossfade(crossfade, {f"scene {s.id}": s.duration for s in storyboard.scenes})
    missing = [scene.id for scene in storyboard.scenes if not project.clip_file(scene.id).exists()]
    if missing:
        raise NotReady(
            f"scene {missing[0]} has no clip yet, so there is nothing to stitch; "
            f"build it first: vidpipe resume id={project.id}"
        )
