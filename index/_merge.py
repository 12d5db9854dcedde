"""Merging segments without re-analysis, and the policy that decides what to merge.

A merge reads each source segment's terms and postings as arrays, a chunk of terms at a time
(each chunk's packed records decoded at once, see :meth:`index.format.FieldTerms.range_postings`),
merges the sources' chunks by term, remaps document numbers (source ``s``'s live documents are
numbered after those of the sources before it; deleted documents are dropped), and hands the
concatenated arrays to the segment builder, which writes them as it does for a freshly analysed
batch. Stored fields are copied as compressed blocks (recompressed only where a block loses a
deleted document), field lengths and columns as arrays. Nothing is analysed again, and the
merged segment answers every query as its sources did (``tests/test_merge.py``).

A merge is written under a new segment id that no table of contents lists; the commit that
replaces its sources by it is one TOC rename (see ``_index.Index._commit_merged``), so a process
killed at any moment of a merge leaves the previous commit, and searches see the last commit
throughout (``tests/test_crash_merge.py``). During an import a merge runs in a process of its own
while the import goes on committing batches; documents of its sources deleted (replaced)
meanwhile are deleted in the merged segment when it is committed.

:class:`MergePolicy` is logarithmic, as Lucene's ``LogMergePolicy``: segments of about the
same size are of one level (``round(log_F(docs / 500))``, ``F`` = 10), and as soon as a level
holds ten segments they are merged into one of the next level. An import of 77,000 paragraphs in
its batches of about 5,000 documents thus merges ten of its 16 batches once and leaves 7
segments; 100,000 leave 2; each document is merged about ``log_F(N / 500)`` times. Beyond 20
segments (many levels, or many tiny imports) the ten smallest are merged.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.codec.base import Segment
from whoosh.reading import SegmentReader

from ._hooks import checkpoint
from ._segments import SegmentBuilder, _Postings
from .format import ArrayDocReader, FieldTerms, _runs, segment_documents, segment_terms

log = logging.getLogger(__name__)

MergeProgress = Callable[[int, int], None]
"""Called as ``on_progress(documents_done, documents_total)`` while segments are merged."""

@dataclass(frozen=True)
class MergePolicy:
    """Which segments to merge after a commit (see the module docstring).

    A segment's level is ``round(log_F(docs / min_docs))`` (segments of up to ``min_docs``
    documents are all of level 0). As soon as one level holds ``merge_factor`` (``F``)
    segments, the oldest ``F`` of the lowest such level are merged into one (of the next level),
    as Lucene's ``LogMergePolicy`` does; and if the index still holds more than
    ``max_segments``, the ``F`` smallest. Every document is thus merged about
    ``log_F(N / min_docs)`` times, and the index holds at most ``F - 1`` segments a level.

    >>> MergePolicy(merge_factor=3, min_docs=10).plan([10, 10, 10])
    [0, 1, 2]
    >>> MergePolicy(merge_factor=3, min_docs=10).plan([10, 10]) is None
    True
    >>> MergePolicy(merge_factor=3, min_docs=10).plan([90, 30, 10, 10]) is None
    True
    >>> MergePolicy(merge_factor=3, min_docs=10, max_segments=3).plan([90, 30, 10, 10])
    [1, 2, 3]
    """

    merge_factor: int = 10
    min_docs: int = 500
    max_segments: int = 20

    def level(self, docs: int) -> int:
        return round(math.log(max(docs, self.min_docs) / self.min_docs, self.merge_factor))

    def plan(self, sizes: Sequence[int]) -> list[int] | None:
        """Indexes (ascending) of the segments of live-document counts ``sizes`` (in TOC order)
        to merge next, or None."""
        if len(sizes) < 2:
            return None
        levels: dict[int, list[int]] = {}
        for i, docs in enumerate(sizes):
            levels.setdefault(self.level(docs), []).append(i)
        for level in sorted(levels):
            if len(levels[level]) >= self.merge_factor:
                return levels[level][:self.merge_factor]
        if len(sizes) <= self.max_segments:
            return None
        smallest = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))[:self.merge_factor]
        return sorted(smallest)


DEFAULT_POLICY = MergePolicy()


def merge_segments(storage: Any, schema: Any, sources: Sequence[Segment], indexname: str, segid: str,
                   on_progress: MergeProgress | None = None) -> Segment:
    """Write the live documents of ``sources`` (in order) as the new segment ``segid``; returns it.

    The new segment is complete on disk but listed by no TOC: the caller commits it.
    """
    checkpoint("merge-start")
    readers = [SegmentReader(storage, schema, seg) for seg in sources]
    try:
        lives = []
        docmaps = []
        offset = 0
        for seg in sources:
            n = seg.doc_count_all()
            live = np.ones(n, dtype=bool)
            if seg.has_deletions():
                live[np.fromiter(seg.deleted_docs(), dtype=np.int64)] = False
            docmap = np.full(n, -1, dtype=np.int64)
            docmap[live] = offset + np.arange(int(live.sum()))
            offset += int(live.sum())
            docmaps.append(docmap)
            lives.append(live)
        total = offset
        # Progress: documents copied count for one share; each field's postings for the rest,
        # in proportion to the sources' postings bytes.
        terms = [_terms(r) for r in readers]
        units = float(sum(f.postings_size() for t in terms for f in t.fields.values())) + sum(
            seg.doc_count_all() for seg in sources)
        done = 0.0
        reported = -1

        def advance(amount: float) -> None:
            nonlocal done, reported
            done += amount
            if on_progress is not None and units:
                now = min(total, int(total * done / units))
                if now != reported:
                    reported = now
                    on_progress(now, total)

        builder = SegmentBuilder(storage, schema, indexname, segid)
        try:
            for reader, seg, live in zip(readers, sources, lives):
                builder.append_documents(_documents(reader), live)
                advance(seg.doc_count_all())
            checkpoint("merge-documents")
            fieldlengths = _field_totals(readers, schema, lives)
            segment = builder.finish(_merged_postings(terms, schema, docmaps, advance), fieldlengths)
        except BaseException:
            builder.cancel()
            raise
    finally:
        for reader in readers:
            reader.close()
    checkpoint("merge-written")
    return segment


def merge_in_worker(folder: str, schema: Any, sources: Sequence[Segment], indexname: str, segid: str) -> Segment:
    """Pool task: :func:`merge_segments` in the index folder ``folder`` (a background merge)."""
    from whoosh.filedb.filestore import FileStorage

    return merge_segments(FileStorage(folder), schema, sources, indexname, segid)


def _terms(reader: Any) -> Any:
    found = segment_terms(reader)
    if found is None:
        raise ValueError(f"{reader.segment()} is not a format 3 segment: rebuild the index with vnsearch reindex")
    return found


def _documents(reader: Any) -> ArrayDocReader:
    found = segment_documents(reader)
    assert found is not None  # (checked by _terms)
    return found


def _field_totals(readers: list[Any], schema: Any, lives: list[np.ndarray]) -> dict[str, int]:
    """Each field's total length over the live documents: the sources' exact totals less what
    their deleted documents held (as their one-byte lengths say)."""
    totals: dict[str, int] = {}
    for reader, live in zip(readers, lives):
        docs = _documents(reader)
        for name, field in schema.items():
            if not field.scorable:
                continue
            total = reader.field_length(name)
            if not live.all():
                total -= int(docs.lengths(name)[~live].sum())
            if total > 0:
                totals[name] = totals.get(name, 0) + int(total)
    return totals


# Bytes of postings (and as many of positions) read at a time from all sources together: bounds
# a merge's memory (decoded, a byte of postings is about one posting of several int64 arrays).
_CHUNK_BYTES = 4 << 20


class _SourceField:
    """One field of one source segment, read a chunk of terms at a time."""

    def __init__(self, field: FieldTerms | None, docmap: np.ndarray, with_positions: bool, budget: int) -> None:
        self._field = field
        self._docmap = docmap
        self._budget = budget
        self._next = 0
        self._with_positions = with_positions

    def exhausted(self) -> bool:
        return self._field is None or self._next >= self._field.count

    def read(self) -> "_Part":
        field = self._field
        assert field is not None
        lo = self._next
        hi = field.chunk_end(lo, self._budget)
        self._next = hi
        dfs, docs, freqs, positions = field.range_postings(lo, hi, self._with_positions)
        btexts = field.terms(lo, hi)
        new = self._docmap[docs]
        keep = new >= 0
        if not keep.all():
            term_of = np.repeat(np.arange(len(dfs)), dfs)
            dfs = np.bincount(term_of[keep], minlength=len(dfs))
            if positions is not None:
                positions = positions[np.repeat(keep, freqs)]
            new, freqs = new[keep], freqs[keep]
            present = dfs > 0
            if not present.all():
                btexts = [b for b, p in zip(btexts, present.tolist()) if p]
                dfs = dfs[present]
        return _Part(btexts, dfs, new, freqs, positions)


class _Part:
    """Consecutive terms of one source: their postings' counts, documents (new numbers),
    frequencies and positions (None: the field has none)."""

    def __init__(self, btexts: list[bytes], counts: np.ndarray, docs: np.ndarray, freqs: np.ndarray,
                 positions: np.ndarray | None) -> None:
        self.btexts = btexts
        self.counts = counts
        self.docs = docs
        self.freqs = freqs
        self.positions = positions

    def split(self, cut: int) -> tuple["_Part", "_Part"]:
        """The first ``cut`` terms, and the rest."""
        k = int(self.counts[:cut].sum())
        p = int(self.freqs[:k].sum()) if self.positions is not None else 0
        head = _Part(self.btexts[:cut], self.counts[:cut], self.docs[:k], self.freqs[:k],
                     None if self.positions is None else self.positions[:p])
        tail = _Part(self.btexts[cut:], self.counts[cut:], self.docs[k:], self.freqs[k:],
                     None if self.positions is None else self.positions[p:])
        return head, tail


def _merged_postings(terms: list[Any], schema: Any, docmaps: list[np.ndarray],
                     advance: Callable[[float], None]) -> Iterator[tuple[str, _Postings]]:
    """Each indexed field's merged postings, in chunks of consecutive terms: each source's terms
    are read a chunk at a time; the terms up to the smallest of the sources' last terms read
    are merged (postings of a term ordered by source, so by new document number)."""
    for name in sorted(n for n, f in schema.items() if f.indexed):
        checkpoint(f"merge-field-{name}")
        fields = [t.field(name) for t in terms]
        positions = any(f is not None and f.has_positions for f in fields)
        budget = max(1024, _CHUNK_BYTES // max(1, len(fields)))
        sources = [_SourceField(f, d, positions, budget) for f, d in zip(fields, docmaps)]
        read_before = [0] * len(sources)
        pending: list[_Part | None] = [None] * len(sources)
        while True:
            for s, src in enumerate(sources):
                # (A chunk whose postings were all deleted is empty: read on, or the terms of the
                # other sources would run ahead of this one's.)
                while (pending[s] is None or not pending[s].btexts) and not src.exhausted():  # type: ignore[union-attr]
                    pending[s] = src.read()
                    field = fields[s]
                    assert field is not None
                    now = field.postings_before(src._next)
                    advance(float(now - read_before[s]))
                    read_before[s] = now
            live = [s for s, part in enumerate(pending) if part is not None and part.btexts]
            if not live:
                break
            # A source with more to read holds only terms after its pending part's last one.
            unread = [pending[s].btexts[-1] for s in live if not sources[s].exhausted()]  # type: ignore[union-attr]
            bound = min(unread) if unread else None
            parts = []
            for s in live:
                part = pending[s]
                assert part is not None
                cut = len(part.btexts) if bound is None else bisect.bisect_right(part.btexts, bound)
                if cut:
                    head, pending[s] = part.split(cut)
                    parts.append(head)
            chunk = _combine(parts)
            if chunk.btexts:
                yield name, chunk


def _combine(parts: list[_Part]) -> _Postings:
    """One chunk of merged postings from the sources' parts (each sorted by term; the parts in
    document-number order)."""
    if len(parts) == 1:  # one source has these terms: nothing to merge
        p = parts[0]
        starts = np.zeros(len(p.btexts) + 1, dtype=np.int64)
        np.cumsum(p.counts, out=starts[1:])
        return _Postings(p.btexts, starts, p.docs, p.freqs,
                         p.positions if p.positions is not None else np.zeros(0, dtype=np.int64))
    all_btexts = [b for part in parts for b in part.btexts]
    unique, term_rank = _unique(all_btexts)
    posting_rank = np.repeat(term_rank, np.concatenate([part.counts for part in parts]))
    order = np.argsort(posting_rank, kind="stable")
    docs = np.concatenate([part.docs for part in parts])[order]
    freqs_in = np.concatenate([part.freqs for part in parts])
    freqs = freqs_in[order]
    positions = np.zeros(0, dtype=np.int64)
    if any(part.positions is not None for part in parts):
        allpos = np.concatenate([part.positions for part in parts if part.positions is not None])
        pstart = np.cumsum(freqs_in) - freqs_in
        take = np.repeat(pstart[order], freqs) + _runs(freqs)
        positions = allpos[take]
    per_term = np.bincount(posting_rank, minlength=len(unique))
    starts = np.zeros(len(unique) + 1, dtype=np.int64)
    np.cumsum(per_term, out=starts[1:])
    return _Postings(unique, starts, docs, freqs, positions)


_KEY_BYTES = 32  # terms are sorted by numpy on their first 32 bytes, then by Python where that ties


def _unique(btexts: list[bytes]) -> tuple[list[bytes], np.ndarray]:
    """The distinct terms in order, and each term's rank among them. Sorted by numpy on their
    first ``_KEY_BYTES`` bytes as fixed-width byte strings (which compare as bytes do, the shorter
    padded with zero bytes; the memory is ``_KEY_BYTES`` a term however long the longest), then by
    Python within each run of equal keys that holds a longer term; wholly by Python if a term
    holds a zero byte (the padding would hide one at the end)."""
    n = len(btexts)
    if not n:
        return [], np.zeros(0, dtype=np.int64)
    if b"\0" in b"".join(btexts):
        ordered = sorted(set(btexts))
        rank = {b: i for i, b in enumerate(ordered)}
        return ordered, np.fromiter((rank[b] for b in btexts), dtype=np.int64, count=n)
    keys = np.array(btexts, dtype=f"S{_KEY_BYTES}")  # (truncated to the first bytes)
    order = np.argsort(keys, kind="stable")
    skeys = keys[order]
    new = np.ones(n, dtype=bool)
    new[1:] = skeys[1:] != skeys[:-1]
    lengths = np.fromiter(map(len, btexts), dtype=np.int64, count=n)
    if int(lengths.max()) > _KEY_BYTES:
        # Runs of equal keys holding a longer term: order them by the whole term.
        run_id = np.cumsum(new) - 1
        tied = np.unique(run_id[lengths[order] > _KEY_BYTES])
        run_start = np.flatnonzero(new)
        run_end = np.append(run_start[1:], n)
        for r in tied.tolist():
            lo, hi = int(run_start[r]), int(run_end[r])
            if hi - lo < 2:
                continue
            members = sorted(order[lo:hi].tolist(), key=btexts.__getitem__)
            order[lo:hi] = members
            for k in range(lo + 1, hi):
                new[k] = btexts[members[k - lo]] != btexts[members[k - lo - 1]]
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return [btexts[i] for i in order[new].tolist()], inverse

