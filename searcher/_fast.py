"""Vectorised evaluation of compiled queries: Whoosh's BM25F scores, computed with numpy.

Whoosh scores a query one posting at a time in Python (a matcher tree, a scorer call and a
field-length lookup per posting), so a two-word query that touches 20,000 postings spends
most of its time in interpreter overhead. Here every term's posting list is read block by
block into arrays and scored in one expression, and the query tree combines the arrays:

- ``Term``: BM25F with Whoosh's own IDF and average field length (taken from the searcher, so
  the numbers are the same), field lengths decoded from Whoosh's one-byte length column.
- ``Or``/``And``/``AndMaybe``/``Require``/``AndNot``: unions, intersections and differences of
  sorted document-number arrays, with scores added as Whoosh's matchers add them.
- Anything else (phrases, prefixes, ranges): Whoosh's own matcher, walked once per segment.
  Phrases are first narrowed to the documents holding every word, so the positional check only
  runs where it can succeed.

The result is the same ranking as ``whoosh.searching.Searcher.search`` with ``BM25F`` (tested
in ``tests/test_fast.py`` against Whoosh on real text), including Whoosh's tie order (lower
document number first).
"""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from whoosh import formats
from whoosh import query as wq

from index import postings

_NO_IDS = np.empty(0, dtype=np.int64)
_NO_SCORES = np.empty(0, dtype=np.float64)


@dataclass(frozen=True)
class Matches:
    """Matching documents: sorted unique global document numbers and their scores."""

    ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.size)


EMPTY = Matches(_NO_IDS, _NO_SCORES)


