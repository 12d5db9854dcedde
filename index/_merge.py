"""Merging segments without re-analysis, and the policy that decides what to merge.

A merge reads each source segment's postings as arrays, term by term in sorted order (a
k-way merge of the sources' term tables), remaps document numbers (source ``s``'s live
documents are numbered after those of the sources before it; deleted documents are dropped),
and hands the concatenated arrays to the segment builder, which lays them out exactly as it
does for a freshly analysed batch. Stored fields, field lengths and columns are copied document
by document through the codec's per-document reader and writer. Nothing is analysed again, and
the merged segment answers every query as its sources did (``tests/test_merge.py``).

A merge is written under a new segment id that no table of contents lists; the commit that
replaces its sources by it is one TOC rename (see ``_index.Index._commit_merge``), so a process
killed at any moment of a merge leaves the previous commit, and searches see the last commit
throughout (``tests/test_crash_merge.py``).

:class:`MergePolicy` is logarithmic, as Lucene's ``LogMergePolicy``: a segment's level is
``round(log_F(docs / min_docs))``; whenever ``F`` segments share a level, they are merged into one
of the next level. An import of ``N`` documents in batches of ``min_docs`` therefore leaves at
most ``F - 1`` segments per level, about ``(F - 1) * log_F(N / min_docs)`` in all (18 at 100,000
documents with the defaults), and each document is merged ``log_F(N / min_docs)`` times.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.codec.base import Segment
from whoosh.reading import SegmentReader

from ._blocks import BlockCodec
from ._segments import SegmentBuilder, _joined, _Postings
from .postings import read_entry

log = logging.getLogger(__name__)

MergeProgress = Callable[[int, int], None]
"""Called as ``on_progress(documents_done, documents_total)`` while segments are merged."""

MergeHook = Callable[[str], None]
_hook: MergeHook | None = None
"""Test hook: called with the name of each stage of a merge (``tests/test_crash_merge.py``)."""


def set_merge_hook(hook: MergeHook | None) -> None:
    """Have ``hook(stage)`` called at each stage of every merge in this process (for tests):
    ``"start"``, ``"documents"``, ``"field <name>"``, ``"written"``, ``"committing"``,
    ``"committed"``."""
    global _hook
    _hook = hook


def merge_stage(stage: str) -> None:
    if _hook is not None:
        _hook(stage)


@dataclass(frozen=True)
class MergePolicy:
    """Which segments to merge after a commit (logarithmic; see the module docstring).

    ``merge_factor`` segments of one level are merged into one; segments of up to ``min_docs``
    documents are all of level 0. ``max_merge_docs`` caps what automatic merges produce
    (``optimize`` has no cap).

    >>> MergePolicy(merge_factor=3, min_docs=10).plan([10, 10, 10])
    [0, 1, 2]
    >>> MergePolicy(merge_factor=3, min_docs=10).plan([30, 10, 10]) is None
    True
    """

    merge_factor: int = 10
    min_docs: int = 500
    max_merge_docs: int = 2_000_000

    def level(self, docs: int) -> int:
        return round(math.log(max(docs, self.min_docs) / self.min_docs, self.merge_factor))

    def plan(self, sizes: Sequence[int]) -> list[int] | None:
        """Indexes (ascending) of the segments of live-document counts ``sizes`` (in TOC order)
        to merge next, or None. The lowest level with ``merge_factor`` segments goes first;
        within a level, the oldest segments."""
        levels: dict[int, list[int]] = {}
        for i, docs in enumerate(sizes):
            levels.setdefault(self.level(docs), []).append(i)
        for level in sorted(levels):
            members = levels[level]
            if len(members) >= self.merge_factor:
                chosen = members[:self.merge_factor]
                if sum(sizes[i] for i in chosen) <= self.max_merge_docs:
                    return chosen
        return None


DEFAULT_POLICY = MergePolicy()

# Postings gathered before a field's next chunk is written: bounds a merge's memory whatever
# the size of its sources (about 40 bytes a posting).
_CHUNK_POSTINGS = 2_000_000


def merge_segments(storage: Any, schema: Any, sources: Sequence[Segment], indexname: str, segid: str,
                   on_progress: MergeProgress | None = None) -> Segment:
    """Write the live documents of ``sources`` (in order) as the new segment ``segid``; returns it.

    The new segment is complete on disk but listed by no TOC: the caller commits it.
    """
    merge_stage("start")
    readers = [SegmentReader(storage, schema, seg) for seg in sources]
    try:
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
        total = offset
        # Progress: documents copied count for one share; each field's postings for the rest,
        # in proportion to its tokens (sum of weights) in the sources.
        work = _field_work(readers, schema)
        units = sum(work.values()) + sum(seg.doc_count_all() for seg in sources)
        done = 0

        reported = -1

        def advance(amount: float) -> None:
            nonlocal done, reported
            done += amount
            if on_progress is not None and units:
                now = min(total, int(total * done / units))
                if now != reported:
                    reported = now
                    on_progress(now, total)

        builder = SegmentBuilder(storage, schema, BlockCodec(), indexname, segid)
        try:
            for reader, seg, docmap in zip(readers, sources, docmaps):
                _copy_documents(builder, reader, schema, docmap)
                advance(seg.doc_count_all())
            merge_stage("documents")
            fieldlengths = _field_totals(readers, schema, sources, docmaps)
            segment = builder.finish(_merged_postings(readers, schema, docmaps, advance), fieldlengths)
        except BaseException:
            builder.cancel()
            raise
    finally:
        for reader in readers:
            reader.close()
    merge_stage("written")
    return segment


def _field_work(readers: list[Any], schema: Any) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, field in schema.items():
        if not field.indexed:
            continue
        out[name] = float(sum(r.field_length(name) if field.scorable else r.doc_count_all() for r in readers))
    return out


def _copy_documents(builder: SegmentBuilder, reader: Any, schema: Any, docmap: np.ndarray) -> None:
    """Stored fields, field lengths and column values of the live documents, in order."""
    scorable = [name for name, field in schema.items() if field.scorable]
    columns = [(name, reader.column_reader(name, translate=False)) for name, field in schema.items()
               if field.column_type and reader.has_column(name)]
    perdoc = reader._perdoc  # lengths as stored (doc_field_length), no scorer defaults
    for docnum in np.flatnonzero(docmap >= 0).tolist():
        lengths = {name: perdoc.doc_field_length(docnum, name, 0) or 0 for name in scorable}
        builder.copy_document(reader.stored_fields(docnum), lengths,
                              {name: col[docnum] for name, col in columns})


def _field_totals(readers: list[Any], schema: Any, sources: Sequence[Segment],
                  docmaps: list[np.ndarray]) -> dict[str, int]:
    """Each field's total length over the live documents: the sources' exact totals less what
    their deleted documents held (as their stored, one-byte lengths say)."""
    totals: dict[str, int] = {}
    for reader, docmap in zip(readers, docmaps):
        deleted = np.flatnonzero(docmap < 0).tolist()
        for name, field in schema.items():
            if not field.scorable:
                continue
            total = reader.field_length(name)
            for docnum in deleted:
                total -= reader._perdoc.doc_field_length(docnum, name, 0) or 0
            if total > 0:
                totals[name] = totals.get(name, 0) + int(total)
    return totals


def _term_stream(reader: Any, fieldname: str, source: int) -> Iterator[tuple[bytes, int, Any]]:
    terms = reader._terms
    if fieldname not in terms.indexed_field_names():
        return
    for (name, btext), info in terms.items_from(fieldname, b""):
        if name != fieldname:
            return
        yield btext, source, info


def _merged_postings(readers: list[Any], schema: Any, docmaps: list[np.ndarray],
                     advance: Callable[[float], None]) -> Iterator[tuple[str, _Postings]]:
    """Each indexed field's merged postings, in chunks of consecutive terms."""
    for name in sorted(n for n, f in schema.items() if f.indexed):
        merge_stage(f"field {name}")
        scorable = bool(schema[name].scorable)
        streams = [_term_stream(r, name, s) for s, r in enumerate(readers)]
        btexts: list[bytes] = []
        counts: list[int] = []
        ids: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        values: list[bytes] = []
        gathered = 0
        for btext, source, info in heapq.merge(*streams, key=lambda t: (t[0], t[1])):
            vals: list[bytes] = []
            t_ids, t_weights = read_entry(readers[source], name, info, vals)
            advance(float(t_weights.sum()) if scorable else float(len(t_ids)))
            new = docmaps[source][t_ids]
            keep = new >= 0
            if not keep.all():
                new, t_weights = new[keep], t_weights[keep]
                vals = [v for v, k in zip(vals, keep.tolist()) if k]
            if not len(new):
                continue
            if btexts and btexts[-1] == btext:
                counts[-1] += len(new)
            else:
                if gathered >= _CHUNK_POSTINGS:
                    yield name, _chunk(btexts, counts, ids, weights, values)
                    btexts, counts, ids, weights, values, gathered = [], [], [], [], [], 0
                btexts.append(btext)
                counts.append(len(new))
            ids.append(new)
            weights.append(t_weights)
            values.extend(v or b"" for v in vals)
            gathered += len(new)
        if btexts:
            yield name, _chunk(btexts, counts, ids, weights, values)


def _chunk(btexts: list[bytes], counts: list[int], ids: list[np.ndarray], weights: list[np.ndarray],
           values: list[bytes]) -> _Postings:
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    docs = np.concatenate(ids).astype(np.int64)
    if len(values) != len(docs):
        values = [b""] * len(docs)
    return _Postings(btexts, starts, docs, np.concatenate(weights).astype(np.float64), *_joined(values))
