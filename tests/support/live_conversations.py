"""Live-mode chats for the fake LLM server's tests, written by hand in PLAN.md's format.

A batch's prompt in live mode grows one exchange per request: the first user message
carries the match header and the first rows, each later one only what is new (players
not seen yet, the score when it changed, the new action rows), and asks for the new
rows. The assistant turns are the lines written before. ``LIVE_TURNS`` holds the user
messages and assistant answers of one batch of 울산 HD - 전북 현대 (rows 1-7).
"""

from __future__ import annotations

from pitchcast.commentary.prompt import system_prompt

__all__ = ["LIVE_ANSWERS", "LIVE_TURNS", "live_chat", "repair_turn"]

_HEADER = """[경기] 2024-03-30 | 장소 울산문수축구경기장 | 전반
[팀]
ref,name,side
T1,울산 HD,홈
T2,전북 현대,원정
[스토리] 0:0, 슈팅 없음, 울산 HD 점유 우세
[스코어] T1 0:0 T2"""

_ACTIONS = "[액션]\nn,m,team,player,type,result,sx,sy,ex,ey"

# (user message, rows asked, references defined once it is sent)
LIVE_TURNS: tuple[tuple[str, list[int], set[str]], ...] = (
    (
        f"""{_HEADER}
[선수]
ref,team,name,pos
P1,T1,김민재,CB
P2,T1,손흥민,CF
{_ACTIONS}
1,10,T1,P1,Pass,Successful,30.5,20,45.25,22
2,10,T1,P2,Pass Received,,45.25,22,,
[요청] 1~2번, 2줄""",
        [1, 2],
        {"T1", "T2", "P1", "P2"},
    ),
    (
        f"""{_ACTIONS}
3,10,T1,P2,Carry,,45.25,22,60.12,18.99
[요청] 3번, 1줄""",
        [3],
        {"T1", "T2", "P1", "P2"},
    ),
    (
        f"""[선수]
ref,team,name,pos
P3,T1,이강인,CAM
{_ACTIONS}
4,10,T1,P2,Pass,Successful,60.12,18.99,80,40
5,10,T1,P3,Pass Received,,80,40,,
6,10,T1,P3,Shot,On Target,88,36.5,105,34
[요청] 4~6번, 3줄""",
        [4, 5, 6],
        {"T1", "T2", "P1", "P2", "P3"},
    ),
    (
        f"""[선수]
ref,team,name,pos
P4,T2,주민규,CF
[스코어] T1 1:0 T2
{_ACTIONS}
7,10,T2,P4,Catch,Successful,2,34,,
[요청] 7번, 1줄""",
        [7],
        {"T1", "T2", "P1", "P2", "P3", "P4"},
    ),
)

# What the model answered to each turn (the assistant messages between the user ones).
LIVE_ANSWERS: tuple[str, ...] = (
    "1|calm|{P1}이 뒤에서 {P2}에게 짧게 내줍니다.\n2|calm|{P2}가 중원에서 공을 받아 냅니다.",
    "3|calm|{P2}가 공을 몰고 앞으로 길게 전진합니다.",
    "4|calm|{P2}가 상대 진영으로 패스를 보냅니다.\n5|calm|{P3}이 공을 받아 냅니다.\n"
    "6|excited|{P3}이 골문을 향해 슈팅을 날립니다!",
    "7|calm|{P4}가 공을 안전하게 잡아 냅니다.",
)


def live_chat(turns: int, *, structured: bool = False) -> list[dict[str, str]]:
    """The chat of a live batch up to its ``turns``-th user message (1-based)."""
    messages = [{"role": "system", "content": system_prompt("CASTER", structured=structured)}]
    for index in range(turns):
        messages.append({"role": "user", "content": LIVE_TURNS[index][0]})
        if index < turns - 1:
            messages.append({"role": "assistant", "content": LIVE_ANSWERS[index]})
    return messages


def repair_turn(rows: str) -> str:
    """A repair request in live mode: what was wrong, and the rows to write again."""
    return (
        "[검토] 앞의 답은 그대로 쓸 수 없다:\n"
        "- 5번: 표에 없는 선수 이름\n"
        f"[요청] {rows}번, 1줄. 이 번호만 같은 형식으로 다시 쓴다. 다른 번호는 쓰지 않는다."
    )
