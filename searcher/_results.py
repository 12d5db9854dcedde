"""Plain result values: they outlive the searcher that produced them."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One ranked document. ``highlights`` are (start, end) offsets of matched words in ``snippet``,
    ``title_highlights`` the same in ``title``."""

    id: str
    rank: int
    score: float
    title: str
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()
    url: str | None = None
    source: str | None = None
    date: str | None = None
    author: str | None = None
    title_highlights: tuple[tuple[int, int], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["highlights"] = [list(h) for h in self.highlights]
        d["title_highlights"] = [list(h) for h in self.title_highlights]
        d["score"] = round(self.score, 4)
        return d


@dataclass(frozen=True)
class Results:
    """A page of hits, the total number of matching documents, facets and a suggestion."""

    query: str
    total: int
    hits: tuple[Hit, ...]
    page: int = 1
    limit: int = 10
    elapsed_ms: float = 0.0
    suggestion: str | None = None
    facets: dict[str, dict[str, int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.hits)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.hits)

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape printed by ``vnsearch search --format json`` (see README)."""
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "limit": self.limit,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "suggestion": self.suggestion,
            "facets": self.facets,
            "hits": [h.as_dict() for h in self.hits],
        }


@dataclass(frozen=True)
class TrendPoint:
    """One period of a trend: matching ``documents`` of ``total`` documents dated in it."""

    period: str
    documents: int
    total: int
    share: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TrendSeries:
    """One query's counts, one point per period in order."""

    query: str
    points: tuple[TrendPoint, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "points": [p.as_dict() for p in self.points]}


@dataclass(frozen=True)
class Trend:
    """Matching documents per period (``by`` is ``year`` or ``month``) for each query."""

    by: str
    series: tuple[TrendSeries, ...]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape printed by ``vnsearch trend --format json`` (see README)."""
        return {"by": self.by, "series": [s.as_dict() for s in self.series]}

    def plot(self, path: str | os.PathLike[str]) -> Path:
        """Save a line chart of each query's share per period (PNG or SVG, by the file's suffix).
        Needs matplotlib (``pip install 'vnsearch[plot]'``); raises ``InputError`` without it."""
        from ._plot import save_trend_plot

        return save_trend_plot(self, path)


@dataclass(frozen=True)
class KwicLine:
    """One occurrence in context: ``left`` + ``match`` + ``right`` is a piece of the document's
    text (line breaks shown as spaces); ``match`` is the occurrence as written."""

    id: str
    title: str
    date: str | None
    left: str
    match: str
    right: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
