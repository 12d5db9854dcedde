"""Reading a segment's postings and field lengths as numpy arrays (for the searcher stage).

The searcher scores whole posting lists at once (``searcher/_fast.py``). These functions read
them from a Whoosh segment reader: through the term table entry and the block framing of
Whoosh 3 segments (array blocks of :mod:`index._blocks` without touching positions, Whoosh's
pickled blocks otherwise), or through Whoosh's matchers for any other kind of segment. They rely
on whoosh-reloaded 2.7.5's internals, which ``pyproject.toml`` pins; ``tests/test_fast.py`` and
``tests/test_blocks.py`` compare what they read with Whoosh's own searches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3TermsReader, _lenfield
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.float64)
_NO_IDS = np.empty(0, dtype=np.int64)
_NO_WEIGHTS = np.empty(0, dtype=np.float64)


def has_entries(reader: Any) -> bool:
    """True if ``reader`` is a segment whose term table :func:`entry` can read."""
    return isinstance(getattr(reader, "_terms", None), W3TermsReader)


def entry(reader: Any, fieldname: str, btext: bytes) -> Any:
    """The term's entry (a ``W3TermInfo``: document frequency, inlined postings or where the
    blocks are) in one segment, or None if the segment lacks the term. One hash lookup."""
    try:
        return reader._terms.term_info(fieldname, btext)
    except TermNotFound:
        return None


def read_entry(reader: Any, fieldname: str, info: Any, values: list[bytes] | None,
               within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The postings of a term in one Whoosh 3 segment as arrays, from its term entry: inlined
    short lists directly, others a block at a time. Encoded values (positions) are appended
    to ``values`` if it is given. With ``within`` (sorted local ids), blocks whose id range
    holds none of them are skipped without being decoded."""
    if info.is_inlined():
        ids_t, weights_t, values_t = info.inlined_postings()
        if values is not None:
            values.extend(values_t)
        return np.array(ids_t, dtype=np.int64), np.array(weights_t, dtype=np.float64)
    terms = reader._terms
    m = terms._codec.postings_reader(terms._postfile, info, reader.schema[fieldname].format)
    ids_parts: list[np.ndarray] = []
    w_parts: list[np.ndarray] = []
    array_blocks = hasattr(m, "block_arrays")  # index._blocks: ids and weights without positions
    previous_max = -1
    while not m._atend:
        if within is not None:
            # The block holds ids in (previous_max, its max id]: skip it if no candidate is there.
            first = int(np.searchsorted(within, previous_max, side="right"))
            if first == within.size:
                break
            if within[first] > m._maxid:
                previous_max = m._maxid
                m._next_block()
                continue
        previous_max = m._maxid
        if array_blocks:
            ids, weights_arr = m.block_arrays()
            ids_parts.append(ids)
            w_parts.append(weights_arr)
            if values is not None:
                values.extend(m.block_values())
            m._next_block()
            continue
        m._read_data()
        deltas, weights = m._data[0], m._data[1]
        n = m._blocklength
        ids_parts.append(np.cumsum(np.asarray(deltas, dtype=np.int64)))
        if values is not None:
            values.extend(_block_values(m._data[2], n, reader.schema[fieldname].format.fixed_value_size()))
        if weights is None:
            w_parts.append(np.ones(n))
        elif isinstance(weights, float):
            w_parts.append(np.full(n, weights))
        else:
            w_parts.append(np.asarray(weights, dtype=np.float64))
        m._next_block()
    if not ids_parts:
        return _NO_IDS, _NO_WEIGHTS
    return np.concatenate(ids_parts), np.concatenate(w_parts)


def _block_values(raw: Any, count: int, fixedsize: int | None) -> list[bytes]:
    """One bytes value per posting from a Whoosh 3 block's values: a tuple, one string of
    fixed-size values, or None (no values)."""
    if raw is None or fixedsize == 0:
        return [b""] * count
    if isinstance(raw, bytes):
        size = fixedsize or 0
        return [raw[i * size:(i + 1) * size] for i in range(count)] if size > 0 else [b""] * count
    return list(raw)


def read_matcher(reader: Any, fieldname: str, btext: bytes,
                 values: list[bytes] | None) -> tuple[np.ndarray, np.ndarray]:
    """The same from any other kind of segment, by walking Whoosh's matcher (which skips
    deleted documents)."""
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
    """One segment's lengths of ``fieldname``, decoded from Whoosh's one-byte length column."""
    try:
        col = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        raw = np.zeros(doc_count, dtype=np.uint8)
        if col is not None:
            count = min(col._count, doc_count)
            raw[:count] = np.frombuffer(col._dbfile.get(col._basepos, count), dtype=np.uint8)
        out = _BYTE_TO_LENGTH[raw]
    except AttributeError:  # another codec: ask the reader, one document at a time
        out = np.array([reader.doc_field_length(d, fieldname, 0) or 0 for d in range(doc_count)],
                       dtype=np.float64)
    out[out == 0] = 1  # Whoosh's scorer reads a missing length as 1
    return out


def block_maxima(reader: Any, fieldname: str, info: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per posting block of a term in one segment: the last document number of each block and
    the largest weight in it (``(last_ids, max_weights)``, int64 and float64), read from the
    block headers without decoding any posting. Upper bounds for dynamic pruning: every
    posting of block ``i`` has an id in ``(last_ids[i - 1], last_ids[i]]`` and a weight of at
    most ``max_weights[i]``. A term with inlined postings is one block."""
    if info.is_inlined():
        ids_t, weights_t, _values = info.inlined_postings()
        if not ids_t:
            return _NO_IDS, _NO_WEIGHTS
        return np.array([ids_t[-1]], dtype=np.int64), np.array([max(weights_t)], dtype=np.float64)
    terms = reader._terms
    m = terms._codec.postings_reader(terms._postfile, info, reader.schema[fieldname].format)
    last: list[int] = []
    maxima: list[float] = []
    while not m._atend:
        last.append(m._maxid)
        maxima.append(m._maxweight)
        m._next_block()
    return np.array(last, dtype=np.int64), np.array(maxima, dtype=np.float64)
