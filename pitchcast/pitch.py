"""The pitch: an action's geometry, made safe, and what it says (depth, pass kind).

Pure and total: any action the schema accepts (NaN or infinite coordinates) gives a
result. Coordinates follow the K League convention: metres on 105 x 68, the acting team
attacks towards x = 105, and y = 0 is the acting team's right touchline.

Below the density decision and the story: both read an action's place, and the story
counts shown actions by :func:`rotation_key` (the template's line kind where one
(type, result) splits by geometry), so the template's rotation and the count agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from pitchcast.schemas.records import Action, kind_key

__all__ = [
    "PITCH_X",
    "PITCH_Y",
    "Geometry",
    "carry_kind",
    "depth",
    "finite",
    "geometry",
    "pass_kind",
    "rotation_key",
]

PITCH_X: Final = 105.0
PITCH_Y: Final = 68.0


def finite(value: object, default: float) -> float:
    """``value`` as a float when it is a finite number, else ``default``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return default


def depth(x: float, y: float) -> str:
    """Where on the length of the pitch, for the acting team (attacking towards x = 105)."""
    in_box_width = 13.84 <= y <= 54.16
    if x >= 99.5 and 24.84 <= y <= 43.16:
        return "six"
    if x >= 88.5 and in_box_width:
        return "box"
    if x >= 70.0:
        return "final_third"
    if x >= 52.5:
        return "opp_half"
    if x <= 16.5 and in_box_width:
        return "own_box"
    if x < 35.0:
        return "own_third"
    return "own_half"


@dataclass(frozen=True, slots=True)
class Geometry:
    """The geometry of an action, made safe: finite numbers on the pitch."""

    x: float
    y: float
    end_x: float
    end_y: float
    dx: float
    dy: float
    distance: float


def geometry(action: Action) -> Geometry:
    """Start, end and movement of ``action``, clamped to the pitch (NaN reads as centre)."""
    x = min(max(finite(action.start_x, 52.5), 0.0), PITCH_X)
    y = min(max(finite(action.start_y, 34.0), 0.0), PITCH_Y)
    end_x = min(max(finite(action.end_x, x), 0.0), PITCH_X)
    end_y = min(max(finite(action.end_y, y), 0.0), PITCH_Y)
    dx, dy = end_x - x, end_y - y
    return Geometry(x, y, end_x, end_y, dx, dy, math.hypot(dx, dy))


def pass_kind(shape: Geometry) -> str:
    """The line kind of a pass that is not a failed one, from where it went."""
    ends_in_box = depth(shape.end_x, shape.end_y) in ("box", "six")
    if ends_in_box and depth(shape.x, shape.y) not in ("box", "six"):
        return "pass_box"
    if shape.distance >= 30.0:
        if abs(shape.dy) >= 20.0 and abs(shape.dy) >= abs(shape.dx):
            return "pass_switch"
        return "pass_long" if shape.dx >= 0 else "pass_back"
    if shape.dx <= -3.0 and abs(shape.dx) >= abs(shape.dy):
        return "pass_back"
    if shape.distance >= 3.0 and abs(shape.dy) > abs(shape.dx):
        return "pass_side"
    return "pass_forward"


def carry_kind(shape: Geometry) -> str:
    """The line kind of a carry: forward when it gains 8 m or more."""
    return "carry_forward" if shape.dx >= 8.0 else "carry"


def rotation_key(action: Action) -> str:
    """What the template's phrasing rotation counts an action under: its (type, result)
    (``kind_key``), with the line kind added where the geometry splits it (a completed
    pass: forward, side, back...; a carry), so each bank turns on its own actions."""
    key = kind_key(action)
    if action.type_name == "Pass" and action.result_name != "Unsuccessful":
        return f"{key}|{pass_kind(geometry(action))}"
    if action.type_name == "Carry":
        return f"{key}|{carry_kind(geometry(action))}"
    return key
