"""The public search API: open an index, run queries, get plain values back."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh import scoring

from analyzers import VietnameseAnalyzer
from corpus import Document, clean_text
from index import ConfirmCallback, DeleteReport, Index, WaitCallback
from index.format import MissingFileError

from ._compile import Compiled, QueryCompiler
from ._compile import narrow as narrow_query
from ._errors import QuerySyntaxError
from ._fast import FastEvaluator, Matches
from ._query import Bool, DateRange, Node, Phrase, Text, is_date, parse_query, suggest_query
from ._results import Hit, KwicLine, Results, Trend
from ._snippets import highlight_spans, make_snippet
from ._suggest import Suggester
from ._synonyms import SynonymSource, Synonyms, default_synonyms, load_synonyms

log = logging.getLogger(__name__)

SORTS = ("relevance", "date", "-date")
_NO_YEAR = 2**32 - 1
FACETS = ("source", "year", "author")
_FACET_FIELDS = {"author": "author_name"}
_B, _K1 = 0.75, 1.2


def _weighting() -> scoring.WeightingModel:
    # The evaluator (searcher/_fast.py) computes this BM25F with numpy; Whoosh's model scores
    # the parts it hands to Whoosh's own matchers (prefixes, ranges, sloppy phrases).
    return scoring.BM25F(B=_B, K1=_K1)


def _open_searcher(ix: Index) -> Any:
    """Whoosh's searcher over the index's segments. Whoosh's reader already tries again when a
    segment file disappears as it opens it (a commit replacing the segment); one still missing
    after that is damage, said in one line."""
    try:
        return ix._whoosh().searcher(weighting=_weighting())
    except FileNotFoundError as exc:
        raise MissingFileError.of(exc) from None


class Searcher:
    """Search one vnsearch index. Use as a context manager; results are plain values.

    >>> import tempfile
    >>> from corpus import Document
    >>> from index import ConfirmCallback, DeleteReport, Index, WaitCallback
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Index.create(tmp).add_documents([Document(id="1", title="Tài liệu", text="Tài liệu lưu trữ")], workers=1)
    ...     with Searcher.open(tmp) as s:
    ...         [h.id for h in s.search("tài liệu")]
    ['1']
    """

    def __init__(self, ix: Index, *, stopwords: Sequence[str] | None = None,
                 synonyms: SynonymSource | None = None, abbreviations: bool = True) -> None:
        self.index = ix
        self.analyzer = VietnameseAnalyzer(user_words=ix.meta.user_words, stopwords=stopwords)
        groups = (default_synonyms() if abbreviations else []) + (load_synonyms(synonyms) if synonyms else [])
        self.synonyms: Synonyms | None = Synonyms(groups, self.analyzer) if groups else None
        self._searcher = _open_searcher(ix)
        self._suggester: Suggester | None = None
        self._fast: FastEvaluator | None = None
        self._closed = False

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, stopwords: Sequence[str] | None = None,
             synonyms: SynonymSource | None = None, abbreviations: bool = True) -> "Searcher":
        """Open the index at ``path``; raises ``IndexNotFoundError`` or ``IndexVersionError``.

        ``stopwords`` replace the shipped stop-word list for queries. ``synonyms`` (a file of
        comma-separated groups, one a line, or the groups themselves) add to the shipped
        abbreviations (``UBND, Ủy ban nhân dân``), which ``abbreviations=False`` turns off.
        """
        return cls(Index.open(Path(path)), stopwords=stopwords, synonyms=synonyms, abbreviations=abbreviations)

    def __enter__(self) -> "Searcher":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Release the index files; closing again does nothing."""
        if not self._closed:
            self._closed = True
            self._searcher.close()

    def refresh(self) -> None:
        """See documents committed since the searcher was opened."""
        # Whoosh's own Searcher.refresh() fails on a searcher opened on an empty index, so
        # reopen from disk; open() also finishes an interrupted reindex swap.
        if self._searcher.up_to_date():
            return
        self._searcher.close()
        self.index = Index.open(self.index.path)
        self._searcher = _open_searcher(self.index)
        self._suggester = None
        self._fast = None

    def doc_count(self) -> int:
        return int(self._searcher.doc_count())

    # -- queries ------------------------------------------------------------------------

    def search(self, query: str | None, *, limit: int = 10, page: int = 1, source: str | None = None,
               author: str | None = None, date_from: str | None = None, date_to: str | None = None,
               sort: str = "relevance", facets: Sequence[str] = (), snippets: bool = True,
               suggest: bool = True, accents: str = "auto", match: str = "any") -> Results:
        """Run ``query`` (see the README's query language) and return one page of results.

        Filters (``source``, ``author``, ``date_from``, ``date_to`` as ``YYYY[-MM[-DD]]``) narrow
        the matches; with no query they list the documents they select, newest first.
        ``sort`` is ``relevance``, ``date`` or ``-date``; ``facets`` names fields (``source``,
        ``year``, ``author``) whose value counts over all matches are returned. ``accents``:
        ``auto`` (words typed with accents match only those accents), ``exact`` or ``any``;
        ``match``: ``any`` word (ranked) or ``all`` words. ``total`` counts every match.
        Raises :class:`QuerySyntaxError` for a malformed query or option.
        """
        start = time.perf_counter()
        if limit < 1 or page < 1:
            raise QuerySyntaxError("limit and page must be at least 1", query=query or "")
        if sort not in SORTS:
            raise QuerySyntaxError(f"unknown sort {sort!r}", query=query or "", hint="Use relevance, date or -date.")
        for f in facets:
            if f not in FACETS:
                raise QuerySyntaxError(f"unknown facet {f!r}", query=query or "", hint="Facets are: " + ", ".join(FACETS) + ".")
        if not (query or "").strip() and sort == "relevance":
            sort = "-date"  # browsing: no relevance to rank by
        compiled = self._compile(query, source=source, author=author, date_from=date_from,
                                 date_to=date_to, accents=accents, match=match)
        fast = self._evaluator()
        first = (page - 1) * limit
        matches: Matches | None = None
        if sort == "relevance" and not facets:
            # Only one page is shown: the evaluator prunes what cannot reach it (the count stays exact).
            best, found = fast.search(compiled.query, first + limit)
            ranked, total = best[first:], int(found or 0)
        else:
            matches = fast.matches(compiled.query)
            total = len(matches)
            if sort == "relevance":
                ranked = fast.top(matches, first + limit)[first:]
            else:
                ranked = [(d, 0.0) for d in self._by_date(matches, reverse=sort == "-date")[first:first + limit]]
        hits = []
        for rank, (docnum, score) in enumerate(ranked, start=first + 1):
            stored = self._searcher.stored_fields(docnum)
            snippet: str = ""
            marks: tuple[tuple[int, int], ...] = ()
            title = stored.get("title", "")
            if snippets:
                snippet, marks = make_snippet(stored.get("text", "") or title, compiled.terms)
            hits.append(Hit(id=stored["id"], rank=rank, score=score,
                            title=title, snippet=snippet, highlights=marks,
                            url=stored.get("url"), source=stored.get("source"), date=stored.get("date"),
                            author=stored.get("author"), title_highlights=highlight_spans(title, compiled.terms)))
        facet_counts = {f: self._facet(f, matches.ids) for f in facets if matches is not None}
        # Only the free words are corrected; operators, fields and dates are kept as typed.
        suggestion = suggest_query(query, self.suggest) if suggest and query else None
        return Results(query=query or "", total=total, hits=tuple(hits), page=page, limit=limit,
                       elapsed_ms=(time.perf_counter() - start) * 1000, suggestion=suggestion,
                       facets=facet_counts)

    def matching_ids(self, query: str | None, *, source: str | None = None, author: str | None = None,
                     date_from: str | None = None, date_to: str | None = None, accents: str = "auto",
                     match: str = "any") -> list[str]:
        """The ids of every document ``search`` with the same arguments counts in ``total``
        (in index order). The one place a query and filters become a set of documents: deleting by
        query, trends and keyword-in-context all use it, so they agree with ``search``.
        """
        _compiled, matches = self._select(query, source=source, author=author, date_from=date_from,
                                          date_to=date_to, accents=accents, match=match)
        return [str(x) for x in self._evaluator().column_values("id", matches.ids)]

    def trend(self, queries: Sequence[str], *, by: str = "year", source: str | None = None,
              author: str | None = None, date_from: str | None = None, date_to: str | None = None,
              accents: str = "auto", match: str = "any") -> Trend:
        """Matching documents per year (``by="year"``) or month (``"month"``) for each query, with
        their share of all documents of that period (under the same filters). Every period from
        the first to the last dated document is present; undated documents are left out.

        Each count is what ``search`` reports for the query with that period as its date filter.
        """
        from ._trend import trend

        return trend(self, queries, by=by, source=source, author=author, date_from=date_from,
                     date_to=date_to, accents=accents, match=match)

    def kwic(self, query: str, *, width: int = 40, limit: int | None = None, source: str | None = None,
             author: str | None = None, date_from: str | None = None, date_to: str | None = None,
             accents: str = "auto", match: str = "any") -> list[KwicLine]:
        """Keyword in context: every occurrence of the query's words or phrases in the matching
        documents (oldest document first), with ``width`` characters of context each side.
        ``match`` of each line is the text as written in the document."""
        from ._kwic import kwic

        return kwic(self, query, width=width, limit=limit, source=source, author=author,
                    date_from=date_from, date_to=date_to, accents=accents, match=match)

    def _select(self, query: str | None, *, source: str | None, author: str | None, date_from: str | None,
                date_to: str | None, accents: str, match: str, every: bool = False) -> tuple[Compiled, Matches]:
        """The compiled query and every live document it matches under the filters (with no
        query: every document the filters select, or, with ``every``, all documents)."""
        compiled = self._compile(query, source=source, author=author, date_from=date_from,
                                 date_to=date_to, accents=accents, match=match, every=every)
        return compiled, self._evaluator().matches(compiled.query)

    def _compile(self, query: str | None, *, source: str | None, author: str | None, date_from: str | None,
                 date_to: str | None, accents: str, match: str, every: bool = False) -> Compiled:
        """The compiled query under the filters (see :meth:`_select`)."""
        filters = _filters(source, author, date_from, date_to, query or "")
        if not (query or "").strip():
            if not filters and every:
                return Compiled(wq.Every())
            if not filters:
                raise QuerySyntaxError("the query is empty",
                                       hint='Give some words, e.g. "nông thôn mới", or a filter such as --source.')
            node: Node = Bool(must=tuple(filters))
        else:
            node = parse_query(query or "", match=match)
        compiler = self._compiler(accents=accents, match=match)
        compiled = compiler.compile(node)
        if filters and (query or "").strip():
            # The filters narrow the query's matches without changing what it matches (or how
            # it ranks): the same words match with and without --from, so counts add up by period.
            narrow = compiler.compile(Bool(must=tuple(filters))).query
            compiled = Compiled(narrow_query(compiled.query, narrow), compiled.terms)
        return compiled

    def search_ids(self, query: str, *, limit: int = 100, syntax: bool = False,
                   accents: str = "auto") -> list[tuple[str, float]]:
        """Ranked ``(id, score)`` pairs only: the batch/evaluation path.

        By default the query is plain text (a natural-language question may hold stray quotes
        or dashes); ``syntax=True`` parses the query language instead.
        """
        node = parse_query(query) if syntax else Text(clean_text(query))
        compiled = self._compiler(accents=accents).compile(node)
        fast = self._evaluator()
        top, _total = fast.search(compiled.query, limit, total=False)
        ids = fast.column_values("id", np.array([d for d, _s in top], dtype=np.int64))
        return [(doc_id, score) for doc_id, (_d, score) in zip(ids, top)]

    # -- evaluation ---------------------------------------------------------------------

    def _evaluator(self) -> FastEvaluator:
        if self._fast is None:
            self._fast = FastEvaluator(self._searcher, B=_B, K1=_K1)
        return self._fast

    def _by_date(self, matches: Matches, reverse: bool) -> list[int]:
        """Matching docnums by date (undated last either way), best score first within a date."""
        fast = self._evaluator()
        ranked = np.array([d for d, _score in fast.top(matches, len(matches))], dtype=np.int64)
        docs = [(date or "", d) for date, d in zip(fast.column_values("date", ranked), ranked.tolist())]
        # A stable sort keeps the relevance order within a date, also when reversed.
        dated = sorted((x for x in docs if x[0]), key=lambda x: x[0], reverse=reverse)
        return [d for _date, d in dated] + [d for date, d in docs if not date]

    def _facet(self, name: str, docnums: Any) -> dict[str, int]:
        """Value counts of a facet over the matching documents, most frequent first."""
        counts: dict[str, int] = {}
        for value in self._evaluator().column_values(_FACET_FIELDS.get(name, name), docnums):
            # A document without a year holds the numeric column's "missing" value, 2**32 - 1.
            if value in (None, "", b"", _NO_YEAR):
                continue
            key = str(value)
            counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def _compiler(self, accents: str = "auto", match: str = "any") -> QueryCompiler:
        fast = self._evaluator()
        fast.begin_query()
        return QueryCompiler(self.analyzer, restore=self.suggest, doc_frequency=fast.doc_frequency,
                             doc_count=self._searcher.doc_count(), accents=accents, match=match,
                             synonyms=self.synonyms)

    def suggest(self, query: str) -> str | None:
        """A corrected query drawn from the index's vocabulary, or None if nothing better is known.

        Restores accents (``bac son`` -> ``bắc sơn``) and fixes one-letter typos in a syllable.
        """
        if self._suggester is None:
            self._suggester = Suggester(self._searcher.reader(), self.analyzer,
                                        doc_frequency=self._evaluator().doc_frequency)
        return self._suggester.suggest(clean_text(query))

    def document(self, doc_id: str) -> Document | None:
        """The stored document with this id, or None."""
        stored = self._searcher.document(id=doc_id)
        if stored is None:
            return None
        return Document(id=stored["id"], title=stored.get("title", ""), text=stored.get("text", ""),
                        url=stored.get("url"), source=stored.get("source"), date=stored.get("date"),
                        author=stored.get("author"))



