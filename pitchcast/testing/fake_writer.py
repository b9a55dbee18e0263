"""The writer of the test-double LLM server: reads pitchcast's prompt, writes commentary.

It is not a model. It reads the rows out of the chat pitchcast sends
(:mod:`pitchcast.commentary.prompt`) and writes one line per requested row from
phrase tables, in the format asked (``n|tone|text`` lines, or the
``{"lines": [[n, tone, text], ...]}`` JSON), with ``{P1}`` / ``{T1}`` references.

Two prompt shapes are understood:

* batch mode: one user message with the match header, ``[팀]``, ``[선수]``,
  ``[액션]`` (CSV) and ``[요청] 1~10번, 10줄``; a repair turn adds the answer and a
  user message with ``[검토]`` and the rows to rewrite in its ``[요청]``;
* live mode: a chat that grows, one user message per request, each adding only what
  is new (``[선수]`` rows of new players, maybe ``[스코어]``, an ``[액션]`` header with
  the new rows, ``[요청] 3번, 1줄``) with the assistant's earlier lines in between.

Teams, players and action rows are gathered across ALL user messages (a later message
adds rows; action rows are keyed by their ``n``), and lines are written for the rows of
the LAST user message's ``[요청]``. A line names only players and teams defined so far.

A fork of a live burst (pitchcast's ``fork``) asks for one row of that ``[요청]``: in
the JSON format, its schema's rows say which (:func:`schema_rows`; a real model's
grammar allows no other); in lines, the chat ends with an assistant turn pre-filled
with the row's marker (``7|``, ``continue_final_message``): the answer continues it.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pitchcast.commentary.prompt import (
    LINE_CHARS,
    SECTION_ACTIONS,
    SECTION_PLAYERS,
    SECTION_REQUEST,
    SECTION_TEAMS,
    parse_rows,
)

__all__ = [
    "CONTENT_FAULTS",
    "PromptRows",
    "read_prompt",
    "requested_rows",
    "schema_rows",
    "write_answer",
]

# Faults that change the written content (the server's other faults change the transport).
CONTENT_FAULTS = frozenset(
    (
        "malformed",
        "wrong_count",
        "extra_line",
        "unknown_row",
        "bad_tone",
        "invented_name",
        "unknown_ref",
        "untold",
    )
)


# --- reading pitchcast's prompt ------------------------------------------------------


@dataclass(slots=True)
class PromptRows:
    """What the chat defines so far: team and player references, action rows by ``n``."""

    teams: dict[str, str] = field(default_factory=dict)
    players: dict[str, str] = field(default_factory=dict)
    actions: dict[int, dict[str, str]] = field(default_factory=dict)


_SECTION_RE = re.compile(r"^\[[^\]]+\]")
_REQUEST_RE = re.compile(re.escape(SECTION_REQUEST) + r"\s*([\d~,\s]+)번")
_LENGTH_RE = re.compile(r"(\d+)~(\d+)자")


def _csv_sections(lines: list[str], header: str) -> list[dict[str, str]]:
    """The rows of every ``header`` section of one message (CSV up to the next section)."""
    rows: list[dict[str, str]] = []
    for start, line in enumerate(lines):
        if line.strip() != header:
            continue
        block = []
        for following in lines[start + 1 :]:
            if _SECTION_RE.match(following):
                break
            block.append(following)
        rows.extend(csv.DictReader(io.StringIO("\n".join(block))))
    return rows


def _user_texts(messages: Sequence[Any]) -> list[str]:
    return [
        str(m.get("content") or "")
        for m in messages
        if isinstance(m, dict) and m.get("role") == "user"
    ]


def read_prompt(messages: Sequence[Any]) -> PromptRows | None:
    """The rows of the chat, gathered over its user messages; None without any action."""
    rows = PromptRows()
    for text in _user_texts(messages):
        lines = text.split("\n")
        for row in _csv_sections(lines, SECTION_TEAMS):
            if row.get("ref"):
                rows.teams[row["ref"]] = row.get("name") or ""
        for row in _csv_sections(lines, SECTION_PLAYERS):
            if row.get("ref"):
                rows.players[row["ref"]] = row.get("name") or ""
        for row in _csv_sections(lines, SECTION_ACTIONS):
            try:
                number = int(row.get("n") or "")
            except ValueError:
                number = len(rows.actions) + 1
            rows.actions[number] = row
    return rows if rows.actions else None


def requested_rows(messages: Sequence[Any], rows: PromptRows) -> list[int]:
    """The rows of the last user message's ``[요청]`` (else the latest one, else all)."""
    texts = _user_texts(messages)
    for text in reversed(texts):
        match = _REQUEST_RE.search(text)
        if match:
            return parse_rows(match.group(1))
    return sorted(rows.actions)


