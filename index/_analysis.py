"""Document analysis as plain, picklable work, so it can run in worker processes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from analyzers import VietnameseAnalyzer
from corpus import Document

AnalyzedFields = dict[str, Any]

# One analyzer per worker process, set by the pool initializer (a worker analyses for one index).
_worker_analyzer: VietnameseAnalyzer | None = None


def init_worker(user_words: tuple[str, ...]) -> None:
    global _worker_analyzer
    _worker_analyzer = VietnameseAnalyzer(user_words=user_words)


def analyze_in_worker(doc: Document) -> AnalyzedFields:
    assert _worker_analyzer is not None, "init_worker was not called"
    return analyze_document(_worker_analyzer, doc)


def analyze_document(analyzer: VietnameseAnalyzer, doc: Document) -> AnalyzedFields:
    """The Whoosh field values of one document: term lists for indexed fields, originals stored."""
    title = analyzer.analyze(doc.title) if doc.title else None
    text = analyzer.analyze(doc.text) if doc.text else None
    syl: list[str] = []
    fold: list[str] = []
    pairs: list[str] = []
    for part in (title, text):
        if part is not None:
            syl.extend(part.terms("syllables"))
            folded = part.terms("folded")
            fold.extend(folded)
            pairs.extend(syllable_pairs(folded))
    values: AnalyzedFields = {
        "id": doc.id,
        "content_hash": doc.content_hash,
        "syl": syl,
        "fold": fold,
        "pairs": pairs,
    }
    if title is not None:
        values["title"] = title.terms("words")
        values["_stored_title"] = doc.title
    if text is not None:
        values["text"] = text.terms("words")
        values["_stored_text"] = doc.text
    if doc.url:
        values["url"] = doc.url
    if doc.source:
        values["source"] = doc.source
    if doc.author:
        values["author"] = analyzer.analyze(doc.author).terms("folded")
        values["_stored_author"] = doc.author
    if doc.date:
        values["date"] = doc.date
        values["year"] = int(doc.date[:4])
    return values


def syllable_pairs(folded: list[str]) -> list[str]:
    """``["nong", "thon", "moi"]`` -> ``["nong_thon", "thon_moi"]`` (the ``pairs`` field's terms)."""
    return [f"{a}_{b}" for a, b in zip(folded, folded[1:])]


def document_bytes(docs: Iterable[Document]) -> int:
    return sum(len(d.title.encode("utf-8")) + len(d.text.encode("utf-8")) for d in docs)
