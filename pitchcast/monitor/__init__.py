"""The booth monitor: web pages that show each live match as pitchcast comments it.

It reads the topics (``match-events``, ``commentary-lines``, ``commentary``,
``commentary-dlq``) with a consumer of its own, outside any consumer group; it is not
part of the worker and writes nothing.
"""
