"""Deterministic Korean commentary written from the action data: the template writer.

It is the fallback of the LLM stage, the demo default and the backend of deterministic
tests, so :func:`write_template_commentary` never raises on a batch the schema accepts:
one item per action, in order, whatever the names, types or coordinates are.

How a line is made:

1. The action is sorted into a *kind* (``pass_forward``, ``shot_on``, ``goal``...) from
   its ``type_name``, ``result_name`` and geometry. Unknown types are described with
   their raw text; a result a type does not usually carry is added as a note.
2. Each kind has several phrasings per persona. CASTER is a play-by-play caster
   (합니다/습니다), ANALYST a tactical analyst (zones, direction, distance), FRIEND a
   friend on the sofa (반말). Phrasings fill slots: the player and team names (with the
   right particle, via :mod:`pitchcast.commentary.korean`), the pitch zone, the minute,
   and on goals the running score.
3. The phrasing is picked by a stable hash of (game_id, action_id, persona, kind), never
   Python's randomised ``hash()``, so a batch always reads the same. Within a batch no
   line is written twice, two lines in a row do not open alike (same player, a zone, the
   same word) while another phrasing is left, and phrasings rotate before repeating.

Coordinates follow the K League convention: metres on 105 x 68, the acting team
attacks towards x = 105, and y = 0 is the acting team's right touchline.
"""

from __future__ import annotations

import hashlib
import logging
import math
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from pitchcast.commentary.korean import attach_particle
from pitchcast.schemas.records import Action, Batch, CommentaryItem, MatchInfo, Tone
from pitchcast.settings import PERSONAS, Persona

__all__ = ["MAX_DESCRIPTION_CHARS", "write_template_commentary"]

logger = logging.getLogger(__name__)

MAX_DESCRIPTION_CHARS: Final = 120
_NAME_MAX_CHARS = 20
_SCORE_NAME_MAX_CHARS = 14
_TYPE_MAX_CHARS = 30
_PITCH_X, _PITCH_Y = 105.0, 68.0


# --- Text helpers ------------------------------------------------------------------------------


