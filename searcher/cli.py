"""The ``vnsearch`` command: a thin skin over the library. Only this module knows click and rich."""

from __future__ import annotations

import json
import logging
import os
import sys
import unicodedata
from pathlib import Path
from typing import Any

import click

from analyzers import ModelError
from corpus import VnSearchError

from ._errors import QuerySyntaxError

FORMATS = ("table", "json", "jsonl", "csv", "trec")


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value:
        logging.getLogger().setLevel(logging.INFO if value == 1 else logging.DEBUG)


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and isinstance(ctx.obj, dict):
        ctx.obj["quiet"] = True


class _Group(click.Group):
    """Translates the library's typed errors into one line, a hint and an exit code, once;
    gives every command the global ``-v``/``-q``, so they work after the command name too."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        cmd.params += [
            click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_set_verbose,
                         help="Show what the library logs (-vv for debug); also before the command."),
            click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_set_quiet,
                         help="Only results and errors; also before the command."),
        ]
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QuerySyntaxError as exc:
            where = f" (at character {exc.position + 1})" if exc.position is not None else ""
            _fail(f"bad query: {exc}{where}", exc.hint, code=2)
        except (VnSearchError, ModelError) as exc:
            _fail(str(exc), exc.hint, code=1)
        except KeyboardInterrupt:
            _fail("interrupted; everything committed so far is kept: run the same command again to continue",
                  None, code=130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug of ours: still one line, the details with -v
            logging.getLogger(__name__).debug("unexpected error", exc_info=True)
            _fail(f"unexpected {type(exc).__name__}: {exc}",
                  "This is a bug in vnsearch; rerun with -vv for details and report it.", code=1)


def _fail(message: str, hint: str | None, code: int) -> None:
    click.echo(f"Error: {message}" + (f"\n{hint}" if hint else ""), err=True)
    sys.exit(code)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Show what the library logs (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only results and errors: no progress or summaries.")
@click.version_option(package_name="vnsearch")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Search Vietnamese archives: index pages and documents, then query them.

    \b
    Example:
        vnsearch search "nông thôn mới"
        vnsearch index my-archive/ --index ~/archive-index
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = {"quiet": quiet}


INDEX_OPTION = click.option(
    "--index", "index_path", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Index folder (default: $VNSEARCH_INDEX, else the per-user data folder).")


def _progress(label: str, total: int | None, quiet: bool, eta: bool = False) -> Any:
    """A rich progress bar on stderr (with the time left if ``eta``), or a no-op when quiet or
    not on a terminal."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    console = _console(stderr=True)
    columns = [TextColumn("[bold]{task.description}" if eta else f"[bold]{label}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn()] + ([TimeRemainingColumn()] if eta else [])
    return Progress(*columns, console=console, disable=quiet or not console.is_terminal, transient=True)


def _resolve_search_index(index_path: Path | None, quiet: bool) -> Path:
    """The index to search: given, $VNSEARCH_INDEX, the user's default, or else the bundled sample."""
    from index import Index

    from ._paths import ENV_INDEX, default_index_path, ensure_sample_index

    if index_path is not None or os.environ.get(ENV_INDEX):
        return index_path or default_index_path()
    default = default_index_path()
    if Index.exists(default):
        return default
    if not quiet:
        click.echo(f"No index at {default} yet: searching the bundled sample archive "
                   "(index your own documents with: vnsearch index PATH...).", err=True)
    with _progress("Building the sample index", None, quiet) as bar:
        task = bar.add_task("sample", total=None)
        return ensure_sample_index(on_progress=lambda n, _b: bar.update(task, completed=n))


# -- search ------------------------------------------------------------------------------

SEARCH_HELP = """Search the index and print ranked results.

\b
Query language (Vietnamese with or without accents, NFC or NFD):
  nông thôn mới               words, ranked (BM25F; titles count more)
  "nông thôn mới"             exact phrase;  "nông thôn"~3  words within 3 of each other
  Bắc Sơn AND nông thôn       both required;  a OR b;  NOT a;  -word excludes;  +word requires
  (kinh tế OR xã hội) -"thể thao"    parentheses group
  title:"Bắc Sơn"  author:"Lộc Huệ"  source:xquad-vi  url:https://...   fields
  date:2020-01-01..2020-06-30  (also date:2020, date:..2019)              date ranges
  kinh*                       prefix wildcard
  UBND, TP.HCM, GD&ĐT         abbreviations also find their full forms, and back
  A query that starts with "-" goes after --:  vnsearch search -- "-word other words"
Typed with accents, words match those accents only (--accents any: all spellings).
Without a query, the filters list their documents, newest first.

\b
Examples:
  vnsearch search "bac son"
  vnsearch search "nông thôn" --from 2020-01-01 --facet source --format json | jq .total
  vnsearch search "nông thôn mới Bắc Sơn" --match all
  vnsearch search --source baochinhphu.vn --sort -date
  vnsearch search "hình phạt" --format csv --bom > ket-qua.csv
  vnsearch search --queries queries.jsonl --run run.txt --limit 100
"""


def _filter_options(f: Any) -> Any:
    """--source/--author/--from/--to and the accent, match and synonym options, shared by
    search, trend and kwic (so a count in one is a count in the others)."""
    options = [
        click.option("--source", help="Only documents from this source."),
        click.option("--author", help="Only documents by this author (accents optional)."),
        click.option("--from", "date_from", metavar="DATE", help="Only documents dated on or after DATE (YYYY[-MM[-DD]])."),
        click.option("--to", "date_to", metavar="DATE", help="Only documents dated on or before DATE."),
        click.option("--accents", type=click.Choice(["exact", "any"]), default=None,
                     help="exact: match accents as typed; any: ignore them (default: exact when typed with accents)."),
        click.option("--match", "match", type=click.Choice(["any", "all"]), default="any", show_default=True,
                     help="all: only documents holding every word (or a form of it)."),
        click.option("--stopwords", "stopwords_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                     help="Your own stop-word list (one word a line) instead of the shipped one; no reindex needed."),
        click.option("--synonyms", "synonyms_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                     help="More abbreviations/synonyms: one group a line, forms separated by commas."),
        INDEX_OPTION,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _open_searcher(obj: dict[str, Any], opts: dict[str, Any]) -> Any:
    """The searcher the filter options name (the sample archive until an index exists)."""
    from analyzers import load_stopwords

    from ._searcher import Searcher

    stopwords = sorted(load_stopwords(opts["stopwords_file"])) if opts["stopwords_file"] else None
    return Searcher.open(_resolve_search_index(opts["index_path"], obj["quiet"]), stopwords=stopwords,
                         synonyms=opts["synonyms_file"])


def _query_options(opts: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of Searcher.search/trend/kwic among the parsed options."""
    keys = ("source", "author", "date_from", "date_to", "match")
    return {k: opts[k] for k in keys} | {"accents": opts["accents"] or "auto"}


@main.command(help=SEARCH_HELP)
@click.argument("query", required=False)
@click.option("-n", "--limit", default=10, show_default=True, type=click.IntRange(1, 10_000), help="Results per page.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="Page of results.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--bom", is_flag=True, help="Start CSV with a byte-order mark, so Excel reads it as UTF-8.")
@click.option("--sort", type=click.Choice(["relevance", "date", "-date"]), default="relevance", show_default=True,
              help="Order (without a query: newest first).")
@click.option("--facet", "facets", multiple=True, type=click.Choice(["source", "year", "author"]),
              help="Count matches by this field (repeatable).")
@click.option("--queries", "queries_file", type=click.Path(dir_okay=False, path_type=Path),
              help='Batch mode: a JSONL file of {"id","text"} queries (plain text, no query syntax).')
@click.option("--run", "run_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Batch mode: write a TREC run file here (default: standard output).")
@_filter_options
@click.pass_obj
def search(obj: dict[str, Any], query: str | None, limit: int, page: int, fmt: str, bom: bool, sort: str,
           facets: tuple[str, ...], queries_file: Path | None, run_file: Path | None, **opts: Any) -> None:
    with _open_searcher(obj, opts) as s:
        if queries_file is not None:
            _batch(s, queries_file, run_file, 100 if limit == 10 else limit, obj["quiet"])
            return
        results = s.search(query, limit=limit, page=page, sort=sort, facets=facets, **_query_options(opts))
    _render_results(results, fmt, bom)


def _render_results(results: Any, fmt: str, bom: bool) -> None:
    """Print results: the text formats as ``_render`` writes them; ``table`` as a rich table on
    a terminal, else as plain text (pipes; ``NO_COLOR`` is honoured by rich)."""
    from ._render import format_results, results_header

    console = _console()
    if fmt != "table" or not console.is_terminal:
        click.echo(format_results(results, "text" if fmt == "table" else fmt, bom=bom), nl=False)
        return
    from rich.table import Table
    from rich.text import Text

    console.print(results_header(results), style="bold", markup=False)
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


def _batch(s: Any, queries_file: Path, run_file: Path | None, limit: int, quiet: bool) -> None:
    from ._batch import read_queries, write_run

    queries = read_queries(queries_file)
    with _progress("Queries", len(queries), quiet or run_file is None) as bar, \
            (open(run_file, "w", encoding="utf-8") if run_file else _Stdout()) as out:
        task = bar.add_task("q", total=len(queries))
        write_run(s, queries, out, limit=limit, on_query=lambda n: bar.update(task, completed=n))
    if run_file and not quiet:
        click.echo(f"Wrote {len(queries)} queries' results to {run_file}", err=True)


class _Stdout:
    """Standard output as a context manager that is not closed on exit."""

    def __enter__(self) -> Any:
        return sys.stdout

    def __exit__(self, *exc: Any) -> None:
        sys.stdout.flush()


@main.command()
@click.argument("queries", nargs=-1, required=True)
@click.option("--by", type=click.Choice(["year", "month"]), default="year", show_default=True)
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--bom", is_flag=True, help="Start CSV with a byte-order mark, so Excel reads it as UTF-8.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also draw a line chart to FILE.png or FILE.svg (needs: pip install 'vnsearch[plot]').")
@_filter_options
@click.pass_obj
def trend(obj: dict[str, Any], queries: tuple[str, ...], by: str, fmt: str, bom: bool, plot_file: Path | None,
          **opts: Any) -> None:
    """Matching documents per year or month for each query, and their share of that period.

    \b
    Examples:
        vnsearch trend "nông thôn mới" "chuyển đổi số"
        vnsearch trend UBND --by month --from 2020 --format csv --bom > ubnd.csv
        vnsearch trend "hình phạt" --plot hinh-phat.png
    """
    from ._render import format_trend, trend_rows

    with _open_searcher(obj, opts) as s:
        result = s.trend(list(queries), by=by, **_query_options(opts))
    if plot_file is not None:
        result.plot(plot_file)
    if fmt != "table":
        click.echo(format_trend(result, fmt, bom=bom), nl=False)
        return
    console = _console()
    for heading, rows in trend_rows(result):
        console.print(heading, style="bold", markup=False)
        for counts, bar in rows:
            console.print(counts, end="", markup=False)
            console.print(bar, style="cyan", markup=False)


@main.command()
@click.argument("query")
@click.option("--width", type=click.IntRange(0, 500), default=40, show_default=True,
              help="Characters of context on each side.")
@click.option("-n", "--limit", type=click.IntRange(1), default=None, help="At most this many lines (default: all).")
@click.option("-f", "--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]), default="table",
              show_default=True)
@click.option("--bom", is_flag=True, help="Start CSV with a byte-order mark, so Excel reads it as UTF-8.")
@_filter_options
@click.pass_obj
def kwic(obj: dict[str, Any], query: str, width: int, limit: int | None, fmt: str, bom: bool, **opts: Any) -> None:
    """Keyword in context: every occurrence of the query's words or phrase, one a line.

    \b
    Examples:
        vnsearch kwic '"hình phạt"' --width 50
        vnsearch kwic UBND --from 2020 --format csv --bom > ubnd.csv
    """
    with _open_searcher(obj, opts) as s:
        lines = s.kwic(query, width=width, limit=limit, **_query_options(opts))
    if fmt != "table":
        from ._render import format_kwic

        click.echo(format_kwic(lines, fmt, bom=bom), nl=False)
        return
    _kwic_table(lines, width)


def _kwic_table(lines: Any, width: int) -> None:
    """Left context right-aligned, the match highlighted, right context, the document's id."""
    from rich.cells import cell_len
    from rich.text import Text

    console = _console()
    for x in lines:
        left, match, right = (unicodedata.normalize("NFC", t) for t in (x.left, x.match, x.right))
        line = Text(" " * max(0, width - cell_len(left)) + left + " ")
        line.append(match, style="bold yellow")
        line.append(" " + right + " " * max(0, width - cell_len(right)) + "  ")
        line.append(f"{x.id} {x.date or ''}".rstrip(), style="dim")
        console.print(line, soft_wrap=True)
    _console(stderr=True).print(f"{len(lines)} occurrence{'s' if len(lines) != 1 else ''}",
                                style="bold", markup=False)


@main.command()
@click.argument("doc_id")
@INDEX_OPTION
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def show(obj: dict[str, Any], doc_id: str, index_path: Path | None, fmt: str) -> None:
    """Print one whole document with its metadata.

    \b
    Example:
        vnsearch show bacson-2020-06-12
    """
    from index import IndexNotFoundError

    from ._searcher import Searcher

    with Searcher.open(_resolve_search_index(index_path, obj["quiet"])) as s:
        doc = s.document(doc_id)
    if doc is None:
        raise IndexNotFoundError(f"no document with id {doc_id!r} in the index",
                                 hint="Find ids with: vnsearch search QUERY --format json")
    _print_document(doc, fmt)


def _print_document(doc: Any, fmt: str) -> None:
    """A whole document: JSON, or its metadata lines, a blank line and its text."""
    if fmt == "json":
        click.echo(json.dumps(doc.as_dict(), ensure_ascii=False, indent=2))
        return
    meta = [f"{key}: {getattr(doc, key)}" for key in ("id", "title", "url", "source", "date", "author")
            if getattr(doc, key)]
    click.echo("\n".join(meta) + "\n\n" + doc.text)


# -- indexing ----------------------------------------------------------------------------


class _Size(click.ParamType):
    """A size in bytes: ``10MB``, ``500kB``, ``2GB`` or a plain number of bytes."""

    name = "size"
    _UNITS = {"": 1, "b": 1, "kb": 10**3, "k": 10**3, "mb": 10**6, "m": 10**6, "gb": 10**9, "g": 10**9}

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().replace(" ", "")
        number = text.rstrip("kmgb")
        try:
            size = int(float(number) * self._UNITS[text[len(number):]])
        except (ValueError, KeyError):
            self.fail(f"{value!r} is not a size such as 10MB or 500kB", param, ctx)
        if size < 1:
            self.fail("the size must be positive", param, ctx)
        return size


LOCK_TIMEOUT_OPTION = click.option("--lock-timeout", type=float, default=300.0, show_default=True,
                                   help="Seconds to wait for another import to finish.")
CONFIRM_OVER = 10
"""On a terminal, deleting more documents than this asks first."""


@main.command("index")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@INDEX_OPTION
@click.option("--workers", type=click.IntRange(1), default=None, help="Analysis processes (default: every core).")
@click.option("--batch-size", type=click.IntRange(1), default=5000, show_default=True,
              help="Documents per batch (one segment each; a batch also ends at 6 MB of text).")
@click.option("--user-words", type=click.Path(dir_okay=False, path_type=Path),
              help="Words and names to keep whole (one a line), stored with a NEW index.")
@click.option("--source", "source", metavar="NAME", help="Tag every document of this import with this source name.")
@click.option("--max-doc-size", type=_Size(), default="10MB", show_default=True,
              help="Skip (and report) any one document larger than this: a file, or a JSONL line.")
@LOCK_TIMEOUT_OPTION
@click.option("--prune", is_flag=True, help="Remove indexed documents that are not in these sources any more.")
@click.option("--dry-run", is_flag=True, help="Read everything, write nothing: say what would be added, replaced, pruned.")
@click.option("--yes", is_flag=True, help="Prune without asking, even many documents on a terminal.")
@click.pass_obj
def index_cmd(obj: dict[str, Any], paths: tuple[Path, ...], index_path: Path | None, workers: int | None,
              batch_size: int, user_words: Path | None, source: str | None, max_doc_size: int,
              lock_timeout: float, prune: bool, dry_run: bool, yes: bool) -> None:
    """Add JSONL files, folders of .txt/.html/.pdf/.docx files and WARC files to the index.

    A document whose id is already indexed is replaced if it changed and skipped if not.
    Exits with code 1 if an input could not be read (each problem is listed).

    \b
    Examples:
        vnsearch index articles.jsonl
        vnsearch index saved-pages/ crawl.warc.gz --index ~/archive-index --source "Sở Nội vụ"
        vnsearch index saved-pages/ --prune --dry-run
    """
    from index import import_sources

    from ._paths import default_index_path

    path = index_path or default_index_path()
    with _progress("Indexing", None, obj["quiet"]) as bar:
        task = bar.add_task("index", total=None)
        report = import_sources(path, paths, user_words_file=user_words, workers=workers, batch_size=batch_size,
                                lock_timeout=lock_timeout, prune=prune, dry_run=dry_run, source=source,
                                max_doc_bytes=max_doc_size, on_wait=_on_wait(obj["quiet"]),
                                on_progress=lambda n, _b: bar.update(task, completed=n),
                                confirm_prune=_confirmer("Remove", "not in these sources", yes, bar.stop))
    _print_report(report, path, obj["quiet"])
    if report.problems:
        sys.exit(1)


def _on_wait(quiet: bool) -> Any:
    def on_wait(waited: float) -> None:
        if not quiet:
            click.echo(f"Waiting for another import to finish ({waited:.0f} s)…", err=True)
    return on_wait


def _confirmer(verb: str, why: str, yes: bool, before: Any = None) -> Any:
    """A confirm callback that asks on a terminal before more than CONFIRM_OVER documents go."""
    if yes or not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None

    def confirm(ids: list[str]) -> bool:
        if len(ids) <= CONFIRM_OVER:
            return True
        if before is not None:
            before()
        _print_ids(ids, limit=CONFIRM_OVER)
        return click.confirm(f"{verb} these {len(ids)} documents ({why})?", err=True)
    return confirm


def _print_ids(ids: list[str], limit: int = 50) -> None:
    for doc_id in ids[:limit]:
        click.echo(f"  {doc_id}", err=True)
    if len(ids) > limit:
        click.echo(f"  … and {len(ids) - limit} more", err=True)


def _print_report(report: Any, path: Path, quiet: bool = False) -> None:
    if not quiet:
        size = f"{report.bytes / 1e6:.1f} MB" if report.bytes >= 100_000 else f"{report.bytes / 1e3:.0f} kB"
        would = "dry run, nothing written: would be " if report.dry_run else ""
        click.echo(f"Index {path} ({would}{report.added} added, {report.replaced} replaced, "
                   f"{report.unchanged} unchanged, {report.removed} removed, {len(report.skipped)} skipped; "
                   f"{size} of text in {report.seconds:.1f} s)", err=True)
        if report.removed_ids:
            click.echo("Removed (not in the sources any more):" if not report.dry_run
                       else "Would remove (not in the sources any more):", err=True)
            _print_ids(report.removed_ids)
    _print_list("skipped", report.skipped if not quiet else report.problems)  # problems are errors: shown even with -q


# -- cleaning ----------------------------------------------------------------------------


@main.command()
@click.argument("source")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--timeout", type=float, default=20.0, show_default=True, help="Seconds to wait for a server's answer.")
@click.option("--user-agent", help="User-Agent header for a URL.")
def clean(source: str, fmt: str, timeout: float, user_agent: str | None) -> None:
    """Show what the cleaner keeps of a page (a file or an http(s) URL).

    A URL is fetched under the crawler's rules: redirects stay on its host, pages over the size
    cap are refused.

    \b
    Examples:
        vnsearch clean saved/article.html
        vnsearch clean https://example.gov.vn/tin-tuc/bai-viet.html --format json
    """
    from corpus import clean_source

    page = clean_source(source, timeout=timeout, user_agent=user_agent)
    if fmt == "json":
        click.echo(json.dumps(page.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"title:  {page.title}\ndate:   {page.date or '-'}\nauthor: {page.author or '-'}\n"
               f"language: {page.language or '-'}\narticle: {'yes' if page.is_article else 'no'}"
               + (f" ({page.reason})" if page.reason else "") + "\n")
    click.echo(page.text)


# -- maintenance -------------------------------------------------------------------------


def _index_or_default(index_path: Path | None) -> Path:
    from ._paths import default_index_path

    return index_path or default_index_path()


@main.command()
@INDEX_OPTION
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def stats(index_path: Path | None, fmt: str) -> None:
    """Documents, sources, date range, size on disk, segments and versions of an index.

    \b
    Example:
        vnsearch stats --format json | jq .documents
    """
    from index import stats as index_stats

    info = index_stats(_index_or_default(index_path))
    if fmt == "json":
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    for label, value in _stats_lines(info):
        click.echo(f"{label + ':':<15}{value}")


def _stats_lines(info: dict[str, Any]) -> list[tuple[str, str]]:
    """``stats`` for people: sizes in MB, yes/no, a date range, the top sources."""
    def size(n: int) -> str:
        return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"

    sources = ", ".join(f"{k} ({v:,})" for k, v in list(info["sources"].items())[:20]) or "-"
    more = len(info["sources"]) - 20
    current = "yes" if info["current"] else f"no: rebuild with vnsearch reindex --index {info['path']}"
    return [("index", info["path"]), ("documents", f"{info['documents']:,}"),
            ("deleted", f"{info['deleted']:,} (dropped by vnsearch optimize)" if info["deleted"] else "0"),
            ("sources", sources + (f" and {more} more" if more > 0 else "")),
            ("no source", f"{info['without_source']:,}"),
            ("dates", f"{info['date_from']} to {info['date_to']}" if info["date_from"] else "-"),
            ("size on disk", size(info["size_bytes"])), ("segments", str(info["segments"])),
            ("commits", str(info["generation"])),
            ("versions", f"analyzer {info['analyzer_version']}, schema {info['schema_version']}"),
            ("up to date", current), ("user words", f"{info['user_words']:,}"), ("created", info["created"] or "-")]


@main.command()
@click.argument("ids", nargs=-1)
@INDEX_OPTION
@click.option("--query", "query", help="Delete every document this query matches (exactly what search finds).")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@click.option("--yes", is_flag=True, help="Do not ask, even for many documents on a terminal.")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@LOCK_TIMEOUT_OPTION
@click.pass_obj
def delete(obj: dict[str, Any], ids: tuple[str, ...], index_path: Path | None, query: str | None,
           dry_run: bool, yes: bool, fmt: str, lock_timeout: float) -> None:
    """Delete documents by id, or every document matching --query.

    On a terminal, deleting more than 10 documents asks first (--yes does not).
    Exits with code 1 if nothing was deleted because no id was found or you said no.

    \b
    Examples:
        vnsearch delete bacson-2020-06-12
        vnsearch delete --query 'source:example.vn date:..2010' --dry-run
    """
    from ._searcher import delete_documents

    report = delete_documents(_index_or_default(index_path), ids, query, dry_run=dry_run,
                              confirm=_confirmer("Delete", "no undo", yes), lock_timeout=lock_timeout,
                              on_wait=_on_wait(obj["quiet"]))
    _print_delete(report, fmt, obj["quiet"])
    if report.cancelled or (ids and not report.deleted):
        sys.exit(1)


def _print_delete(report: Any, fmt: str, quiet: bool) -> None:
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    n = len(report.deleted)
    if report.cancelled:
        click.echo("Cancelled: nothing was deleted.", err=True)
    elif not quiet or report.dry_run:
        click.echo(f"{'Would delete' if report.dry_run else 'Deleted'} {n} document{'s' if n != 1 else ''}"
                   + (" (dry run: nothing was deleted)" if report.dry_run else "") + (":" if n else "."), err=True)
        _print_ids(report.deleted, limit=n if report.dry_run else 50)
    if report.not_found:
        click.echo(f"Not found ({len(report.not_found)}): " + ", ".join(report.not_found[:50]), err=True)


@main.command()
@INDEX_OPTION
@click.option("--workers", type=click.IntRange(1), default=None, help="Analysis processes (default: every core).")
@LOCK_TIMEOUT_OPTION
@click.pass_obj
def reindex(obj: dict[str, Any], index_path: Path | None, workers: int | None, lock_timeout: float) -> None:
    """Rebuild an index from its own stored documents (after an analyzer or schema change).

    \b
    Example:
        vnsearch reindex --index ~/archive-index
    """
    from index import reindex as rebuild

    path = _index_or_default(index_path)
    stages = {"import": "Reindexing", "merge": "Merging"}
    with _progress("Reindexing", None, obj["quiet"], eta=True) as bar:
        task = bar.add_task("Reindexing", total=None)
        report = rebuild(path, workers=workers, on_wait=_on_wait(obj["quiet"]), lock_timeout=lock_timeout,
                         on_stage=lambda name, total: bar.reset(task, total=total, description=stages[name]),
                         on_progress=lambda n, _b: bar.update(task, completed=n))
    if not obj["quiet"]:
        _print_report(report, path)


@main.command()
@INDEX_OPTION
@LOCK_TIMEOUT_OPTION
@click.pass_obj
def optimize(obj: dict[str, Any], index_path: Path | None, lock_timeout: float) -> None:
    """Merge the index's segments into one (faster searches after many imports).

    \b
    Example:
        vnsearch optimize --index ~/archive-index
    """
    from index import optimize as merge

    path = _index_or_default(index_path)
    with _progress("Merging", None, obj["quiet"], eta=True) as bar:
        task = bar.add_task("Merging", total=None)
        report = merge(path, on_wait=_on_wait(obj["quiet"]), lock_timeout=lock_timeout,
                       on_progress=lambda done, total: bar.update(task, completed=done, total=total))
    if not obj["quiet"]:
        click.echo(f"Optimized {path}: segments {report.segments_before} -> {report.segments_after}, "
                   f"{report.documents} documents, in {report.seconds:.1f} s.", err=True)


@main.command()
@INDEX_OPTION
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="JSONL file (default: stdout).")
def export(index_path: Path | None, output: Path | None) -> None:
    """Write every stored document as JSONL, ready for `vnsearch index`.

    \b
    Example:
        vnsearch export -o backup.jsonl && vnsearch index backup.jsonl --index new-index
    """
    from corpus import write_jsonl
    from index import export as stored_documents

    with click.open_file(str(output) if output else "-", "w", encoding="utf-8") as out:
        write_jsonl(stored_documents(_index_or_default(index_path)), out)


# -- crawling ----------------------------------------------------------------------------


@main.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("vnsearch-crawl"),
              show_default=True, help="Crawl folder (WARC archive and journal); rerun to resume or retry failures.")
@INDEX_OPTION
@click.option("--jsonl", "jsonl_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write documents to this JSONL file instead of the index.")
@click.option("--scope", type=click.Choice(["host", "prefix"]), default="host", show_default=True,
              help="host: the seed's scheme, host and port; prefix: and under the seed's folder.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST[:PORT]",
              help="Another host the crawl may request (repeatable).")
@click.option("--max-depth", type=click.IntRange(0), default=5, show_default=True)
@click.option("--max-pages", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--delay", type=click.FloatRange(0), default=1.0, show_default=True,
              help="Seconds between requests to one host (a longer robots.txt Crawl-delay wins).")
@click.option("--timeout", type=click.FloatRange(0, min_open=True), default=20.0, show_default=True,
              help="Seconds to wait for a server's answer.")
@click.option("--max-time", type=click.FloatRange(0, min_open=True), default=60.0, show_default=True,
              help="Seconds one download may take in all.")
@click.option("--retries", type=click.IntRange(0), default=2, show_default=True,
              help="Extra attempts after a network error or 5xx (failures are retried by the next run too).")
@click.option("--user-agent", help="User-Agent header (put your contact in it).")
@click.option("--no-robots", is_flag=True, help="Ignore robots.txt and robots meta tags (only for sites you own).")
@click.option("--refresh", is_flag=True, help="Revisit a crawled site: fetch only new or changed pages.")
@LOCK_TIMEOUT_OPTION
@click.pass_obj
def crawl(obj: dict[str, Any], urls: tuple[str, ...], state_dir: Path, index_path: Path | None,
          jsonl_out: Path | None, scope: str, allow_hosts: tuple[str, ...], max_depth: int, max_pages: int,
          delay: float, timeout: float, max_time: float, retries: int, user_agent: str | None, no_robots: bool,
          refresh: bool, lock_timeout: float) -> None:
    """Crawl web sites politely, keep every page in a WARC file, index the articles.

    \b
    Examples:
        vnsearch crawl https://huyen.example.gov.vn/ --max-pages 200 --index ~/archive-index
        vnsearch crawl https://huyen.example.gov.vn/ --refresh     # later: new and changed pages
    """
    import dataclasses

    from corpus import CrawlOptions

    from ._core import crawl_into

    options = CrawlOptions(scope=scope, allow_hosts=allow_hosts, max_depth=max_depth,  # type: ignore[arg-type]
                           max_pages=max_pages, delay=delay, read_timeout=timeout, total_timeout=max_time,
                           retries=retries, obey_robots=not no_robots, refresh=refresh)
    if user_agent:
        options = dataclasses.replace(options, user_agent=user_agent)
    with _progress("Crawling", None, obj["quiet"]) as bar:
        run = crawl_into(list(urls), state_dir, options, on_event=_crawl_progress(bar),
                         index_path=None if jsonl_out else _index_or_default(index_path), jsonl_path=jsonl_out,
                         on_wait=_on_wait(obj["quiet"]), lock_timeout=lock_timeout)
    if not obj["quiet"]:
        _print_crawl(run)
    if run.crawl.nothing_fetched:
        _fail(f"nothing could be fetched ({len(run.crawl.failed)} URL(s) failed)",
              "The site may be down: run the same command again later to retry.", code=1)


def _crawl_progress(bar: Any) -> Any:
    task = bar.add_task("crawl", total=None)

    def on_event(event: Any) -> None:
        c = event.counts
        bar.update(task, completed=c.fetched, description=(
            f"fetched {c.fetched} · queued {c.pending} · articles {c.documents} · "
            f"skipped {c.skipped} · failed {c.errors}"))
    return on_event


def _print_crawl(run: Any) -> None:
    report, c = run.crawl, run.crawl.counts
    click.echo(f"Crawl {report.state_dir}: {c.fetched} fetched, {c.documents} articles, {c.skipped} skipped, "
               f"{c.errors} failed (kept for the next run), {c.unchanged} unchanged, "
               f"{c.out_of_scope} links out of scope; archive {report.warc_path}", err=True)
    _print_list("skipped", report.skipped)
    _print_list("failed", report.failed)
    if run.index is not None:
        _print_report(run.index, run.index_path)
    elif run.jsonl_path is not None:
        click.echo(f"Wrote {run.written} documents to {run.jsonl_path}", err=True)


def _print_list(label: str, items: list[tuple[str, str]], limit: int = 20) -> None:
    for where, why in items[:limit]:
        click.echo(f"  {label} {where}: {why}", err=True)
    if len(items) > limit:
        click.echo(f"  … and {len(items) - limit} more", err=True)
