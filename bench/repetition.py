"""Sentence repetition of the template writer over whole sample matches.

For each sample match and persona: lines, distinct sentence shapes (names and numbers
masked, :mod:`pitchcast.testing.repetition`), the most used shape with its count and
share, the shortest gap in lines between two uses of one shape, and the batches whose
ten lines are all different. Batches are formed as the batcher closes them, each with
the story at its open. Targets (issue 10): top share <= 1.5 %, shortest gap >= 30.

    python bench/repetition.py            # the table
    python bench/repetition.py --top 5    # and each persona's five most used shapes
    python bench/repetition.py --strict   # zones and directions masked too (phrasings)
"""

from __future__ import annotations

import argparse
from collections import Counter

from pitchcast.commentary.template import write_template_commentary
from pitchcast.settings import PERSONAS
from pitchcast.testing.repetition import measure, sample_batches, shapes_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=0, help="show the N most used shapes")
    parser.add_argument("--matches", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--strict", action="store_true", help="mask pitch words as well")
    args = parser.parse_args()
    print(
        f"{'match':>5} {'persona':8} {'lines':>6} {'shapes':>6} {'top':>4} {'share':>6}"
        f" {'gap':>4} {'distinct batches':>17}  most used shape"
    )
    for game in args.matches:
        batches = sample_batches(game)
        for persona in PERSONAS:
            items = [write_template_commentary(b, persona) for b in batches]
            r = measure(batches, items, strict=args.strict)
            print(
                f"{game:>5} {persona:8} {r.lines:>6} {r.shapes:>6} {r.top_count:>4}"
                f" {r.top_share:>6.2%} {r.min_gap:>4} {r.distinct_batches:>8}/{r.batches:<8}"
                f"  {r.top_shape}"
            )
            if args.top:
                for shape, count in Counter(
                    shapes_of(batches, items, strict=args.strict)
                ).most_common(args.top):
                    print(f"{'':>22}{count:>5}  {shape}")


if __name__ == "__main__":
    main()
