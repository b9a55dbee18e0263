"""Checks of a commentary line that the writer and the eval share. Pure, no I/O.

The commentary stage refuses a line these checks reject (:mod:`pitchcast.commentary.
validation`, the phrasebook); ``pitchcast eval`` (:mod:`pitchcast.quality`) counts them
over a whole match. They are written from the rules, never from the code that writes
the lines (they never import :mod:`pitchcast.commentary`), so a bug there cannot hide:

* :mod:`.reading`: how a word, a number or a Latin name ends when read aloud;
* :mod:`.particles`: the particle after every name and number in a line;
* :mod:`.claims`: scores, minutes and counts a line states, against the story;
* :mod:`.shapes`: sentence shapes (names, particles and numbers masked);
* :mod:`.wording`: claims the data cannot support and known mistakes (``wording.toml``);
* :mod:`.register`: the ending of a line (the register a persona speaks in).
"""
