"""Merging segments without re-analysis, and the policy that decides what to merge.

A merge reads each source segment's term table and postings as arrays, a chunk of terms at a
time (inlined postings and posting blocks decoded with numpy for a whole chunk), merges the
sources' chunks by term, remaps document numbers (source ``s``'s live documents are numbered
after those of the sources before it; deleted documents are dropped), and hands the
concatenated arrays to the segment builder, which lays them out exactly as it does for a
freshly analysed batch. Stored fields, field lengths and columns are copied document
by document through the codec's per-document reader and writer. Nothing is analysed again, and
the merged segment answers every query as its sources did (``tests/test_merge.py``).

A merge is written under a new segment id that no table of contents lists; the commit that
replaces its sources by it is one TOC rename (see ``_index.Index._commit_merged``), so a process
killed at any moment of a merge leaves the previous commit, and searches see the last commit
throughout (``tests/test_crash_merge.py``). During an import a merge runs in a process of its own
while the import goes on committing batches; documents of its sources deleted (replaced)
meanwhile are deleted in the merged segment when it is committed.

:class:`MergePolicy` is logarithmic, as Lucene's ``LogMergePolicy``, within a budget: while the
index has at most ``max_segments`` (20) segments nothing is merged; beyond that, ``F`` (10)
segments of one level (``round(log_F(docs / 500))``) are merged into one of the next level. An
import of ``N`` documents in batches of 500 thus leaves at most 20 segments, merges nothing
below 10,000 documents, and merges each document about ``log_F(N / 500)`` times.
"""

from __future__ import annotations

import bisect
import logging
import math
import pickle
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh.codec.base import Segment
from whoosh.reading import SegmentReader

from ._blocks import BlockCodec
from ._hooks import checkpoint
from ._segments import SegmentBuilder, _Postings
from .postings import _block_values

log = logging.getLogger(__name__)

MergeProgress = Callable[[int, int], None]
"""Called as ``on_progress(documents_done, documents_total)`` while segments are merged."""

@dataclass(frozen=True)
class MergePolicy:
    """Which segments to merge after a commit (see the module docstring).

    Nothing is merged while the index has at most ``max_segments`` segments. Beyond that, the
    oldest ``merge_factor`` segments of the lowest level that has that many are merged into one
    (a segment's level is ``round(log_F(docs / min_docs))``, so segments of up to ``min_docs``
    documents are all of level 0); if no level has that many, the ``merge_factor`` smallest.
    Every document is thus merged about ``log_F(N / min_docs)`` times, and a small archive
    (``max_segments`` batches or fewer) never.

    >>> MergePolicy(merge_factor=3, min_docs=10, max_segments=2).plan([10, 10, 10])
    [0, 1, 2]
    >>> MergePolicy(merge_factor=3, min_docs=10, max_segments=3).plan([10, 10, 10]) is None
    True
    >>> MergePolicy(merge_factor=3, min_docs=10, max_segments=2).plan([90, 30, 10])
    [0, 1, 2]
    """

    merge_factor: int = 10
    min_docs: int = 500
    max_segments: int = 20

    def level(self, docs: int) -> int:
        return round(math.log(max(docs, self.min_docs) / self.min_docs, self.merge_factor))

    def plan(self, sizes: Sequence[int]) -> list[int] | None:
        """Indexes (ascending) of the segments of live-document counts ``sizes`` (in TOC order)
        to merge next, or None."""
        if len(sizes) <= self.max_segments or len(sizes) < 2:
            return None
        levels: dict[int, list[int]] = {}
        for i, docs in enumerate(sizes):
            levels.setdefault(self.level(docs), []).append(i)
        for level in sorted(levels):
            if len(levels[level]) >= self.merge_factor:
                return levels[level][:self.merge_factor]
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
        units = _field_work(readers, schema) + sum(seg.doc_count_all() for seg in sources)
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

        builder = SegmentBuilder(storage, schema, BlockCodec(), indexname, segid)
        try:
            for reader, seg, docmap in zip(readers, sources, docmaps):
                _copy_documents(builder, reader, schema, docmap)
                advance(seg.doc_count_all())
            checkpoint("merge-documents")
            fieldlengths = _field_totals(readers, schema, sources, docmaps)
            segment = builder.finish(_merged_postings(readers, schema, docmaps, advance), fieldlengths)
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


