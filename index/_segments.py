"""Whole format 3 segments written from analysed documents, without Whoosh's posting pool.

Whoosh's ``SegmentWriter`` puts every posting of a batch into a ``PostingPool`` (one tuple per
posting, sized and possibly spilled to disk), sorts them all at commit and hands them to the
codec's field writer one posting at a time. For a batch that fits in memory none of that is
needed. :class:`SegmentBuilder` keeps each document's term lists as the analysis gives them and,
at the end, computes each field's postings for the whole batch at once with numpy (every token
ranked by its term, a stable sort, runs of one term in one document; adjacent-syllable pairs
numbered from their syllables' ranks, see :class:`Pairs`), then gives them to the format 3 field
writer as arrays (:meth:`index.format.ArrayFieldWriter.add_terms`). Stored fields, lengths and
columns go through the codec's per-document writer, as Whoosh's writer sends them.

The result is the segment Whoosh's own ``SegmentWriter`` writes with :class:`ArrayCodec` for
the same documents, byte for byte (``tests/test_index_parallel.py`` compares them).

A builder writes a complete segment under a name chosen by the caller and returns the picklable
``Segment`` object; the segment is invisible until a table of contents lists it (see
``_index.Index.add_documents``), and removed as an orphan by the next writer if none ever does.
Builders run in worker processes, one batch each, so the files of several batches are written
at once while the process holding the write lock only commits.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain, count
from typing import Any

import numpy as np

from whoosh.filedb.filestore import FileStorage
from whoosh.formats import Frequency, Positions

from corpus import Document

from ._analysis import Pairs, analyze_document, worker_analyzer
from .format import ArrayCodec, ArrayDocReader, ArraySegment, _runs


class SegmentBuilder:
    """Writes the documents given to :meth:`add` as one new segment of ``indexname``.

    ``add`` takes the field values of :func:`index._analysis.analyze_document`: term lists for
    the analysed fields (indexed as Whoosh indexes a list value: one token per item, positions
    0, 1, 2, ...), or a :class:`Pairs` (indexed as the list of its pairs), plain values for the
    others, ``_stored_<name>`` for what to store instead. A merge adds documents with
    :meth:`append_documents` and gives their postings to :meth:`finish`.
    """

    def __init__(self, storage: Any, schema: Any, indexname: str, segid: str) -> None:
        for name, field in schema.items():
            if field.vector or field.separate_spelling():
                raise ValueError(f"field {name!r}: term vectors and spelling fields are not supported")
        self.storage = storage
        self.schema = schema
        self.codec = ArrayCodec()
        segment = self.codec.new_segment(storage, indexname)
        segment.segid = segid
        self.segment: ArraySegment = segment
        self.docnum = 0
        self._perdoc = self.codec.per_document_writer(storage, segment)
        self._lists: dict[str, tuple[list[Any], list[int]]] = {}  # field -> (term lists, docnums)
        self._pairs: dict[str, tuple[list[Pairs], list[int]]] = {}  # field -> (Pairs values, docnums)
        # Other values: field -> term -> [(docnum, freq, positions)]
        self._postings: dict[str, dict[bytes, list[tuple[int, int, list[int]]]]] = {}
        self._closed = False

    def __enter__(self) -> "SegmentBuilder":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.cancel()

    def add(self, fields: dict[str, Any]) -> None:
        """Add one document (the next document number)."""
        schema = self.schema
        perdoc = self._perdoc
        docnum = self.docnum
        names = sorted(name for name in fields if not name.startswith("_"))
        for name in names:
            if name not in schema:
                raise ValueError(f"no field named {name!r} in the schema")
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = fields[name]
                if value is None:
                    continue
                field = schema[name]
                length = 0
                if field.indexed:
                    freq_total = self._index_value(name, field, value, docnum)
                    if field.scorable:
                        length = freq_total
                custom = fields.get("_stored_" + name, value)
                perdoc.add_field(name, field, custom if field.stored else None, length)
                column = field.column_type
                if column and custom is not None:
                    perdoc.add_column_value(name, column, field.to_column_value(custom))
        except Exception:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        self.docnum += 1

    def _index_value(self, name: str, field: Any, value: Any, docnum: int) -> int:
        """Take the postings of one field value; returns the number of tokens (for the length)."""
        if isinstance(value, Pairs):
            if type(field.format) is Frequency:
                if value.count:
                    pairs = self._pairs.get(name)
                    if pairs is None:
                        pairs = self._pairs[name] = ([], [])
                    pairs[0].append(value)
                    pairs[1].append(docnum)
                return value.count
            value = value.terms()
        if isinstance(value, (list, tuple)) and type(field.format) in (Frequency, Positions):
            # What Whoosh does with a list value (formats.tokens -> entoken): each item is one
            # token, unchanged, at positions 0, 1, 2, ...; every token weighs 1.0. The lists
            # are kept as they are and turned into postings all at once by finish().
            if value:
                lists = self._lists.get(name)
                if lists is None:
                    lists = self._lists[name] = ([], [])
                lists[0].append(value)
                lists[1].append(docnum)
            return len(value)
        terms = self._postings.get(name)
        if terms is None:
            terms = self._postings[name] = {}
        fmt = field.format
        total = 0
        for btext, freq, _weight, vbytes in field.index(value):
            total += freq
            postings = terms.get(btext)
            if postings is None:
                postings = terms[btext] = []
            postings.append((docnum, freq, fmt.decode_positions(vbytes) if type(fmt) is Positions else []))
        return total

    def append_documents(self, reader: ArrayDocReader, live: np.ndarray) -> None:
        """Add the documents of another segment where ``live`` is True (a merge): stored fields,
        lengths and columns copied as they are. Their postings are given to :meth:`finish`."""
        self._perdoc.append_documents(reader, live)
        self.docnum += int(live.sum())

    def finish(self, merged: Iterable[tuple[str, "_Postings"]] = (),
               fieldlengths: dict[str, int] | None = None) -> ArraySegment:
        """Write the postings, close the files; returns the segment.

        A merge gives the postings of the copied documents as ``merged``, each field's in one
        or more chunks of ascending terms, and the fields' exact total lengths."""
        segment = self.segment
        self._perdoc.close()
        if fieldlengths is not None:
            segment.set_field_lengths(fieldlengths)
        segment.set_doc_count(self.docnum)
        fieldwriter = self.codec.field_writer(self.storage, segment)
        try:
            for name in sorted(set(self._postings) | set(self._lists) | set(self._pairs)):
                postings = self._field_postings(name)
                # Free each field's tokens and postings once written.
                self._postings.pop(name, None)
                self._lists.pop(name, None)
                self._pairs.pop(name, None)
                self._write(fieldwriter, name, postings)
            for name, chunk in merged:
                self._write(fieldwriter, name, chunk)
        finally:
            fieldwriter.close()
        self._postings.clear()
        self._lists.clear()
        self._pairs.clear()
        self._closed = True
        return segment

    def _write(self, fieldwriter: Any, name: str, postings: "_Postings") -> None:
        if postings.btexts:
            field = self.schema[name]
            fieldwriter.add_terms(name, field, postings.btexts, postings.starts, postings.docs, postings.freqs,
                                  postings.positions if type(field.format) is Positions else None)

    def _field_postings(self, name: str) -> "_Postings":
        field = self.schema[name]
        parts = []
        if name in self._lists:
            parts.append(_list_postings(field.format, *self._lists[name]))
        if name in self._pairs:
            parts.append(_pair_postings(field.format, *self._pairs[name]))
        if name in self._postings:
            parts.append(_dict_postings(self._postings[name]))
        return parts[0] if len(parts) == 1 else _merge(parts)

    def cancel(self) -> None:
        """Drop what was written (best effort)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            if not self._perdoc.is_closed:
                self._perdoc.close()
        delete_segment_files(self.storage, self.segment.segment_id())


@dataclass
class _Postings:
    """One field's postings, by term (ascending bytes), then by document."""

    btexts: list[bytes]
    starts: np.ndarray  # term i's postings are [starts[i], starts[i + 1]); len(btexts) + 1 of them
    docs: np.ndarray  # int64 document numbers
    freqs: np.ndarray  # int64 frequencies
    positions: np.ndarray  # int64: each posting's positions, posting after posting (empty: none)


