"""Vectorised evaluation of compiled queries: Whoosh's BM25F scores, computed with numpy.

Whoosh scores a query one posting at a time in Python (a matcher tree, a scorer call and a
field-length lookup per posting), so a two-word query that touches 20,000 postings spends
most of its time in interpreter overhead. Here every term's posting list is read from the
format 3 segment files (:mod:`index.format`) into arrays, whole or only the blocks that may hold
the documents still in question, and scored in one expression; the query tree combines the arrays:

- ``Term``: BM25F with Whoosh's own IDF and average field length (taken from the searcher, so
  the numbers are the same), field lengths decoded from the one-byte length codes.
- ``Or``/``And``/``AndMaybe``/``Require``/``AndNot``: unions, intersections and differences of
  sorted document-number arrays, with scores added as Whoosh's matchers add them.
- ``Phrase``: narrowed to the documents holding every word first, then only those documents'
  positions are read (through the skip lists of the positions) and checked with numpy.
- Anything else (prefixes, ranges): Whoosh's own matcher, walked once per segment.

The result is the same ranking as ``whoosh.searching.Searcher.search`` with ``BM25F`` (tested
in ``tests/test_fast.py`` against Whoosh on real text), including Whoosh's tie order (lower
document number first).

:meth:`FastEvaluator.search` returns only the best ``k`` and, for a ranked disjunction of terms
(the words of a question), prunes as MaxScore does (Turtle and Flood 1995): each term's score
has an upper bound (its largest score over its postings, which are decoded whole); terms are read
highest bound first, and once the bounds of the terms not yet read add up to less than the
``k``-th best score so far, documents found by none of the read terms cannot enter the top
``k`` and the remaining terms are scored only for the documents still in reach (the candidates
shrink as each term's bound is spent). The candidates are then scored exactly by the same code
as :meth:`FastEvaluator.matches`, so the top ``k`` is the exhaustive one, scores and ties
included (``tests/test_pruning.py``). The hit count stays exact: every remaining term's
document numbers still go into the count, unscored. Words typed with accents compile to
``AndMaybe(required terms, optional terms)``: the optional terms (folded syllables, pairs) only
add to scores, so they are read only within the candidates and never counted.

A quoted phrase with accents, under ``accents="any"``, compiles to an ``Or`` of
``Require(phrase, pairs)`` parts (accented and folded); so may an abbreviation's expansion among
words. Positions are the costly part; the parts without positions (or the
last phrase) are evaluated whole and give the count and a lower bound of every score; another
phrase is checked whole only in the documents of its filter those do not match, and elsewhere
only for the documents whose bound (its words' exact scores, as if the positions matched) can
reach the ``k``-th best known score, best bound first, a growing batch at a time.

Sums are always taken in the query's order of parts, whatever order parts are read in, so a
document's score is the same number whichever documents are evaluated with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from whoosh import query as wq

from index import postings

_NO_IDS = np.empty(0, dtype=np.int64)
_NO_SCORES = np.empty(0, dtype=np.float64)
# Relative slack between a bound or partial sum and an exact score, which add the same numbers
# in another order (a few units in the last place apart); pruning keeps anything within it.
_SLACK = 1e-9


@dataclass(frozen=True)
class Matches:
    """Matching documents: sorted unique global document numbers and their scores."""

    ids: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.size)


EMPTY = Matches(_NO_IDS, _NO_SCORES)


@dataclass(frozen=True)
class _Clause:
    """One term of a ranked disjunction: it adds ``weight`` times its BM25F score, at most
    ``bound``."""

    fieldname: str
    btext: bytes
    weight: float
    bound: float
    counts: bool = True  # its documents match the query (False: it only adds to their scores)


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
        self._avg: dict[str, float] = {}
        self._deleted: np.ndarray | None = None
        self._dead_mask: np.ndarray | None = None
        # Format 3 segments (all of ours) are read through their term dictionaries directly.
        self._w3 = all(postings.has_entries(r) for r, _o in self._leaves)
        self._infos: dict[tuple[str, bytes], list[tuple[int, Any]]] = {}
        # Postings read during one evaluation: ids, frequencies, df, and the documents they
        # were read within (None: the whole list).
        self._memo: dict[tuple[str, bytes], tuple[np.ndarray, np.ndarray, int, np.ndarray | None]] | None = None

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

    def _doc_frequency_b(self, fieldname: str, btext: bytes) -> int:
        """:meth:`doc_frequency` of an encoded term (0 where the term dictionaries cannot be read)."""
        if not self._w3:
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
        self._memo = {}
        try:
            return self._live(self._eval(q))
        finally:
            self._memo = None

    def _live(self, m: Matches) -> Matches:
        deleted = self._deleted_ids()
        if deleted.size and m.ids.size:
            keep = ~self._dead()[m.ids]
            m = Matches(m.ids[keep], m.scores[keep])
        return m

    def search(self, q: wq.Query, count: int, total: bool = True) -> tuple[list[tuple[int, float]], int | None]:
        """The ``count`` best ``(docnum, score)`` pairs of the live documents matching ``q``,
        exactly as ``top(matches(q), count)``, and how many live documents match (None unless
        ``total``: then the terms read after pruning skip the blocks without candidates).

        Ranked terms (a disjunction, or ``AndMaybe`` of two) are pruned, and so is a disjunction
        with phrases (see the module docstring); anything else is evaluated whole."""
        if count <= 0 or not self._w3:
            m = self.matches(q)
            return self.top(m, count), len(m) if total else None
        self._memo = {}
        try:
            clauses = self._ranked_terms(q)
            if clauses is not None:
                cand, found = self._maxscore(clauses, count, total)
            else:
                pruned = self._deferred(q, count)
                m, found = pruned if pruned is not None else (self._live(self._eval(q)), -1)
                return self.top(m, count), (len(m) if found < 0 else found) if total else None
            m = self._eval(q, cand) if cand.size else EMPTY
        finally:
            self._memo = None
        if len(m) and (m.ids.size != cand.size or not np.array_equal(m.ids, cand)):
            m = Matches(m.ids[_members(m.ids, cand)], m.scores[_members(m.ids, cand)])
        return self.top(m, count), found if total else None

    def _deferred(self, q: wq.Query, count: int) -> tuple[Matches, int] | None:
        """For an ``Or`` with parts that check positions (``Require(phrase, filter)``): exact
        scores of documents among which the top ``count`` are, and the live count; None for
        other queries. The other parts (or, if all check positions, the last of them) are
        evaluated whole; a phrase is then checked whole only in the documents of its filter
        that those do not match (usually few), and elsewhere only where its words' scores could
        lift a document into the top ``count``."""
        if type(q) not in (wq.Or, wq.DefaultOr) or q.minmatch or q.scale is not None or not q.boost > 0:
            return None
        costly = [x for x in q.subqueries if type(x) is wq.Require and _has_phrase(x.a)]
        cheap = [x for x in q.subqueries if not (type(x) is wq.Require and _has_phrase(x.a))]
        if not costly or len(q.subqueries) < 2:
            return None
        if not cheap:
            cheap = [costly.pop()]  # (the compiler puts the loosest phrase last)
        others = self._union([self._eval(x) for x in cheap])
        added: list[np.ndarray] = []  # documents only the phrases match
        bounds: list[tuple[np.ndarray, np.ndarray]] = []
        for x in costly:
            f = self._eval(x.b)
            if not len(f):
                continue
            outside = f.ids[~_members(f.ids, others.ids)]
            if outside.size:
                added.append(self._eval(x, outside).ids)
            up = self._upper(x.a, f.ids)
            if up is None:
                return None
            bounds.append((f.ids, up))
        ids = np.unique(np.concatenate([others.ids, *added])) if added else others.ids
        ids = ids[~self._dead()[ids]]
        lower = np.zeros(ids.size)  # what the parts evaluated whole give (a phrase adds to it)
        at = _members(others.ids, ids)
        lower[np.searchsorted(ids, others.ids[at])] = others.scores[at]
        upper = lower.copy()
        for fids, up in bounds:
            at = _members(fids, ids)
            upper[np.searchsorted(ids, fids[at])] += up[at]
        upper *= 1 + _SLACK
        # Documents by their bound, best first, scored exactly a batch at a time (positions
        # are read block by block, so few documents touch few blocks); each batch raises the
        # threshold and drops the documents whose bound falls below it.
        order = np.argsort(-upper, kind="stable")
        known = lower.copy()
        checked: list[Matches] = []
        batch = 4 * count
        while order.size:
            theta = _kth(known, count) * (1 - _SLACK)
            order = order[upper[order] >= theta]
            if not order.size:
                break
            take, order = np.sort(order[:batch]), order[batch:]
            m = self._eval(q, ids[take])
            m = Matches(m.ids[_members(m.ids, ids[take])], m.scores[_members(m.ids, ids[take])])
            known[np.searchsorted(ids, m.ids)] = m.scores / q.boost
            checked.append(m)
            batch *= 4
        if not checked:
            return EMPTY, int(ids.size)
        return _concat(checked), int(ids.size)

    def _upper(self, q: wq.Query, ids: np.ndarray) -> np.ndarray | None:
        """For each of the sorted ``ids``, at least the score ``q`` gives it if it matches;
        None where not known (a phrase scores as its words' terms do, whatever the positions)."""
        if isinstance(q, wq.Term):
            m = self._term(q, ids)
            out = np.zeros(ids.size)
            out[np.searchsorted(ids, m.ids)] = m.scores
            return out
        if type(q) is wq.Phrase:
            field = self._schema[q.fieldname] if q.fieldname in self._schema else None
            if field is None or len(q.words) < 2 or not field.format or not field.format.supports("positions"):
                return None
            terms = [self._upper(wq.Term(q.fieldname, w), ids) for w in q.words]
            words = [p for p in terms if p is not None]  # a Term always has its bound
            return sum(words[1:], words[0]) * q.boost
        if type(q) is wq.Require:
            return self._upper(q.a, ids)
        if type(q) in (wq.And, wq.Or, wq.DefaultOr) and not getattr(q, "minmatch", 0) and q.subqueries:
            if len(q.subqueries) == 1:
                return self._upper(q.subqueries[0], ids)
            parts = [self._upper(x, ids) for x in q.subqueries]
            known = [p for p in parts if p is not None]
            if len(known) < len(parts):
                return None
            return sum(known[1:], known[0]) * q.boost
        return None

    def _ranked_terms(self, q: wq.Query) -> list[_Clause] | None:
        """The terms of a ranked disjunction, or of ``AndMaybe(required, optional)`` with both
        sides disjunctions (the optional terms then only add to scores); None for anything else."""
        if type(q) is wq.AndMaybe:
            a, b = self._ranked_terms(q.a), self._disjunction(q.b, 1.0)
            if a is None or b is None:
                return None
            return a + [replace(c, counts=False) for c in b]
        return self._disjunction(q, 1.0)

    def _disjunction(self, q: wq.Query, weight: float) -> list[_Clause] | None:
        """``q`` as a sum of weighted terms (an ``Or`` of terms, ``Or``s nested with boosts), as
        :meth:`_compound` scores it; None for anything else."""
        if isinstance(q, wq.Term):
            if q.fieldname not in self._schema:
                return []
            try:
                btext = self._schema[q.fieldname].to_bytes(q.text)
            except ValueError:
                return []
            w = weight * q.boost
            if not w > 0:
                return None  # a bound needs scores that only add up
            return [_Clause(q.fieldname, btext, w, w * self._term_bound(q.fieldname, btext))]
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return []
        if type(q) not in (wq.Or, wq.DefaultOr) or q.minmatch or q.scale is not None:
            return None
        if len(q.subqueries) == 1:
            return self._disjunction(q.subqueries[0], weight)  # a lone subquery loses the boost
        out: list[_Clause] = []
        for sub in q.subqueries:
            found = self._disjunction(sub, weight * q.boost)
            if found is None:
                return None
            out.extend(found)
        return out

    def _term_bound(self, fieldname: str, btext: bytes) -> float:
        """The largest score the term gives a document (its postings are decoded whole anyway,
        so the bound is exact); a little over, so rounding never makes a score exceed it."""
        ids, tf, df = self._memo_postings(fieldname, btext, None)
        if not ids.size:
            return 0.0
        return float(self._term_scores(fieldname, ids, tf, df).max()) * (1 + 1e-6)

    def _maxscore(self, clauses: list[_Clause], count: int, total: bool) -> tuple[np.ndarray, int | None]:
        """Sorted live document numbers among which the ``count`` best are (every document whose
        score can reach the ``count``-th best), and the number of live matches if ``total``.

        ``acc`` holds each live document's partial score (the terms read so far), ``rest`` the
        sum of the bounds of the terms not read: a document scores at most ``acc + rest``, and
        the ``count``-th largest ``acc`` (``best.threshold``) at most the ``count``-th best score."""
        clauses = sorted(clauses, key=lambda c: -c.bound)
        dead = self._dead()
        acc = np.zeros(self._doc_count)
        seen = np.zeros(self._doc_count, dtype=bool)
        best = _Best(count, self._doc_count)
        rest = sum(c.bound for c in clauses)
        first = [c for c in clauses if c.counts]
        i = 0
        # Terms with the largest bounds (the rarest) first, every document they hold, until
        # the others together cannot lift an unseen document to the threshold. (Terms that only
        # add to scores never find a document of their own: they are all read later.)
        while i < len(first) and rest * (1 + _SLACK) >= best.threshold * (1 - _SLACK):
            ids, scores = self._clause_scores(first[i], None, seen)
            live = ~dead[ids]
            ids = ids[live]
            acc[ids] += scores[live]
            best.update(ids, acc)
            rest -= first[i].bound
            i += 1
        rest = max(rest, 0.0)
        live_seen = seen & ~dead
        cand = np.flatnonzero(live_seen & (acc + rest * (1 + _SLACK) >= best.threshold * (1 - _SLACK)))
        # The other terms: their scores only for the candidates, which fall out of reach one
        # by one as the terms' bounds are spent.
        done = set(map(id, first[:i]))
        for c in (c for c in clauses if id(c) not in done):
            ids, scores = self._clause_scores(c, cand, seen if total and c.counts else None)
            acc[ids] += scores
            best.update(ids, acc)
            rest = max(rest - c.bound, 0.0)
            cand = cand[acc[cand] + rest * (1 + _SLACK) >= best.threshold * (1 - _SLACK)]
        if not total:
            return cand, None
        return cand, int(np.count_nonzero(seen & ~dead))

    def _clause_scores(self, c: _Clause, within: np.ndarray | None,
                       seen: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """A clause's documents and weighted scores, only those in ``within`` (sorted) if given.
        With ``seen``, every document of the term is marked there (so the whole list is read);
        otherwise blocks without a document of ``within`` are skipped."""
        ids, tf, df = self._memo_postings(c.fieldname, c.btext, within if seen is None else None)
        if seen is not None:
            seen[ids] = True
        if within is not None:
            keep = _members(ids, within)
            ids, tf = ids[keep], tf[keep]
        return ids, self._term_scores(c.fieldname, ids, tf, df) * c.weight

    def _memo_postings(self, fieldname: str, btext: bytes,
                       within: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, int]:
        """``_postings`` of a term, kept for the rest of one evaluation (a query may name a
        term twice, and :meth:`search` scores its candidates again at the end). A list read
        within some documents serves a later read within some of those."""
        key = (fieldname, btext)
        memo = self._memo
        if memo is not None:
            found = memo.get(key)
            if found is not None and (found[3] is None or within is not None and (
                    within is found[3] or bool(_members(within, found[3]).all()))):
                return found[0], found[1], found[2]
        ids, tf, _positions, df = self._postings(fieldname, btext, within=within)
        if memo is not None:
            memo[key] = (ids, tf, df, within)
        return ids, tf, df

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
            return self._term(q, within)
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return EMPTY
        if isinstance(q, wq.Or) and type(q) in (wq.Or, wq.DefaultOr):
            return self._compound(q, union=True, within=within)
        if type(q) is wq.And:
            return self._compound(q, union=False, within=within)
        if type(q) is wq.AndMaybe:
            # The optional part only adds to the required part's documents: read it only there.
            a = self._eval(q.a, within)
            return _and_maybe(a, self._eval(q.b, a.ids)) if len(a) else a
        if type(q) is wq.Require:
            # The filter first: a costly scored side (a phrase) then only looks where it can match.
            b = self._eval(q.b, within)
            if not len(b):
                return EMPTY
            return _require(self._eval(q.a, b.ids), b)
        if type(q) is wq.AndNot:
            a = self._eval(q.a, within)
            return _and_not(a, self._eval(q.b, a.ids)) if len(a) else a
        if type(q) is wq.Phrase:
            return self._phrase(q, within)
        return self._walk(q)

    def _compound(self, q: wq.CompoundQuery, union: bool, within: np.ndarray | None = None) -> Matches:
        subs = q.subqueries
        if not subs:
            return EMPTY
        if len(subs) == 1:
            # Whoosh hands a lone subquery's matcher straight back, without the compound's boost.
            return self._eval(subs[0], within)
        if union:
            m = self._union([self._eval(s, within) for s in subs])
        else:
            # The rarest terms first; each next part is read only where all before it match.
            found: dict[int, Matches] = {}
            for k in sorted(range(len(subs)), key=lambda k: self._cost(subs[k])):
                found[k] = self._eval(subs[k], within)
                if not len(found[k]):
                    return EMPTY
                within = found[k].ids if within is None else within[_members(within, found[k].ids)]
            m = _intersect([found[k] for k in range(len(subs))])
        if q.boost != 1.0 and len(m):
            m = Matches(m.ids, m.scores * q.boost)
        return m

    def _cost(self, q: wq.Query) -> float:
        """How many postings evaluating ``q`` reads, roughly: a term's document frequency;
        anything else last."""
        if isinstance(q, wq.Term) and q.fieldname in self._schema:
            try:
                return self._doc_frequency_b(q.fieldname, self._schema[q.fieldname].to_bytes(q.text))
            except ValueError:
                return 0
        return math.inf

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

    def _term(self, q: wq.Term, within: np.ndarray | None = None) -> Matches:
        """A term's documents and scores; only those in ``within`` (sorted), if given."""
        fieldname = q.fieldname
        if fieldname not in self._schema:
            return EMPTY
        field = self._schema[fieldname]
        try:
            btext = field.to_bytes(q.text)
        except ValueError:
            return EMPTY
        ids, tf, df = self._memo_postings(fieldname, btext, within)
        if within is not None and ids.size:
            keep = _members(ids, within)
            ids, tf = ids[keep], tf[keep]
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
        avgfl = self._avg_length(fieldname)
        dl = self._field_lengths(fieldname)[ids]
        K1, B = self.K1, self.B
        return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * dl / avgfl)))

    def _postings(self, fieldname: str, btext: bytes, with_positions: bool = False,
                  within: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None, int]:
        """Global document numbers, weights (term frequencies), the positions (if asked: each
        posting's count and all positions, posting after posting) of one term's postings, and
        its document frequency (deleted documents included, as Whoosh counts them). With
        ``within`` (sorted ids), segments holding none of them are skipped."""
        id_parts: list[np.ndarray] = []
        w_parts: list[np.ndarray] = []
        p_parts: list[tuple[np.ndarray, np.ndarray]] = []
        if self._w3:
            infos = self._term_infos(fieldname, btext)
            df = sum(info.doc_frequency() for _i, info in infos)
            for i, info in infos:
                _reader, offset = self._leaves[i]
                if within is not None:
                    end = self._leaves[i + 1][1] if i + 1 < len(self._leaves) else self._doc_count
                    lo, hi = np.searchsorted(within, (offset, end))
                    if lo == hi:
                        continue  # no candidate in this segment
                    if not with_positions:  # few candidates: only the blocks that may hold them
                        ids, weights = postings.read_entry_within(info, within[lo:hi] - offset)
                        id_parts.append(ids + offset if offset else ids)
                        w_parts.append(weights)
                        continue
                ids, weights, positions = postings.read_entry(info, with_positions)
                id_parts.append(ids + offset if offset else ids)
                w_parts.append(weights)
                if positions is not None:
                    p_parts.append(positions)
        else:
            df = int(self._searcher.doc_frequency(fieldname, btext))
            decode = self._schema[fieldname].format.decode_positions if with_positions else None
            for reader, offset in self._leaves:
                if (fieldname, btext) in reader:
                    values: list[bytes] = []
                    ids, weights = postings.read_matcher(reader, fieldname, btext, values)
                    id_parts.append(ids + offset if offset else ids)
                    w_parts.append(weights)
                    if decode is not None:
                        lists = [decode(v) for v in values]
                        p_parts.append((np.array([len(x) for x in lists], dtype=np.int64),
                                        np.array([p for x in lists for p in x], dtype=np.int64)))
        found = None
        if with_positions:
            found = ((np.concatenate([c for c, _p in p_parts]), np.concatenate([p for _c, p in p_parts]))
                     if p_parts else (_NO_IDS, _NO_IDS))
        if not id_parts:
            return _NO_IDS, _NO_SCORES, found, df
        if len(id_parts) == 1:
            return id_parts[0], w_parts[0], found, df
        return np.concatenate(id_parts), np.concatenate(w_parts), found, df

    def _positions_within(self, fieldname: str, btext: bytes, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions of a term in each of the sorted documents ``cand`` (all of which hold
        it): their counts and the positions one document after the other."""
        if not self._w3:
            ids, _tf, found, _df = self._postings(fieldname, btext, with_positions=True)
            assert found is not None
            return postings.select_positions(*found, np.searchsorted(ids, cand))
        counts: list[np.ndarray] = []
        flats: list[np.ndarray] = []
        for i, info in self._term_infos(fieldname, btext):
            _reader, offset = self._leaves[i]
            end = self._leaves[i + 1][1] if i + 1 < len(self._leaves) else self._doc_count
            lo, hi = np.searchsorted(cand, (offset, end))
            if lo == hi:
                continue
            c, f = postings.read_positions(info, postings.posting_indexes(info, cand[lo:hi] - offset))
            counts.append(c)
            flats.append(f)
        if len(counts) == 1:
            return counts[0], flats[0]
        return np.concatenate(counts), np.concatenate(flats)

    def _avg_length(self, fieldname: str) -> float:
        """Whoosh's average field length (a sum over every segment, so kept)."""
        found = self._avg.get(fieldname)
        if found is None:
            found = self._avg[fieldname] = self._searcher.avg_field_length(fieldname) or 1
        return found

    def _field_lengths(self, fieldname: str) -> np.ndarray:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = np.ones(self._doc_count, dtype=np.float64)
            for reader, offset in self._leaves:
                n = int(reader.doc_count_all())
                lengths[offset:offset + n] = postings.field_lengths(reader, fieldname, n)
            self._lengths[fieldname] = lengths
        return lengths

    def _dead(self) -> np.ndarray:
        """A mask over document numbers: True for deleted documents."""
        if self._dead_mask is None:
            self._dead_mask = np.zeros(self._doc_count, dtype=bool)
            self._dead_mask[self._deleted_ids()] = True
        return self._dead_mask

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
        # The rarest word first; each next word is then read only in the blocks that hold
        # documents having every word read so far.
        order = sorted(dict.fromkeys(btexts), key=lambda b: self._doc_frequency_b(fieldname, b))
        postings: dict[bytes, tuple[np.ndarray, np.ndarray, int]] = {}
        cand = within
        for b in order:
            ids, tf, _p, df = self._postings(fieldname, b, within=cand)
            cand = ids if cand is None else cand[_members(cand, ids)]
            if not cand.size:
                return EMPTY
            postings[b] = (ids, tf, df)
        assert cand is not None  # at least two words were read
        where = {b: np.searchsorted(ids, cand) for b, (ids, _tf, _df) in postings.items()}
        slop = max(1, q.slop)
        arrays = {b: self._positions_within(fieldname, b, cand) for b in postings}
        keep = _chained(cand.size, [arrays[b] for b in btexts], slop)
        if not keep.any():
            return EMPTY
        scores = np.zeros(int(keep.sum()))
        for b in btexts:  # a repeated word counts each time, as in Whoosh's intersection
            ids, tf, df = postings[b]
            at = where[b][keep]
            scores += self._term_scores(fieldname, ids[at], tf[at], df)
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


class _Best:
    """The ``k`` documents with the largest partial scores so far, kept as scores only grow:
    after each term only they and the term's documents can make up the new ``k`` best."""

    def __init__(self, k: int, n: int) -> None:
        self.k = k
        self.ids = _NO_IDS
        self.threshold = 0.0  # the k-th largest partial score (0 while fewer than k documents)
        self._member = np.zeros(n, dtype=bool)

    def update(self, ids: np.ndarray, acc: np.ndarray) -> None:
        """``ids`` (unique) had their scores in ``acc`` raised."""
        pool = np.concatenate([self.ids, ids[~self._member[ids]]])
        self._member[self.ids] = False
        if pool.size >= self.k:
            values = acc[pool]
            keep = np.argpartition(values, pool.size - self.k)[pool.size - self.k:]
            pool = pool[keep]
            self.threshold = float(values[keep].min())
        self.ids = pool
        self._member[pool] = True


# -- set operations on sorted id arrays ------------------------------------------------------

def _concat(parts: list[Matches]) -> Matches:
    """Matches of disjoint parts, as one sorted ``Matches``."""
    ids = np.concatenate([p.ids for p in parts])
    order = np.argsort(ids, kind="stable")
    return Matches(ids[order], np.concatenate([p.scores for p in parts])[order])


def _has_phrase(q: wq.Query) -> bool:
    if type(q) is wq.Phrase:
        return True
    return any(_has_phrase(c) for c in q.children())


def _members(ids: np.ndarray, within: np.ndarray) -> np.ndarray:
    """Which of the sorted ``ids`` are in the sorted ``within`` (a boolean mask)."""
    if not within.size or not ids.size:
        return np.zeros(ids.size, dtype=bool)
    at = np.minimum(np.searchsorted(within, ids), within.size - 1)
    return within[at] == ids


def _kth(values: np.ndarray, k: int) -> float:
    """The ``k``-th largest of ``values`` (0 if there are fewer)."""
    if values.size < k:
        return 0.0
    return float(np.partition(values, values.size - k)[values.size - k])


def _intersect(parts: list[Matches]) -> Matches:
    """Documents in every part; scores added in the parts' order (whatever order they were
    intersected in), so a part read within fewer documents gives the same sums."""
    common = min(parts, key=len).ids
    for p in sorted(parts, key=len):
        if not common.size:
            return EMPTY
        common = common[_members(common, p.ids)]
    if not common.size:
        return EMPTY
    scores = np.zeros(common.size)
    for p in parts:
        scores += p.scores[np.searchsorted(p.ids, common)]
    return Matches(common, scores)


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
