"""Trends: how many documents match a query in each year or month, and their share of that period."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._errors import QuerySyntaxError
from ._results import Trend, TrendPoint, TrendSeries

if TYPE_CHECKING:
    import numpy as np

    from ._searcher import Searcher

BY = {"year": 4, "month": 7}
"""Period name -> length of its ISO prefix (``2020``, ``2020-06``)."""


def periods(first: str, last: str, by: str) -> list[str]:
    """Every period from ``first`` to ``last``, both included.

    >>> periods("2019-11", "2020-02", "month")
    ['2019-11', '2019-12', '2020-01', '2020-02']
    >>> periods("2018", "2020", "year")
    ['2018', '2019', '2020']
    """
    if by == "year":
        return [str(y) for y in range(int(first), int(last) + 1)]
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while (y, m) <= (int(last[:4]), int(last[5:7])):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _by_period(searcher: "Searcher", docnums: "np.ndarray", width: int) -> Counter[str]:
    """Documents per period; a document dated less precisely than the period (``2020`` when
    counting months) is in none, as a search for that month would not find it."""
    dates = searcher._evaluator().column_values("date", docnums)  # noqa: SLF001 (same package)
    return Counter(d[:width] for d in dates if isinstance(d, str) and len(d) >= width)


def trend(searcher: "Searcher", queries: Sequence[str], *, by: str = "year", source: str | None = None,
          author: str | None = None, date_from: str | None = None, date_to: str | None = None,
          accents: str = "auto", match: str = "any") -> Trend:
    """See :meth:`searcher.Searcher.trend`."""
    if by not in BY:
        raise QuerySyntaxError(f"unknown period {by!r}", hint="Use year or month.")
    if not queries or not all(q and q.strip() for q in queries):
        raise QuerySyntaxError("the query is empty", hint='Give one or more queries, e.g. vnsearch trend "nông thôn mới".')
    width = BY[by]
    _compiled, every = searcher._select(None, accents=accents, match=match, every=True,  # noqa: SLF001
                                        source=source, author=author, date_from=date_from, date_to=date_to)
    totals = _by_period(searcher, every.ids, width)
    span = periods(min(totals), max(totals), by) if totals else []
    series = []
    for query in queries:
        _compiled, matches = searcher._select(query, accents=accents, match=match, source=source,  # noqa: SLF001
                                              author=author, date_from=date_from, date_to=date_to)
        counts = _by_period(searcher, matches.ids, width)
        points = tuple(TrendPoint(p, counts.get(p, 0), totals.get(p, 0),
                                  round(counts.get(p, 0) / totals[p], 4) if totals.get(p) else 0.0)
                       for p in span)
        series.append(TrendSeries(query, points))
    return Trend(by, tuple(series))