class FastEvaluator:
    """Evaluates Whoosh queries over one (possibly multi-segment) Whoosh searcher.

    Per-field length arrays are read on first use and kept for the searcher's life.
    """

    def __init__(self, searcher: Any, B: float = 0.75, K1: float = 1.2) -> None:
        self._searcher = searcher
        self._schema = searcher.schema
        self._subs: list[tuple[Any, int]] = list(searcher.leaf_searchers())
        self._leaves: list[tuple[Any, int]] = [(sub.reader(), offset) for sub, offset in self._subs]
        self._doc_count = int(searcher.doc_count_all())
        self.B = B
        self.K1 = K1
        self._lengths: dict[str, np.ndarray] = {}
        self._deleted: np.ndarray | None = None
        # Whoosh 3 segments (all of ours) are read through their term tables directly.
        self._w3 = all(postings.has_entries(r) for r, _o in self._leaves)
        self._infos: dict[tuple[str, bytes], list[tuple[int, Any]]] = {}

    def begin_query(self) -> None:
        """Forget the term entries looked up for the previous query (they are kept within one
        query, so the compiler's document frequencies and the evaluation share one lookup)."""
        self._infos = {}

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """How many documents (deleted ones included, as Whoosh counts) hold the term."""
        if not self._w3:
            return int(self._searcher.doc_frequency(fieldname, text))
        if fieldname not in self._schema:
            return 0
        try:
            btext = self._schema[fieldname].to_bytes(text)
        except ValueError:
            return 0
        return sum(info.doc_frequency() for _leaf, info in self._term_infos(fieldname, btext))

    def _term_infos(self, fieldname: str, btext: bytes) -> list[tuple[int, Any]]:
        key = (fieldname, btext)
        found = self._infos.get(key)
        if found is None:
            found = []
            for i, (reader, _offset) in enumerate(self._leaves):
                info = postings.entry(reader, fieldname, btext)
                if info is not None:
                    found.append((i, info))
            self._infos[key] = found
        return found

    # -- public -----------------------------------------------------------------------

    def matches(self, q: wq.Query) -> Matches:
        """Every live document matching ``q``, with its score."""
        m = self._eval(q)
        deleted = self._deleted_ids()
        if deleted.size and m.ids.size:
            keep = ~np.isin(m.ids, deleted, assume_unique=True)
            m = Matches(m.ids[keep], m.scores[keep])
        return m

    @staticmethod
    def top(m: Matches, count: int) -> list[tuple[int, float]]:
        """The ``count`` best ``(docnum, score)`` pairs: score descending, then docnum ascending."""
        n = len(m)
        if n == 0 or count <= 0:
            return []
        ids, scores = m.ids, m.scores
        if n > count:
            # Keep every document tied with the count-th score, so ties break as Whoosh breaks them.
            kth = np.partition(scores, n - count)[n - count]
            keep = scores >= kth
            ids, scores = ids[keep], scores[keep]
        order = np.lexsort((ids, -scores))[:count]
        return [(int(ids[i]), float(scores[i])) for i in order]

    def column_values(self, fieldname: str, docnums: np.ndarray) -> list[Any]:
        """The column values of ``fieldname`` for global ``docnums`` (None where a segment has
        no such column), read segment by segment."""
        out: list[Any] = [None] * len(docnums)
        if not len(docnums):
            return out
        starts = np.array([offset for _r, offset in self._leaves], dtype=np.int64)
        leaf_of = np.searchsorted(starts, docnums, side="right") - 1
        for li in np.unique(leaf_of).tolist():
            reader, offset = self._leaves[li]
            if not reader.has_column(fieldname):
                continue
            column = reader.column_reader(fieldname)
            for k in np.flatnonzero(leaf_of == li).tolist():
                out[k] = column[int(docnums[k]) - offset]
        return out

    # -- the query tree ----------------------------------------------------------------

    def _eval(self, q: wq.Query, within: np.ndarray | None = None) -> Matches:
        """Matches of ``q``; ``within`` (sorted ids), if given, may be used to skip documents
        that cannot matter (the caller intersects with it anyway)."""
        if isinstance(q, wq.Term):
            return self._term(q)
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return EMPTY
        if isinstance(q, wq.Or) and type(q) in (wq.Or, wq.DefaultOr):
            return self._compound(q, union=True)
        if type(q) is wq.And:
            return self._compound(q, union=False)
        if type(q) is wq.AndMaybe:
            return _and_maybe(self._eval(q.a), self._eval(q.b))
        if type(q) is wq.Require:
            # The filter first: a costly scored side (a phrase) then only looks where it can match.
            b = self._eval(q.b, within)
            if not len(b):
                return EMPTY
            return _require(self._eval(q.a, b.ids), b)
        if type(q) is wq.AndNot:
            return _and_not(self._eval(q.a), self._eval(q.b))
        if type(q) is wq.Phrase:
            return self._phrase(q, within)
        return self._walk(q)

    def _compound(self, q: wq.CompoundQuery, union: bool) -> Matches:
        subs = q.subqueries
        if not subs:
            return EMPTY
        if len(subs) == 1:
            # Whoosh hands a lone subquery's matcher straight back, without the compound's boost.
            return self._eval(subs[0])
        if union:
            m = self._union([self._eval(s) for s in subs])
        else:
            m = _intersect([self._eval(s) for s in subs])
        if q.boost != 1.0 and len(m):
            m = Matches(m.ids, m.scores * q.boost)
        return m

    def _union(self, parts: list[Matches]) -> Matches:
        parts = [p for p in parts if len(p)]
        if not parts:
            return EMPTY
        if len(parts) == 1:
            return parts[0]
        ids = np.concatenate([p.ids for p in parts])
        scores = np.concatenate([p.scores for p in parts])
        if ids.size * 8 >= self._doc_count:
            acc = np.bincount(ids, weights=scores, minlength=self._doc_count)
            hit = np.bincount(ids, minlength=self._doc_count) > 0
            uids = np.flatnonzero(hit).astype(np.int64)
            return Matches(uids, acc[uids])
        unique = np.unique(ids, return_inverse=True)  # not unpacked: mypy 1.20 crashes on numpy 2.4's stub
        return Matches(unique[0].astype(np.int64), np.bincount(unique[1], weights=scores))

    # -- terms ---------------------------------------------------------------------------

    def _term(self, q: wq.Term) -> Matches:
        fieldname = q.fieldname
        if fieldname not in self._schema:
            return EMPTY
        field = self._schema[fieldname]
        try:
            btext = field.to_bytes(q.text)
        except ValueError:
            return EMPTY
        ids, tf, _values, df = self._postings(fieldname, btext)
        if not ids.size:
            return EMPTY
        scores = self._term_scores(fieldname, ids, tf, df)
        if q.boost != 1.0:
            scores = scores * q.boost
        return Matches(ids, scores)

    def _term_scores(self, fieldname: str, ids: np.ndarray, tf: np.ndarray, df: int) -> np.ndarray:
        if not self._schema[fieldname].scorable:
            return tf  # Whoosh scores an unscorable field by the posting's weight
        # Whoosh's IDF (WeightingModel.idf), from the document frequency already at hand.
        idf = math.log(self._doc_count / (df + 1)) + 1
        avgfl = self._searcher.avg_field_length(fieldname) or 1
        dl = self._field_lengths(fieldname)[ids]
        K1, B = self.K1, self.B
        return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * dl / avgfl)))

    def _postings(self, fieldname: str, btext: bytes, with_values: bool = False,
                  within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[bytes], int]:
        """Global document numbers, weights (term frequencies), the encoded values (positions,
        if asked) of one term's postings, and its document frequency (deleted documents
        included, as Whoosh counts them). With ``within`` (sorted ids), blocks holding none of
        them may be skipped."""
        id_parts: list[np.ndarray] = []
        w_parts: list[np.ndarray] = []
        values: list[bytes] = []
        keep = values if with_values else None
        if self._w3:
            infos = self._term_infos(fieldname, btext)
            df = sum(info.doc_frequency() for _i, info in infos)
            for i, info in infos:
                reader, offset = self._leaves[i]
                local = None
                if within is not None:
                    end = self._leaves[i + 1][1] if i + 1 < len(self._leaves) else self._doc_count
                    local = within[(within >= offset) & (within < end)] - offset
                ids, weights = postings.read_entry(reader, fieldname, info, keep, local)
                id_parts.append(ids + offset if offset else ids)
                w_parts.append(weights)
        else:
            df = int(self._searcher.doc_frequency(fieldname, btext))
            for reader, offset in self._leaves:
                if (fieldname, btext) in reader:
                    ids, weights = postings.read_matcher(reader, fieldname, btext, keep)
                    id_parts.append(ids + offset if offset else ids)
                    w_parts.append(weights)
        if not id_parts:
            return _NO_IDS, _NO_SCORES, values, df
        if len(id_parts) == 1:
            return id_parts[0], w_parts[0], values, df
        return np.concatenate(id_parts), np.concatenate(w_parts), values, df

    def _field_lengths(self, fieldname: str) -> np.ndarray:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = np.ones(self._doc_count, dtype=np.float64)
            for reader, offset in self._leaves:
                n = int(reader.doc_count_all())
                lengths[offset:offset + n] = postings.field_lengths(reader, fieldname, n)
            self._lengths[fieldname] = lengths
        return lengths

    def _deleted_ids(self) -> np.ndarray:
        if self._deleted is None:
            found: list[int] = []
            for reader, offset in self._leaves:
                if reader.has_deletions():
                    found.extend(offset + d for d in reader.deleted_docs_set)
            self._deleted = np.array(sorted(found), dtype=np.int64)
        return self._deleted

    # -- phrases and everything else -------------------------------------------------------

    def _phrase(self, q: wq.Phrase, within: np.ndarray | None = None) -> Matches:
        """Whoosh's ``Phrase`` (an ordered ``SpanNear2``): the words at positions ``p1 < p2 < ...``
        with each gap between 1 and ``slop``, scored as the sum of the words' BM25F scores.
        Positions are decoded only for the documents that hold every word."""
        fieldname = q.fieldname
        field = self._schema[fieldname] if fieldname in self._schema else None
        if field is None or len(q.words) < 2 or not field.format or not field.format.supports("positions"):
            return self._walk(q)
        try:
            btexts = [field.to_bytes(w) for w in q.words]
        except ValueError:
            return EMPTY
        postings: dict[bytes, tuple[np.ndarray, np.ndarray, list[bytes]]] = {}
        for b in dict.fromkeys(btexts):
            ids, tf, values, df = self._postings(fieldname, b, with_values=True, within=within)
            if not ids.size:
                return EMPTY
            postings[b] = (ids, self._term_scores(fieldname, ids, tf, df), values)
        cand = postings[btexts[0]][0] if within is None else within
        for ids, _s, _v in postings.values():
            cand = np.intersect1d(cand, ids, assume_unique=True)
            if not cand.size:
                return EMPTY
        where = {b: np.searchsorted(ids, cand) for b, (ids, _s, _v) in postings.items()}
        slop = max(1, q.slop)
        if isinstance(field.format, formats.Positions):
            arrays = {b: _positions([postings[b][2][i] for i in where[b].tolist()]) for b in postings}
            keep = _chained(cand.size, [arrays[b] for b in btexts], slop)
        else:
            decode = field.format.decode_positions
            positions = {b: [decode(postings[b][2][i]) for i in where[b].tolist()] for b in postings}
            keep = np.zeros(cand.size, dtype=bool)
            for k in range(cand.size):
                keep[k] = _chain([positions[b][k] for b in btexts], slop)
        if not keep.any():
            return EMPTY
        scores = np.zeros(int(keep.sum()))
        for b in btexts:  # a repeated word counts each time, as in Whoosh's intersection
            scores += postings[b][1][where[b][keep]]
        if q.boost != 1.0:
            scores *= q.boost
        return Matches(cand[keep], scores)

    def _walk(self, q: wq.Query) -> Matches:
        """Whoosh's own matcher for ``q``, segment by segment (deleted documents are skipped
        by Whoosh)."""
        context = self._searcher.context(weighting=self._searcher.weighting)
        ids: list[int] = []
        scores: list[float] = []
        for sub, offset in self._subs:
            m = q.matcher(sub, context)
            while m.is_active():
                ids.append(m.id() + offset)
                scores.append(m.score())
                m.next()
        if not ids:
            return EMPTY
        id_arr = np.array(ids, dtype=np.int64)
        order = np.argsort(id_arr, kind="stable")
        return Matches(id_arr[order], np.array(scores, dtype=np.float64)[order])