def schema_rows(response_format: Any) -> list[int] | None:
    """The rows a ``response_format`` JSON schema allows (its ``const`` row numbers),
    None when it names none."""
    try:
        lines = response_format["json_schema"]["schema"]["properties"]["lines"]
        rows = [int(item["prefixItems"][0]["const"]) for item in lines["prefixItems"]]
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return rows or None


_MARKER_RE = re.compile(r"^\s*(\d+)\|$")


def _prefilled_row(messages: Sequence[Any]) -> int | None:
    """The row of a pre-filled last assistant turn (``7|``), else None."""
    last = messages[-1] if messages else None
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    match = _MARKER_RE.match(str(last.get("content") or ""))
    return int(match.group(1)) if match else None


# --- writing commentary --------------------------------------------------------------

# Per K League type: (polite broadcast phrase, casual phrase). ``{p}`` is the player
# reference with a particle (이/가 picked at random: pitchcast fixes it), ``{t}`` the team,
# ``{zone}`` and ``{way}`` come from the coordinates.
_PHRASES: dict[str, tuple[str, str]] = {
    "Pass": ("{p} {zone}에서 {way} 패스를 보냅니다", "{p} {zone}에서 {way} 패스 줬어"),
    "Pass Received": ("{p} {zone}에서 공을 받아 냅니다", "{p} {zone}에서 받았어"),
    "Ball Received": ("{p} 흘러나온 공을 잡아 냅니다", "{p} 흐른 공 잡았어"),
    "Carry": ("{p} 공을 몰고 {way} 전진합니다", "{p} 공 몰고 {way} 치고 나가"),
    "Cross": ("{p} {zone}에서 크로스를 올립니다", "{p} 크로스 올렸어"),
    "Shot": ("{p} 슈팅을 날립니다", "{p} 슛 때렸어"),
    "Goal": ("골입니다! {t}의 득점입니다", "골! {t}가 넣었어"),
    "Own Goal": ("아, 자책골이 나옵니다", "헐, 자책골이야"),
    "Tackle": ("{p} 태클을 시도합니다", "{p} 태클 들어갔어"),
    "Interception": ("{p} 패스를 끊어 냅니다", "{p} 패스 끊었어"),
    "Recovery": ("{p} 공을 되찾아 옵니다", "{p} 공 다시 찾아왔어"),
    "Clearance": ("{p} 위험 지역에서 걷어 냅니다", "{p} 일단 걷어냈어"),
    "Duel": ("{p} 몸싸움을 벌입니다", "{p} 몸싸움 붙었어"),
    "Foul": ("{p} 반칙을 범합니다", "{p} 파울했어"),
    "Throw-In": ("{p} 스로인으로 다시 시작합니다", "{p} 스로인 던졌어"),
    "Goal Kick": ("{p} 골킥으로 길게 찹니다", "{p} 골킥 길게 찼어"),
    "Out": ("공이 라인 밖으로 나갑니다", "공 밖으로 나갔어"),
    "Block": ("{p} 막아 냅니다", "{p} 막아 냈어"),
    "Take-On": ("{p} 수비를 앞에 두고 드리블합니다", "{p} 드리블 들어갔어"),
    "Catch": ("{p} 공을 안전하게 잡아 냅니다", "{p} 공 잡았어"),
    "Offside": ("오프사이드 깃발이 올라갑니다", "오프사이드 걸렸어"),
}
_PHRASES |= {
    "Shot_Freekick": ("{p} 프리킥을 직접 찹니다", "{p} 프리킥 직접 찼어"),
    "Penalty Kick": ("{p} 페널티킥을 찹니다", "{p} 페널티킥 찼어"),
    "Handball_Foul": ("{p} 핸드볼 반칙을 범합니다", "{p} 핸드볼 했어"),
    "Pass_Corner": ("{p} 코너킥을 올립니다", "{p} 코너킥 찼어"),
    "Pass_Freekick": ("{p} 프리킥으로 연결합니다", "{p} 프리킥 찼어"),
}
# Per (type, result): what the row's result is (a pass that failed was written as one
# given: '패스 줬어'); a line of these may carry a filler, unlike a goal's or a card's.
_OUTCOME_PHRASES: dict[tuple[str, str], tuple[str, str]] = {
    ("Pass", "Unsuccessful"): (
        "{p} {zone}에서 {way} 보낸 패스가 끊깁니다",
        "{p} {way} 준 패스 끊겼어",
    ),
    ("Cross", "Unsuccessful"): ("{p} {zone}에서 올린 크로스가 막힙니다", "{p} 크로스 막혔어"),
    ("Shot", "Off Target"): ("{p} 슈팅이 골문을 벗어납니다", "{p} 슛 빗나갔어"),
    ("Shot", "On Target"): ("{p} 슈팅, 골키퍼가 막아 냅니다", "{p} 슛 키퍼가 막았어"),
    ("Shot", "Blocked"): ("{p} 슈팅이 수비에 막힙니다", "{p} 슛 수비에 막혔어"),
    ("Tackle", "Successful"): ("{p} 태클로 공을 따냅니다", "{p} 태클로 공 뺏었어"),
    ("Tackle", "Unsuccessful"): ("{p} 태클이 빗나갑니다", "{p} 태클 실패했어"),
    ("Duel", "Successful"): ("{p} 경합에서 이겨 냅니다", "{p} 경합 이겼어"),
    ("Duel", "Unsuccessful"): ("{p} 경합에서 밀립니다", "{p} 경합 졌어"),
}
# Per (type, result): a result the line must say (a goal, a card), as a competent model
# says it; it wins over the type's phrase (validation refuses a goal's or a card's line
# that does not say so, and the template would write it).
_RESULT_PHRASES: dict[tuple[str, str], tuple[str, str]] = {
    ("Shot", "Goal"): ("{p} 때린 슈팅이 골로 이어집니다", "{p} 때린 슛 들어갔어, 골이야"),
    ("Shot_Freekick", "Goal"): ("{p} 찬 프리킥이 그대로 골이 됩니다", "{p} 찬 프리킥 바로 골이야"),
    ("Penalty Kick", "Goal"): ("{p} 페널티킥을 골로 연결합니다", "{p} 페널티킥 넣었어, 골이야"),
    ("Foul", "Yellow_Card"): ("{p} 반칙으로 경고를 받습니다", "{p} 파울로 경고 받았어"),
    ("Foul", "Second_Yellow_Card"): (
        "{p} 두 번째 경고를 받고 퇴장당합니다",
        "{p} 경고 누적으로 퇴장이야",
    ),
    ("Foul", "Direct_Red_Card"): (
        "{p} 레드카드를 받고 퇴장당합니다",
        "{p} 바로 레드카드, 퇴장이야",
    ),
    ("Handball_Foul", "Yellow_Card"): (
        "{p} 핸드볼 반칙으로 경고를 받습니다",
        "{p} 핸드볼로 경고 받았어",
    ),
    ("Handball_Foul", "Second_Yellow_Card"): (
        "{p} 핸드볼로 두 번째 경고, 퇴장당합니다",
        "{p} 핸드볼로 경고 누적 퇴장이야",
    ),
    ("Handball_Foul", "Direct_Red_Card"): (
        "{p} 핸드볼 반칙으로 레드카드, 퇴장당합니다",
        "{p} 핸드볼로 바로 레드카드, 퇴장이야",
    ),
}
# A foul or handball without a card in the fouler's own box (the prompt's zone 자기
# 페널티 박스): a penalty kick, which validation requires the line to say.
_PENALTY_PHRASES: dict[str, tuple[str, str]] = {
    "Foul": (
        "{p} 자기 박스 안에서 반칙을 범해 페널티킥이 주어집니다",
        "{p} 박스 안에서 파울, PK 줬어",
    ),
    "Handball_Foul": (
        "{p} 자기 박스 안 핸드볼 반칙으로 페널티킥이 주어집니다",
        "{p} 박스 안 핸드볼, PK 줬어",
    ),
}
_DEFAULT_PHRASE = ("{p} 공을 다룹니다", "{p} 공 잡고 있어")
# Per voice (CASTER, FRIEND, ANALYST): what may follow a short line, claiming nothing the
# row does not show.
_FILLERS = (
    (" 경기가 계속 이어집니다", " 경기 계속 가", " 경기는 계속 이어지죠"),
    (" 흐름이 이어집니다", " 흐름 이어져", " 흐름을 짚어 보죠"),
    (" {t}의 플레이입니다", " {t} 플레이야", " {t} 쪽 플레이죠"),
    (" 자, 다음 장면입니다", " 자, 다음", " 다음 장면을 보죠"),
)


