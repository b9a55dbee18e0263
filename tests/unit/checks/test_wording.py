"""The wording lexicon: each known mistake and each unsupported claim is caught, the right
phrasing is not, and regret is allowed only at a chance."""

from __future__ import annotations

import pytest

from pitchcast.checks.wording import backing_slips, find_wording, parse_lexicon


def _kinds(text: str, type_name: str | None = None) -> set[str]:
    return {f.kind for f in find_wording(text, type_name)}


# Each mistake of issue 16's list, as the phrasebook wrote it, and the fixed phrasing.
MISTAKES = [
    ("Player9의 슈팅이 그대로 골문을 가릅니다!", "Player9의 슈팅이 그대로 골망을 가릅니다!"),
    ("전반 3분, Player9가 슈팅을 성공시킵니다!", "Player9의 슈팅, 골로 연결됩니다!"),
    (
        "전반 7분, 슈팅이 골문으로 향합니다! 선방에 걸립니다!",
        "골문으로 향합니다! 골키퍼 선방에 막힙니다!",
    ),
    (
        "Player14가 과감하게 때렸지만 골대를 외면합니다.",
        "Player14가 때렸지만 슈팅은 골문을 벗어납니다.",
    ),
    (
        "자기 진영 오른쪽 쪽으로 Player21의 패스가 이어집니다.",
        "자기 진영 오른쪽으로 Player21의 패스가 이어집니다.",
    ),
    ("Home은 이제 2골 차 우위입니다.", "Home은 이제 두 골 차 우위입니다."),
    ("Home이 격차를 2골로 벌립니다!", "Home이 격차를 두 골로 벌립니다!"),
    ("해냅니다! Home 1 : 0 Away가 됩니다.", "해냅니다! 이제 1대 0."),
    ("터치라인 밖으로 공이 흘러 나갑니다.", "터치라인 밖으로 공이 흘러나갑니다."),
    (
        "Player9가 골문 안으로 보낸 슈팅, 골키퍼가 막아 내요.",
        "Player9가 골문으로 보낸 슈팅, 골키퍼가 막아 내요.",
    ),
]


