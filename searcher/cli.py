"""The ``vnsearch`` command: a thin skin over the library. Only this module knows click and rich."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

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
        except VnSearchError as exc:
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


def _progress(label: str, total: int | None, quiet: bool) -> Any:
    """A rich progress bar on stderr, or a no-op when quiet or not on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = _console(stderr=True)
    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, disable=quiet or not console.is_terminal, transient=True)


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
    with _progress("Building the sample index", 388, quiet) as bar:
        task = bar.add_task("sample", total=388)
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
  A query that starts with "-" goes after --:  vnsearch search -- "-word other words"

\b
Examples:
  vnsearch search "bac son"
  vnsearch search "nông thôn" --from 2020-01-01 --facet source --format json | jq .total
  vnsearch search --queries queries.jsonl --run run.txt --limit 100
"""


@main.command(help=SEARCH_HELP)
@click.argument("query", required=False)
@INDEX_OPTION
@click.option("-n", "--limit", default=10, show_default=True, type=click.IntRange(1, 10_000), help="Results per page.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="Page of results.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--source", help="Only documents from this source.")
@click.option("--author", help="Only documents by this author (accents optional).")
@click.option("--from", "date_from", metavar="DATE", help="Only documents dated on or after DATE (YYYY[-MM[-DD]]).")
@click.option("--to", "date_to", metavar="DATE", help="Only documents dated on or before DATE.")
@click.option("--sort", type=click.Choice(["relevance", "date", "-date"]), default="relevance", show_default=True)
@click.option("--facet", "facets", multiple=True, type=click.Choice(["source", "year", "author"]),
              help="Count matches by this field (repeatable).")
@click.option("--stopwords", "stopwords_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Your own stop-word list (one word a line) instead of the shipped one; no reindex needed.")
@click.option("--queries", "queries_file", type=click.Path(dir_okay=False, path_type=Path),
              help='Batch mode: a JSONL file of {"id","text"} queries (plain text, no query syntax).')
@click.option("--run", "run_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Batch mode: write a TREC run file here (default: standard output).")
@click.pass_obj
def search(obj: dict[str, Any], query: str | None, index_path: Path | None, limit: int, page: int, fmt: str,
           source: str | None, author: str | None, date_from: str | None, date_to: str | None, sort: str,
           facets: tuple[str, ...], stopwords_file: Path | None, queries_file: Path | None,
           run_file: Path | None) -> None:
    from analyzers import load_stopwords

    from ._searcher import Searcher

    if queries_file is None and not query:
        raise QuerySyntaxError("the query is empty", hint='Give a query, e.g. vnsearch search "nông thôn mới".')
    path = _resolve_search_index(index_path, obj["quiet"])
    stopwords = sorted(load_stopwords(stopwords_file)) if stopwords_file else None
    with Searcher.open(path, stopwords=stopwords) as s:
        if queries_file is not None:
            _batch(s, queries_file, run_file, 100 if limit == 10 else limit, obj["quiet"])
            return
        assert query is not None
        results = s.search(query, limit=limit, page=page, source=source, author=author, date_from=date_from,
                           date_to=date_to, sort=sort, facets=facets)
    from ._render import render_results

    render_results(results, fmt)


def _read_queries(path: Path) -> Iterator[tuple[str, str]]:
    from corpus import InputError

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            yield str(rec["id"]), str(rec["text"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{lineno}: not a {{\"id\", \"text\"}} JSON object",
                             hint="Each line must look like {\"id\": \"q1\", \"text\": \"...\"}.") from exc


def _batch(s: Any, queries_file: Path, run_file: Path | None, limit: int, quiet: bool) -> None:
    queries = list(_read_queries(queries_file))
    out = open(run_file, "w", encoding="utf-8") if run_file else sys.stdout
    try:
        with _progress("Queries", len(queries), quiet or run_file is None) as bar:
            task = bar.add_task("q", total=len(queries))
            for qid, text in queries:
                for rank, (doc_id, score) in enumerate(s.search_ids(text, limit=limit), 1):
                    out.write(f"{qid} Q0 {doc_id} {rank} {score:.4f} vnsearch\n")
                bar.advance(task)
    finally:
        if run_file:
            out.close()
    if run_file and not quiet:
        click.echo(f"Wrote {len(queries)} queries' results to {run_file}", err=True)


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
    if fmt == "json":
        click.echo(json.dumps(doc.as_dict(), ensure_ascii=False, indent=2))
        return
    for key in ("id", "title", "url", "source", "date", "author"):
        value = getattr(doc, key)
        if value:
            click.echo(f"{key}: {value}")
    click.echo("")
    click.echo(doc.text)


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
@click.option("--batch-size", type=click.IntRange(1), default=500, show_default=True,
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
    shown = report.skipped if not quiet else report.problems  # problems are errors: shown even with -q
    for where, why in shown[:20]:
        click.echo(f"  skipped {where}: {why}", err=True)
    if len(shown) > 20:
        click.echo(f"  … and {len(shown) - 20} more", err=True)


# -- cleaning ----------------------------------------------------------------------------


@main.command()
@click.argument("source")
@click.option("-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def clean(source: str, fmt: str) -> None:
    """Show what the cleaner keeps of a page (a file or an http(s) URL).

    \b
    Examples:
        vnsearch clean saved/article.html
        vnsearch clean https://example.gov.vn/tin-tuc/bai-viet.html --format json
    """
    from corpus import InputError, clean_html, clean_plain_text

    if source.startswith(("http://", "https://")):
        from corpus import fetch_url

        data, url, content_type = fetch_url(source)
        page = clean_html(data, url=url, content_type=content_type)
    else:
        p = Path(source)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {p}: {exc.strerror or exc}", hint="Check the path.") from exc
        if p.suffix.lower() == ".txt":
            from corpus import decode_bytes

            page = clean_plain_text(decode_bytes(data))
        else:
            page = clean_html(data, url=None)
    if fmt == "json":
        click.echo(json.dumps(page.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"title:  {page.title}\ndate:   {page.date or '-'}\nauthor: {page.author or '-'}\n"
               f"language: {page.language or '-'}\narticle: {'yes' if page.is_article else 'no'}\n")
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
    with _progress("Reindexing", None, obj["quiet"]) as bar:
        task = bar.add_task("reindex", total=None)
        report = rebuild(path, workers=workers, on_wait=_on_wait(obj["quiet"]), lock_timeout=lock_timeout,
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
    merge(path, on_wait=_on_wait(obj["quiet"]), lock_timeout=lock_timeout)
    if not obj["quiet"]:
        click.echo(f"Optimized {path}.", err=True)


@main.command()
@INDEX_OPTION
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="JSONL file (default: stdout).")
def export(index_path: Path | None, output: Path | None) -> None:
    """Write every stored document as JSONL, ready for `vnsearch index`.

    \b
    Example:
        vnsearch export -o backup.jsonl && vnsearch index backup.jsonl --index new-index
    """
    from index import export as stored_documents

    out = open(output, "w", encoding="utf-8") if output else sys.stdout
    try:
        for doc in stored_documents(_index_or_default(index_path)):
            rec = {k: v for k, v in doc.as_dict().items() if v is not None and k != "content_hash"}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    finally:
        if output:
            out.close()


# -- crawling ----------------------------------------------------------------------------


@main.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("vnsearch-crawl"),
              show_default=True, help="Crawl folder (WARC archive and journal); rerun to resume.")
@INDEX_OPTION
@click.option("--jsonl", "jsonl_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write documents to this JSONL file instead of the index.")
@click.option("--scope", type=click.Choice(["host", "prefix"]), default="host", show_default=True)
@click.option("--max-depth", type=click.IntRange(0), default=5, show_default=True)
@click.option("--max-pages", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--delay", type=float, default=1.0, show_default=True, help="Seconds between requests to one host.")
@click.option("--timeout", type=float, default=20.0, show_default=True, help="Seconds to wait for a server's answer.")
@click.option("--user-agent", help="User-Agent header (put your contact in it).")
@click.option("--no-robots", is_flag=True, help="Ignore robots.txt (only for sites you own).")
@click.pass_obj
def crawl(obj: dict[str, Any], urls: tuple[str, ...], state_dir: Path, index_path: Path | None,
          jsonl_out: Path | None, scope: str, max_depth: int, max_pages: int, delay: float, timeout: float,
          user_agent: str | None, no_robots: bool) -> None:
    """Crawl web sites politely, keep every page in a WARC file, index the articles.

    \b
    Example:
        vnsearch crawl https://huyen.example.gov.vn/ --max-pages 200 --index ~/archive-index
    """
    import dataclasses

    from corpus import CrawlOptions
    from corpus import crawl as start_crawl
    from index import Index

    options = CrawlOptions(scope=scope, max_depth=max_depth, max_pages=max_pages, delay=delay,  # type: ignore[arg-type]
                           obey_robots=not no_robots, read_timeout=timeout,
                           connect_timeout=min(10.0, timeout), total_timeout=max(3 * timeout, timeout + 1))
    if user_agent:
        options = dataclasses.replace(options, user_agent=user_agent)
    with _progress("Crawling", None, obj["quiet"]) as bar:
        task = bar.add_task("crawl", total=None)

        def on_event(event: Any) -> None:
            c = event.counts
            bar.update(task, completed=c.fetched, description=(
                f"fetched {c.fetched} · queued {c.pending} · articles {c.documents} · "
                f"skipped {c.skipped} · errors {c.errors}"))

        with start_crawl(list(urls), state_dir, options, on_event=on_event) as crawler:
            if jsonl_out is not None:
                with open(jsonl_out, "w", encoding="utf-8") as out:
                    for doc in crawler:
                        out.write(json.dumps(doc.as_dict(), ensure_ascii=False) + "\n")
                report = None
            else:
                ix = Index.open_or_create(_index_or_default(index_path))
                report = ix.add_documents(crawler, on_wait=_on_wait(obj["quiet"]))
        crawl_report = crawler.report
    if not obj["quiet"]:
        c = crawl_report.counts
        click.echo(f"Crawl {state_dir}: {c.fetched} fetched, {c.documents} articles, {c.skipped} skipped, "
                   f"{c.errors} errors; archive {crawl_report.warc_path}", err=True)
        for url, why in crawl_report.skipped[:20]:
            click.echo(f"  skipped {url}: {why}", err=True)
        if report is not None:
            _print_report(report, _index_or_default(index_path))
