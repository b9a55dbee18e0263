"""Commentary quality: offline checks of the lines pitchcast writes for a whole match.

Everything here measures; nothing here writes commentary. The line checks the
commentary stage shares (reading, particles, claims, sentence shapes) live below it, in
:mod:`pitchcast.checks`; the eval's own, as independent of the writer's code:

* :mod:`.grounding`: roster names a line may not mention;
* :mod:`.repetition`: sentence shapes' frequency and spacing, distinct n-grams;
* :mod:`.fit`: tone against the event, line length against the prompt's bounds.

:mod:`.run` plays a match through the real batcher and commentary stage (no Kafka),
:mod:`.report` turns the lines into figures and a Markdown report, :mod:`.plots` draws
them (matplotlib, the optional ``eval`` extra). ``pitchcast eval`` ties them together.
"""
