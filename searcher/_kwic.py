"""Keyword in context: every occurrence of a query's words or phrases, with the text around it.

Occurrences are found in the stored text itself, syllable by syllable, so ``match`` is the text
as written (its case, its accents, NFC or NFD) while the comparison is normalised as the index
normalises: case, Unicode form and tone placement never matter, and accents matter exactly when
they decide a search (see ``accents``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analyzers import fold, has_accents, normalize

from ._errors import QuerySyntaxError
from ._query import Bool, Node, Phrase, Text, _is_filter, parse_query
from ._results import KwicLine

if TYPE_CHECKING:
    from ._searcher import Searcher

# A syllable as written: letters and digits with any combining marks (NFD text), no underscore.
_SYLLABLE = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class _Pattern:
    keys: tuple[str, ...]  # normalised lower-case syllables, folded when ``folded``
    folded: bool


def _key(syllable: str) -> str:
    return normalize(syllable).lower()


def _keys(text: str) -> tuple[str, ...]:
    return tuple(_key(m.group()) for m in _SYLLABLE.finditer(text))


def _positive(node: Node) -> Iterator[Text | Phrase]:
    """The words and phrases a document is found by (not those excluded, nor filters)."""
    if isinstance(node, Bool):
        for child in (*node.must, *node.should):
            yield from _positive(child)
    elif isinstance(node, (Text, Phrase)) and node.field in (None, "title", "text") and not _is_filter(node):
        yield node


def patterns(searcher: "Searcher", query: str, accents: str = "auto", match: str = "any") -> list[_Pattern]:
    """The syllable sequences to look for: each content word of the query's free words (and
    the other forms of the abbreviations among them), each phrase as a whole."""
    compiler = searcher._compiler(accents=accents, match=match)  # noqa: SLF001 (same package)
    analyzer = searcher.analyzer
    out: list[_Pattern] = []
    for node in _positive(parse_query(query, match=match)):
        exact = compiler.exact(node.text)
        texts = [node.text]
        if isinstance(node, Text) and not exact and not has_accents(node.text):
            # Typed without accents: segment the accents restored from the index instead, so
            # "nong thon" is the word "nông thôn" (matched in any spelling), not two syllables.
            texts = [searcher.suggest(node.text) or node.text]
        forms: list[tuple[str, ...]] = []
        for text in texts:
            analysis = analyzer.analyze(text)
            if isinstance(node, Phrase):
                forms.append(tuple(analysis.terms("syllables")))
            else:
                words = [w for w in analysis.terms("words") if not analyzer.is_stopword(w)] or analysis.terms("words")
                forms.extend(tuple(w.split("_")) for w in words)
        syllables = analyzer.analyze(node.text).terms("syllables")
        if searcher.synonyms is not None:
            for occ in searcher.synonyms.find(syllables, folded=not exact):
                forms.extend(occ.variants)
                forms.append(tuple(syllables[occ.start:occ.end]))
        for form in forms:
            keys = _keys(" ".join(form))
            if keys:
                out.append(_Pattern(tuple(fold(k) for k in keys) if not exact else keys, not exact))
    return list(dict.fromkeys(out))


def occurrences(text: str, pats: list[_Pattern]) -> Iterator[tuple[int, int]]:
    """(start, end) of each occurrence in ``text``, longest pattern first, left to right.

    >>> pats = [_Pattern(("nông", "thôn"), False)]
    >>> [("Nông thôn, nóng thôn. NÔNG THÔN"[a:b]) for a, b in occurrences("Nông thôn, nóng thôn. NÔNG THÔN", pats)]
    ['Nông thôn', 'NÔNG THÔN']
    """
    if not pats:
        return
    spans = [m.span() for m in _SYLLABLE.finditer(text)]
    exact = [_key(text[a:b]) for a, b in spans]
    folded = [fold(k) for k in exact] if any(p.folded for p in pats) else exact
    ordered = sorted(pats, key=lambda p: -len(p.keys))
    i = 0
    while i < len(spans):
        for p in ordered:
            keys = folded if p.folded else exact
            n = len(p.keys)
            if keys[i] == p.keys[0] and tuple(keys[i:i + n]) == p.keys:
                yield spans[i][0], spans[i + n - 1][1]
                i += n
                break
        else:
            i += 1


def _grapheme_bounds(text: str, lo: int, hi: int) -> tuple[int, int]:
    """Widen ``lo:hi`` so it does not split a letter from its combining marks (NFD text)."""
    while 0 < lo < len(text) and unicodedata.combining(text[lo]):
        lo -= 1
    while hi < len(text) and unicodedata.combining(text[hi]):
        hi += 1
    return lo, min(hi, len(text))


def kwic(searcher: "Searcher", query: str, *, width: int = 40, limit: int | None = None,
         source: str | None = None, author: str | None = None, date_from: str | None = None,
         date_to: str | None = None, accents: str = "auto", match: str = "any") -> list[KwicLine]:
    """See :meth:`searcher.Searcher.kwic`."""
    if width < 0 or (limit is not None and limit < 1):
        raise QuerySyntaxError("width must be 0 or more and limit at least 1", query=query)
    _compiled, matches = searcher._select(query, source=source, author=author, date_from=date_from,  # noqa: SLF001
                                          date_to=date_to, accents=accents, match=match)
    pats = patterns(searcher, query, accents=accents, match=match)
    lines: list[KwicLine] = []
    for docnum in searcher._by_date(matches, reverse=False):  # noqa: SLF001
        stored = searcher._searcher.stored_fields(docnum)  # noqa: SLF001
        title = stored.get("title", "") or ""
        for field in (title, stored.get("text", "") or ""):
            for a, b in occurrences(field, pats):
                lo, hi = _grapheme_bounds(field, max(0, a - width), b + width)
                lines.append(KwicLine(id=stored["id"], title=title, date=stored.get("date"),
                                      left=_SPACE.sub(" ", field[lo:a]), match=_SPACE.sub(" ", field[a:b]),
                                      right=_SPACE.sub(" ", field[b:hi])))
                if limit is not None and len(lines) >= limit:
                    return lines
    return lines