def _clean(text: object, limit: int) -> str:
    """Printable, single-line text of at most ``limit`` characters ('' for None)."""
    if not isinstance(text, str):
        return ""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("Zl", "Zp") or char in "\t\n\r\v\f":
            kept.append(" ")
        elif category not in ("Cc", "Cf", "Cs"):
            kept.append(char)
    cleaned = " ".join("".join(kept).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


class _Slot(str):
    """A slot value whose format spec is a Korean particle: ``"{p:이/가}"`` → ``손흥민이``."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return attach_particle(str(self), spec) if spec else str(self)


# --- Pitch geometry ----------------------------------------------------------------------------


def _finite(value: object, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return default


def _depth(x: float, y: float) -> str:
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


# Plain words (CASTER, FRIEND): (right flank, centre, left flank). y = 0 is the right side.
_PLAIN_ZONES: Mapping[str, tuple[str, str, str]] = {
    "own_box": ("자기 페널티 박스 오른쪽", "자기 페널티 박스 안", "자기 페널티 박스 왼쪽"),
    "own_third": ("자기 진영 오른쪽 깊은 곳", "자기 진영 깊숙한 곳", "자기 진영 왼쪽 깊은 곳"),
    "own_half": ("자기 진영 오른쪽", "자기 진영 중앙", "자기 진영 왼쪽"),
    "opp_half": ("하프라인 너머 오른쪽", "하프라인 너머 중앙", "하프라인 너머 왼쪽"),
    "final_third": ("상대 진영 오른쪽 측면", "페널티 박스 앞", "상대 진영 왼쪽 측면"),
    "box": ("페널티 박스 오른쪽", "페널티 박스 중앙", "페널티 박스 왼쪽"),
    "six": ("골문 바로 앞", "골문 바로 앞", "골문 바로 앞"),
}
# Tactical words (ANALYST): depth and one of five vertical lanes, right to left.
_TACTICAL_DEPTHS: Mapping[str, str] = {
    "own_box": "자기 박스",
    "own_third": "수비 지역",
    "own_half": "자기 진영",
    "opp_half": "상대 진영",
    "final_third": "파이널 서드",
    "box": "상대 박스",
    "six": "골 에어리어",
}
_TACTICAL_LANES = ("우측면", "우측 하프스페이스", "중앙", "좌측 하프스페이스", "좌측면")


def _zone(x: float, y: float, tactical: bool) -> str:
    depth = _depth(x, y)
    if tactical:
        if depth == "six":
            return _TACTICAL_DEPTHS[depth]
        lane = min(int(y / (_PITCH_Y / 5)), 4) if y > 0 else 0
        return f"{_TACTICAL_DEPTHS[depth]} {_TACTICAL_LANES[lane]}"
    lane = 0 if y < _PITCH_Y / 3 else (2 if y > 2 * _PITCH_Y / 3 else 1)
    return _PLAIN_ZONES[depth][lane]


def _direction(dx: float, dy: float, tactical: bool) -> str:
    """Where the ball went, for the acting team: +x is forward, +y is to its left."""
    angle = math.degrees(math.atan2(dy, dx))
    side = ("좌측" if tactical else "왼쪽") if angle > 0 else ("우측" if tactical else "오른쪽")
    back = "후방" if tactical else "뒤"
    turn = abs(angle)
    if turn <= 30:
        return "전방"
    if turn <= 70:
        return f"{side} 전방"
    if turn < 110:
        return side
    if turn < 150:
        return f"{side} {back}"
    return back


def _line(x: float, y: float) -> str:
    if x <= 0.5 or x >= _PITCH_X - 0.5:
        return "골라인"
    if y <= 0.5 or y >= _PITCH_Y - 0.5:
        return "터치라인"
    return "라인"


def _minute(period_id: object, time_seconds: object) -> str:
    """``전반 12분``, ``후반 90+3분``, ``연장 전반 98분``... (the minute being played)."""
    period = period_id if isinstance(period_id, int) and not isinstance(period_id, bool) else 1
    seconds = max(_finite(time_seconds, 0.0), 0.0)
    minute = min(int(seconds // 60) + 1, 999)
    halves = {1: ("전반", 0, 45), 2: ("후반", 45, 90), 3: ("연장 전반", 90, 105)}
    halves[4] = ("연장 후반", 105, 120)
    if period in halves:
        name, start, end = halves[period]
        clock = start + minute
        return f"{name} {clock}분" if clock <= end else f"{name} {end}+{clock - end}분"
    if period == 5:
        return "승부차기"
    return f"{min(max(period, 0), 99)}피리어드 {minute}분"


# --- Phrasings -----------------------------------------------------------------------------------
#
# Slots always filled: p (player), zone, zone_end, minute, line, shot, foul, type.
# Filled when known: t (team), prev (the passer of a received ball),
# dist, dir (when the ball moved 3 m or more), score, state (goals with a known score).
# A slot's format spec is a particle pair: "{p:이/가}".

_ALWAYS: Final = frozenset({"p", "zone", "zone_end", "minute", "line", "shot", "foul", "type"})

_Bank = Mapping[str, tuple[str, ...]]

_BANKS: Mapping[str, _Bank] = {
    "pass_forward": {
        "CASTER": (
            "{p:이/가} 앞으로 패스를 찔러 줍니다.",
            "{zone}에서 {p:이/가} 전진 패스를 시도합니다.",
            "{p:이/가} {dir} 쪽으로 공을 보냅니다.",
            "{p:이/가} {zone_end:으로/로} 공을 연결합니다.",
            "{t:은/는} {p}의 패스로 한 걸음 더 올라섭니다.",
            "{p:이/가} 고개를 들고 앞쪽 동료에게 패스합니다.",
        ),
        "ANALYST": (
            "{p}, {dir:으로/로} {dist} 전진 패스. {zone_end:을/를} 겨냥합니다.",
            "{zone}에서 {p}의 전진 패스, 상대 라인 사이를 노립니다.",
            "{p:이/가} {zone_end:으로/로} 볼을 전진시킵니다. 빌드업이 한 단계 올라갑니다.",
            "{p}의 수직 패스입니다. {t:은/는} 앞쪽으로 빠르게 전개합니다.",
            "{zone}에서 {p:이/가} 전방 패스 길을 찾아냅니다.",
        ),
        "FRIEND": (
            "{p:이/가} 앞으로 쭉 넣어 주네.",
            "오, {p} 앞으로 패스! 괜찮은데?",
            "{p:이/가} {zone_end}까지 공 보냈어.",
            "{p}, 앞쪽 보고 바로 패스하네.",
            "{t} 이제 좀 올라간다, {p} 패스 좋고.",
            "앞으로! {p:이/가} 찔러 줬어.",
        ),
    },
    "pass_back": {
        "CASTER": (
            "{p:이/가} 뒤로 공을 돌립니다.",
            "{p:은/는} 무리하지 않고 백패스를 선택합니다.",
            "{zone}에서 {p:이/가} 뒤쪽 동료에게 공을 내줍니다.",
            "{t:은/는} {p}의 백패스로 숨을 고릅니다.",
            "{p:이/가} 공을 뒤로 빼며 템포를 조절합니다.",
        ),
        "ANALYST": (
            "{p}의 백패스, {dist}. 압박을 피해 빌드업을 다시 시작합니다.",
            "{zone}에서 {p:이/가} 후방으로 볼을 돌립니다. 점유를 우선하는 선택입니다.",
            "{p:이/가} 전진 대신 후방 옵션을 택합니다. 상대 블록이 촘촘합니다.",
            "{t:은/는} {p}의 백패스로 공격을 한 번 재정비합니다.",
        ),
        "FRIEND": (
            "{p:이/가} 또 뒤로 돌리네.",
            "{p}, 일단 뒤로! 급할 거 없지.",
            "앞이 막혔나 봐, {p:이/가} 백패스해.",
            "{p:이/가} 뒤로 빼서 다시 시작하자는 거야.",
        ),
    },
    "pass_side": {
        "CASTER": (
            "{p:이/가} 옆으로 짧게 패스합니다.",
            "{p:이/가} {dir:으로/로} 공을 돌립니다.",
            "{zone}에서 {p:이/가} 횡패스로 방향을 바꿉니다.",
            "{p:을/를} 거쳐 {t:이/가} 좌우로 공을 돌립니다.",
            "{p:이/가} 가까운 동료에게 옆으로 건넵니다.",
            "짧은 횡패스, {p:이/가} 옆 동료에게 내줍니다.",
        ),
        "ANALYST": (
            "{p}의 횡패스, {dir:으로/로} {dist}. 빈틈을 찾는 과정입니다.",
            "{zone}에서 {p:이/가} 볼을 옆으로 순환시킵니다.",
            "{p:이/가} 옆으로 공을 돌려 상대 수비를 좌우로 흔듭니다.",
            "{t:은/는} {p}의 횡패스로 공격 방향을 조율합니다.",
        ),
        "FRIEND": (
            "{p:이/가} 옆으로 툭.",
            "{p}, 옆으로 돌리면서 틈 보는 중.",
            "{zone}에서 {p:이/가} 옆으로 패스했어.",
            "옆으로 옆으로, {p:이/가} 공 돌리네.",
        ),
    },
    "pass_long": {
        "CASTER": (
            "{p:이/가} {dist} 롱패스를 길게 뿌립니다.",
            "{zone}에서 {p}의 롱볼이 {zone_end:으로/로} 향합니다.",
            "{p:이/가} 한 번에 멀리 차 넣습니다.",
            "길게 넘어가는 공, {p}의 롱패스입니다.",
            "{p:이/가} 전방을 향해 과감한 롱볼을 띄웁니다.",
        ),
        "ANALYST": (
            "{p}의 롱패스 {dist}, {zone}에서 {zone_end:으로/로} 단번에 넘어갑니다.",
            "{p:이/가} 중원을 생략하고 직접 전방으로 공을 보냅니다.",
            "{zone}에서 {p}의 롱볼. 상대 수비 뒷공간을 노린 선택입니다.",
            "{t:은/는} {p}의 롱패스로 한 번에 라인을 넘깁니다.",
        ),
        "FRIEND": (
            "{p:이/가} 길게 뻥!",
            "와, {p} 롱패스 시원하다.",
            "{p:이/가} 멀리 찼어, {zone_end}까지 가네.",
            "{p}, 한 방에 넘기려고 하네.",
        ),
    },
    "pass_switch": {
        "CASTER": (
            "{p:이/가} 반대편으로 크게 전환합니다.",
            "{p}의 {dist} 전환 패스, {zone_end:으로/로} 넘어갑니다.",
            "{p:이/가} 측면을 바꾸는 긴 패스를 보냅니다.",
            "{p:이/가} 시원하게 반대쪽으로 공을 넘깁니다.",
        ),
        "ANALYST": (
            "{p}의 사이드 전환, {dist}. 약한 쪽 측면을 공략합니다.",
            "{p:이/가} {zone_end:으로/로} 방향을 전환합니다. 상대 블록을 옆으로 끌어냅니다.",
            "{t:이/가} {p}의 전환 패스로 공격 방향을 바꿉니다.",
        ),
        "FRIEND": (
            "{p:이/가} 반대쪽으로 휙 넘겼어!",
            "오, {p} 전환 패스 시원하다!",
            "{p:이/가} 반대편 보고 크게 찼네.",
        ),
    },
    "pass_box": {
        "CASTER": (
            "{p:이/가} 페널티 박스 안으로 공을 찔러 넣습니다!",
            "{p}의 패스가 박스 안으로 향합니다!",
            "{zone}에서 {p:이/가} 박스로 날카로운 패스를 보냅니다!",
            "{p:이/가} 박스 안 동료를 보고 패스합니다!",
        ),
        "ANALYST": (
            "{p}의 박스 진입 패스, {zone_end:을/를} 공략합니다.",
            "{zone}에서 {p:이/가} 박스 안으로 볼을 투입합니다. 결정적 지역입니다.",
            "{p:이/가} {dist} 패스로 수비 라인을 관통해 박스까지 연결합니다.",
        ),
        "FRIEND": (
            "{p:이/가} 박스 안으로 넣었어! 가자!",
            "오오, {p} 패스 박스 안으로 들어간다!",
            "{p} 패스 봐, 바로 골문 앞이야!",
        ),
    },
    "pass_fail": {
        "CASTER": (
            "{p}의 패스가 상대에게 막힙니다.",
            "{p:이/가} 패스를 시도했지만 연결되지 않습니다.",
            "{zone}에서 {p}의 패스가 끊깁니다.",
            "아쉽습니다, {p}의 패스가 동료에게 닿지 않습니다.",
            "{p:이/가} 보낸 공이 빗나가며 소유권이 넘어갑니다.",
        ),
        "ANALYST": (
            "{p}의 패스 실패. {zone}에서 소유권을 잃습니다.",
            "{zone}에서 {p}의 패스가 차단됩니다. 패스 각이 읽혔습니다.",
            "{p:이/가} {dir:으로/로} 보낸 패스가 연결되지 않습니다. 정확도가 아쉽습니다.",
            "{t:은/는} {p}의 패스 미스로 수비 전환에 들어갑니다.",
            "소유권을 잃는 장면, {p}의 패스가 빗나갑니다.",
        ),
        "FRIEND": (
            "아, {p} 패스 끊겼다.",
            "{p:이/가} 준 거 상대한테 갔어. 아깝다.",
            "에이, {p} 패스가 너무 약했네.",
            "{p} 패스 미스! 이건 좀 아쉽다.",
        ),
    },
    "received": {
        "CASTER": (
            "{p:이/가} 공을 받습니다.",
            "{zone}에서 {p:이/가} 패스를 받습니다.",
            "{prev}의 패스, {p:이/가} 받아 냅니다.",
            "{p:이/가} {zone}에서 공을 잡아 둡니다.",
            "공이 {p}의 발밑에 안착합니다.",
            "{prev:와/과} {p}, 패스가 깔끔하게 이어집니다.",
            "{p:이/가} 동료의 패스를 안정적으로 받아 냅니다.",
            "패스를 받은 {p}, 앞을 살핍니다.",
            "{t}의 패스 연결, 이번에는 {p}에게 이어집니다.",
        ),
        "ANALYST": (
            "{p:이/가} {zone}에서 볼을 받습니다.",
            "{prev}에서 {p:으로/로} 연결. {zone}에서 볼을 잡습니다.",
            "{p}의 리시브, {zone}에서 다음 전개를 준비합니다.",
            "{p:이/가} 볼을 받아 전개 방향을 살핍니다.",
            "{zone}, {p}에게 볼이 전달됩니다.",
            "리시브는 {p}. 몸 방향을 열어 두고 받습니다.",
        ),
        "FRIEND": (
            "{p:이/가} 받았어.",
            "{prev} 패스, {p:이/가} 잘 받았네.",
            "{p} 발밑으로 딱 왔어.",
            "{zone}에서 {p:이/가} 공 잡았다.",
            "{p:이/가} 받아서 이제 뭐 하나 보자.",
            "이번엔 {p}한테 갔어.",
        ),
    },
    "ball_received": {
        "CASTER": (
            "{p:이/가} 흘러나온 공을 잡습니다.",
            "{zone}에서 {p:이/가} 떨어지는 공을 받아 냅니다.",
            "튀어나온 공, {p:이/가} 차지합니다.",
        ),
        "ANALYST": (
            "{p:이/가} 세컨드 볼을 확보합니다. {zone}입니다.",
            "{zone}에서 {p}의 볼 확보, 흐른 공에 대한 반응이 빠릅니다.",
            "{p:이/가} 루즈볼을 받아 소유권을 이어 갑니다.",
        ),
        "FRIEND": (
            "{p:이/가} 흐른 공 주웠어.",
            "떨어진 공은 {p} 거다!",
            "{p}, 공 떨어지는 자리를 딱 알고 있었네.",
        ),
    },
    "carry": {
        "CASTER": (
            "{p:이/가} 공을 잡고 다음 동작을 준비합니다.",
            "{p:이/가} {zone}에서 공을 지키며 주변을 살핍니다.",
            "{p:이/가} 침착하게 공을 다룹니다.",
            "{p:은/는} 서두르지 않고 공을 몰고 있습니다.",
            "공을 잡은 {p}, 침착하게 다음 패스 길을 찾습니다.",
            "서두르지 않는 {p}, 공을 발밑에 두고 템포를 고릅니다.",
            "{t:은/는} {p}의 발끝에서 다음 공격을 준비합니다.",
        ),
        "ANALYST": (
            "{p:이/가} {zone}에서 볼을 운반하며 패스 각을 만듭니다.",
            "{p}의 짧은 볼 운반. 상대 압박의 타이밍을 봅니다.",
            "{zone}에서 {p:이/가} 볼을 소유하며 템포를 조절합니다.",
            "볼 소유는 {p}. 짧게 운반하며 다음 옵션을 확인합니다.",
            "{t:은/는} {p}의 볼 운반으로 템포를 조절합니다.",
        ),
        "FRIEND": (
            "{p:이/가} 공 잡고 두리번두리번.",
            "{p}, 천천히 몰고 가네.",
            "{p:이/가} 공 끼고 뭐 할지 고민 중.",
            "{zone}에서 {p:이/가} 공 굴리는 중.",
            "공 잡은 {p}, 여유 있네.",
        ),
    },
    "carry_forward": {
        "CASTER": (
            "{p:이/가} 공을 몰고 {dist} 가량 전진합니다.",
            "{p:이/가} 드리블로 {zone_end}까지 치고 올라갑니다.",
            "{p}의 과감한 전진 드리블입니다!",
            "{p:이/가} 빈 공간을 보고 공을 끌고 나갑니다.",
            "{t:이/가} {p}의 드리블로 전진합니다.",
        ),
        "ANALYST": (
            "{p}의 전진 운반 {dist}, {zone_end}까지 올라갑니다.",
            "{p:이/가} 드리블로 직접 라인을 끌어올립니다.",
            "{zone}에서 {p:이/가} 볼을 몰고 전진합니다. 빈 공간을 정확히 공략합니다.",
            "{p}의 볼 운반으로 {t:이/가} 전진합니다.",
        ),
        "FRIEND": (
            "{p:이/가} 공 몰고 쭉쭉 올라간다!",
            "오, {p} 혼자 {dist}나 끌고 갔어.",
            "{p}, 앞에 공간 있으니까 그냥 달리네.",
            "{zone_end}까지 {p:이/가} 치고 들어가!",
        ),
    },
    "recovery": {
        "CASTER": (
            "{p:이/가} 흐른 공을 따냅니다.",
            "{zone}에서 {p:이/가} 공을 되찾습니다.",
            "{t:이/가} {p}의 볼 획득으로 공격권을 가져옵니다.",
            "{p:이/가} 먼저 달려들어 공을 확보합니다.",
            "흐른 공의 주인은 {p}입니다.",
        ),
        "ANALYST": (
            "{p}의 볼 리커버리, {zone}입니다.",
            "{zone}에서 {p:이/가} 소유권을 회복합니다. 전환의 기점입니다.",
            "{p:이/가} 루즈볼에 먼저 반응합니다. 위치 선정이 좋습니다.",
            "{t:이/가} {p}의 리커버리로 다시 볼을 잡습니다.",
            "소유권 회복, {p}입니다. 세컨드 볼 대응이 빠릅니다.",
        ),
        "FRIEND": (
            "{p:이/가} 공 주웠다!",
            "{p} 빠르다, 공 먼저 잡았어.",
            "{zone}에서 {p:이/가} 공 다시 가져왔어.",
            "좋아, {p:이/가} 공 챙겼다.",
        ),
    },
    "interception": {
        "CASTER": (
            "{p:이/가} 패스를 가로챕니다!",
            "{zone}에서 {p:이/가} 상대 패스를 끊어 냅니다!",
            "{p:이/가} 길목을 읽고 공을 빼앗습니다.",
            "좋은 예측입니다, {p:이/가} 패스를 차단합니다.",
        ),
        "ANALYST": (
            "{p}의 인터셉트. {zone}에서 패스 길을 정확히 읽었습니다.",
            "{zone}에서 {p:이/가} 패스를 차단합니다. 예측 수비의 정석입니다.",
            "{p:이/가} 패스 경로를 끊어 역습 기회를 만듭니다.",
            "예측 수비가 빛납니다. {p:이/가} 패스를 끊어 냅니다.",
        ),
        "FRIEND": (
            "{p:이/가} 패스 끊었다!",
            "와, {p} 어디로 올지 알고 있었네!",
            "{p} 인터셉트! 나이스!",
            "{zone}에서 {p:이/가} 쏙 가로챘어!",
        ),
    },
    "intervention": {
        "CASTER": (
            "{p:이/가} 발을 뻗어 공의 흐름을 끊습니다.",
            "{zone}에서 {p:이/가} 한발 앞서 차단합니다.",
            "{p:이/가} 적절히 개입해 상대 공격을 저지합니다.",
        ),
        "ANALYST": (
            "{p}의 개입, {zone}에서 상대 전개를 지연시킵니다.",
            "{p:이/가} 볼 경로에 발을 넣어 흐름을 끊습니다.",
            "{zone}에서 {p}의 커팅. 수비 위치가 좋습니다.",
        ),
        "FRIEND": (
            "{p:이/가} 발 쭉 뻗어서 끊었어.",
            "{p}, 딱 맞게 끼어들었네.",
            "{zone}에서 {p:이/가} 막아 냈어.",
        ),
    },
    "clearance": {
        "CASTER": (
            "{p:이/가} 공을 멀리 걷어 냅니다.",
            "{zone}에서 {p:이/가} 위험한 공을 걷어 냅니다.",
            "{p:이/가} 일단 걷어 내며 위기를 넘깁니다.",
            "{p:이/가} 머뭇거리지 않고 공을 멀리 처리합니다.",
            "위기 상황, {p:이/가} 걷어 냅니다.",
        ),
        "ANALYST": (
            "{p}의 클리어링. {zone}에서 위험 지역을 벗어납니다.",
            "{p:이/가} {dist} 걷어 내기로 수비 라인을 올릴 시간을 법니다.",
            "{zone}에서 {p:이/가} 안전을 우선해 볼을 걷어 냅니다.",
        ),
        "FRIEND": (
            "{p:이/가} 일단 뻥 찼어.",
            "{p} 걷어 내기! 위험했다.",
            "{zone}에서 {p:이/가} 멀리 차 버렸네.",
        ),
    },
    "aerial_ok": {
        "CASTER": (
            "{p:이/가} 공중볼을 처리합니다.",
            "높이 뜬 공, {p:이/가} 깔끔하게 걷어 냅니다.",
            "{p:이/가} 높은 공을 힘 있게 쳐 냅니다.",
        ),
        "ANALYST": (
            "{p}의 공중볼 처리. {zone}에서 제공권을 지켜 냅니다.",
            "{p:이/가} 높은 공을 먼저 처리합니다. 타이밍이 정확합니다.",
            "{zone}에서 {p:이/가} 공중볼 경합을 정리합니다.",
        ),
        "FRIEND": (
            "{p:이/가} 높은 공 처리했어.",
            "{p}, 공중볼 깔끔하네.",
            "높게 온 거 {p:이/가} 다 걷어 냈어.",
        ),
    },
    "aerial_fail": {
        "CASTER": (
            "{p:이/가} 공중볼 처리에 실패합니다.",
            "{p}의 공중볼 처리가 불안합니다.",
            "높이 뜬 공, {p:이/가} 제대로 걷어 내지 못합니다.",
        ),
        "ANALYST": (
            "{p}의 공중볼 처리 실패. {zone}에서 세컨드 볼 위험이 생깁니다.",
            "{p:이/가} 낙하지점을 놓칩니다. 위치 선정이 아쉽습니다.",
            "{zone}에서 {p}의 공중볼 처리가 짧습니다.",
        ),
        "FRIEND": (
            "아, {p} 공중볼 놓쳤다.",
            "{p:이/가} 헛손질했어. 불안하다.",
            "{p}, 그거 제대로 못 쳐 냈네.",
        ),
    },
    "block": {
        "CASTER": (
            "{p:이/가} 몸을 던져 막아 냅니다!",
            "{zone}에서 {p}의 블록입니다!",
            "{p:이/가} 앞을 가로막으며 공을 막습니다.",
            "{p:이/가} 공의 길목을 몸으로 차단합니다.",
        ),
        "ANALYST": (
            "{p}의 블록. {zone}에서 각을 정확히 좁혔습니다.",
            "{p:이/가} 몸을 던져 볼을 차단합니다. 수비 집중력이 돋보입니다.",
            "{zone}에서 {p:이/가} 볼 경로를 막아 냅니다.",
        ),
        "FRIEND": (
            "{p:이/가} 몸으로 막았어!",
            "와, {p} 블록 미쳤다!",
            "{p}, 그걸 몸으로 막아 내네.",
        ),
    },
    "deflection": {
        "CASTER": (
            "공이 {p:을/를} 맞고 굴절됩니다.",
            "{p}의 몸에 맞은 공이 방향을 바꿉니다.",
            "{zone}에서 공이 {p:을/를} 스치며 굴절됩니다.",
        ),
        "ANALYST": (
            "{p}에게 맞고 굴절. {zone}에서 볼 궤적이 바뀝니다.",
            "{p:을/를} 맞은 공의 방향이 달라집니다. 예측하기 어려운 상황입니다.",
            "{zone}에서 {p}의 굴절, 볼이 엉뚱한 곳으로 흐릅니다.",
        ),
        "FRIEND": (
            "{p} 맞고 튀었어!",
            "어? {p:을/를} 맞고 방향이 바뀌었네.",
            "{p}한테 맞고 굴절됐어.",
        ),
    },
    "hit": {
        "CASTER": (
            "공이 {p}의 몸에 맞습니다.",
            "{p:이/가} 날아온 공에 맞습니다.",
            "{zone}에서 공이 {p:을/를} 맞고 튑니다.",
        ),
        "ANALYST": (
            "{p}에게 볼이 맞습니다. {zone}에서 흐름이 끊깁니다.",
            "{p:을/를} 맞고 볼이 튕겨 나옵니다.",
            "{zone}, {p}의 몸에 맞은 볼이 흐릅니다.",
        ),
        "FRIEND": (
            "아야, {p} 공에 맞았다.",
            "{p:이/가} 공 맞았어.",
            "{p} 몸에 맞고 튕겼네.",
        ),
    },
    "duel": {
        "CASTER": (
            "{p:이/가} 상대와 공을 다툽니다.",
            "{zone}에서 {p:이/가} 경합을 벌입니다.",
            "치열한 볼 다툼, {p:이/가} 뛰어듭니다.",
        ),
        "ANALYST": (
            "{p}의 볼 경합. {zone}에서 소유권을 다툽니다.",
            "{zone}에서 {p:이/가} 1대1 경합에 들어갑니다.",
            "{p:이/가} 경합에 참여합니다. 세컨드 볼이 관건입니다.",
        ),
        "FRIEND": (
            "{p:이/가} 몸싸움 들어간다.",
            "{zone}에서 {p} 공 다툼 중!",
            "{p}, 물러서지 않네.",
        ),
    },
    "duel_won": {
        "CASTER": (
            "{p:이/가} 경합에서 이겨 냅니다.",
            "{zone}에서 {p:이/가} 몸싸움을 이겨 냅니다.",
            "{p:이/가} 끈질기게 버티며 공을 지켜 냅니다.",
            "경합 승리, {p:이/가} 우위를 점합니다.",
        ),
        "ANALYST": (
            "{p}의 경합 승리. {zone}에서 소유권을 가져옵니다.",
            "{zone}에서 {p:이/가} 1대1을 이깁니다. 피지컬 우위가 드러납니다.",
            "{p:이/가} 경합에서 이기며 볼을 살려 냅니다.",
            "경합은 {p}의 승리. 볼을 지켜 냅니다.",
        ),
        "FRIEND": (
            "{p:이/가} 몸싸움 이겼다!",
            "{p} 힘 좋다, 안 밀리네.",
            "{zone}에서 {p:이/가} 이겨 냈어!",
            "{p}, 버티는 거 봐. 대단하다.",
        ),
    },
    "duel_lost": {
        "CASTER": (
            "{p:이/가} 경합에서 밀립니다.",
            "{zone}에서 {p:이/가} 몸싸움 끝에 공을 놓칩니다.",
            "{p:이/가} 상대와 부딪혔지만 이겨 내지 못합니다.",
            "아쉽습니다, {p:이/가} 경합에서 공을 내줍니다.",
        ),
        "ANALYST": (
            "{p}의 경합 패배. {zone}에서 소유권을 내줍니다.",
            "{zone}에서 {p:이/가} 1대1에서 밀립니다.",
            "{p:이/가} 경합에서 지며 수비 전환이 필요해집니다.",
            "1대1 경합, {p:이/가} 밀립니다. 소유권이 넘어갑니다.",
        ),
        "FRIEND": (
            "아, {p} 밀렸다.",
            "{p:이/가} 몸싸움에서 졌네.",
            "{zone}에서 {p:이/가} 힘에서 밀렸어.",
        ),
    },
    "tackle_won": {
        "CASTER": (
            "{p:이/가} 깔끔한 태클로 공을 빼앗습니다!",
            "{zone}에서 {p:이/가} 태클에 성공합니다.",
            "{p:이/가} 타이밍 좋은 태클로 공을 따냅니다.",
            "태클 성공! {p:이/가} 공을 따냅니다.",
        ),
        "ANALYST": (
            "{p}의 태클 성공. {zone}에서 볼을 탈취합니다.",
            "{zone}에서 {p:이/가} 정확한 타이밍에 발을 넣습니다.",
            "{p:이/가} 태클로 상대 전개를 끊어 냅니다.",
        ),
        "FRIEND": (
            "{p} 태클 나이스!",
            "와, {p:이/가} 깔끔하게 뺏었어!",
            "{zone}에서 {p} 태클 들어갔다, 성공!",
        ),
    },
    "tackle_lost": {
        "CASTER": (
            "{p:이/가} 태클을 시도했지만 공을 빼앗지 못합니다.",
            "{p}의 태클이 빗나갑니다.",
            "{zone}에서 {p:이/가} 태클했지만 상대가 먼저 빠져나갑니다.",
        ),
        "ANALYST": (
            "{p}의 태클 실패. {zone}에서 수비 뒷공간이 열립니다.",
            "{p:이/가} 발을 넣었지만 타이밍이 늦습니다.",
            "{zone}에서 {p}의 태클이 허공을 가릅니다.",
        ),
        "FRIEND": (
            "아, {p} 태클 헛쳤다.",
            "{p:이/가} 들어갔는데 못 뺏었어.",
            "{p} 태클이 늦었네.",
        ),
    },
    "takeon_won": {
        "CASTER": (
            "{p:이/가} 수비수를 제치고 나갑니다!",
            "{zone}에서 {p}의 개인기, 돌파에 성공합니다!",
            "{p:이/가} 일대일 돌파를 이겨 냅니다!",
        ),
        "ANALYST": (
            "{p}의 돌파 성공. {zone}에서 수적 우위를 만듭니다.",
            "{zone}에서 {p:이/가} 1대1 돌파로 수비 한 명을 지워 냅니다.",
            "{p:이/가} 드리블 돌파로 상대 블록을 흔듭니다.",
        ),
        "FRIEND": (
            "{p:이/가} 제쳤다! 와!",
            "{p} 개인기 봐, 그냥 뚫었어!",
            "{zone}에서 {p:이/가} 한 명 벗겨 냈어!",
        ),
    },
    "takeon_lost": {
        "CASTER": (
            "{p}의 돌파 시도가 막힙니다.",
            "{p:이/가} 제치려 했지만 수비에 걸립니다.",
            "{zone}에서 {p:이/가} 드리블 돌파에 실패합니다.",
        ),
        "ANALYST": (
            "{p}의 돌파 실패. {zone}에서 수비가 각을 잘 막았습니다.",
            "{p:이/가} 1대1에서 막힙니다. 지원이 부족했습니다.",
            "{zone}에서 {p}의 드리블이 차단됩니다.",
        ),
        "FRIEND": (
            "{p}, 제치려다 막혔네.",
            "아깝다, {p} 돌파 실패.",
            "{p:이/가} 너무 끌었어.",
        ),
    },
    "out": {
        "CASTER": (
            "공이 {line:을/를} 벗어납니다.",
            "{p}의 발을 떠난 공이 라인 밖으로 나갑니다.",
            "{zone}에서 공이 {line:을/를} 넘어갑니다.",
            "공이 밖으로 나가며 경기가 잠시 멈춥니다.",
        ),
        "ANALYST": (
            "볼 아웃. {zone}에서 {line:을/를} 넘어갑니다.",
            "{p}의 마지막 터치 후 볼이 {line:을/를} 벗어납니다.",
            "{zone}에서 볼이 라인 밖으로 나가며 흐름이 끊깁니다.",
        ),
        "FRIEND": (
            "공 나갔다.",
            "{p} 맞고 밖으로 나갔네.",
            "{line} 밖으로 나갔어, 잠깐 쉬어 가자.",
        ),
    },
    "throwin_ok": {
        "CASTER": (
            "{p}의 스로인으로 경기가 재개됩니다.",
            "{zone}에서 {t}의 스로인, {p:이/가} 던집니다.",
            "{p:이/가} 스로인을 동료에게 연결합니다.",
        ),
        "ANALYST": (
            "{p}의 스로인. {zone}에서 재개합니다.",
            "{zone}에서 {t}의 스로인, 짧게 연결해 소유를 이어 갑니다.",
            "{p:이/가} 스로인으로 볼을 동료에게 건넵니다.",
        ),
        "FRIEND": (
            "{p:이/가} 스로인 던졌어.",
            "{t} 스로인, {p:이/가} 던진다.",
            "{p}, 스로인 깔끔하게 연결.",
        ),
    },
    "throwin_fail": {
        "CASTER": (
            "{p}의 스로인이 상대에게 넘어갑니다.",
            "{p:이/가} 던진 공을 상대가 가져갑니다.",
            "{t}의 스로인, 연결되지 않습니다.",
        ),
        "ANALYST": (
            "{p}의 스로인 실패. {zone}에서 소유권을 잃습니다.",
            "{zone}에서 {t}의 스로인이 끊깁니다. 받을 선수의 움직임이 부족했습니다.",
            "{p:이/가} 던진 볼이 상대에게 차단됩니다.",
        ),
        "FRIEND": (
            "{p} 스로인 뺏겼어.",
            "아, {p:이/가} 던진 거 상대가 가져갔네.",
            "스로인인데 그걸 뺏기냐, {p}.",
        ),
    },
    "foul_throw": {
        "CASTER": (
            "{p}의 스로인 반칙이 선언됩니다.",
            "{p:이/가} 스로인 동작에서 반칙을 범합니다.",
            "파울 스로로 {p}의 스로인이 무효가 됩니다.",
        ),
        "ANALYST": (
            "{p}의 파울 스로. 공격권이 상대에게 넘어갑니다.",
            "{zone}에서 {p:이/가} 스로인 규정을 어깁니다.",
            "{p}의 스로인 반칙, 기본기에서 소유권을 잃습니다.",
        ),
        "FRIEND": (
            "{p}, 스로인 반칙이래!",
            "스로인을 잘못 던졌대, {p}.",
            "{p:이/가} 스로인 파울이라니, 보기 드문데.",
        ),
    },
    "goalkick_ok": {
        "CASTER": (
            "{p}의 골킥으로 경기가 재개됩니다.",
            "{p:이/가} 골킥을 길게 찹니다.",
            "{t:이/가} 골킥으로 다시 시작합니다.",
        ),
        "ANALYST": (
            "{p}의 골킥, {zone_end:으로/로} 연결됩니다.",
            "{p:이/가} 골킥을 {dist} 거리로 보냅니다. 빌드업의 출발점입니다.",
            "{t:이/가} 골킥으로 재개합니다. 전방 타깃을 향한 선택입니다.",
        ),
        "FRIEND": (
            "{p:이/가} 골킥 찼어.",
            "골킥, {p:이/가} 멀리 뻥.",
            "{p} 골킥, 잘 갔다.",
        ),
    },
    "goalkick_fail": {
        "CASTER": (
            "{p}의 골킥이 상대에게 향합니다.",
            "{p:이/가} 찬 골킥을 상대가 먼저 따냅니다.",
            "골킥이 연결되지 않습니다. {p:이/가} 아쉬워합니다.",
        ),
        "ANALYST": (
            "{p}의 골킥 실패. {zone_end}에서 소유권을 내줍니다.",
            "{p:이/가} 찬 골킥이 상대 경합에 걸립니다.",
            "{t}의 골킥이 연결되지 않습니다. 전방 타깃이 고립돼 있습니다.",
        ),
        "FRIEND": (
            "{p} 골킥, 상대한테 줬네.",
            "아, {p:이/가} 찬 거 뺏겼다.",
            "골킥부터 꼬였어, {p}.",
        ),
    },
    "freekick_ok": {
        "CASTER": (
            "{zone}에서 {t}의 프리킥, {p:이/가} 처리합니다.",
            "{p:이/가} 프리킥을 동료에게 연결합니다.",
            "{p:이/가} 프리킥으로 공격을 다시 엽니다.",
        ),
        "ANALYST": (
            "{p}의 프리킥, {zone}에서 {zone_end:으로/로} 연결됩니다.",
            "{zone}에서 {t}의 세트피스, {p:이/가} 처리합니다.",
            "{p:이/가} 프리킥으로 재개합니다. 약속된 움직임이 보입니다.",
        ),
        "FRIEND": (
            "{t} 프리킥! {p:이/가} 찬다.",
            "{p:이/가} 프리킥 연결했어.",
            "{zone}에서 프리킥, {p} 잘 찼다.",
        ),
    },
    "freekick_fail": {
        "CASTER": (
            "{p}의 프리킥이 동료에게 닿지 않습니다.",
            "{zone}에서 {p:이/가} 찬 프리킥, 상대가 걷어 냅니다.",
            "{t}의 프리킥 기회가 무산됩니다.",
        ),
        "ANALYST": (
            "{p}의 프리킥 실패. 세트피스 기회를 살리지 못합니다.",
            "{zone}에서 {p}의 프리킥이 수비에 차단됩니다.",
            "{t:은/는} 프리킥 상황에서 소유권을 잃습니다.",
        ),
        "FRIEND": (
            "{p} 프리킥, 아깝다.",
            "에이, {p:이/가} 찬 프리킥 막혔네.",
            "{t} 프리킥 날렸어.",
        ),
    },
    "corner_ok": {
        "CASTER": (
            "{t}의 코너킥, {p:이/가} 올립니다!",
            "{p:이/가} 코너킥을 문전으로 보냅니다!",
            "코너킥 상황, {p}의 킥이 동료에게 연결됩니다!",
        ),
        "ANALYST": (
            "{p}의 코너킥, {zone_end:을/를} 겨냥합니다.",
            "{t}의 코너킥. {p:이/가} 문전 혼전을 노립니다.",
            "{p:이/가} 코너킥을 동료에게 정확히 배달합니다.",
        ),
        "FRIEND": (
            "코너킥! {p:이/가} 찬다!",
            "{p} 코너킥 좋다, 누가 받았어!",
            "{t} 코너킥, 이거 기회야!",
        ),
    },
    "corner_fail": {
        "CASTER": (
            "{p}의 코너킥, 수비가 먼저 걷어 냅니다.",
            "{p:이/가} 찬 코너킥이 무위에 그칩니다.",
            "{t}의 코너킥 기회, 살리지 못합니다.",
        ),
        "ANALYST": (
            "{p}의 코너킥이 첫 번째 수비에 걸립니다.",
            "{t}의 코너킥 실패. 세트피스 효율이 떨어집니다.",
            "{p:이/가} 올린 코너킥이 연결되지 않습니다.",
        ),
        "FRIEND": (
            "아, {p} 코너킥 날렸네.",
            "{p} 코너킥, 바로 걷혔어.",
            "코너킥 아깝다, {t}.",
        ),
    },
    "cross_ok": {
        "CASTER": (
            "{p:이/가} 문전으로 크로스를 올립니다!",
            "{zone}에서 {p}의 크로스, 동료를 찾아갑니다!",
            "{p:이/가} 날카롭게 감아 올립니다!",
            "{p}의 크로스가 정확히 배달됩니다!",
        ),
        "ANALYST": (
            "{p}의 크로스, {zone}에서 {zone_end:으로/로} 연결됩니다.",
            "{zone}에서 {p:이/가} 크로스를 올립니다. 박스 안 숫자 싸움입니다.",
            "{p:이/가} {dist} 크로스로 문전에 기회를 만듭니다.",
        ),
        "FRIEND": (
            "{p} 크로스! 받아라!",
            "{p:이/가} 올렸어, 누가 머리 대!",
            "{zone}에서 {p} 크로스, 좋아!",
        ),
    },
    "cross_fail": {
        "CASTER": (
            "{p}의 크로스가 수비에 걸립니다.",
            "{zone}에서 {p:이/가} 크로스를 올렸지만 닿지 않습니다.",
            "{p}의 크로스가 허무하게 끊깁니다.",
            "크로스가 무위로 돌아갑니다. {p:이/가} 아쉬워합니다.",
        ),
        "ANALYST": (
            "{p}의 크로스 실패. {zone}에서 올린 볼이 차단됩니다.",
            "{p:이/가} 올린 크로스가 수비에 먼저 걸립니다. 박스 안 숫자가 부족합니다.",
            "{zone}에서 {p}의 크로스, 정확도가 떨어집니다.",
        ),
        "FRIEND": (
            "아, {p} 크로스 막혔어.",
            "{p} 크로스 또 끊겼네.",
            "{p:이/가} 올린 데 아무도 없었어.",
        ),
    },
    "shot_plain": {
        "CASTER": (
            "{p:이/가} {shot:을/를} 시도합니다!",
            "{zone}에서 {p}의 {shot}!",
            "{minute}, {p:이/가} 골문을 노립니다!",
        ),
        "ANALYST": (
            "{p}의 {shot}. {zone}에서 시도합니다.",
            "{zone}에서 {p:이/가} 슈팅 기회를 잡습니다.",
            "{minute}, {p}의 {shot} 시도입니다.",
        ),
        "FRIEND": (
            "{p} 찬다!",
            "{p:이/가} {shot} 때렸어!",
            "{zone}에서 {p} 슛!",
        ),
    },
    "shot_on": {
        "CASTER": (
            "{p}의 {shot}! 골키퍼 정면입니다!",
            "{zone}에서 {p:이/가} {shot:을/를} 날립니다! 골키퍼가 막아 냅니다!",
            "{minute}, {p}의 {shot:이/가} 골문으로 향합니다! 선방에 걸립니다!",
            "{p:이/가} 때린 {shot:이/가} 골문 안으로 향합니다!",
        ),
        "ANALYST": (
            "{p}의 유효 슈팅. {zone}에서 골문 안으로 향합니다.",
            "{zone}에서 {p:이/가} {shot:을/를} 골문 안으로 보냅니다. 골키퍼의 대처가 좋았습니다.",
            "{minute}, {p}의 {shot}, 유효 슈팅으로 이어집니다.",
        ),
        "FRIEND": (
            "{p} 슛! 아, 골키퍼가 막았어!",
            "{p:이/가} 때렸는데 키퍼 정면이야!",
            "와, {p} 거의 들어갈 뻔했어!",
            "{zone}에서 {p} {shot}! 키퍼 잘하네.",
        ),
    },
    "shot_off": {
        "CASTER": (
            "{p}의 {shot:이/가} 골문을 벗어납니다.",
            "{zone}에서 {p:이/가} {shot:을/를} 시도하지만 빗나갑니다.",
            "{p:이/가} 과감하게 때렸지만 골대를 외면합니다.",
            "{minute}, {p}의 {shot:이/가} 아쉽게 골문 밖으로 향합니다.",
        ),
        "ANALYST": (
            "{p}의 {shot}, 골문을 벗어납니다. {zone}에서는 각이 부족했습니다.",
            "{zone}에서 {p}의 슈팅, 정확도가 아쉽습니다.",
            "{minute}, {p}의 빗나간 {shot}. 슈팅 선택을 다시 볼 만합니다.",
        ),
        "FRIEND": (
            "{p} 슛, 아 빗나갔다!",
            "{p:이/가} 때렸는데 밖으로 나갔어.",
            "아이고 {p}, 그걸 못 넣네.",
            "{zone}에서 {p} 슛, 골문 외면!",
        ),
    },
    "shot_blocked": {
        "CASTER": (
            "{p}의 {shot:이/가} 수비에 막힙니다!",
            "{zone}에서 {p:이/가} 때렸지만 수비 몸에 걸립니다!",
            "{p:이/가} {shot:을/를} 시도합니다, 수비가 몸으로 막아 냅니다!",
        ),
        "ANALYST": (
            "{p}의 {shot:이/가} 블록에 걸립니다. {zone}의 수비 밀도가 높습니다.",
            "{zone}에서 {p}의 슈팅, 수비가 각을 정확히 막습니다.",
            "{p:이/가} 슈팅 타이밍을 잡았지만 블록에 막힙니다.",
        ),
        "FRIEND": (
            "{p} 슛! 막혔다!",
            "{p:이/가} 찼는데 수비가 몸으로 막았어.",
            "아, {p} 슛이 블록당했네.",
        ),
    },
    "shot_goal": {
        "CASTER": (
            "{p}의 {shot}! 골문을 가릅니다!",
            "{minute}, {p:이/가} {shot:을/를} 성공시킵니다!",
            "{zone}에서 {p:이/가} 때립니다, 들어갑니다!",
        ),
        "ANALYST": (
            "{p}의 {shot:이/가} 골로 연결됩니다. {zone}에서의 마무리입니다.",
            "{minute}, {p:이/가} {shot:을/를} 득점으로 완성합니다.",
            "{zone}에서 {p}의 마무리, 골키퍼가 손쓸 수 없는 코스입니다.",
        ),
        "FRIEND": (
            "{p} 슛! 들어갔다!!",
            "와아, {p:이/가} 넣었어!",
            "{p}, 그걸 넣네! 미쳤다!",
        ),
    },
    "shot_weak": {
        "CASTER": (
            "{p}의 {shot:이/가} 힘없이 굴러갑니다.",
            "{p:이/가} {shot:을/를} 시도하지만 위협적이지 않습니다.",
            "{zone}에서 {p}의 {shot}, 위력이 떨어집니다.",
        ),
        "ANALYST": (
            "{p}의 {shot}, 슈팅 품질이 낮습니다. {zone}에서 무리한 선택입니다.",
            "{zone}에서 {p:이/가} 때렸지만 기대 득점이 낮은 시도입니다.",
            "{p}의 약한 {shot}, 골키퍼에게 부담이 없습니다.",
        ),
        "FRIEND": (
            "{p} 슛, 힘이 하나도 없네.",
            "{p:이/가} 찬 거 데굴데굴 굴러갔어.",
            "에이 {p}, 그건 슛이 아니라 패스야.",
        ),
    },
    "shot_rush": {
        "CASTER": (
            "{p}의 {shot}, 골키퍼가 달려 나와 막아 냅니다!",
            "{p:이/가} 슈팅 각을 노리지만 골키퍼가 먼저 뛰쳐나옵니다!",
            "골키퍼의 과감한 전진, {p}의 {shot:을/를} 차단합니다!",
        ),
        "ANALYST": (
            "{p}의 {shot}, 골키퍼의 전진이 각을 지웁니다.",
            "{zone}에서 {p:이/가} 시도하지만 골키퍼가 뛰어나와 각을 좁힙니다.",
            "골키퍼의 러시아웃. {p}의 슈팅 공간이 사라집니다.",
        ),
        "FRIEND": (
            "{p} 슛! 키퍼가 튀어나왔어!",
            "키퍼 나오는 거 봐, {p} 당황했네.",
            "{p:이/가} 찼는데 키퍼가 몸 날려서 막았어!",
        ),
    },
    "goal": {
        "CASTER": (
            "{minute}, 골입니다! {p:이/가} 득점합니다! {state} 스코어 {score}.",
            "골! {p:이/가} 골망을 흔듭니다! 스코어 {score}.",
            "{p}의 득점! {state} 스코어는 {score}.",
            "{minute}, {t}의 {p}! 골입니다! {score}.",
        ),
        "ANALYST": (
            "{minute}, {p}의 득점. {state} 스코어 {score}.",
            "골. {zone}에서 {p:이/가} 마무리합니다. 스코어 {score}.",
            "{p}의 골로 스코어는 {score}. {state}",
        ),
        "FRIEND": (
            "골!! {p:이/가} 넣었어! {state} {score}!",
            "{p} 골! 이제 {score}!",
            "들어갔다! {p}! {score}, {state}",
        ),
    },
    "goal_plain": {
        "CASTER": (
            "{minute}, 골입니다! {p:이/가} 득점에 성공합니다!",
            "골! {p:이/가} 해냅니다! {t:이/가} 환호합니다!",
            "{p:이/가} 골망을 가릅니다! 골입니다!",
        ),
        "ANALYST": (
            "{minute}, {p}의 득점. {zone}에서의 마무리입니다.",
            "골. {p:이/가} 결정력을 보여 줍니다.",
            "{p}의 골, {t}의 공격 전개가 결실을 맺습니다.",
        ),
        "FRIEND": (
            "골!! {p:이/가} 넣었어!",
            "{p} 골! 와, 소름!",
            "들어갔다! {p} 최고!",
        ),
    },
    "own_goal": {
        "CASTER": (
            "{minute}, 아, 자책골입니다! {p:이/가} 고개를 숙입니다. 스코어 {score}.",
            "{p}의 자책골! {state} 스코어 {score}.",
            "불운한 자책골입니다. {state} 스코어 {score}.",
        ),
        "ANALYST": (
            "{minute}, {p}의 자책골. {state} 스코어 {score}.",
            "{zone}에서 {p}의 자책골. 스코어 {score}.",
            "수비 조직이 흔들리며 {p}의 자책골이 나옵니다. 스코어 {score}.",
        ),
        "FRIEND": (
            "헐, {p} 자책골! {score}, {state}",
            "아이고 {p}, 자책골이야. {score}.",
            "{p} 자책골이라니… {score}!",
        ),
    },
    "own_goal_plain": {
        "CASTER": (
            "{minute}, 자책골입니다! {p:이/가} 고개를 숙입니다.",
            "아, {p}의 자책골! {t}에게는 뼈아픈 실점입니다.",
            "불운한 장면, {p}의 발을 맞고 공이 골문으로 들어갑니다.",
        ),
        "ANALYST": (
            "{minute}, {p}의 자책골. 수비 조직이 무너진 결과입니다.",
            "{zone}에서 {p}의 자책골. 걷어 내는 각도가 문제였습니다.",
            "{p}의 자책골, {t}에게 큰 타격입니다.",
        ),
        "FRIEND": (
            "헐, {p} 자책골!",
            "아이고 {p}, 자책골이야…",
            "{p} 자책골… 이건 너무 아프다.",
        ),
    },
    "foul": {
        "CASTER": (
            "{p}의 파울이 선언됩니다.",
            "{zone}에서 {p:이/가} 파울을 범합니다.",
            "휘슬이 울립니다, {p}의 파울입니다.",
            "{p:이/가} 무리하게 들어가며 파울을 내줍니다.",
        ),
        "ANALYST": (
            "{p}의 파울. {zone}에서 상대 전개를 끊는 선택입니다.",
            "{zone}에서 {p:이/가} 파울로 흐름을 끊습니다. 상대에게 프리킥이 주어집니다.",
            "{p}의 파울, 수비 전환이 늦은 탓입니다.",
        ),
        "FRIEND": (
            "{p} 파울!",
            "아, {p:이/가} 밀었네. 파울이야.",
            "{zone}에서 {p} 파울, 좀 거칠었어.",
        ),
    },
    "handball": {
        "CASTER": (
            "{p}의 핸드볼 반칙이 선언됩니다.",
            "{zone}에서 {p}의 손에 공이 맞습니다, 핸드볼입니다.",
            "주심이 {p}의 핸드볼을 지적합니다.",
        ),
        "ANALYST": (
            "{p}의 핸드볼 반칙. {zone}에서 상대에게 프리킥을 내줍니다.",
            "{zone}에서 {p}의 팔에 볼이 닿습니다. 팔 위치가 문제였습니다.",
            "{p}의 핸드볼, 불필요한 반칙입니다.",
        ),
        "FRIEND": (
            "{p} 핸드볼이래!",
            "어, {p} 손에 맞았어. 핸드볼!",
            "{p}, 팔을 왜 들고 있었어.",
        ),
    },
    "yellow": {
        "CASTER": (
            "{minute}, {p:이/가} 옐로카드를 받습니다.",
            "주심이 {p}에게 경고를 줍니다.",
            "{p}의 {foul}, 결국 경고가 나옵니다.",
            "{t}의 {p}, 옐로카드입니다.",
        ),
        "ANALYST": (
            "{minute}, {p}에게 경고. 남은 시간 수비 운영에 부담이 생깁니다.",
            "{p}의 {foul}, 옐로카드로 이어집니다. 전술적 반칙으로 보입니다.",
            "{zone}에서 {p:이/가} 경고를 받습니다. 대인 방어 강도를 조절해야 합니다.",
        ),
        "FRIEND": (
            "{p} 옐로카드! 조심해야겠다.",
            "{p:이/가} 경고 받았어.",
            "아, {p} 옐로 나왔네.",
        ),
    },
    "second_yellow": {
        "CASTER": (
            "{minute}, {p:이/가} 두 번째 경고로 퇴장당합니다!",
            "경고 누적! {p:이/가} 그라운드를 떠납니다!",
            "{p}에게 두 번째 옐로카드, 레드카드로 이어집니다!",
        ),
        "ANALYST": (
            "{minute}, {p}의 경고 누적 퇴장. {t:은/는} 수적 열세에 놓입니다.",
            "{p}의 두 번째 경고. 전술 재조정이 불가피합니다.",
            "{p:이/가} 경고 누적으로 빠집니다. 한 명이 부족한 채로 버텨야 합니다.",
        ),
        "FRIEND": (
            "헐, {p} 경고 두 장이야! 퇴장!",
            "{p:이/가} 결국 나가네. 경고 누적이래.",
            "{p}, 두 번째 옐로… 이건 아니지.",
        ),
    },
    "red": {
        "CASTER": (
            "{minute}, 레드카드! {p:이/가} 곧바로 퇴장당합니다!",
            "주심이 {p}에게 레드카드를 꺼냅니다!",
            "{p}의 {foul}, 다이렉트 퇴장입니다! {t:은/는} 수적 열세에 놓입니다!",
        ),
        "ANALYST": (
            "{minute}, {p}의 다이렉트 퇴장. {t:은/는} 수비 구조를 다시 짜야 합니다.",
            "{p}에게 레드카드. 경기 흐름이 크게 바뀔 장면입니다.",
            "{zone}에서 {p}의 {foul}, 퇴장으로 이어집니다.",
        ),
        "FRIEND": (
            "레드카드! {p} 바로 퇴장이야!",
            "와, {p} 빨간 카드 받았어.",
            "{p:이/가} 그냥 쫓겨났네, 큰일이다.",
        ),
    },
    "offside": {
        "CASTER": (
            "{p:이/가} 오프사이드에 걸립니다.",
            "부심의 깃발이 올라갑니다, {p}의 오프사이드입니다.",
            "{p:이/가} 한발 일찍 나가며 오프사이드가 선언됩니다.",
        ),
        "ANALYST": (
            "{p}의 오프사이드. 침투 타이밍이 반 박자 빨랐습니다.",
            "{zone}에서 {p:이/가} 오프사이드 트랩에 걸립니다.",
            "{p}의 오프사이드, 상대 수비 라인 컨트롤이 좋습니다.",
        ),
        "FRIEND": (
            "{p} 오프사이드래!",
            "깃발 올라갔어, {p} 너무 빨리 나갔네.",
            "아, {p} 조금만 참지.",
        ),
    },
    "catch": {
        "CASTER": (
            "골키퍼 {p:이/가} 공을 안전하게 잡아 냅니다.",
            "{p:이/가} 공을 품에 안습니다.",
            "{p:이/가} 깔끔하게 캐칭합니다.",
        ),
        "ANALYST": (
            "{p}의 캐칭. 세컨드 볼 위험을 없앱니다.",
            "{zone}에서 {p:이/가} 볼을 잡아 냅니다. 안정적인 처리입니다.",
            "{p:이/가} 캐칭 후 역습 전개를 살핍니다.",
        ),
        "FRIEND": (
            "{p:이/가} 딱 잡았어.",
            "{p} 캐칭, 안정적이네.",
            "키퍼 {p}, 손에 쏙.",
        ),
    },
    "parry": {
        "CASTER": (
            "{p:이/가} 공을 쳐 냅니다!",
            "골키퍼 {p}의 선방! 공을 쳐 냅니다!",
            "{p:이/가} 몸을 날려 공을 걷어 냅니다!",
        ),
        "ANALYST": (
            "{p}의 펀칭. 잡기 어려운 볼을 안전한 방향으로 쳐 냅니다.",
            "{zone}에서 {p:이/가} 볼을 쳐 냅니다. 리바운드 대비가 필요합니다.",
            "{p}의 선방, 반응 속도가 돋보입니다.",
        ),
        "FRIEND": (
            "{p} 선방! 쳐 냈어!",
            "와, {p} 손끝으로 걷어 냈다!",
            "{p:이/가} 막았어! 키퍼 살아 있네.",
        ),
    },
    "error": {
        "CASTER": (
            "{p}의 실수가 나옵니다.",
            "{zone}에서 {p:이/가} 치명적인 실수를 범합니다.",
            "{p}의 판단 착오, 상대에게 기회를 내줍니다.",
        ),
        "ANALYST": (
            "{p}의 실수. {zone}에서 상대에게 기회를 허용합니다.",
            "{zone}에서 {p}의 판단 미스, 상대 슈팅으로 이어질 수 있는 장면입니다.",
            "{p:이/가} 실수를 범합니다. 압박 상황의 의사 결정이 아쉽습니다.",
        ),
        "FRIEND": (
            "아, {p} 실수했다.",
            "{p}, 그걸 놓치면 어떡해.",
            "{p:이/가} 실수해서 위험해졌어.",
        ),
    },
    "pause": {
        "CASTER": (
            "경기가 잠시 중단됩니다.",
            "{minute}, 경기가 잠시 멈춥니다.",
            "주심이 경기를 잠시 중단시킵니다.",
        ),
        "ANALYST": (
            "경기 중단. 양 팀이 전열을 정비할 시간입니다.",
            "{minute}, 경기가 잠시 멈춥니다. 흐름이 끊깁니다.",
            "잠시 휴지기입니다. 템포가 바뀔 수 있습니다.",
        ),
        "FRIEND": (
            "잠깐 멈췄네.",
            "경기 잠깐 쉬어 가는 중.",
            "{minute}인데 무슨 일이지? 잠깐 멈췄어.",
        ),
    },
    "line_support": {
        "CASTER": (
            "{p:이/가} 수비 라인을 받쳐 줍니다.",
            "{zone}에서 {p:이/가} 뒷공간을 커버합니다.",
            "{p:이/가} 라인을 맞추며 수비를 정비합니다.",
        ),
        "ANALYST": (
            "{p}의 커버 플레이. {zone}에서 수비 라인의 간격을 유지합니다.",
            "{p:이/가} 라인을 지원하며 뒷공간을 지웁니다.",
            "{zone}에서 {p}의 수비 지원, 라인 간격이 좋아집니다.",
        ),
        "FRIEND": (
            "{p:이/가} 뒤에서 받쳐 주네.",
            "{p}, 수비 커버 좋다.",
            "{zone}에서 {p:이/가} 빈자리 메워 줬어.",
        ),
    },
    "goal_miss": {
        "CASTER": (
            "{p:이/가} 결정적인 기회를 놓칩니다!",
            "아, {p}! 골이나 다름없는 찬스를 살리지 못합니다!",
            "{zone}에서 {p}의 슈팅이 빗나갑니다, 믿기 힘든 장면입니다!",
        ),
        "ANALYST": (
            "{p}의 빅 찬스 미스. {zone}에서 나와서는 안 될 실축입니다.",
            "{zone}에서 {p:이/가} 결정적 기회를 놓칩니다. 마무리 집중력이 아쉽습니다.",
            "{p}의 골 미스, 기대 득점이 높은 장면이었습니다.",
        ),
        "FRIEND": (
            "아니, {p}! 그걸 놓쳐?",
            "{p:이/가} 그 기회를 날렸어… 말도 안 돼.",
            "아, {p} 너무 아깝다!",
        ),
    },
    "goal_post": {
        "CASTER": (
            "{p}의 슈팅이 골대를 맞힙니다!",
            "골대! {p}의 슛이 골대를 강타합니다!",
            "{minute}, {p:이/가} 때린 공이 골대에 맞고 나옵니다!",
        ),
        "ANALYST": (
            "{p}의 슈팅, 골대를 맞습니다. 몇 센티미터 차이입니다.",
            "{zone}에서 {p}의 시도가 골대에 걸립니다.",
            "{minute}, {p}의 골대 강타. 운이 따르지 않습니다.",
        ),
        "FRIEND": (
            "골대!! {p} 아깝다!",
            "{p} 슛 골대 맞았어! 와, 진짜!",
            "아악, {p:이/가} 찬 거 골대야!",
        ),
    },
    "unknown": {
        "CASTER": (
            "{p}의 {type} 장면입니다.",
            "{zone}에서 {p}, {type} 상황입니다.",
            "{minute}, {p:와/과} 관련된 {type} 장면입니다.",
        ),
        "ANALYST": (
            "{p}: {type}. {zone}에서 기록된 장면입니다.",
            "{zone}에서 {p}의 {type}, 데이터에 기록됩니다.",
            "{type} 이벤트, {p}, {zone}입니다.",
        ),
        "FRIEND": (
            "{p}, {type}? 뭔가 했네.",
            "{zone}에서 {p} {type}!",
            "{p:이/가} {type} 했대.",
        ),
    },
}

# Running-score sentences for goal lines: st = the scoring team, n = the goal difference.
_STATES: Mapping[str, Mapping[str, str]] = {
    "CASTER": {
        "lead": "{st:이/가} 앞서 나갑니다!",
        "extend": "{st:이/가} {n}골 차로 달아납니다!",
        "level": "승부는 다시 원점입니다!",
        "chase": "{st:이/가} {n}골 차로 따라붙습니다!",
    },
    "ANALYST": {
        "lead": "{st:이/가} 리드를 잡습니다.",
        "extend": "{st:이/가} 격차를 {n}골로 벌립니다.",
        "level": "경기는 다시 균형을 이룹니다.",
        "chase": "{st:이/가} 격차를 {n}골로 좁힙니다.",
    },
    "FRIEND": {
        "lead": "{st:이/가} 앞서간다!",
        "extend": "{n}골 차야, {st} 신났다!",
        "level": "동점이야, 동점!",
        "chase": "{st:이/가} 따라붙었어!",
    },
}

# Position of each persona in the tone tuples below.
_VOICE_INDEX: Mapping[str, int] = {"CASTER": 0, "ANALYST": 1, "FRIEND": 2}
_ROUTINE: Final[tuple[Tone, Tone, Tone]] = ("calm", "analytical", "playful")
_PROMISING: Final[tuple[Tone, Tone, Tone]] = ("tense", "analytical", "excited")
_LETDOWN: Final[tuple[Tone, Tone, Tone]] = ("disappointed", "analytical", "disappointed")
_DANGER: Final[tuple[Tone, Tone, Tone]] = ("tense", "analytical", "tense")
_GOAL: Final[tuple[Tone, Tone, Tone]] = ("excited", "excited", "excited")
# (CASTER, ANALYST, FRIEND) tone per kind; kinds not listed are routine.
_TONES: Mapping[str, tuple[Tone, Tone, Tone]] = {
    "pass_box": _PROMISING,
    "cross_ok": _PROMISING,
    "corner_ok": _PROMISING,
    "freekick_ok": _PROMISING,
    "takeon_won": _PROMISING,
    "interception": _PROMISING,
    "tackle_won": _PROMISING,
    "block": _PROMISING,
    "parry": _PROMISING,
    "goal_post": ("tense", "analytical", "excited"),
    "pass_fail": _LETDOWN,
    "cross_fail": _LETDOWN,
    "corner_fail": _LETDOWN,
    "freekick_fail": _LETDOWN,
    "throwin_fail": _LETDOWN,
    "goalkick_fail": _LETDOWN,
    "takeon_lost": _LETDOWN,
    "duel_lost": _LETDOWN,
    "tackle_lost": _LETDOWN,
    "aerial_fail": _LETDOWN,
    "foul_throw": _LETDOWN,
    "shot_off": _LETDOWN,
    "shot_weak": ("disappointed", "analytical", "playful"),
    "goal_miss": _LETDOWN,
    "error": _LETDOWN,
    "own_goal": _LETDOWN,
    "own_goal_plain": _LETDOWN,
    "offside": ("disappointed", "analytical", "playful"),
    "shot_plain": _DANGER,
    "shot_on": _DANGER,
    "shot_blocked": _DANGER,
    "shot_rush": _DANGER,
    "yellow": ("tense", "analytical", "tense"),
    "foul": ("tense", "analytical", "disappointed"),
    "handball": ("tense", "analytical", "disappointed"),
    "second_yellow": ("tense", "analytical", "disappointed"),
    "red": ("tense", "analytical", "disappointed"),
    "shot_goal": _GOAL,
    "goal": _GOAL,
    "goal_plain": _GOAL,
}


@dataclass(frozen=True, slots=True)
class _Phrase:
    text: str
    fields: frozenset[str]
    # The slot the line opens with ("p" for "{p:이/가} ..."), or "" when it opens with text.
    lead: str
    # The opening word when it opens with text ("공이", "골!").
    lead_word: str


def _phrase(text: str) -> _Phrase:
    parts = list(string.Formatter().parse(text))
    fields = frozenset(name for _, name, _, _ in parts if name)
    literal, first_field = parts[0][0], parts[0][1]
    if not literal and first_field:
        return _Phrase(text, fields, first_field, "")
    return _Phrase(text, fields, "", literal.split(" ", 1)[0])


_PHRASES: Mapping[str, Mapping[str, tuple[_Phrase, ...]]] = {
    kind: {persona: tuple(_phrase(text) for text in texts) for persona, texts in bank.items()}
    for kind, bank in _BANKS.items()
}

# --- Classifying an action -----------------------------------------------------------------------

_SHOT_NOUNS: Mapping[str, str] = {
    "Shot": "슈팅",
    "Shot_Freekick": "프리킥 슈팅",
    "Penalty Kick": "페널티킥",
}
_SHOT_KINDS: Mapping[str | None, str] = {
    "On Target": "shot_on",
    "Off Target": "shot_off",
    "Blocked": "shot_blocked",
    "Goal": "shot_goal",
    "Low Quality Shot": "shot_weak",
    "Keeper Rush-Out": "shot_rush",
    None: "shot_plain",
}
_CARD_KINDS: Mapping[str, str] = {
    "Yellow_Card": "yellow",
    "Second_Yellow_Card": "second_yellow",
    "Direct_Red_Card": "red",
}
# Types whose result says whether they worked: (kind when it did, kind when it did not).
_TWO_WAY: Mapping[str, tuple[str, str]] = {
    "Cross": ("cross_ok", "cross_fail"),
    "Pass_Freekick": ("freekick_ok", "freekick_fail"),
    "Pass_Corner": ("corner_ok", "corner_fail"),
    "Goal Kick": ("goalkick_ok", "goalkick_fail"),
    "Throw-In": ("throwin_ok", "throwin_fail"),
    "Duel": ("duel_won", "duel_lost"),
    "Tackle": ("tackle_won", "tackle_lost"),
    "Take-On": ("takeon_won", "takeon_lost"),
    "Aerial Clearance": ("aerial_ok", "aerial_fail"),
}
# Types that carry no result (NaN) in K League.
_ONE_WAY: Mapping[str, str] = {
    "Pass Received": "received",
    "Ball Received": "ball_received",
    "Recovery": "recovery",
    "Interception": "interception",
    "Intervention": "intervention",
    "Clearance": "clearance",
    "Block": "block",
    "Deflection": "deflection",
    "Hit": "hit",
    "Out": "out",
    "Foul_Throw": "foul_throw",
    "Offside": "offside",
    "Catch": "catch",
    "Parry": "parry",
    "Error": "error",
    "Pause": "pause",
    "Defensive Line Support": "line_support",
    "Goal Miss": "goal_miss",
    "Goal Post": "goal_post",
}
_RESULT_WORDS: Mapping[str, str] = {
    "Successful": "성공",
    "Unsuccessful": "실패",
    "Off Target": "골문 밖",
    "On Target": "유효 슈팅",
    "Blocked": "블록",
    "Yellow_Card": "경고",
    "Goal": "골",
    "Low Quality Shot": "위력 없는 슈팅",
    "Direct_Red_Card": "퇴장",
    "Keeper Rush-Out": "골키퍼 전진",
    "Second_Yellow_Card": "경고 누적 퇴장",
}
_PASS_LIKE = frozenset({"Pass", "Cross", "Pass_Freekick", "Pass_Corner", "Throw-In", "Goal Kick"})
_GOAL_TYPES = frozenset({"Goal", "Own Goal"})
_ATTACKING = frozenset({"final_third", "box", "six"})


@dataclass(frozen=True, slots=True)
class _Shape:
    """The geometry of an action, made safe: finite numbers on the pitch."""

    x: float
    y: float
    end_x: float
    end_y: float
    dx: float
    dy: float
    distance: float


def _shape(action: Action) -> _Shape:
    x = min(max(_finite(action.start_x, 52.5), 0.0), _PITCH_X)
    y = min(max(_finite(action.start_y, 34.0), 0.0), _PITCH_Y)
    end_x = min(max(_finite(action.end_x, x), 0.0), _PITCH_X)
    end_y = min(max(_finite(action.end_y, y), 0.0), _PITCH_Y)
    dx, dy = end_x - x, end_y - y
    return _Shape(x, y, end_x, end_y, dx, dy, math.hypot(dx, dy))


def _pass_kind(shape: _Shape) -> str:
    ends_in_box = _depth(shape.end_x, shape.end_y) in ("box", "six")
    if ends_in_box and _depth(shape.x, shape.y) not in ("box", "six"):
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


def _classify(type_name: str, result: str | None, shape: _Shape) -> tuple[str, str | None]:
    """(kind, result to add as a note) for one action."""
    ok = result in (None, "Successful")
    failed = result == "Unsuccessful"
    if type_name == "Pass":
        if failed:
            return "pass_fail", None
        return _pass_kind(shape), None if ok else result
    if type_name in _TWO_WAY:
        good, bad = _TWO_WAY[type_name]
        if result is None and type_name in ("Duel", "Tackle", "Take-On"):
            return "duel", None  # a contest with no winner recorded
        if failed:
            return bad, None
        return good, None if ok else result
    if type_name in _SHOT_NOUNS:
        if result in _SHOT_KINDS:
            return _SHOT_KINDS[result], None
        return "shot_plain", result
    if type_name in ("Foul", "Handball_Foul"):
        if result in _CARD_KINDS:
            return _CARD_KINDS[result], None
        return ("foul" if type_name == "Foul" else "handball"), result
    if type_name in ("Goal", "Own Goal"):
        kind = "goal" if type_name == "Goal" else "own_goal"
        return kind, None if result in (None, "Successful", "Goal") else result
    if type_name == "Carry":
        kind = "carry_forward" if shape.dx >= 8.0 else "carry"
        return kind, None if ok else result
    if type_name in _ONE_WAY:
        return _ONE_WAY[type_name], None if ok else result
    return "unknown", result


# --- Names and score -----------------------------------------------------------------------------


def _team_name_by_id(info: MatchInfo | None, team_id: object) -> str:
    if info is None or team_id is None:
        return ""
    if team_id == info.home_team_id:
        return _clean(info.home_team_name_ko, _NAME_MAX_CHARS) or _clean(
            info.home_team_name, _NAME_MAX_CHARS
        )
    if team_id == info.away_team_id:
        return _clean(info.away_team_name_ko, _NAME_MAX_CHARS) or _clean(
            info.away_team_name, _NAME_MAX_CHARS
        )
    return ""


def _side(info: MatchInfo | None, team_id: object) -> int | None:
    """0 for the home team, 1 for the away team, None when the match info cannot tell."""
    if info is None or info.home_team_id is None or info.home_team_id == info.away_team_id:
        return None
    if team_id == info.home_team_id:
        return 0
    if team_id == info.away_team_id:
        return 1
    return None


@dataclass(frozen=True, slots=True)
class _GoalScore:
    home: int
    away: int
    side: int  # who scored: 0 home, 1 away


def _scores_after_goals(batch: Batch) -> dict[int, _GoalScore]:
    """The score right after each goal of the batch, by index, when it can be told.

    ``batch.score`` is the score at the batch's close, so walking back from the end and
    taking each goal off gives the score after every earlier one. A ``Goal`` row scores
    for the acting team, an ``Own Goal`` row for the other; a Shot with result Goal is
    the same goal as its Goal row and is not counted.
    """
    info = batch.match_info
    score = batch.score
    running = [score.home, score.away]
    known = all(isinstance(v, int) and not isinstance(v, bool) for v in running)
    found: dict[int, _GoalScore] = {}
    for index in range(len(batch.actions) - 1, -1, -1):
        action = batch.actions[index]
        if action.type_name not in _GOAL_TYPES:
            continue
        acting = _side(info, action.team_id)
        if acting is None:
            known = False  # cannot tell whose goal: earlier goals cannot be placed either
            continue
        side = acting if action.type_name == "Goal" else 1 - acting
        if not known or running[side] < 1 or running[1 - side] < 0:
            known = False
            continue
        found[index] = _GoalScore(running[0], running[1], side)
        running[side] -= 1
    return found


def _score_slots(goal: _GoalScore, info: MatchInfo | None, persona: str) -> dict[str, _Slot]:
    # Shorter names here: a score line carries both teams and must fit one line.
    home = _clean(_team_name_by_id(info, info.home_team_id), _SCORE_NAME_MAX_CHARS) if info else ""
    away = _clean(_team_name_by_id(info, info.away_team_id), _SCORE_NAME_MAX_CHARS) if info else ""
    home, away = home or "홈 팀", away or "원정 팀"
    scorer, other = (goal.home, goal.away) if goal.side == 0 else (goal.away, goal.home)
    difference = scorer - other
    if difference == 0:
        state = "level"
    elif difference == 1:
        state = "lead"
    elif difference > 1:
        state = "extend"
    else:
        state = "chase"
    sentence = _STATES[persona][state].format(
        st=_Slot(home if goal.side == 0 else away), n=abs(difference)
    )
    return {
        "score": _Slot(f"{home} {goal.home} : {goal.away} {away}"),
        "state": _Slot(sentence),
    }


# --- Writing ---------------------------------------------------------------------------------


def _seed(game_id: object, action_id: object, persona: str, kind: str) -> int:
    """A stable number per line (blake2b: the same in every process, unlike ``hash()``)."""
    key = f"{game_id}:{action_id}:{persona}:{kind}".encode("utf-8", "replace")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def _actor(action: Action, team: str) -> str:
    name = _clean(action.player_name_ko, _NAME_MAX_CHARS)
    if name:
        return name
    player_id = _finite(action.player_id, -1.0)
    number = f"{player_id:g}번 선수" if 0 <= player_id < 1e6 else "선수"
    return f"{team} {number}" if team else number


def _previous_passer(batch: Batch, index: int, action: Action, actor: str) -> str:
    if index == 0:
        return ""
    before = batch.actions[index - 1]
    if before.type_name not in _PASS_LIKE or before.team_id != action.team_id:
        return ""
    name = _clean(before.player_name_ko, _NAME_MAX_CHARS)
    return name if name and name != actor else ""


_NAME_SLOTS = frozenset({"p", "t", "prev"})


def _opening(phrase: _Phrase, slots: Mapping[str, _Slot]) -> str:
    """How a line opens. Two lines in a row opening with the same word, the same name or a
    pitch zone read as a pattern; different players opening two lines is play-by-play."""
    if phrase.lead in _NAME_SLOTS:
        return f"{phrase.lead}={slots[phrase.lead]}"
    return phrase.lead or phrase.lead_word


@dataclass(slots=True)
class _Picker:
    """Chooses phrasings: stable per line, varied within a batch, never twice in a row.

    The candidates are tried in an order fixed by the line's seed; the first one wins
    that, in this order of importance, is not the previous line's phrasing, does not
    write a line already written in the batch, does not open like the previous line (the
    same name, a zone, the same word) or name its zone, and is not used yet in the batch.
    """

    used: dict[str, set[int]]
    last: tuple[str, int] | None = None
    last_opening: str = ""
    last_zones: frozenset[str] = frozenset()
    written: set[str] = field(default_factory=set)

    def choose(
        self, kind: str, phrases: tuple[_Phrase, ...], slots: Mapping[str, _Slot], seed: int
    ) -> str:
        available = frozenset(slots)
        candidates = [i for i, phrase in enumerate(phrases) if phrase.fields <= available]
        if not candidates:  # every bank has a phrasing on the always-filled slots
            candidates = [0]
        start = seed % len(candidates)
        used = self.used.setdefault(kind, set())
        order = candidates[start:] + candidates[:start]

        def rank(i: int) -> tuple[bool, bool, bool, bool]:
            # Never the previous line's phrasing nor a line already written in this batch;
            # then one that does not open or place the ball like the last line; then one
            # not used yet in this batch.
            phrase = phrases[i]
            echoes = _opening(phrase, slots) == self.last_opening or bool(
                _zones_in(phrase, slots) & self.last_zones
            )
            repeated = phrase.text.format_map(slots) in self.written
            return ((kind, i) == self.last, repeated, echoes, i in used)

        chosen = min(order, key=rank)  # min is stable: ties keep the seeded order
        used.add(chosen)
        self.last = (kind, chosen)
        self.last_opening = _opening(phrases[chosen], slots)
        self.last_zones = _zones_in(phrases[chosen], slots)
        text = phrases[chosen].text.format_map(slots)
        self.written.add(text)
        return text


def _zones_in(phrase: _Phrase, slots: Mapping[str, _Slot]) -> frozenset[str]:
    return frozenset(str(slots[f]) for f in ("zone", "zone_end") if f in phrase.fields)


def _describe(
    batch: Batch,
    index: int,
    persona: str,
    picker: _Picker,
    goals: Mapping[int, _GoalScore],
) -> tuple[Tone, str]:
    action = batch.actions[index]
    info = batch.match_info
    tactical = persona == "ANALYST"
    type_name = action.type_name if isinstance(action.type_name, str) else ""
    raw_result = action.result_name if isinstance(action.result_name, str) else None
    result = raw_result if raw_result else None
    shape = _shape(action)
    kind, note = _classify(type_name, result, shape)

    team = _clean(action.team_name_ko, _NAME_MAX_CHARS) or _team_name_by_id(info, action.team_id)
    player_named = bool(_clean(action.player_name_ko, _NAME_MAX_CHARS))
    actor = _actor(action, team)
    slots: dict[str, _Slot] = {
        "p": _Slot(actor),
        "zone": _Slot(_zone(shape.x, shape.y, tactical)),
        "zone_end": _Slot(_zone(shape.end_x, shape.end_y, tactical)),
        "minute": _Slot(_minute(action.period_id, action.time_seconds)),
        "line": _Slot(_line(shape.x, shape.y)),
        "shot": _Slot(_SHOT_NOUNS.get(type_name, "슈팅")),
        "foul": _Slot("핸드볼 반칙" if type_name == "Handball_Foul" else "파울"),
        "type": _Slot(_clean(type_name, _TYPE_MAX_CHARS) or "기록되지 않은 동작"),
    }
    if team and player_named:  # a nameless actor already reads "<team> 선수"
        slots["t"] = _Slot(team)
    if shape.distance >= 3.0:
        slots["dist"] = _Slot(f"{shape.distance:.0f}m")
        slots["dir"] = _Slot(_direction(shape.dx, shape.dy, tactical))
    if kind == "received":
        passer = _previous_passer(batch, index, action, actor)
        if passer:
            slots["prev"] = _Slot(passer)
    if kind in ("goal", "own_goal"):
        goal = goals.get(index)
        if goal is None:
            kind += "_plain"
        else:
            slots.update(_score_slots(goal, info, persona))

    phrases = _PHRASES[kind][persona]
    seed = _seed(batch.game_id, action.action_id, persona, kind)
    text = picker.choose(kind, phrases, slots, seed)
    if note:
        text += f" (기록: {_RESULT_WORDS.get(note) or _clean(note, _TYPE_MAX_CHARS)})"
    tones = _TONES.get(kind, _ROUTINE)
    if kind == "freekick_ok" and _depth(shape.x, shape.y) not in _ATTACKING:
        tones = _ROUTINE  # a free kick in its own half restarts play, it threatens nothing
    tone = tones[_VOICE_INDEX[persona]]
    return tone, text


def _last_resort(action: Action) -> str:
    """A plain line for an action the phrasings could not describe (a bug, logged)."""
    try:
        return f"{_minute(action.period_id, action.time_seconds)}, 경기가 이어집니다."
    except Exception:
        return "경기가 이어집니다."


def _finish(text: str) -> str:
    """One clean line of at most :data:`MAX_DESCRIPTION_CHARS` characters, never empty."""
    line = _clean(text, MAX_DESCRIPTION_CHARS)
    return line or "경기가 이어집니다."


def write_template_commentary(batch: Batch, persona: Persona) -> tuple[CommentaryItem, ...]:
    """One Korean commentary item per action of ``batch``, in order, in ``persona``'s voice.

    Deterministic (the same batch and persona give the same items in every process) and
    total: it does not raise on any batch the schema accepts.
    """
    voice = persona.upper() if isinstance(persona, str) else "CASTER"
    if voice not in PERSONAS:
        voice = "CASTER"
    picker = _Picker(used={})
    try:
        goals = _scores_after_goals(batch)
    except Exception:
        logger.warning("pitchcast.template.score_failed", exc_info=True)
        goals = {}
    items: list[CommentaryItem] = []
    for index, action in enumerate(batch.actions):
        try:
            tone, text = _describe(batch, index, voice, picker, goals)
        except Exception:
            logger.warning(
                "pitchcast.template.line_failed",
                exc_info=True,
                extra={"game_id": batch.game_id, "action_id": action.action_id},
            )
            tone, text = "calm", _last_resort(action)
        time_seconds = action.time_seconds
        items.append(
            CommentaryItem(
                action_id=action.action_id,
                time_seconds=time_seconds,
                tone=tone,
                description=_finish(text),
            )
        )
    return tuple(items)