@pytest.mark.parametrize(("wrong", "right"), MISTAKES)
def test_each_known_mistake_is_caught_and_its_fix_is_not(wrong: str, right: str) -> None:
    assert "mistake" in _kinds(wrong)
    assert _kinds(right) == set()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("골킥이 연결되지 않습니다. Player11이 입술을 깨뭅니다.", "unsupported.gesture"),
        ("Player15가 고개를 젓습니다.", "unsupported.gesture"),
        ("공을 받은 Player22, 주변을 한 번 둘러봅니다.", "unsupported.gesture"),
        ("크로스가 무위로 돌아갑니다. Player18이 아쉬워합니다.", "unsupported.feeling"),
        ("공을 받는 Player21, 침착합니다.", "unsupported.feeling"),
        ("Player22의 파울, 수비 전환이 늦은 탓입니다.", "unsupported.cause"),
        ("옐로카드로 이어집니다. 전술적 반칙으로 보입니다.", "unsupported.cause"),
        ("스로인이 끊깁니다. 받을 선수의 움직임이 부족했습니다.", "unsupported.cause"),
        ("점유율 관리 차원의 후방 패스, Player22의 판단입니다.", "unsupported.intent"),
        ("뒷공간을 노리는 긴 패스, Player12입니다.", "unsupported.aim"),
        ("아쉽습니다, Player16의 패스가 동료에게 닿지 않습니다.", "unsupported.regret"),
        ("Player2가 길목을 읽고 공을 빼앗습니다.", "unsupported.reading"),
        ("좋은 예측입니다, Player2가 패스를 차단하네요.", "unsupported.reading"),
        ("과감한 태클, Player5가 공을 걷어 냅니다!", "unsupported.manner"),
        ("서두르지 않는 Player7, 공을 뒤로 돌리죠.", "unsupported.manner"),
        ("옆으로 빼 주는 Player9, 센스 있네.", "unsupported.manner"),
        ("볼을 뒤로 돌립니다. 점유를 우선하는 선택이죠.", "unsupported.judgement"),
        ("인터셉트 성공. Player3의 수비 판단이 좋죠.", "unsupported.judgement"),
        ("인터셉트 성공. Home의 수비 조직이 제 역할을 하죠.", "unsupported.judgement"),
        # What the template itself said before s20 (a fan's read of an unseen match):
        ("Player9가 시선을 돌려 옆으로 패스하죠.", "unsupported.gesture"),
        ("발을 쭉 뻗은 Player9, 정확한 태클!", "unsupported.gesture"),
        ("패스 받은 Player9, 주변 보는 중.", "unsupported.gesture"),
        ("파울입니다. Player9가 상대를 넘어뜨립니다.", "unsupported.gesture"),
        ("Player9가 뒤로 빼서 다시 시작하자는 거야.", "unsupported.intent"),
        ("공을 넘겨받은 Player9, 다음 동작을 준비합니다.", "unsupported.intent"),
        ("Player1이 캐칭 후 역습 전개를 살펴요.", "unsupported.reading"),
        ("Player9, 앞쪽 보고 바로 패스하네.", "unsupported.reading"),
        ("볼을 끌며 Player9가 패스 타이밍을 잽니다.", "unsupported.reading"),
        ("Player9가 머뭇거리지 않고 공을 멀리 처리하네요.", "unsupported.manner"),
        ("Player9가 날카롭게 감아 올립니다!", "unsupported.manner"),
        ("Player9가 수평 패스로 템포를 조절하죠.", "unsupported.manner"),
        ("Player9 빠르다, 공 먼저 잡았어.", "unsupported.manner"),
        ("경합 성공. Player9의 몸 쓰는 타이밍이 정확해요.", "unsupported.body"),
        ("볼 경합에서 Player9가 밀립니다. 피지컬 싸움의 열세입니다.", "unsupported.body"),
        ("Player9의 대인 방어가 한 박자 늦었습니다.", "unsupported.body"),
        ("Player9의 돌파 성공. 수적 우위를 만듭니다.", "unsupported.offball"),
        ("크로스가 수비에 먼저 걸립니다. 박스 안 숫자가 부족하죠.", "unsupported.offball"),
        ("사이드 전환으로 약한 쪽 측면을 공략합니다.", "unsupported.offball"),
        (
            "Player9의 슈팅, 골문을 벗어납니다. 페널티 박스 중앙에서는 각이 부족했습니다.",
            "unsupported.cause",
        ),
        ("앞에 공간 있었지, Player9가 잘 봤다.", "unsupported.reading"),
        ("숨 좀 고르자는 거지, Player9 백패스.", "unsupported.intent"),
        ("급할 거 없다는 Player9, 뒤로 툭.", "unsupported.intent"),
        ("Player9, 한 방에 넘기려고 하네.", "unsupported.intent"),
        ("앞이 막혔나 봐, Player9가 백패스해.", "unsupported.cause"),
        ("Player9 힘 좋다, 안 밀리네.", "unsupported.body"),
        ("상대가 더 셌네, Player9.", "unsupported.body"),
        ("휘슬 불었다, Player9가 걸었어.", "unsupported.gesture"),
        ("아, Player9가 밀었네. 파울이야.", "unsupported.gesture"),
        ("Player9 파울, 좀 거칠었어.", "unsupported.manner"),
        ("Player9가 받아 자기 진영 중앙에서 다음 전개를 준비해요.", "unsupported.intent"),
        ("Player9가 볼을 받으며 다음 패스 각을 확인하죠.", "unsupported.intent"),
        ("Player9가 15m 걷어 내기로 수비 라인을 올릴 시간을 벌죠.", "unsupported.intent"),
        ("Player9가 안전을 우선해 볼을 걷어 내요.", "unsupported.intent"),
        ("Player9의 롱 스위치. 상대 수비의 횡 이동을 강요하죠.", "unsupported.offball"),
        ("태클 성공, Player9입니다. 볼만 정확히 건드렸습니다.", "unsupported.manner"),
        ("Home의 코너킥 실패. 세트피스 효율이 떨어지죠.", "unsupported.judgement"),
        ("자리를 잡고 있던 Player9가 공을 받네요.", "unsupported.offball"),
        ("재빠르게 공을 따낸 Player9입니다.", "unsupported.manner"),
        ("Player9 터치 부드럽다.", "unsupported.manner"),
        ("Player9가 몸으로 공을 지키며 받아 내네요.", "unsupported.manner"),
        ("와, Player9 어디로 올지 알고 있었네!", "unsupported.reading"),
        ("Player9의 슈팅, 관중석이 술렁입니다.", "unsupported.crowd"),
        ("골! 경기장이 들썩입니다!", "unsupported.crowd"),
        # What FRIEND said of a tackle, a carry, a duel lost (s22: a fan's read): the
        # data has the tackle's result, the carry's path, the duel's loser, not how.
        ("Player9, 쭉 들어가서 공만 쏙!", "unsupported.manner"),
        ("태클 봐! Player9 깨끗하게 뺏었어!", "unsupported.manner"),
        ("와, Player9가 깔끔하게 뺏었어!", "unsupported.manner"),
        ("Player9 볼 터치 좋다.", "unsupported.manner"),
        ("발밑에 공 붙여 놨어, Player9.", "unsupported.manner"),
        ("Player9가 공 딱 붙이고 있네.", "unsupported.manner"),
        ("Player9 발밑에서 공이 놀고 있어.", "unsupported.manner"),
        ("Player9, 천천히 몰고 가네.", "unsupported.manner"),
        ("살살 몰고 가는 Player9, 아직 안 뺏겼어.", "unsupported.manner"),
        ("툭툭 치면서 Player9가 각 보네.", "unsupported.reading"),
        ("부딪혔는데 Player9가 튕겨 나갔어.", "unsupported.body"),
        # CASTER's carry, duel and tackle lines (s22): pressure held off, timing, manner.
        ("Player9가 상대 진영에서 공을 지키며 버팁니다.", "unsupported.manner"),
        ("볼 키핑, Player9가 안정적으로 공을 간수합니다.", "unsupported.manner"),
        ("Player9가 공을 몰며 소유를 지키네요.", "unsupported.manner"),
        ("Player9가 깔끔한 태클로 공을 빼앗습니다!", "unsupported.manner"),
        ("짧게 드리블하며 Player9가 각을 만들죠.", "unsupported.intent"),
        ("Player9의 백패스, 공격을 다시 정비하죠.", "unsupported.intent"),
        ("Player9, 볼 다툼에서 한발 늦네요.", "unsupported.body"),
        # ANALYST (s22): a forecast, the defenders' intent, the effect on the other
        # team's shape, the body, the speed of play.
        ("Player9의 패스 미스, 상대에게 역습 기회가 생길 수 있습니다.", "unsupported.forecast"),
        ("Player9가 경합에서 지며 수비 전환이 필요해져요.", "unsupported.forecast"),
        ("볼 경합에서 Player9가 이깁니다. 이 지역 싸움이 중요합니다.", "unsupported.forecast"),
        ("상대 진영에서 Player9가 오프사이드 트랩에 걸리죠.", "unsupported.intent"),
        ("짧은 드리블로 위치를 조정하는 Player9!", "unsupported.intent"),
        ("Player9가 옆으로 공을 돌려 상대 수비를 좌우로 흔들어요.", "unsupported.offball"),
        ("Player9가 몸 방향을 바꾸며 볼을 운반합니다.", "unsupported.gesture"),
        ("Player9의 수직 패스입니다. Home은 앞쪽으로 빠르게 전개합니다.", "unsupported.manner"),
        # ANALYST's pass lines (s22): where the other team's players stand, a reading.
        ("상대 라인 사이로 들어가는 전진 패스, Player9!", "unsupported.offball"),
        ("전방 패스 길을 찾아낸 Player9!", "unsupported.reading"),
        # What the test LLM said (s22): an intent, the crowd.
        ("Player9가 태클로 공을 빼앗으려 합니다.", "unsupported.intent"),
        ("Player9 드리블로 제치려 해!", "unsupported.intent"),
        ("골! Home 난리 났어!", "unsupported.crowd"),
        # The last read-through's leftovers (s22): a free teammate is off the ball; keeping
        # the ball is a reading of a pass; how steadily a keeper caught, and what a side
        # must now endure, are no facts.
        ("앞쪽 빈 동료를 Player9가 찾아냅니다.", "unsupported.offball"),
        ("소유를 지키는 백패스, Player9가 후방으로 볼을 돌리죠.", "unsupported.manner"),
        ("공을 지키는 횡패스, Player9가 볼을 옮겨요.", "unsupported.manner"),
        ("Player9가 깔끔하게 캐칭합니다.", "unsupported.manner"),
        ("Player9 캐칭, 안정적이네.", "unsupported.manner"),
        ("Player9가 빠집니다. 한 명이 부족한 채로 버텨야 해요.", "unsupported.forecast"),
        # ANALYST's and CASTER's carry lines: waiting for team-mates, making an angle,
        # buying time, pulling a line are intents and off-ball play; a phase is a reading.
        ("공을 소유한 Player9, 동료들의 움직임을 기다립니다.", "unsupported.intent"),
        ("Player9가 볼을 운반하며 패스 각을 만듭니다.", "unsupported.intent"),
        ("드리블로 시간을 버는 Player9!", "unsupported.intent"),
        ("Player9가 볼을 끌며 상대 라인을 끌어당기려 해요.", "unsupported.intent"),
        ("소유 안정화 단계입니다. Player9가 볼을 발밑에 두죠.", "unsupported.manner"),
        # 한 번 is an adverb (once, just), not a figure behind the judgement.
        ("옆으로 한 번 돌립니다. Player9의 선택입니다.", "unsupported.judgement"),
    ],
)
def test_claims_the_data_cannot_support_are_caught(text: str, kind: str) -> None:
    assert kind in _kinds(text, "Pass")