def _zone(row: dict[str, str]) -> str:
    if row.get("zone"):
        return row["zone"]  # pitchcast's own words (prompt 4 on)
    try:
        x, y = float(row.get("sx") or 0), float(row.get("sy") or 34)
    except ValueError:
        return "중원"
    third = "자기 진영" if x < 35 else ("중원" if x < 70 else "상대 진영")
    side = "오른쪽" if y < 20 else ("왼쪽" if y > 48 else "")
    return f"{side} {third}".strip()


def _gives_a_penalty(row: dict[str, str]) -> bool:
    """A foul or handball, no card, in the fouler's own penalty area (the prompt's zone
    names it; rows of older prompts give coordinates)."""
    if row.get("type") not in _PENALTY_PHRASES or "Card" in row.get("result", ""):
        return False
    if row.get("zone"):
        return row["zone"].startswith("자기 페널티 박스")
    try:
        x, y = float(row.get("sx") or 52.5), float(row.get("sy") or 34)
    except ValueError:
        return False
    return x <= 16.5 and 13.84 <= y <= 54.16


def _way(row: dict[str, str]) -> str:
    way = row.get("dir")
    if way is not None:  # pitchcast's direction words (prompt 4 on)
        if way == "전방":
            return "앞으로 길게" if row.get("to", "").startswith("페널티") else "앞으로"
        return "뒤로" if "뒤" in way else "옆으로"
    try:
        dx = float(row.get("ex") or row.get("sx") or 0) - float(row.get("sx") or 0)
    except ValueError:
        return "옆으로"
    if dx > 10:
        return "앞으로 길게"
    if dx > 0:
        return "앞으로"
    return "뒤로" if dx < -3 else "옆으로"


