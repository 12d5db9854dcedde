"""Results, trends and keyword-in-context lines as text for scripts and pipes: plain strings, no
terminal library (``cli.py`` prints them, and draws rich tables itself when the output is a
terminal)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from ._results import KwicLine, Results, Trend

TEXT_FORMATS = ("json", "jsonl", "csv", "trec", "text")
BAR = 30  # characters of the longest bar in a trend table


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]], bom: bool) -> str:
    """CSV text; ``bom`` starts it with U+FEFF so Excel reads it as UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "") + buf.getvalue()


def results_header(results: Results) -> str:
    """The lines above the hits: which of how many results, the suggestion, the facets."""
    first = (results.page - 1) * results.limit + 1
    shown = f"{first}–{first + len(results.hits) - 1} of " if results.hits else ""
    what = f"for “{results.query}” " if results.query else ""
    header = f"{shown}{results.total} result{'s' if results.total != 1 else ''} {what}" \
             f"({results.elapsed_ms:.0f} ms)"
    if results.suggestion:
        header += f"\nDid you mean: {results.suggestion}"
    for name, counts in results.facets.items():
        header += f"\n{name}: " + ", ".join(f"{k} ({v})" for k, v in list(counts.items())[:15])
    return header


def format_results(results: Results, fmt: str, bom: bool = False) -> str:
    """``results`` in one of :data:`TEXT_FORMATS`, ending with a newline.

    ``text`` is the table's content without box drawing, for pipes and ``NO_COLOR`` terminals.
    """
    if fmt == "json":
        return json.dumps(results.as_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(hit.as_dict(), ensure_ascii=False) + "\n" for hit in results.hits)
    if fmt == "csv":
        return _csv(["rank", "id", "score", "title", "source", "date", "author", "url", "snippet"],
                    ([h.rank, h.id, f"{h.score:.4f}", h.title, h.source or "", h.date or "", h.author or "",
                      h.url or "", h.snippet] for h in results.hits), bom)
    if fmt == "trec":
        return "".join(f"q Q0 {h.id} {h.rank} {h.score:.4f} vnsearch\n" for h in results.hits)
    if fmt == "text":
        lines = [results_header(results)]
        for h in results.hits:
            meta = " · ".join(x for x in (h.source, h.date, h.author) if x)
            lines.append(f"\n{h.rank}. {h.title}  [{h.id}]" + (f"\n   {meta}" if meta else ""))
            if h.snippet:
                lines.append(f"   {h.snippet}")
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}")


def format_trend(trend: Trend, fmt: str, bom: bool = False) -> str:
    """``trend`` as ``json``, ``csv`` or ``text`` (one line a period, with a bar)."""
    if fmt == "json":
        return json.dumps(trend.as_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return _csv(["query", "period", "documents", "total", "share"],
                    ([s.query, p.period, p.documents, p.total, p.share] for s in trend.series for p in s.points),
                    bom)
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r}")
    return "".join(f"{heading}\n" + "".join(f"{row}{bar}\n" for row, bar in rows)
                   for heading, rows in trend_rows(trend))


def trend_rows(trend: Trend) -> list[tuple[str, list[tuple[str, str]]]]:
    """Per series, a heading and ``(counts, bar)`` lines: what the table shows, without styles."""
    top = max((p.share for s in trend.series for p in s.points), default=0.0) or 1.0
    out = []
    for series in trend.series:
        heading = f"“{series.query}”: documents per {trend.by} (share of that {trend.by}'s documents)"
        rows = [(f"  {p.period:<8}{p.documents:>7} / {p.total:<7}{100 * p.share:>6.1f}%  ",
                 "█" * round(BAR * p.share / top) if p.documents else "") for p in series.points]
        out.append((heading, rows or [("  no dated documents", "")]))
    return out


def format_kwic(lines: Sequence[KwicLine], fmt: str, bom: bool = False) -> str:
    """Keyword-in-context lines as ``json``, ``jsonl`` or ``csv``."""
    if fmt == "json":
        return json.dumps([x.as_dict() for x in lines], ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(x.as_dict(), ensure_ascii=False) + "\n" for x in lines)
    if fmt == "csv":
        return _csv(["id", "title", "date", "left", "match", "right"],
                    ([x.id, x.title, x.date or "", x.left, x.match, x.right] for x in lines), bom)
    raise ValueError(f"unknown format {fmt!r}")