def _field_work(readers: list[Any], schema: Any) -> float:
    """The postings' share of a merge's work: the sources' tokens of every scorable field (their
    postings' weights add up to that) and one per document of every other indexed field."""
    return float(sum(sum(r.field_length(name) if field.scorable else r.doc_count_all() for r in readers)
                     for name, field in schema.items() if field.indexed))


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


_INFO = np.dtype([("inlined", "u1"), ("weight", ">f4"), ("df", ">u4"), ("minlength", "u1"), ("maxlength", "u1"),
                  ("maxweight", ">f4"), ("minid", ">u4"), ("maxid", ">u4")])  # W3TermInfo's "!BfIBBfII"
_RECORDS_PER_CHUNK = 200_000


def _be(buf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """Big-endian unsigned ints of ``width`` bytes at each of ``at`` in ``buf``."""
    out = np.zeros(len(at), dtype=np.int64)
    for j in range(width):
        out = (out << 8) | buf[at + j]
    return out


def _record_positions(reader: Any) -> np.ndarray:
    """Where each record of the segment's term table starts, in key order (the ordered hash
    file's position array)."""
    tindex = reader._terms._tindex
    raw = tindex.dbfile.get(tindex.indexbase, tindex.indexlen * tindex.indexsize)
    return np.frombuffer(raw, dtype=np.dtype(tindex.extras["indextype"]).newbyteorder(">")).astype(np.int64)


class _SourceField:
    """One source segment's terms of one field, read from its term table a chunk of records at a
    time, with their postings as arrays (document numbers already remapped, deleted dropped).

    The term table is an ordered hash file: records of ``!i`` key length, ``!i`` value length,
    the key (``!H`` field number, then the term) and the value (``W3TermInfo``: 23 bytes of
    statistics, then the inlined postings pickled or the block run's ``!q`` offset and ``!i``
    length), in key order, with an array of the records' positions in that order.
    """

    def __init__(self, reader: Any, fieldname: str, docmap: np.ndarray, positions: np.ndarray) -> None:
        self.reader = reader
        self.fieldname = fieldname
        self.docmap = docmap
        self.positions = np.zeros(0, dtype=np.int64)
        self.next = 0
        terms = reader._terms
        fnum = terms._fieldmap.get(fieldname)
        if fnum is None:
            return
        self.dbfile = dbfile = terms._tindex.dbfile

        def field_at(i: int) -> int:
            return int.from_bytes(dbfile.get(int(positions[i]) + 8, 2), "big")

        # The field's records are consecutive (keys start with the field number): binary search.
        lo, hi = 0, len(positions)
        while lo < hi:
            mid = (lo + hi) // 2
            if field_at(mid) < fnum:
                lo = mid + 1
            else:
                hi = mid
        end = lo
        hi = len(positions)
        while end < hi:
            mid = (end + hi) // 2
            if field_at(mid) <= fnum:
                end = mid + 1
            else:
                hi = mid
        self.positions = positions[lo:end]
        self.format = reader.schema[fieldname].format
        self.fixedsize = self.format.fixed_value_size()

    def exhausted(self) -> bool:
        return self.next >= len(self.positions)

    def read(self) -> "_Part":
        """The next chunk of this source's terms with their postings."""
        pos = self.positions[self.next:self.next + _RECORDS_PER_CHUNK]
        self.next += len(pos)
        # Only this chunk's records are read (their bytes run from the first to the end of the last).
        last = int(pos[-1])
        keylen_last, vallen_last = (int.from_bytes(self.dbfile.get(last + j, 4), "big") for j in (0, 4))
        start = int(pos[0])
        data = self.dbfile.get(start, last + 8 + keylen_last + vallen_last - start)
        buf = np.frombuffer(data, dtype=np.uint8)
        pos = pos - start
        keylen = _be(buf, pos, 4)
        vallen = _be(buf, pos + 4, 4)
        btexts = [data[a:b] for a, b in zip((pos + 10).tolist(), (pos + 8 + keylen).tolist())]
        vstart = pos + 8 + keylen
        info = buf[(vstart[:, None] + np.arange(_INFO.itemsize)).ravel()].view(_INFO)
        entry = vstart + _INFO.itemsize
        entrylen = vallen - _INFO.itemsize
        # Inlined postings as vnsearch writes them are parsed all at once (:func:`_parse_inlined`),
        # array blocks too (:func:`_read_array_blocks`); any other entry (inlined postings
        # another writer pickled, Whoosh's pickled blocks) term by term.
        inlined = info["inlined"].astype(bool)
        offsets = np.zeros(len(pos), dtype=np.int64)
        lengths = np.zeros(len(pos), dtype=np.int64)
        offsets[~inlined] = _be(buf, entry[~inlined], 8)
        lengths[~inlined] = _be(buf, entry[~inlined] + 8, 4)
        fast, f_ids, f_weights, f_vbytes, f_vlens = _parse_inlined(buf, entry, entrylen, info["df"].astype(np.int64),
                                                                   inlined, self.fixedsize != 0)
        counts = np.where(fast, info["df"].astype(np.int64), 0)
        terms = self.reader._terms
        arrays = ~inlined if isinstance(terms._codec, BlockCodec) else np.zeros(len(pos), dtype=bool)
        a_ids, a_weights, a_vbytes, a_vlens, a_counts = _read_array_blocks(
            terms._postfile, offsets[arrays], lengths[arrays], self.fixedsize)
        counts[arrays] = a_counts
        b_ids: list[np.ndarray] = []
        b_weights: list[np.ndarray] = []
        b_vparts: list[bytes] = []
        b_vlens: list[np.ndarray] = []
        postings_reader = terms._codec.postings_reader
        for i in np.flatnonzero(~fast & ~arrays).tolist():
            a, n = int(entry[i]), int(entrylen[i])
            if inlined[i]:
                t_ids, t_weights, t_values = pickle.loads(data[a:a + n])
                t_values = [v or b"" for v in t_values] if self.fixedsize != 0 and len(t_values) == len(t_ids) \
                    else [b""] * len(t_ids)
                b_ids.append(np.array(t_ids, dtype=np.int64))
                b_weights.append(np.array(t_weights, dtype=np.float64))
                b_vparts.append(b"".join(t_values))
                b_vlens.append(np.fromiter(map(len, t_values), dtype=np.int64, count=len(t_values)))
            else:
                m = postings_reader(terms._postfile, _Extent(int(offsets[i]), int(lengths[i])), self.format)
                t_ids, t_weights = _blocks_as_arrays(m, b_vparts, b_vlens, self.fixedsize)
                b_ids.append(t_ids)
                b_weights.append(t_weights)
            counts[i] = len(b_ids[-1])
        # Three streams (parsed inlined lists, term by term, array blocks) back in term order.
        stream = np.where(fast, 0, np.where(arrays, 2, 1))
        posting_stream = np.repeat(stream, counts)
        sizes = [int(np.count_nonzero(posting_stream == k)) for k in range(3)]
        which = np.empty(len(posting_stream), dtype=np.int64)
        base = 0
        for k in range(3):
            which[posting_stream == k] = base + np.arange(sizes[k])
            base += sizes[k]
        all_ids = np.concatenate([f_ids] + b_ids + [a_ids])[which]
        all_weights = np.concatenate([f_weights] + b_weights + [a_weights])[which]
        valuebytes, valuelengths = _take_runs(f_vbytes + b"".join(b_vparts) + a_vbytes,
                                              np.concatenate([f_vlens] + b_vlens + [a_vlens]), which)
        new = self.docmap[all_ids]
        keep = new >= 0
        if not keep.all():
            term_of = np.repeat(np.arange(len(counts)), counts)
            counts = np.bincount(term_of[keep], minlength=len(counts))
            valuebytes, valuelengths = _take_runs(valuebytes, valuelengths, np.flatnonzero(keep))
            new, all_weights = new[keep], all_weights[keep]
        return _Part(btexts, counts, new, all_weights, valuebytes, valuelengths)


def _parse_inlined(buf: np.ndarray, entry: np.ndarray, entrylen: np.ndarray, df: np.ndarray,
                   inlined: np.ndarray, has_values: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, bytes,
                                                                    np.ndarray]:
    """The inlined postings that the segment builder pickled (``_segments._inline_pickles``):
    ``\\x80\\x04(``, ``n`` ids (all ``M`` + ``<u2`` or all ``J`` + ``<i4``), ``t(``, ``n``
    weights (all ``K`` + one byte or all ``G`` + ``>f8``), ``t(``, ``n`` values (each ``C`` +
    one byte size or ``B`` + ``<u4`` size, then the value), ``t\\x87.``. Returns which terms
    were parsed (the others are left to ``pickle``), then their postings in term order: ids,
    weights, the values joined and each value's length."""
    n = df
    end = entry + entrylen
    last = len(buf) - 1
    ok = inlined & (entrylen >= 10 + 7 * n) & (n > 0)

    def at(pos: np.ndarray) -> np.ndarray:
        return buf[np.clip(np.where(ok, pos, 0), 0, last)]

    for offset, byte in ((0, 0x80), (1, 4), (2, ord("("))):
        ok &= at(entry + offset) == byte
    idop = at(entry + 3)
    iw = np.where(idop == ord("J"), 5, np.where(idop == ord("M"), 3, 0))
    ok &= iw > 0
    mid1 = entry + 3 + iw * n
    ok &= (at(mid1) == ord("t")) & (at(mid1 + 1) == ord("("))
    wop = at(mid1 + 2)
    ww = np.where(wop == ord("G"), 9, np.where(wop == ord("K"), 2, 0))
    ok &= ww > 0
    mid2 = mid1 + 2 + ww * n
    ok &= (at(mid2) == ord("t")) & (at(mid2 + 1) == ord("("))
    for offset, byte in ((3, ord("t")), (2, 0x87), (1, ord("."))):
        ok &= at(end - offset) == byte
    # Every id and weight has its term's opcode.
    counts = np.where(ok, n, 0)
    term_of = np.repeat(np.arange(len(n)), counts)
    within = _runs(counts)
    id_at = np.repeat(entry + 4, counts) + within * np.repeat(iw, counts)
    w_at = np.repeat(mid1 + 3, counts) + within * np.repeat(ww, counts)
    bad = ((buf[np.clip(id_at - 1, 0, last)] != idop[term_of]) | (buf[np.clip(w_at - 1, 0, last)] != wop[term_of]))
    ok[term_of[bad]] = False
    # Values: sizes are read one posting at a time, for all terms at once (n is at most the
    # inline limit).
    counts = np.where(ok, n, 0)
    first = np.cumsum(counts) - counts
    total = int(counts.sum())
    vstart = np.zeros(total, dtype=np.int64)
    vsize = np.zeros(total, dtype=np.int64)
    cur = np.where(ok, mid2 + 2, 0)
    for k in range(int(counts.max()) if total else 0):
        live = np.flatnonzero(counts > k)
        pos = cur[live]
        op = buf[np.clip(pos, 0, last)]
        head = np.where(op == ord("C"), 2, np.where(op == ord("B"), 5, 0))
        good = (head > 0) & (pos + head <= end[live])
        pos = np.where(good, pos, 0)
        size = buf[np.minimum(pos + 1, last)].astype(np.int64)
        for j in range(1, 4):
            size |= np.where(head == 5, buf[np.minimum(pos + 1 + j, last)].astype(np.int64) << (8 * j), 0)
        good &= pos + head + size <= end[live]
        ok[live[~good]] = False
        vstart[first[live] + k] = pos + head
        vsize[first[live] + k] = np.where(good, size, 0)
        cur[live] = pos + head + np.where(good, size, 0)
    ok &= cur == np.where(ok, end - 3, 0)  # the values end where the closing opcodes begin
    posting_ok = np.repeat(ok, counts)
    counts = np.where(ok, n, 0)
    within = _runs(counts)
    piw = np.repeat(iw, counts)
    id_at = np.repeat(entry + 4, counts) + within * piw
    ids = np.zeros(len(id_at), dtype=np.int64)
    for j in range(4):
        has = piw > j + 1
        ids[has] |= buf[id_at[has] + j].astype(np.int64) << (8 * j)
    ids[(piw == 5) & (ids >= 2 ** 31)] -= 2 ** 32  # <i4
    pww = np.repeat(ww, counts)
    w_at = np.repeat(mid1 + 3, counts) + within * pww
    weights = buf[w_at].astype(np.float64)
    wide = pww == 9
    if wide.any():
        weights[wide] = buf[(w_at[wide][:, None] + np.arange(8)).ravel()].view(">f8").astype(np.float64)
    vstart, vsize = vstart[posting_ok], vsize[posting_ok]
    if not has_values:
        vsize = np.zeros_like(vsize)
    vtotal = int(vsize.sum())
    index = np.repeat(vstart - (np.cumsum(vsize) - vsize), vsize) + np.arange(vtotal)
    return ok, ids, weights, buf[index].tobytes(), vsize


def _runs(lengths: np.ndarray) -> np.ndarray:
    """For runs of ``lengths`` laid one after another, each element's index inside its run."""
    return np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)