def test_regret_and_aim_are_allowed_at_a_chance_only() -> None:
    shot = "Player8의 슈팅, 골문을 노렸지만 아쉽게 벗어납니다."
    assert _kinds(shot, "Shot") == set()
    assert {"unsupported.regret", "unsupported.aim"} <= _kinds(shot, "Pass")


def test_a_judgement_with_a_figure_behind_it_passes() -> None:
    """ANALYST may judge when the line states the figure (issue 16: a judgement backed by
    the story's figures); the same words without one are unsupported."""
    assert _kinds("오늘 3번째 슈팅, 슈팅 선택이 과감하진 않아요.", "Shot") == {"unsupported.manner"}
    assert _kinds("Player8의 선택이죠.", "Pass") == {"unsupported.judgement"}
    assert _kinds("두 번 연속 끊었습니다. 좋은 판단이죠.", "Interception") == set()


@pytest.mark.parametrize(
    "text",
    [
        # The count of cards backs the sending-off, not what the team must do next.
        "Player8의 두 번째 경고. 전술 재조정이 불가피하죠.",
        "전술 재조정이 불가피하죠.",
        "Player8의 다이렉트 퇴장. Home은 수비 구조를 다시 짜야 합니다.",
        "Player8이 경고를 받습니다. 대인 방어 강도를 조절해야 해요.",
        "후반 30분, Player8에게 경고. 남은 시간 수비 운영에 부담이 생깁니다.",
        # Nor whether the referee was right.
        "Player8, 두 번째 옐로… 이건 아니지. Home은 이걸로 두 번째 경고네.",
    ],
)
def test_what_must_follow_a_card_is_no_fact_even_with_a_count(text: str) -> None:
    """A card's line may say what the data shows (a player booked or sent off, the
    team's cards so far, a player fewer), not a forecast of the team's tactics or a
    verdict on the call: a count in the line backs the card, not the forecast (the
    judgement kind's ``unless`` let "두 번째 경고. 전술 재조정이 불가피하죠" through)."""
    assert "unsupported.forecast" in _kinds(text, "Foul")


