"""The Whoosh schema: which fields are indexed, how, and what is stored."""

from __future__ import annotations

from collections.abc import Iterable

from whoosh import fields

from analyzers.whoosh_adapter import VietnameseTokenizer
from analyzers import VietnameseAnalyzer

SCHEMA_VERSION = 3
"""Changes whenever the fields change; stored in every index beside the analyzer version."""

STORED_FIELDS = ("id", "title", "text", "url", "source", "date", "author", "content_hash")


def build_schema(user_words: Iterable[str] = ()) -> fields.Schema:
    """Fields: word-level ``title``/``text`` (stored), syllable-level ``syl`` and accent-folded
    ``fold`` over title and text (for compound parts, phrases and unaccented queries), folded
    syllable ``pairs`` (proximity), and metadata for filters, facets and sorting."""
    analyzer = VietnameseAnalyzer(user_words=user_words)
    words = VietnameseTokenizer("words", analyzer)
    return fields.Schema(
        id=fields.ID(stored=True, unique=True, sortable=True),
        title=fields.TEXT(analyzer=words, stored=True, phrase=False, field_boost=1.0),
        text=fields.TEXT(analyzer=words, stored=True, phrase=False),
        syl=fields.TEXT(analyzer=VietnameseTokenizer("syllables", analyzer), phrase=True),
        fold=fields.TEXT(analyzer=VietnameseTokenizer("folded", analyzer), phrase=True),
        # Adjacent folded syllables ("nong_thon"): proximity evidence as cheap term lookups.
        pairs=fields.KEYWORD(lowercase=True, scorable=True),
        url=fields.ID(stored=True),
        source=fields.ID(stored=True, sortable=True),
        author=fields.TEXT(analyzer=VietnameseTokenizer("folded", analyzer), stored=True, phrase=True),
        # The byline as written, for the author facet (the author field holds folded syllables).
        author_name=fields.ID(sortable=True),
        date=fields.ID(stored=True, sortable=True),
        year=fields.NUMERIC(int, bits=32, sortable=True, signed=False),
        content_hash=fields.ID(stored=True, sortable=True),
    )
