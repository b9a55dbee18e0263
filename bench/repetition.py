"""Sentence repetition of the template writer over whole sample matches.

For each sample match, mode (live: lines written as actions arrive; batch: a closed
batch at a time) and persona: lines, distinct sentence shapes, the most used shape
with its share of the lines, and the shortest gap in lines between two uses of one
shape. Shapes are counted as ``pitchcast eval`` counts them
(:mod:`pitchcast.quality.repetition`: each sentence of a line, names, particles and
numbers masked); the match is played through the real batcher and commentary stage
(:mod:`pitchcast.quality.run`), at one density for the writer and the count, as
``pitchcast eval`` runs it: the shown lines only (PITCHCAST_DENSITY, default ``story``;
``--density every`` for a line per action). Targets (issue 10): top share <= 1.5 %,
gap >= 30.

    python bench/repetition.py              # the table
    python bench/repetition.py --top 5      # and each persona's five most used shapes
    python bench/repetition.py --modes live --density every
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from pitchcast.quality.command import build_service
from pitchcast.quality.repetition import repetition
from pitchcast.quality.report import match_names
from pitchcast.quality.run import MatchRun, Played, play_match, write_match
from pitchcast.settings import PERSONAS, load_settings
from pitchcast.streams.match_csv import read_match_info

DATA = Path(__file__).resolve().parents[1] / "data"


async def _write(played: Played, mode: str, density: str) -> MatchRun:
    # The template's phrasing rotation counts the shown lines of its density: the writer
    # and the count must use the same one (the count at `every` with a `story` writer
    # counted the silent rows' sentences, 6-21% for the top shape).
    service = build_service(load_settings(llm_backend="template", density=density))
    try:
        return await write_match(played, service, PERSONAS, mode=mode, density=density)
    finally:
        await service.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=0, help="show the N most used shapes")
    parser.add_argument("--matches", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--modes", nargs="+", default=["live", "batch"])
    parser.add_argument(
        "--density",
        choices=["every", "story", "key"],
        default=load_settings().density,
        help="what is told (default: PITCHCAST_DENSITY, story)",
    )
    args = parser.parse_args()
    print(f"density {args.density}: the shown lines")
    infos = read_match_info(DATA / "match_info.csv")
    print(
        f"{'match':>5} {'mode':5} {'persona':8} {'lines':>6} {'shapes':>6} {'top':>4}"
        f" {'share':>6} {'gap':>4}  most used shape"
    )
    for game in args.matches:
        played = play_match(DATA / f"events_metrica_{game}.csv", infos[game])
        for mode in args.modes:
            run = asyncio.run(_write(played, mode, args.density))
            names = match_names(run).roster
            for persona, lines in run.lines.items():
                texts = [line.text for line in lines]
                batches = [line.batch_index for line in lines]
                minutes = [line.clock_s / 60 for line in lines]
                r = repetition(texts, batches, minutes, names, top=max(args.top, 1))
                top = r.top[0]
                print(
                    f"{game:>5} {mode:5} {persona:8} {r.lines:>6} {r.distinct_shapes:>6}"
                    f" {top.lines:>4} {r.top_share:>6.2%} {r.shortest_gap_lines:>4}  {top.shape}"
                )
                for use in r.top[: args.top]:
                    print(f"{'':>28}{use.lines:>5}  {use.shape}")


if __name__ == "__main__":
    main()
