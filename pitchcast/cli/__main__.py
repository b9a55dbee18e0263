"""``python -m pitchcast.cli``: the same as the ``pitchcast`` command."""

from pitchcast.cli import main

main()