@dataclass
class _Part:
    """Consecutive terms of one source with their postings (values as one string and lengths)."""

    btexts: list[bytes]
    counts: np.ndarray
    docs: np.ndarray
    weights: np.ndarray
    valuebytes: bytes
    valuelengths: np.ndarray

    def split(self, cut: int) -> tuple["_Part", "_Part"]:
        """The first ``cut`` terms and the rest."""
        p = int(self.counts[:cut].sum())
        v = int(self.valuelengths[:p].sum())
        return (_Part(self.btexts[:cut], self.counts[:cut], self.docs[:p], self.weights[:p],
                      self.valuebytes[:v], self.valuelengths[:p]),
                _Part(self.btexts[cut:], self.counts[cut:], self.docs[p:], self.weights[p:],
                      self.valuebytes[v:], self.valuelengths[p:]))


def _take_runs(data: bytes, lengths: np.ndarray, which: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The runs ``which`` (in that order) of ``data``, cut in runs of ``lengths``."""
    if len(which) == len(lengths) and bool(np.all(which[1:] > which[:-1])):
        return data, lengths  # all of them, in order
    starts = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    taken = lengths[which]
    total = int(taken.sum())
    if not total:
        return b"", taken
    new_starts = np.cumsum(taken) - taken
    index = np.repeat(starts[which] - new_starts, taken) + np.arange(total)
    return np.frombuffer(data, dtype=np.uint8)[index].tobytes(), taken


class _Extent:
    """The part of W3TermInfo that a postings reader asks for a term of blocks."""

    def __init__(self, offset: int, length: int) -> None:
        self._extent = (offset, length)

    def is_inlined(self) -> bool:
        return False

    def extent(self) -> tuple[int, int]:
        return self._extent


def _read_array_blocks(postfile: Any, offsets: np.ndarray, lengths: np.ndarray, fixedsize: int | None
                       ) -> tuple[np.ndarray, np.ndarray, bytes, np.ndarray, np.ndarray]:
    """The postings of terms stored in runs of ``index._blocks`` array blocks at ``offsets``
    (``lengths`` bytes each, the 4-byte magic first) of the posting file, decoded for all blocks
    at once: ids, weights, values joined, each value's length, and each term's posting count."""
    nterms = len(offsets)
    if not nterms:
        return (np.zeros(0, np.int64), np.zeros(0, np.float64), b"", np.zeros(0, np.int64),
                np.zeros(0, np.int64))
    lo = int(offsets.min())
    pst = postfile.get(lo, int((offsets + lengths).max()) - lo)
    # Walk the block frames: the signed length, the pickled block info, the data.
    data_at: list[int] = []
    data_end: list[int] = []
    block_count: list[int] = []
    blocks_per_term = np.zeros(nterms, dtype=np.int64)
    loads, dumps_ = pickle.loads, pickle.dumps
    for t, (off, length) in enumerate(zip((offsets - lo).tolist(), lengths.tolist())):
        at, end = off + 4, off + length
        while at < end:
            size = int.from_bytes(pst[at:at + 4], "big", signed=True)
            size = abs(size)
            info = loads(pst[at + 4:at + 4 + min(size, 128)])
            infolen = len(dumps_(info, 2))
            data_at.append(at + 4 + infolen)
            data_end.append(at + 4 + size)
            block_count.append(info[0])
            blocks_per_term[t] += 1
            at += 4 + size
    buf = np.frombuffer(pst, dtype=np.uint8)
    D = np.array(data_at, dtype=np.int64)
    C = np.array(block_count, dtype=np.int64)
    total = int(C.sum())
    flags = buf[D]
    ni = _le(buf, D + 1, 4)
    nw = _le(buf, D + 5, 4)
    nv = _le(buf, D + 9, 4)
    ids_at = D + 13
    first = np.cumsum(C) - C
    within = np.arange(total) - np.repeat(first, C)
    # Ids: gaps of 1, 2 or 4 bytes (4-byte ones possibly zlib-compressed), then absolute.
    gaps = np.zeros(total, dtype=np.int64)
    width = np.where(flags & 4, 1, np.where(flags & 8, 2, 4))
    plain = (width < 4) | ~(flags & 1).astype(bool)
    pw = np.repeat(plain, C)
    gaps[pw] = _le(buf, np.repeat(ids_at, C)[pw] + (within * np.repeat(width, C))[pw], np.repeat(width, C)[pw])
    for b in np.flatnonzero(~plain).tolist():
        a = int(ids_at[b])
        raw = zlib.decompress(pst[a:a + int(ni[b])])
        gaps[first[b]:first[b] + C[b]] = np.frombuffer(raw, dtype="<u4")
    cs = np.cumsum(gaps)
    ids = cs - np.repeat(cs[first] - gaps[first], C)
    # Weights: 1.0, or u1 (flag 64), <u2 (flag 128) or <f4 each.
    weights = np.ones(total, dtype=np.float64)
    wwidth = np.where(flags & 2, 0, np.where(flags & 64, 1, np.where(flags & 128, 2, 4)))
    for w, dtype in ((1, "u1"), (2, "<u2"), (4, "<f4")):
        ww = np.repeat(wwidth == w, C)
        w_at = np.repeat(ids_at + ni, C)[ww] + w * within[ww]
        weights[ww] = buf[(w_at[:, None] + np.arange(w)).ravel()].view(dtype).astype(np.float64)
    # Values.
    v_at = ids_at + ni + nw
    vlens = np.zeros(total, dtype=np.int64)
    vparts: list[bytes] = []
    if fixedsize != 0:
        narrow = np.where(flags & 16, 1, np.where(flags & 32, 2, 0))
        for b in range(len(D)):
            n = int(C[b])
            if not nv[b]:
                continue
            a, z = int(v_at[b]), int(v_at[b] + nv[b])
            if narrow[b]:
                raw = np.frombuffer(pst[a:z], dtype="u1" if narrow[b] == 1 else "<u2").astype(">u4").tobytes()
            else:
                raw = zlib.decompress(pst[a:z]) if flags[b] & 1 else pst[a:z]
            if fixedsize is not None and fixedsize > 0:
                vparts.append(raw)
                vlens[first[b]:first[b] + n] = fixedsize
            else:
                offs = np.frombuffer(raw, dtype="<u4", count=n + 1).astype(np.int64)
                base = 4 * (n + 1)
                vparts.append(raw[base + int(offs[0]):base + int(offs[-1])])
                vlens[first[b]:first[b] + n] = np.diff(offs)
    term_of_block = np.repeat(np.arange(nterms), blocks_per_term)
    counts = np.bincount(term_of_block, weights=C, minlength=nterms).astype(np.int64)
    return ids, weights, b"".join(vparts), vlens, counts


def _le(buf: np.ndarray, at: np.ndarray, width: Any) -> np.ndarray:
    """Little-endian unsigned ints at each of ``at`` in ``buf``, ``width`` bytes (one width, or one each)."""
    width = np.broadcast_to(np.asarray(width, dtype=np.int64), at.shape)
    out = np.zeros(len(at), dtype=np.int64)
    for j in range(4):
        has = width > j
        out[has] |= buf[at[has] + j].astype(np.int64) << (8 * j)
    return out


def _blocks_as_arrays(m: Any, vparts: list[bytes], vlens: list[Any],
                      fixedsize: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A term's postings from its blocks: ids and weights; values appended to ``vparts`` (as
    strings) and ``vlens`` (each posting's length)."""
    ids_parts: list[np.ndarray] = []
    w_parts: list[np.ndarray] = []
    array_blocks = hasattr(m, "block_raw_values")
    while not m._atend:
        if array_blocks:
            ids, w = m.block_arrays()
            raw, lens = m.block_raw_values()
        else:
            m._read_data()
            n = m._blocklength
            ids = np.cumsum(np.asarray(m._data[0], dtype=np.int64))
            raw_w = m._data[1]
            w = (np.ones(n) if raw_w is None else np.full(n, raw_w) if isinstance(raw_w, float)
                 else np.asarray(raw_w, dtype=np.float64))
            vals = [v or b"" for v in _block_values(m._data[2], n, fixedsize)]
            raw, lens = b"".join(vals), np.fromiter(map(len, vals), dtype=np.int64, count=n)
        ids_parts.append(ids)
        w_parts.append(w)
        vparts.append(raw)
        vlens.append(lens)
        m._next_block()
    return np.concatenate(ids_parts), np.concatenate(w_parts)


def _merged_postings(readers: list[Any], schema: Any, docmaps: list[np.ndarray],
                     advance: Callable[[float], None]) -> Iterator[tuple[str, _Postings]]:
    """Each indexed field's merged postings, in chunks of consecutive terms: each source's term
    table is read a chunk at a time; the terms up to the smallest of the sources' last terms
    read are merged (postings of a term ordered by source, so by new document number)."""
    positions = [_record_positions(r) for r in readers]
    for name in sorted(n for n, f in schema.items() if f.indexed):
        checkpoint(f"merge-field-{name}")
        scorable = bool(schema[name].scorable)
        sources = [_SourceField(r, name, d, p) for r, d, p in zip(readers, docmaps, positions)]
        pending: list[_Part | None] = [None] * len(sources)
        while True:
            for s, src in enumerate(sources):
                part = pending[s]
                if (part is None or not part.btexts) and not src.exhausted():
                    pending[s] = src.read()
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
            advance(float(chunk.weights.sum()) if scorable else float(len(chunk.docs)))
            if chunk.btexts:
                yield name, chunk


def _combine(parts: list[_Part]) -> _Postings:
    """One chunk of merged postings from the sources' parts (each sorted by term; the parts in
    document-number order)."""
    all_btexts = [b for part in parts for b in part.btexts]
    unique = sorted(set(all_btexts))
    rank = {b: i for i, b in enumerate(unique)}
    term_rank = np.fromiter((rank[b] for b in all_btexts), dtype=np.int64, count=len(all_btexts))
    posting_rank = np.repeat(term_rank, np.concatenate([part.counts for part in parts]))
    order = np.argsort(posting_rank, kind="stable")
    docs = np.concatenate([part.docs for part in parts])[order]
    weights = np.concatenate([part.weights for part in parts])[order]
    valuebytes, valuelengths = _take_runs(b"".join(part.valuebytes for part in parts),
                                          np.concatenate([part.valuelengths for part in parts]), order)
    valueoffsets = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(valuelengths, out=valueoffsets[1:])
    per_term = np.bincount(posting_rank, minlength=len(unique))
    present = per_term > 0
    btexts = [b for b, keep in zip(unique, present.tolist()) if keep]
    starts = np.zeros(len(btexts) + 1, dtype=np.int64)
    np.cumsum(per_term[present], out=starts[1:])
    return _Postings(btexts, starts, docs, weights, valuebytes, valueoffsets)