def test_what_a_card_leaves_is_a_fact() -> None:
    for text in (
        "Player8의 경고 누적 퇴장. Home은 한 명이 빠진 채로 뛰어야 합니다.",
        "Player8에게 옐로카드. 남은 시간은 경고를 안고 뜁니다.",
    ):
        assert _kinds(text, "Foul") == set(), text


def test_plain_commentary_passes() -> None:
    for text in (
        "Player9가 앞쪽 동료에게 패스를 건넵니다.",
        "전반 2분, 골입니다! Player9가 득점합니다! Home이 앞서 나갑니다! 스코어 1대 0.",
        "자기 진영 왼쪽에서 Player20이 패스를 받습니다.",
    ):
        assert find_wording(text) == []


def test_a_bad_pattern_names_its_entry() -> None:
    with pytest.raises(ValueError, match=r"\[unsupported.x\] bad pattern"):
        parse_lexicon('[unsupported.x]\npatterns = ["("]\n')


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("티아고의 패스가 오른쪽 뒤로 흐르네요.", "티아고"),  # 고의: intent
        ("박수일이 공을 받습니다.", "박수일"),  # 박수: a gesture
        ("정석화의 패스입니다.", "정석화"),  # 정석: a judgement
        ("수원 삼성은 디에고의 백패스로 공을 뒤로 돌리네요.", "디에고"),
    ],
)
def test_a_name_that_holds_a_word_of_the_lexicon_is_not_a_claim(text: str, name: str) -> None:
    """The names of the match are masked first (s20: every line about 티아고 read as
    intent, 고의); the same words outside a name are still caught, and so are the
    known mistakes written around a name."""
    assert find_wording(text, "Pass", names=[name]) == []
    claim = f"{name}의 파울, 고의로 보입니다."
    assert "unsupported.intent" in {f.kind for f in find_wording(claim, "Foul", names=[name])}
    mistake = f"{name}의 슈팅이 그대로 골문을 가릅니다!"
    assert {f.kind for f in find_wording(mistake, "Shot", names=[name])} == {"mistake"}


def test_a_figure_inside_a_name_backs_no_judgement() -> None:
    """'Kim 2' is a name, not a figure: its judgement is still unsupported."""
    assert "unsupported.judgement" in {
        f.kind for f in find_wording("Kim 2의 완벽한 패스.", "Pass", names=["Kim 2"])
    }


def test_a_backing_friend_neither_regrets_nor_praises_the_other_side() -> None:
    """Said of the other side's action, regret and praise put a fan on the wrong side
    (s20: FRIEND backing 수원 삼성 said '크로스 아깝다, 엄원상.' of FC서울's cross)."""
    assert backing_slips("크로스 아깝다, 엄원상.", names=["엄원상"]) == ["아깝"]
    assert backing_slips("패스 좋다, 세징야가 잘 받았네.", names=["세징야"]) == ["좋다"]
    assert backing_slips("에이, 권창훈이 찬 프리킥 막혔네.") == ["에이"]
    assert backing_slips("휴, 엄원상이 찬 거 골문 밖이야.", names=["엄원상"]) == []
    assert backing_slips("최고야가 공을 받았어.", names=["최고야"]) == []  # a name, masked
