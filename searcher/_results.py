"""Plain result values: they outlive the searcher that produced them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One ranked document. ``highlights`` are (start, end) offsets of matched words in ``snippet``."""

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

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["highlights"] = [list(h) for h in self.highlights]
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
