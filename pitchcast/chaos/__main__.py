"""``python -m pitchcast.chaos SCENARIO [--full]``: the same as ``pitchcast chaos``."""

from pitchcast.chaos.cli import main

main()
