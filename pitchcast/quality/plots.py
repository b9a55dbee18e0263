"""PNG plots of an evaluation (matplotlib, the ``eval`` extra; Agg, no display).

One figure per measure, every persona in it: line lengths against the prompt's bounds,
shape frequency by rank, gaps between two uses of a shape, and (with a server) latency
per line. Labels are ASCII only: a default matplotlib font has no Hangul glyphs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["draw_plots"]

_DPI = 72
_SIZE = (7.0, 3.6)


def draw_plots(figures: dict[str, Any], out: Path) -> list[Path]:
    """Draw the plots of ``figures`` into ``out``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from pitchcast.commentary.prompt import LINE_CHARS

    personas: dict[str, Any] = figures["personas"]
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        for axes in fig.axes:
            if axes.get_legend_handles_labels()[0]:  # an empty legend warns
                axes.legend()
        path = out / name
        fig.tight_layout()
        fig.savefig(path, dpi=_DPI)
        plt.close(fig)
        written.append(path)

    fig, ax = plt.subplots(figsize=_SIZE)
    for persona, data in personas.items():
        hist = {int(k): v for k, v in data["length"]["histogram"].items()}
        if hist:
            xs = sorted(hist)
            ax.step(xs, [hist[x] for x in xs], where="mid", label=persona)
    for bound in LINE_CHARS:
        ax.axvline(bound, color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="characters per line (dashed: asked bounds)", ylabel="lines",
           title="Line length")  # fmt: skip
    save(fig, "lengths.png")

    fig, ax = plt.subplots(figsize=_SIZE)
    for persona, data in personas.items():
        counts = data["repetition"]["shape_counts"]
        lines = max(data["lines"], 1)
        if counts:
            ax.loglog(range(1, len(counts) + 1), [c / lines for c in counts], label=persona)
    ax.axhline(0.015, color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="shape rank", ylabel="share of lines (dashed: 1.5%)",
           title="Sentence shapes by frequency")  # fmt: skip
    save(fig, "shapes.png")

    fig, ax = plt.subplots(figsize=_SIZE)
    for persona, data in personas.items():
        gaps = {int(k): v for k, v in data["repetition"]["gap_histogram"].items()}
        if gaps:
            top = min(max(gaps), 400)
            values = [min(g, top) for g in gaps]
            ax.hist(values, weights=list(gaps.values()), bins=40, range=(0, top),
                    histtype="step", label=persona)  # fmt: skip
    ax.axvline(30, color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="lines between two uses of a shape (dashed: 30; capped at 400)",
           ylabel="gaps", title="Gaps between repeated shapes")  # fmt: skip
    save(fig, "gaps.png")

    if any(data.get("server", {}).get("latencies") for data in personas.values()):
        fig, ax = plt.subplots(figsize=_SIZE)
        for persona, data in personas.items():
            latencies = data.get("server", {}).get("latencies", [])
            if latencies:
                ax.plot(range(1, len(latencies) + 1), latencies, ".", markersize=2,
                        label=persona)  # fmt: skip
        ax.set(xlabel="LLM line", ylabel="seconds from request start",
               title="Latency to each line")  # fmt: skip
        save(fig, "latency.png")
    return written
