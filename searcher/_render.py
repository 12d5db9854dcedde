"""Rendering results for the terminal and for scripts (used by the CLI only)."""

from __future__ import annotations

import csv
import io
import json

import click

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from ._results import KwicLine, Results, Trend

BAR = 30  # characters of the longest bar in a trend table


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]], bom: bool) -> None:
    """CSV on standard output; ``bom`` starts it with U+FEFF so Excel reads it as UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    click.echo(("\ufeff" if bom else "") + buf.getvalue(), nl=False)


def render_results(results: Results, fmt: str, bom: bool = False) -> None:
    if fmt == "json":
        click.echo(json.dumps(results.as_dict(), ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for hit in results.hits:
            click.echo(json.dumps(hit.as_dict(), ensure_ascii=False))
    elif fmt == "csv":
        _csv(["rank", "id", "score", "title", "source", "date", "author", "url", "snippet"],
             ([h.rank, h.id, f"{h.score:.4f}", h.title, h.source or "", h.date or "", h.author or "",
               h.url or "", h.snippet] for h in results.hits), bom)
    elif fmt == "trec":
        for h in results.hits:
            click.echo(f"q Q0 {h.id} {h.rank} {h.score:.4f} vnsearch")
    else:
        _table(results)


def _table(results: Results) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    plain = not console.is_terminal
    first = (results.page - 1) * results.limit + 1
    shown = f"{first}–{first + len(results.hits) - 1} of " if results.hits else ""
    what = f"for “{results.query}” " if results.query else ""
    header = f"{shown}{results.total} result{'s' if results.total != 1 else ''} {what}" \
             f"({results.elapsed_ms:.0f} ms)"
    if results.suggestion:
        header += f"\nDid you mean: {results.suggestion}"
    for name, counts in results.facets.items():
        header += f"\n{name}: " + ", ".join(f"{k} ({v})" for k, v in list(counts.items())[:15])
    if plain:
        lines = [header]
        for h in results.hits:
            meta = " · ".join(x for x in (h.source, h.date, h.author) if x)
            lines.append(f"\n{h.rank}. {h.title}  [{h.id}]" + (f"\n   {meta}" if meta else ""))
            if h.snippet:
                lines.append(f"   {h.snippet}")
        click.echo("\n".join(lines))
        return
    console.print(header, style="bold", markup=False)
    if not results.hits:
        return
    table = Table(show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("title / snippet", ratio=4)
    table.add_column("source · date", ratio=1)
    for h in results.hits:
        snippet = Text(h.snippet)
        for a, b in h.highlights:
            snippet.stylize("bold yellow", a, b)
        title = Text(h.title, style="bold")
        for a, b in h.title_highlights:
            title.stylize("bold yellow", a, b)
        cell = Text.assemble(title, "\n", snippet, (f"\n{h.id}", "dim"))
        table.add_row(str(h.rank), cell, " · ".join(x for x in (h.source, h.date, h.author) if x))
    console.print(table)


def render_trend(trend: Trend, fmt: str, bom: bool = False) -> None:
    if fmt == "json":
        click.echo(json.dumps(trend.as_dict(), ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        _csv(["query", "period", "documents", "total", "share"],
             ([s.query, p.period, p.documents, p.total, p.share] for s in trend.series for p in s.points), bom)
        return
    from rich.console import Console

    console = Console(highlight=False)
    top = max((p.share for s in trend.series for p in s.points), default=0.0) or 1.0
    for series in trend.series:
        console.print(f"“{series.query}”: documents per {trend.by} (share of that {trend.by}'s documents)",
                      style="bold", markup=False)
        if not series.points:
            console.print("  no dated documents", markup=False)
        for p in series.points:
            bar = "█" * round(BAR * p.share / top) if p.documents else ""
            console.print(f"  {p.period:<8}{p.documents:>7} / {p.total:<7}{100 * p.share:>6.1f}%  ", end="", markup=False)
            console.print(bar, style="cyan", markup=False)


def render_kwic(lines: Sequence[KwicLine], fmt: str, width: int, bom: bool = False) -> None:
    if fmt == "json":
        click.echo(json.dumps([x.as_dict() for x in lines], ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for x in lines:
            click.echo(json.dumps(x.as_dict(), ensure_ascii=False))
    elif fmt == "csv":
        _csv(["id", "title", "date", "left", "match", "right"],
             ([x.id, x.title, x.date or "", x.left, x.match, x.right] for x in lines), bom)
    else:
        _kwic_table(lines, width)


def _kwic_table(lines: Sequence[KwicLine], width: int) -> None:
    """Left context right-aligned, the match highlighted, right context, the document's id."""
    from rich.cells import cell_len
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    for x in lines:
        left, match, right = (unicodedata.normalize("NFC", t) for t in (x.left, x.match, x.right))
        line = Text(" " * max(0, width - cell_len(left)) + left + " ")
        line.append(match, style="bold yellow")
        line.append(" " + right + " " * max(0, width - cell_len(right)) + "  ")
        line.append(f"{x.id} {x.date or ''}".rstrip(), style="dim")
        console.print(line)
    Console(stderr=True, highlight=False).print(f"{len(lines)} occurrence{'s' if len(lines) != 1 else ''}",
                                                style="bold", markup=False)