_NONE = np.zeros(0, dtype=np.int64)
_NO_POSTINGS = _Postings([], np.zeros(1, dtype=np.int64), _NONE, _NONE, _NONE)


def _list_postings(fmt: Any, lists: list[Any], docnums: list[int]) -> _Postings:
    """The postings of term lists (one per document, in document order) in a ``Frequency`` or
    ``Positions`` field, computed for all tokens at once: each token gets its term's rank, a
    stable sort by rank keeps every term's tokens in document, then position order, and each
    run of one term in one document is a posting."""
    counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    total = int(counts.sum())
    if not total:
        return _NO_POSTINGS
    unique, term = _ranks(chain.from_iterable(lists), total)
    doc = np.repeat(np.asarray(docnums, dtype=np.int64), counts)
    position = _runs(counts)
    return _token_postings(fmt, [t.encode("utf-8") for t in unique], term, doc, position)


def _ranks(tokens: Iterable[str], total: int) -> tuple[list[str], np.ndarray]:
    """The distinct tokens in order (code point order is UTF-8 byte order) and each token's rank."""
    # Each token's id is first the index of its first occurrence, then the rank of its term.
    seen: dict[str, int] = {}
    term = np.fromiter(map(seen.setdefault, tokens, count()), dtype=np.int64, count=total)
    unique = sorted(seen)
    rank = np.empty(total, dtype=np.int64)
    rank[np.fromiter(map(seen.__getitem__, unique), dtype=np.int64, count=len(unique))] = np.arange(len(unique))
    return unique, rank[term]


