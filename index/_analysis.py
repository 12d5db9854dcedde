"""Document analysis as plain, picklable work, so it can run in worker processes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analyzers import VietnameseAnalyzer
from corpus import Document

AnalyzedFields = dict[str, Any]

# One analyzer per worker process, set by the pool initializer (a worker analyses for one index).
_worker_analyzer: VietnameseAnalyzer | None = None


def init_worker(user_words: tuple[str, ...]) -> None:
    global _worker_analyzer
    _worker_analyzer = VietnameseAnalyzer(user_words=user_words)


def worker_analyzer() -> VietnameseAnalyzer:
    """The analyzer ``init_worker`` set in this worker process."""
    assert _worker_analyzer is not None, "init_worker was not called"
    return _worker_analyzer


@dataclass(frozen=True)
class Pairs:
    """The ``pairs`` field's terms of a document, not yet spelled out: the adjacent syllables of
    each part (title, text), never across parts. The segment builder indexes these from the
    syllables' numbers; :meth:`terms` gives the strings."""

    parts: tuple[list[str], ...]

    @property
    def count(self) -> int:
        return sum(max(len(p) - 1, 0) for p in self.parts)

    def terms(self) -> list[str]:
        return [pair for part in self.parts for pair in syllable_pairs(part)]


def analyze_document(analyzer: VietnameseAnalyzer, doc: Document, *, pairs_as_lists: bool = True
                     ) -> AnalyzedFields:
    """The Whoosh field values of one document: term lists for indexed fields, originals stored.
    With ``pairs_as_lists=False`` the ``pairs`` field is a :class:`Pairs`, which only the segment
    builder takes."""
    syl: list[str] = []
    fold: list[str] = []
    parts: list[list[str]] = []
    values: AnalyzedFields = {"id": doc.id, "content_hash": doc.content_hash}
    for name, value in (("title", doc.title), ("text", doc.text)):
        if not value:
            continue
        words, syllables, folded = analyzer.terms(value)
        values[name] = words
        values["_stored_" + name] = value
        syl.extend(syllables)
        fold.extend(folded)
        parts.append(folded)  # pairs per part: none across the title/text seam
    pairs = Pairs(tuple(parts))
    values.update(syl=syl, fold=fold, pairs=pairs.terms() if pairs_as_lists else pairs)
    if doc.url:
        values["url"] = doc.url
    if doc.source:
        values["source"] = doc.source
    if doc.author:
        values["author"] = analyzer.terms(doc.author)[2]
        values["_stored_author"] = doc.author
        values["author_name"] = doc.author
    if doc.date:
        values["date"] = doc.date
        values["year"] = int(doc.date[:4])
    return values


def syllable_pairs(folded: list[str]) -> list[str]:
    """``["nong", "thon", "moi"]`` -> ``["nong_thon", "thon_moi"]`` (the ``pairs`` field's terms)."""
    return [f"{a}_{b}" for a, b in zip(folded, folded[1:])]
