"""Results as text for scripts and pipes: plain strings, no terminal library (``cli.py`` prints
them, and draws the rich table itself when the output is a terminal)."""

from __future__ import annotations

import csv
import io
import json

from ._results import Results

TEXT_FORMATS = ("json", "jsonl", "csv", "trec", "text")


def results_header(results: Results) -> str:
    """The lines above the hits: which of how many results, the suggestion, the facets."""
    first = (results.page - 1) * results.limit + 1
    shown = f"{first}–{first + len(results.hits) - 1} of " if results.hits else ""
    header = f"{shown}{results.total} result{'s' if results.total != 1 else ''} for “{results.query}” " \
             f"({results.elapsed_ms:.0f} ms)"
    if results.suggestion:
        header += f"\nDid you mean: {results.suggestion}"
    for name, counts in results.facets.items():
        header += f"\n{name}: " + ", ".join(f"{k} ({v})" for k, v in list(counts.items())[:15])
    return header


def format_results(results: Results, fmt: str) -> str:
    """``results`` in one of :data:`TEXT_FORMATS`, ending with a newline.

    ``text`` is the table's content without box drawing, for pipes and ``NO_COLOR`` terminals.
    """
    if fmt == "json":
        return json.dumps(results.as_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(hit.as_dict(), ensure_ascii=False) + "\n" for hit in results.hits)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["rank", "id", "score", "title", "source", "date", "author", "url", "snippet"])
        for h in results.hits:
            writer.writerow([h.rank, h.id, f"{h.score:.4f}", h.title, h.source or "", h.date or "",
                             h.author or "", h.url or "", h.snippet])
        return buf.getvalue()
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
