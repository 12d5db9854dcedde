"""Document analysis as plain, picklable work, so it can run in worker processes."""

from __future__ import annotations

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


def analyze_in_worker(doc: Document) -> AnalyzedFields:
    return analyze_document(worker_analyzer(), doc)


def analyze_document(analyzer: VietnameseAnalyzer, doc: Document) -> AnalyzedFields:
    """The Whoosh field values of one document: term lists for indexed fields, originals stored."""
    syl: list[str] = []
    fold: list[str] = []
    pairs: list[str] = []
    values: AnalyzedFields = {"id": doc.id, "content_hash": doc.content_hash}
    for name, value in (("title", doc.title), ("text", doc.text)):
        if not value:
            continue
        words, syllables, folded = analyzer.terms(value)
        values[name] = words
        values["_stored_" + name] = value
        syl.extend(syllables)
        fold.extend(folded)
        pairs.extend(syllable_pairs(folded))  # per part: no pair across the title/text seam
    values.update(syl=syl, fold=fold, pairs=pairs)
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
