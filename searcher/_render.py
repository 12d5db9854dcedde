"""Rendering results for the terminal and for scripts (used by the CLI only)."""

from __future__ import annotations

import csv
import io
import json

import click

from ._results import Results


def render_results(results: Results, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(results.as_dict(), ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for hit in results.hits:
            click.echo(json.dumps(hit.as_dict(), ensure_ascii=False))
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["rank", "id", "score", "title", "source", "date", "author", "url", "snippet"])
        for h in results.hits:
            writer.writerow([h.rank, h.id, f"{h.score:.4f}", h.title, h.source or "", h.date or "",
                             h.author or "", h.url or "", h.snippet])
        click.echo(buf.getvalue(), nl=False)
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
    header = f"{shown}{results.total} result{'s' if results.total != 1 else ''} for “{results.query}” " \
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
        cell = Text.assemble((h.title, "bold"), "\n", snippet, (f"\n{h.id}", "dim"))
        table.add_row(str(h.rank), cell, " · ".join(x for x in (h.source, h.date, h.author) if x))
    console.print(table)