def _stable_order(keys: np.ndarray, size: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for keys in ``range(size)``: numpy sorts 16-bit
    integers by radix, in linear time, so keys below 2**32 are sorted in two such passes
    (low half, then high half, each stable)."""
    if size <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if size > 1 << 32:
        return np.argsort(keys, kind="stable")
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((keys[order] >> 16).astype(np.uint16), kind="stable")]


def _token_postings(fmt: Any, btexts: list[bytes], term: np.ndarray, doc: np.ndarray,
                    position: np.ndarray) -> _Postings:
    """Postings from each token's term rank, document and position (tokens in document, then
    position order)."""
    total = len(term)
    order = _stable_order(term, len(btexts))
    term = term[order]
    doc = doc[order]
    new = np.ones(total, dtype=bool)
    new[1:] = (term[1:] != term[:-1]) | (doc[1:] != doc[:-1])
    first = np.flatnonzero(new)
    freqs = np.diff(first, append=total)
    starts = np.flatnonzero(np.diff(term[first], prepend=-1)).astype(np.int64)
    positions = position[order] if type(fmt) is Positions else _NONE
    return _Postings(btexts, np.append(starts, len(first)), doc[first], freqs.astype(np.int64), positions)


def _pair_postings(fmt: Any, values: list[Pairs], docnums: list[int]) -> _Postings:
    """The postings of :class:`Pairs` values, from the ranks of their syllables: a pair is a
    number (rank of the first syllable times the number of syllables, plus the rank of the
    second), so only distinct pairs become strings. Numbered in this order, the pairs' strings
    are nearly sorted already ("ab_c" sorts before "ab1_c" while "ab" sorts before "ab1"), which
    the final sort takes in one pass. Falls back to the strings of every pair if two pairs have
    the same string (a syllable holding "_")."""
    pieces = [piece for value in values for piece in value.parts]
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    total = int(lengths.sum())
    npairs = np.fromiter((value.count for value in values), dtype=np.int64, count=len(values))
    if not npairs.sum():
        return _NO_POSTINGS
    syllables, rank = _ranks(chain.from_iterable(pieces), total)
    # Pair i is syllables i and i + 1 of one piece.
    within = np.ones(total, dtype=bool)
    within[(np.cumsum(lengths) - 1)[lengths > 0]] = False
    within = within[:-1]
    nsyl = len(syllables)
    code = rank[:-1][within] * nsyl + rank[1:][within]
    distinct, inverse = np.unique(code, return_inverse=True)
    names = [f"{syllables[a]}_{syllables[b]}" for a, b in zip((distinct // nsyl).tolist(), (distinct % nsyl).tolist())]
    if len(set(names)) != len(names):
        return _list_postings(fmt, [value.terms() for value in values], docnums)
    order = sorted(range(len(names)), key=names.__getitem__)
    pair_rank = np.empty(len(names), dtype=np.int64)
    pair_rank[order] = np.arange(len(names))
    doc = np.repeat(np.asarray(docnums, dtype=np.int64), npairs)
    position = _runs(npairs)
    return _token_postings(fmt, [names[i].encode("utf-8") for i in order], pair_rank[inverse.ravel()], doc, position)


def _dict_postings(terms: dict[bytes, list[tuple[int, int, list[int]]]]) -> _Postings:
    """Postings gathered term by term (values given as anything but a token list)."""
    btexts = sorted(terms)
    docs: list[int] = []
    freqs: list[int] = []
    positions: list[int] = []
    starts = [0]
    for btext in btexts:
        for docnum, freq, poses in sorted(terms[btext]):
            docs.append(docnum)
            freqs.append(freq)
            positions.extend(poses)
        starts.append(len(docs))
    return _Postings(btexts, np.array(starts, dtype=np.int64), np.array(docs, dtype=np.int64),
                     np.array(freqs, dtype=np.int64), np.array(positions, dtype=np.int64))


def _merge(parts: list[_Postings]) -> _Postings:
    """One field's postings from several parts (a field given lists in some documents and other
    values in others); no document is in two parts."""
    btexts = sorted(set().union(*(p.btexts for p in parts)))
    rank = {b: i for i, b in enumerate(btexts)}
    terms = np.concatenate([np.repeat(np.array([rank[b] for b in p.btexts], dtype=np.int64), np.diff(p.starts))
                            for p in parts])
    docs = np.concatenate([p.docs for p in parts])
    freqs = np.concatenate([p.freqs for p in parts])
    order = np.lexsort((docs, terms))
    starts = np.searchsorted(terms[order], np.arange(len(btexts) + 1))
    positions = _NONE
    if any(p.positions.size for p in parts):
        pstart = np.cumsum(freqs) - freqs
        allpos = np.concatenate([p.positions for p in parts])
        take = np.repeat(pstart[order], freqs[order]) + _runs(freqs[order])
        positions = allpos[take]
    return _Postings(btexts, starts.astype(np.int64), docs[order], freqs[order], positions)


def delete_segment_files(storage: Any, segment_id: str) -> None:
    prefix = segment_id + "."
    for name in list(storage.list()):
        if name.startswith(prefix):
            with contextlib.suppress(OSError):
                storage.delete_file(name)


def build_segment(storage: Any, schema: Any, indexname: str, segid: str,
                  documents: Iterable[dict[str, Any]]) -> ArraySegment:
    """Write ``documents`` (field values) as the new segment ``segid``; returns its ``Segment``."""
    with SegmentBuilder(storage, schema, indexname, segid) as builder:
        for values in documents:
            builder.add(values)
        return builder.finish()


@dataclass(frozen=True)
class SegmentTask:
    """One batch for a worker: analyse ``documents`` and write them as segment ``segid`` of the
    index in ``folder`` (picklable; the schema pickles to a few kB)."""

    folder: str
    indexname: str
    schema: Any
    segid: str
    documents: list[Document]


def run_segment_task(task: SegmentTask, analyze: Callable[[Document], dict[str, Any]],
                     storage: Any = None) -> ArraySegment:
    """Write the task's segment into ``storage`` (default: a ``FileStorage`` of its folder)."""
    storage = storage if storage is not None else FileStorage(task.folder)
    return build_segment(storage, task.schema, task.indexname, task.segid,
                         (analyze(doc) for doc in task.documents))


def segment_in_worker(task: SegmentTask) -> ArraySegment:
    """Pool task: the batch's segment, written with this worker's analyzer (``init_worker``)."""
    analyzer = worker_analyzer()
    return run_segment_task(task, lambda doc: analyze_document(analyzer, doc, pairs_as_lists=False))
