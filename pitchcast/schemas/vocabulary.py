"""The K League event vocabularies (``raw_data.csv``), see data/PROVENANCE.md.

Unknown values are not errors: they pass through to the prompt as text and are counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = [
    "CARD_RESULTS",
    "PITCH_LENGTH_M",
    "PITCH_WIDTH_M",
    "RESULT_NAMES",
    "SHOOT_OUT_PERIOD",
    "SHOT_TYPES",
    "TYPE_NAMES",
    "CardKind",
]

PITCH_LENGTH_M = 105.0
PITCH_WIDTH_M = 68.0

TYPE_NAMES: frozenset[str] = frozenset(
    {
        "Pass", "Pass Received", "Carry", "Recovery", "Interception", "Out", "Duel",
        "Clearance", "Tackle", "Intervention", "Throw-In", "Block", "Cross", "Shot",
        "Pass_Freekick", "Foul", "Goal Kick", "Error", "Ball Received", "Pass_Corner",
        "Take-On", "Catch", "Parry", "Aerial Clearance", "Hit", "Offside", "Goal", "Pause",
        "Defensive Line Support", "Shot_Freekick", "Handball_Foul", "Goal Miss",
        "Goal Post", "Penalty Kick", "Deflection", "Own Goal", "Foul_Throw",
    }
)  # fmt: skip

RESULT_NAMES: frozenset[str] = frozenset(
    {
        "Successful", "Unsuccessful", "Off Target", "On Target", "Blocked", "Yellow_Card",
        "Goal", "Low Quality Shot", "Direct_Red_Card", "Keeper Rush-Out",
        "Second_Yellow_Card",
    }
)  # fmt: skip

# The penalty shoot-out: its kicks decide a tied cup match but are neither goals nor
# shots of the match (the score stays as extra time left it).
SHOOT_OUT_PERIOD = 5

# Actions that count as a shot (a "Goal" row repeats the shot that scored: not counted).
SHOT_TYPES = frozenset({"Shot", "Shot_Freekick", "Penalty Kick"})

CardKind = Literal["yellow", "second_yellow", "red"]
CARD_RESULTS: Mapping[str, CardKind] = {
    "Yellow_Card": "yellow",
    "Second_Yellow_Card": "second_yellow",
    "Direct_Red_Card": "red",
}