# -- set operations on sorted id arrays ------------------------------------------------------

def _intersect(parts: list[Matches]) -> Matches:
    parts = sorted(parts, key=len)
    m = parts[0]
    for p in parts[1:]:
        if not len(m):
            return EMPTY
        common, ia, ib = np.intersect1d(m.ids, p.ids, assume_unique=True, return_indices=True)
        m = Matches(common, m.scores[ia] + p.scores[ib])
    return m


def _and_maybe(a: Matches, b: Matches) -> Matches:
    if not len(a) or not len(b):
        return a
    _common, ia, ib = np.intersect1d(a.ids, b.ids, assume_unique=True, return_indices=True)
    scores = a.scores.copy()
    scores[ia] += b.scores[ib]
    return Matches(a.ids, scores)


def _require(a: Matches, b: Matches) -> Matches:
    if not len(a) or not len(b):
        return EMPTY
    common, ia, _ib = np.intersect1d(a.ids, b.ids, assume_unique=True, return_indices=True)
    return Matches(common, a.scores[ia])


def _and_not(a: Matches, b: Matches) -> Matches:
    if not len(a) or not len(b):
        return a
    keep = ~np.isin(a.ids, b.ids, assume_unique=True)
    return Matches(a.ids[keep], a.scores[keep])


# -- reading one segment ---------------------------------------------------------------------

