"""Typed errors of the search stage (the others are re-exported from the stages below)."""

from __future__ import annotations

from corpus import VnSearchError


class QuerySyntaxError(VnSearchError, ValueError):
    """A query that cannot be parsed. ``position`` is the character offset of the problem."""

    def __init__(self, message: str, *, query: str = "", position: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.query = query
        self.position = position
