"""The fault suite: scenarios that break pitchcast's surroundings on purpose (worker
kills, rebalances, a stopped broker or Redis, failing LLM requests, malformed input,
lost acknowledgements, a failing dead-letter topic) against the real broker and Redis,
then check its promises on what the topics hold and print the figures.

``pitchcast chaos SCENARIO [--full]`` runs them (``scripts/chaos`` too); the CI runs
their reduced sizes (``tests/faults``). RELIABILITY.md lists them with their figures.
"""