def _tone(row: dict[str, str], voice: int) -> str:
    kind, result = row.get("type", ""), row.get("result", "")
    if kind in ("Goal", "Own Goal") or result == "Goal":
        return "excited"
    if kind.startswith("Shot") and result == "On Target":
        return "excited"
    if kind in ("Foul", "Handball_Foul", "Tackle", "Offside") or "Card" in result:
        return "tense"
    if result in ("Unsuccessful", "Off Target", "Blocked"):
        return "disappointed"
    return ("calm", "playful", "analytical")[voice]


# How a line opens, by its place in the request's rows (a burst): a model that sees the
# burst varies its openings, so the lines of one burst do not all start alike.
# ANALYST (the third voice) opens otherwise than CASTER, so the two 존댓말 voices differ.
_LEADS = (
    ("", "", "보시면 "),
    ("{zone}에서 ", "{zone}에서 ", "위치를 보면 "),
    ("이번에는 ", "이번엔 ", "여기서 "),
    ("이어서 ", "곧바로 ", "다음 장면, "),
)
# The voices' index in the tables above; ANALYST writes CASTER's phrases otherwise.
_POLITE, _CASUAL, _ANALYST = 0, 1, 2


def _line_text(
    row: dict[str, str],
    rows: PromptRows,
    voice: int,
    length: tuple[int, int],
    rng: random.Random,
    place: int = 0,
    untold: bool = False,
) -> str:
    # Only references the chat has defined so far (a row naming an unknown one falls
    # back to its team, then to no name at all).
    player = row.get("player") or ""
    player = player if player in rows.players else ""
    team = row.get("team") or ""
    team = team if team in rows.teams else next(iter(rows.teams), "")
    team_ref = f"{{{team}}}" if team else "팀"
    who = f"{{{player}}}{rng.choice(('이', '가'))}" if player else team_ref
    kind = row.get("type", "")
    phrases = None if untold else _RESULT_PHRASES.get((kind, row.get("result", "")))
    if phrases is None and not untold and _gives_a_penalty(row):
        phrases = _PENALTY_PHRASES[kind]
    # Said on its own: no filler after a goal or a card (a Goal row too).
    key_moment = phrases is not None or kind in ("Goal", "Own Goal")
    if phrases is None and not untold:
        phrases = _OUTCOME_PHRASES.get((kind, row.get("result", "")))
    phrases = phrases or _PHRASES.get(kind)
    casual = voice == _CASUAL
    phrase = (phrases or _DEFAULT_PHRASE)[_CASUAL if casual else _POLITE]
    lead = _LEADS[place % len(_LEADS)][voice]
    if lead.startswith("{zone}") and "{zone}에서 " not in phrase:
        lead = _LEADS[2][voice]
    phrase = lead + phrase.replace(lead, "", 1) if lead else phrase
    text = phrase.format(p=who, t=team_ref, zone=_zone(row), way=_way(row))
    low, high = length
    target = rng.randint(low, high)
    fillers = rng.sample(_FILLERS, len(_FILLERS))
    for filler in itertools.islice(itertools.cycle(fillers), 0 if key_moment else 4):
        if len(text) >= target:
            break
        addition = filler[voice].format(t=team_ref)
        if len(text) + len(addition) + 1 > high:
            break
        text += "," + addition
    return text + ("!" if casual else ".")