def _positions(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The counts and the concatenated positions of ``Positions``-encoded values (the count,
    then the pickled gaps), in order: each unpickled (in C), the running sums taken at once."""
    gap_lists = [pickle.loads(v[4:] if v.endswith(b".") else v[4:] + b".") for v in values]
    counts = np.fromiter(map(len, gap_lists), dtype=np.int64, count=len(gap_lists))
    gaps = np.fromiter(chain.from_iterable(gap_lists), dtype=np.int64, count=int(counts.sum()))
    if not gaps.size:
        return counts, gaps
    total = np.cumsum(gaps)
    first = np.cumsum(counts) - counts
    return counts, total - np.repeat(total[first] - gaps[first], counts)


def _chained(n: int, words: list[tuple[np.ndarray, np.ndarray]], slop: int) -> np.ndarray:
    """For each of ``n`` documents, whether there are ``p1`` among the first word's positions,
    ``p2`` among the second's, ... with ``1 <= p(i+1) - p(i) <= slop`` (Whoosh's ordered span
    rule); ``words`` holds each word's (counts per document, positions), as :func:`_positions`."""
    stride = max((int(p.max()) for _c, p in words if p.size), default=0) + slop + 2
    keys = [np.repeat(np.arange(n, dtype=np.int64), c) * stride + p for c, p in words]
    reach = keys[0]  # sorted, as every word's keys are
    for key in keys[1:]:
        hit = np.zeros(key.size, dtype=bool)
        for gap in range(1, slop + 1):
            at = np.minimum(np.searchsorted(reach, key - gap), reach.size - 1)
            hit |= reach[at] == key - gap
        reach = key[hit]
        if not reach.size:
            break
    keep = np.zeros(n, dtype=bool)
    keep[reach // stride] = True
    return keep


def _chain(positions: list[list[int]], slop: int) -> bool:
    """True if there are ``p1 in positions[0]``, ``p2 in positions[1]``, ... with
    ``1 <= p(i+1) - p(i) <= slop`` (Whoosh's ordered span rule)."""
    reach = positions[0]
    for nxt in positions[1:]:
        if slop == 1:
            before = set(reach)
            reach = [p for p in nxt if p - 1 in before]
        else:
            reach = [p for p in nxt if any(1 <= p - r <= slop for r in reach)]
        if not reach:
            return False
    return True
