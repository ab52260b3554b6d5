"""A camera move over a still: what part of it is seen at each moment of a clip (the Ken Burns
renderer, vidpipe.media.kenburns, draws it; kept apart so choosing a move loads no imaging)."""

from __future__ import annotations

from dataclasses import dataclass

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class CameraMove:
    """A Ken Burns move: zoom factor and crop centre (0..1 of the frame) at start and end."""

    zoom: tuple[float, float] = (1.0, 1.06)
    x: tuple[float, float] = (0.5, 0.5)
    y: tuple[float, float] = (0.5, 0.5)

    def box(self, t: float, width: int, height: int) -> Box:
        """The part of a `width` x `height` still seen at time `t` (0..1), in pixels. The zoom
        changes by the same factor every frame and the centre by the same distance: a steady
        move (no easing: a crossfade hides the start and end)."""
        start, end = self.zoom
        zoom = start * (end / start) ** t
        w, h = width / zoom, height / zoom
        x = (width - w) * (self.x[0] + (self.x[1] - self.x[0]) * t)
        y = (height - h) * (self.y[0] + (self.y[1] - self.y[0]) * t)
        return (x, y, x + w, y + h)
