"""The template writer: deterministic Korean commentary from the action data, no LLM.

* :mod:`.writer`: one line per action, a whole batch, or some rows of it;
* :mod:`.actions`: an action's kind, zone, depth and minute, from its data;
* :mod:`.phrasebook` (data in ``phrasebook.toml``): the phrasings, loaded and checked;
* :mod:`.storytelling`: the story sentences a line may add (a second goal, a press).

The names other modules use are re-exported here.
"""

from pitchcast.commentary.template.writer import (
    MAX_DESCRIPTION_CHARS,
    write_template_commentary,
    write_template_line,
    write_template_rows,
)

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "write_template_commentary",
    "write_template_line",
    "write_template_rows",
]
