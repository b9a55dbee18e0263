"""Commentary quality: offline checks of the lines pitchcast writes for a whole match.

Everything here measures; nothing here writes commentary. The checkers are pure and
deliberately independent of the code that wrote the lines (they never import
``pitchcast.commentary.korean`` or ``.slots``), so a bug there cannot hide itself:

* :mod:`.reading`: how a word, a number or a Latin name ends when read aloud;
* :mod:`.particles`: the particle after every name and number in a line;
* :mod:`.grounding`: roster names a line may not mention;
* :mod:`.claims`: scores, minutes and counts a line states, against the story;
* :mod:`.repetition`: sentence shapes, their frequency and spacing, distinct n-grams;
* :mod:`.fit`: tone against the event, line length against the prompt's bounds.

:mod:`.run` plays a match through the real batcher and commentary stage (no Kafka),
:mod:`.report` turns the lines into figures and a Markdown report, :mod:`.plots` draws
them (matplotlib, the optional ``eval`` extra). ``pitchcast eval`` ties them together.
"""