def _filters(source: str | None, author: str | None, date_from: str | None, date_to: str | None,
             query: str) -> list[Node]:
    out: list[Node] = []
    if source:
        out.append(Text(source, "source"))
    if author:
        out.append(Phrase(author, 0, "author"))
    for value in (date_from, date_to):
        if value and not is_date(value):
            raise QuerySyntaxError(f"bad date {value!r}", query=query,
                                   hint="Write dates as YYYY, YYYY-MM or YYYY-MM-DD.")
    if date_from or date_to:
        out.append(DateRange(date_from, date_to))
    return out


def matching_ids(index: Index, query: str) -> list[str]:
    """What ``query`` matches in ``index``: the :data:`index.MatchFinder` that makes
    ``Index.delete_matching`` delete exactly what a search finds."""
    with Searcher(index) as s:
        return s.matching_ids(query)


def delete_documents(path: str | os.PathLike[str], ids: Sequence[str] = (), query: str | None = None, *,
                     dry_run: bool = False, confirm: ConfirmCallback | None = None,
                     lock_timeout: float = 60.0, on_wait: WaitCallback | None = None) -> DeleteReport:
    """Delete the documents with these ``ids``, or every document ``query`` matches (exactly
    those a search for it finds), from the index at ``path``; see ``Index.delete``.

    Raises :class:`QuerySyntaxError` if neither or both are given, or the query is malformed.
    """
    if bool(ids) == bool(query):
        raise QuerySyntaxError("give document ids or a query to delete, not both" if ids else "nothing to delete",
                               hint="Give document ids or --query QUERY.")
    ix = Index.open(Path(path))
    if query:
        parse_query(query)  # a malformed query fails before the lock is taken
        return ix.delete_matching(query, matching_ids, dry_run=dry_run, confirm=confirm,
                                  lock_timeout=lock_timeout, on_wait=on_wait)
    return ix.delete(ids, dry_run=dry_run, confirm=confirm, lock_timeout=lock_timeout, on_wait=on_wait)
