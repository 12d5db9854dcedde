"""Reading a segment's postings and field lengths as numpy arrays (for the searcher stage).

The searcher scores whole posting lists at once (``searcher/_fast.py``). Format 3 segments
(:mod:`index.format`) are read through their term dictionaries, a whole term's packed arrays read
at once; segments of any other codec through Whoosh's matchers. ``tests/test_fast.py`` compares
what they read with Whoosh's own searches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from whoosh.reading import TermNotFound

from .format import BLOCK, ArrayTermInfo, _select, segment_documents, segment_terms

_NO_IDS = np.empty(0, dtype=np.int64)
# A term is read in part (the blocks that may hold some documents) when it has more postings
# than this and over PARTIAL_RATIO times as many as the documents wanted; below that, numpy
# decodes the whole term faster than it picks blocks (measured on 77,000 paragraphs).
PARTIAL_MIN_DF = 192 * BLOCK
PARTIAL_RATIO = 1024
_NO_WEIGHTS = np.empty(0, dtype=np.float64)


def has_entries(reader: Any) -> bool:
    """True if ``reader`` is a format 3 segment, whose terms :func:`entry` reads."""
    return segment_terms(reader) is not None


def entry(reader: Any, fieldname: str, btext: bytes) -> ArrayTermInfo | None:
    """The term's entry (document frequency, its postings when asked) in one segment, or None
    if the segment lacks the term. One binary search."""
    terms = segment_terms(reader)
    if terms is None:
        return None
    try:
        return terms.term_info(fieldname, btext)
    except TermNotFound:
        return None


def read_entry(info: ArrayTermInfo, with_positions: bool = False
               ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """The postings of a term in one segment: document numbers, weights (frequencies times the
    field boost) and, if asked and the field has them, ``(frequencies, positions)`` (each
    posting's positions one after the other)."""
    ids, freqs = info.arrays()
    field = info.field
    weights = freqs * field.boost if field.boost != 1.0 else freqs.astype(np.float64)
    positions = None
    if with_positions and field.has_positions:
        positions = (freqs, field.positions(info.index, freqs))
    return ids, weights, positions


def read_entry_within(info: ArrayTermInfo, want: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`read_entry` (without positions) of the postings in the blocks that may hold the
    sorted document numbers ``want``: a superset of the term's postings among them, read
    without decoding the other blocks when ``want`` is much smaller than the term."""
    field = info.field
    df = info.doc_frequency()
    if df > PARTIAL_MIN_DF and len(want) * PARTIAL_RATIO < df:
        ids, freqs = info.arrays_in(want)
    else:
        ids, freqs = info.arrays()
    return ids, freqs * field.boost if field.boost != 1.0 else freqs.astype(np.float64)


def read_positions(info: ArrayTermInfo, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the term's postings ``which`` (sorted indexes into :func:`read_entry`'s
    arrays) in one segment: their counts and positions, posting after posting. Only the blocks
    of positions that hold them are decoded."""
    return info.field.positions_of(info.index, which)


def select_positions(counts: np.ndarray, flat: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From postings of ``counts`` positions each, all of them in ``flat`` posting after posting:
    the counts and positions of the postings ``which``, in that order."""
    return _select(counts, flat, which)


def posting_indexes(info: ArrayTermInfo, docs: np.ndarray) -> np.ndarray:
    """The places among the term's postings (for :func:`read_positions`) of the sorted document
    numbers ``docs``, every one of which holds the term and was read."""
    return info.indexes_of(docs)


def read_matcher(reader: Any, fieldname: str, btext: bytes,
                 values: list[bytes] | None) -> tuple[np.ndarray, np.ndarray]:
    """The same from any other kind of segment, by walking Whoosh's matcher (which skips
    deleted documents); encoded values are appended to ``values`` if it is given."""
    m = reader.postings(fieldname, btext)
    ids: list[int] = []
    ws: list[float] = []
    while m.is_active():
        ids.append(m.id())
        ws.append(m.weight())
        if values is not None:
            values.append(m.value())
        m.next()
    return np.array(ids, dtype=np.int64), np.array(ws, dtype=np.float64)


def field_lengths(reader: Any, fieldname: str, doc_count: int) -> np.ndarray:
    """One segment's lengths of ``fieldname`` (float64; a missing length reads as 1, as Whoosh's
    scorer reads it)."""
    docs = segment_documents(reader)
    if docs is not None:
        out = docs.lengths(fieldname).astype(np.float64)
    else:  # another codec: ask the reader, one document at a time
        out = np.array([reader.doc_field_length(d, fieldname, 0) or 0 for d in range(doc_count)],
                       dtype=np.float64)
    out[out == 0] = 1
    return out