def _write_lines(
    rows: PromptRows,
    wanted: list[int],
    *,
    voice: int,
    length: tuple[int, int],
    seed: int,
    burst: Sequence[int] = (),
    untold: bool = False,
) -> list[list[Any]]:
    rng = random.Random(seed)
    lines: list[list[Any]] = []
    for number in wanted:
        action = rows.actions.get(number)
        if action is not None:
            place = burst.index(number) if number in burst else 0
            text = _line_text(action, rows, voice, length, rng, place, untold)
            lines.append([number, _tone(action, voice), text])
    return lines


def _apply_content_fault(
    lines: list[list[Any]], fault: str | None, invented_name: str
) -> list[list[Any]]:
    if fault is None or not lines:
        return lines
    lines = [list(line) for line in lines]
    if fault == "wrong_count":
        lines.pop()
    elif fault == "extra_line":
        lines.append([max(line[0] for line in lines) + 50, "calm", "추가로 한 줄 더 씁니다."])
    elif fault == "unknown_row":
        lines[-1][0] = lines[-1][0] + 90
    elif fault == "bad_tone":
        lines[0][1] = "happy"
    elif fault == "invented_name":
        lines[0][2] = f"{invented_name} 선수가 {lines[0][2]}"
    elif fault == "unknown_ref":
        lines[0][2] = "{P99}가 " + lines[0][2]
    return lines


def _render(lines: list[list[Any]], *, structured: bool, malformed: bool) -> str:
    if structured:
        text = json.dumps({"lines": lines}, ensure_ascii=False, separators=(",", ":"))
    else:
        text = "\n".join(f"{n}|{tone}|{body}" for n, tone, body in lines)
    if malformed:
        # An answer that stops mid-item and forgets its separators.
        return '{"lines":[[1,"calm" "' + text.replace("|", " ")[:40]
    return text


def write_answer(
    messages: Sequence[Any],
    *,
    structured: bool,
    fault: str | None = None,
    invented_name: str = "이동국",
    schema_rows: Sequence[int] | None = None,
    prefilled: bool = False,
) -> str:
    """The answer to ``messages``: lines for the requested rows (``fault`` one of
    :data:`CONTENT_FAULTS` spoils them); "네" for a chat with no action rows.

    ``schema_rows``: the rows the JSON schema allows (they win over ``[요청]``);
    ``prefilled``: the last assistant turn is continued (a ``7|`` marker: that row's
    line, without the marker)."""
    rows = read_prompt(messages)
    if rows is None:
        return "네"  # a warm-up or any other prompt: one short token
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    first_user = next(iter(_user_texts(messages)), "")
    # The persona, from its intro (prompt.toml): FRIEND speaks 반말, ANALYST is 해설위원.
    voice = _CASUAL if "반말" in system else _ANALYST if "해설위원" in system else _POLITE
    match = _LENGTH_RE.search(system)
    length = (int(match.group(1)), int(match.group(2))) if match else LINE_CHARS
    wanted = burst = requested_rows(messages, rows)
    marker_row = _prefilled_row(messages) if prefilled else None
    if marker_row is not None:
        wanted = [marker_row]
    elif structured and schema_rows:
        wanted = [row for row in schema_rows if row in rows.actions] or wanted
    seed = len(first_user) * 31 + sum(wanted)
    lines = _write_lines(
        rows, wanted, voice=voice, length=length, seed=seed, burst=burst, untold=fault == "untold"
    )
    lines = _apply_content_fault(lines, fault, invented_name)
    text = _render(lines, structured=structured, malformed=fault == "malformed")
    if marker_row is not None:
        text = text.removeprefix(f"{marker_row}|")  # the marker is already in the chat
    return text
