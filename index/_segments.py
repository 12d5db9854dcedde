"""Whole Whoosh segments written from analysed documents, without Whoosh's posting pool.

Whoosh's ``SegmentWriter`` puts every posting of a batch into a ``PostingPool`` (one tuple per
posting, sized and possibly spilled to disk), sorts them all at commit, then re-reads each
document's field length from the per-document file it has just written, posting by posting,
and writes each term through three layers of per-posting method calls. For a batch that fits
in memory none of that is needed. :class:`SegmentBuilder` keeps each document's term lists as
the analysis gives them and, at the end, computes each field's postings for the whole batch at
once with numpy (every token ranked by its term, a stable sort, runs of one term in one
document; adjacent-syllable pairs numbered from their syllables' ranks, see :class:`Pairs`).
Term statistics, inlined postings, position encodings, posting blocks and the term table are
then laid out for all terms together, computing what ``VnCodec``'s writers would (see
:meth:`SegmentBuilder._write_field_fast`), or, for ``BlockCodec`` (what imports use), the same
with the array blocks of ``index/_blocks.py``. The per-document files (stored fields, lengths,
columns) are written by Whoosh's own per-document writer.

The result is a Whoosh W3 segment: Whoosh's readers, merges and ``optimize`` read it as any
other. It differs from what Whoosh writes for the same documents only in bytes that readers
take the same way: inlined postings and block data are pickled with other opcodes (the
narrowest that hold them exactly: whole-number weights of inlined postings unpickle as ints), the hash
tables of the term table place colliding entries in another valid order, and ``BlockCodec``'s
term tables hash with CRC-32 (Whoosh's hash type 1) rather than MD5. ``tests/test_index_parallel.py``
compares every term's postings and statistics, the stored fields, lengths and columns with
Whoosh's.

A builder writes a complete, compound segment under a name chosen by the caller and returns
the picklable ``Segment`` object; the segment is invisible until a table of contents lists it
(see ``_index.Index.add_documents``), and removed as an orphan by the next writer if none ever
does. Builders run in worker processes, one batch each, so the files of several batches are
written at once while the process holding the write lock only commits.
"""
from __future__ import annotations

import contextlib
import functools
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain, count
from typing import Any

import numpy as np

from whoosh.codec.base import Codec, Segment
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC as _BLOCK_MAGIC
from whoosh.codec.whoosh3 import W3FieldWriter
from whoosh.compat import dumps
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import _pointer as _POINTER
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.util.numlists import delta_encode

from corpus import Document

from ._analysis import Pairs, analyze_document, worker_analyzer
from ._blocks import BlockCodec, block_data, frame_block, id_width
from ._codec import VnCodec

_POINTER_DTYPE = np.dtype([("hash", ">u4"), ("pos", ">i8")])  # filetables._pointer
_PROTOCOL = 4


class SegmentBuilder:
    """Writes the documents given to :meth:`add` as one new segment of ``indexname``.

    ``add`` takes the field values of :func:`index._analysis.analyze_document`: term lists for
    the analysed fields (indexed as Whoosh indexes a list value: one token per item, positions
    0, 1, 2, ...), or a :class:`Pairs` (indexed as the list of its pairs), plain values for the
    others, ``_stored_<name>`` for what to store instead. The result is the same segment
    ``SegmentWriter.add_document`` + ``commit`` would write for the same values (with a
    :class:`Pairs` spelled out; ``tests/test_index_parallel.py`` compares them term by term).
    """

    def __init__(self, storage: Any, schema: Any, codec: Codec, indexname: str, segid: str) -> None:
        for name, field in schema.items():
            if field.vector or field.separate_spelling():
                raise ValueError(f"field {name!r}: term vectors and spelling fields are not supported")
        self.storage = storage
        self.schema = schema
        self.codec = codec
        segment = codec.new_segment(storage, indexname)
        segment.segid = segid
        self.segment = segment
        self.docnum = 0
        self._perdoc = codec.per_document_writer(storage, segment)
        self._lists: dict[str, tuple[list[Any], list[int]]] = {}  # field -> (term lists, docnums)
        self._pairs: dict[str, tuple[list[Pairs], list[int]]] = {}  # field -> (Pairs values, docnums)
        self._postings: dict[str, dict[bytes, list[tuple[int, float, bytes]]]] = {}  # other values
        self._lengths: dict[str, dict[int, int]] = {}  # field -> docnum -> length as the reader sees it
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
                        if length:
                            self._lengths.setdefault(name, {})[docnum] = byte_to_length(length_to_byte(length))
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
        total = 0
        for btext, freq, weight, vbytes in field.index(value):
            total += freq
            postings = terms.get(btext)
            if postings is None:
                postings = terms[btext] = []
            postings.append((docnum, weight, vbytes or b""))
        return total

    def copy_document(self, stored: dict[str, Any], lengths: dict[str, int], columns: dict[str, Any]) -> None:
        """Add one document copied from another segment (a merge): its ``stored`` fields, its
        field ``lengths`` as that segment's reader gives them, and its raw ``columns`` values.
        Its postings are given to :meth:`finish`."""
        schema = self.schema
        perdoc = self._perdoc
        docnum = self.docnum
        perdoc.start_doc(docnum)
        for name in sorted(set(stored) | set(lengths)):
            length = lengths.get(name, 0)
            if length:
                self._lengths.setdefault(name, {})[docnum] = length
            perdoc.add_field(name, schema[name], stored.get(name), length)
        for name, value in columns.items():
            perdoc.add_column_value(name, schema[name].column_type, value)
        perdoc.finish_doc()
        self.docnum += 1

    def finish(self, merged: Iterable[tuple[str, "_Postings"]] = (),
               fieldlengths: dict[str, int] | None = None) -> Segment:
        """Write the postings, close the files, assemble the compound file; returns the segment.

        A merge gives the postings of the copied documents as ``merged``, each field's in one
        or more chunks of ascending terms, and the fields' exact total lengths."""
        segment = self.segment
        self._perdoc.close()
        if fieldlengths is not None:
            segment._fieldlengths = dict(fieldlengths)
        segment.set_doc_count(self.docnum)
        fieldwriter = self.codec.field_writer(self.storage, segment)
        try:
            fast = type(self.codec) in (VnCodec, BlockCodec) and isinstance(fieldwriter, W3FieldWriter)
            if fast:
                tindex = fieldwriter._tindex
                tindex._vn_entries = []
                tindex._write_hashes = functools.partial(write_hash_tables, tindex)
            for name in sorted(set(self._postings) | set(self._lists) | set(self._pairs)):
                postings = self._field_postings(name)
                # Free each field's tokens and postings once written.
                self._postings.pop(name, None)
                self._lists.pop(name, None)
                self._pairs.pop(name, None)
                if postings.btexts:
                    if fast:
                        self._write_field_fast(fieldwriter, name, postings)
                    else:
                        self._write_field(fieldwriter, name, postings)
            for name, chunk in merged:
                if chunk.btexts:
                    if fast:
                        self._write_field_fast(fieldwriter, name, chunk)
                    else:
                        self._write_field(fieldwriter, name, chunk)
        finally:
            fieldwriter.close()
        self._postings.clear()
        self._lists.clear()
        self._pairs.clear()
        self._lengths.clear()
        if segment.should_assemble():
            segment.create_compound_file(self.storage)
            segment.compound = True
        self._closed = True
        return segment

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

    def _document_lengths(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Each document's length in field ``name`` as readers see it, and its length byte."""
        lengths = np.zeros(self.docnum + 1, dtype=np.int64)
        known = self._lengths.get(name, {})
        if known:
            lengths[np.fromiter(known.keys(), np.int64, len(known))] = np.fromiter(known.values(), np.int64,
                                                                                  len(known))
        distinct, where = np.unique(lengths, return_inverse=True)
        lbytes = np.array([length_to_byte(x) for x in distinct.tolist()], dtype=np.int64)[where]
        return lengths, lbytes

    def _write_field(self, fieldwriter: Any, name: str, postings: "_Postings") -> None:
        """Through the codec's field writer API, one posting at a time (any codec)."""
        lengths = self._document_lengths(name)[0].tolist()
        fieldwriter.start_field(name, self.schema[name])
        start_term, add, finish_term = fieldwriter.start_term, fieldwriter.add, fieldwriter.finish_term
        docs, weights, values = postings.docs.tolist(), postings.weights.tolist(), postings.values()
        bounds = postings.starts.tolist()
        for i, btext in enumerate(postings.btexts):
            start_term(btext)
            for k in range(bounds[i], bounds[i + 1]):
                add(docs[k], weights[k], values[k], lengths[docs[k]])
            finish_term()
        fieldwriter.finish_field()

    def _write_field_fast(self, fieldwriter: Any, name: str, postings: "_Postings") -> None:
        """What :meth:`_write_field` writes with ``VnCodec``, for all terms at once: the entries
        ``W3FieldWriter.finish_term`` would write with ``VnCodec``'s postings writer (lists of up
        to ``inlinelimit`` postings inlined in the term's entry, longer ones in blocks of
        ``blocklimit``), added to the term table as ``OrderedHashWriter.add`` adds them.
        Statistics and fixed-size parts are computed with numpy; inlined postings are pickled
        by :func:`_inline_pickles`. With ``BlockCodec``, blocks are those of ``index._blocks``,
        all encoded at once by :func:`_array_blocks`. Relies on whoosh-reloaded 2.7.5's
        internals, which pyproject pins."""
        codec = self.codec
        inlinelimit, blocklimit, compression = codec._inlinelimit, codec._blocklimit, codec._compression
        fixedsize = self.schema[name].format.fixed_value_size()
        doclengths, doclbytes = self._document_lengths(name)
        fieldmap = fieldwriter._fieldmap
        keyprefix = pack_ushort(fieldmap.setdefault(name, len(fieldmap)))
        tindex = fieldwriter._tindex
        postfile = fieldwriter._postfile

        # W3TermInfo's statistics of every term.
        docs = postings.docs
        starts = postings.starts[:-1]
        ends = postings.starts[1:]
        counts = ends - starts
        fweights = postings.weights.astype(np.float32).astype(np.float64)
        plengths = doclengths[docs]
        plbytes = doclbytes[docs]
        info = np.zeros(len(starts), dtype=_TERMINFO_DTYPE)
        info["weight"] = np.add.reduceat(fweights, starts)
        info["df"] = counts
        min_lbytes = np.minimum.reduceat(np.where(plengths > 0, plbytes, 256), starts)
        info["minlength"] = np.where(min_lbytes == 256, 0, min_lbytes)  # no length at all: None
        info["maxlength"] = np.maximum.reduceat(plbytes, starts)
        max_weights = np.maximum.reduceat(postings.weights, starts)
        info["maxweight"] = np.where(max_weights > 0, max_weights, 0)
        info["minid"] = docs[starts]
        info["maxid"] = docs[ends - 1]
        inlined = counts <= inlinelimit
        info["inlined"] = inlined

        # Longer lists: their blocks go to the posting file, the term points at them.
        entries: list[bytes] = [b""] * len(starts)
        blocked = np.flatnonzero(~inlined).tolist()
        if blocked:
            if isinstance(codec, BlockCodec):
                blocks = _array_blocks(postings, fweights, plengths, plbytes, starts[~inlined], counts[~inlined],
                                       blocklimit, fixedsize, compression)
            else:
                doclist, fwlist, weightlist = docs.tolist(), fweights.tolist(), postings.weights.tolist()
                lengthlist = plengths.tolist()
                valuelist = postings.values()
                blocks = []
                for i in blocked:
                    a, z = int(starts[i]), int(ends[i])
                    blocks.append(b"".join(
                        _w3_block(doclist[b:e], fwlist[b:e], weightlist[b:e], valuelist[b:e], lengthlist[b:e],
                                  fixedsize, compression, last=e == z)
                        for b, e in ((b, min(b + blocklimit, z)) for b in range(a, z, blocklimit))))
            offset = postfile.tell()
            for i, data in zip(blocked, blocks):
                entries[i] = pack_long(offset) + pack_int(len(_BLOCK_MAGIC) + len(data))
                offset += len(_BLOCK_MAGIC) + len(data)
            postfile.write(b"".join(chain.from_iterable((_BLOCK_MAGIC, data) for data in blocks)))
            del blocks
        inline_terms = np.flatnonzero(inlined)
        for i, pickled in zip(inline_terms.tolist(), _inline_pickles(postings, fweights, starts[inlined],
                                                                     counts[inlined])):
            entries[i] = pickled

        # The term table: OrderedHashWriter.add for each term.
        keys = [keyprefix + btext for btext in postings.btexts]
        tfile = tindex.dbfile
        positions = np.zeros(len(keys), dtype=np.int64)
        base = tfile.tell()
        for lo in range(0, len(keys), _RECORD_CHUNK):
            hi = lo + _RECORD_CHUNK
            data, starts = _records(keys[lo:hi], info[lo:hi], entries[lo:hi])
            positions[lo:lo + len(starts)] = starts + base
            tfile.write(data)
            base += len(data)
        del entries
        hashfn = zlib.crc32 if tindex.hashtype == 1 else tindex.hashfn  # crc_hash is crc32 & 0xFFFFFFFF
        hashes = np.fromiter(map(hashfn, keys), dtype=np.int64, count=len(keys))
        tindex._vn_entries.append((hashes, positions))
        tindex.lastkey = keys[-1]
        # GrowableArray.append for each position, at once: the positions only grow, so the
        # array ends with the type its largest value needs.
        last = int(positions[-1])
        tindex_positions = tindex.index
        if last >= 2 ** 31:
            tindex_positions.extend(positions.tolist())
        else:
            if last >= 2 ** 16 and tindex_positions.typecode == "H":
                tindex_positions._retype(last)
            tindex_positions.array.extend(positions.tolist())

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
    weights: np.ndarray  # float64
    valuebytes: bytes  # the encoded values of all postings, one after the other (b"" for none)
    valueoffsets: np.ndarray  # posting k's value is valuebytes[valueoffsets[k]:valueoffsets[k + 1]]

    def values(self) -> list[bytes]:
        """Each posting's encoded value."""
        data, offsets = self.valuebytes, self.valueoffsets.tolist()
        return [data[a:b] for a, b in zip(offsets, offsets[1:])]


def _joined(values: list[bytes]) -> tuple[bytes, np.ndarray]:
    """``values`` as ``(valuebytes, valueoffsets)``."""
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)), out=offsets[1:])
    return b"".join(values), offsets


_NO_POSTINGS = _Postings([], np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64),
                         np.zeros(0, dtype=np.float64), b"", np.zeros(1, dtype=np.int64))


# W3TermInfo._struct ("!BfIBBfII") as a numpy record.
_TERMINFO_DTYPE = np.dtype([("inlined", "u1"), ("weight", ">f4"), ("df", ">u4"), ("minlength", "u1"),
                            ("maxlength", "u1"), ("maxweight", ">f4"), ("minid", ">u4"), ("maxid", ">u4")])
# Inlined postings are a pickled ((ids), (weights), (values)) in the narrowest of pickle's
# opcodes that hold them exactly (see _inline_pickles); pickle.loads reads them as it reads
# what pickle.dumps writes.


# Terms whose table records are laid out in one go (bounds the index arrays to a few MB).
_RECORD_CHUNK = 32_768


def _records(keys: list[bytes], info: np.ndarray, entries: list[bytes]) -> tuple[bytes, np.ndarray]:
    """Term-table records as ``HashWriter.add`` writes them (key and value lengths as ``!ii``, the
    key, the value: here the term info, then the entry), laid out with numpy; returns them and
    where each starts."""
    n = len(keys)
    keylengths = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    entrylengths = np.fromiter(map(len, entries), dtype=np.int64, count=n)
    valuelengths = entrylengths + info.itemsize
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(8 + keylengths + valuelengths, out=starts[1:])
    out = np.empty(int(starts[-1]), dtype=np.uint8)
    at = starts[:-1]
    heads = np.empty((n, 2), dtype=">i4")
    heads[:, 0] = keylengths
    heads[:, 1] = valuelengths
    _put_rows(out, at, heads.view(np.uint8).reshape(n, 8))
    _put_runs(out, at + 8, b"".join(keys), keylengths)
    _put_rows(out, at + 8 + keylengths, info.view(np.uint8).reshape(n, info.itemsize))
    _put_runs(out, at + 8 + keylengths + info.itemsize, b"".join(entries), entrylengths)
    return out.tobytes(), at


def _put_rows(out: np.ndarray, at: np.ndarray, rows: np.ndarray) -> None:
    """Copy row ``i`` of ``rows`` (bytes) to ``out[at[i]:]``."""
    out[(at[:, None] + np.arange(rows.shape[1])).ravel()] = rows.ravel()


def _put_runs(out: np.ndarray, at: np.ndarray, data: bytes, lengths: np.ndarray,
              starts: np.ndarray | None = None) -> None:
    """Copy the ``i``-th run of ``data`` to ``out[at[i]:]``: runs of ``lengths`` that begin at
    ``starts``, or one after the other from the beginning."""
    source = np.frombuffer(data, dtype=np.uint8)
    within = _within_runs(lengths)
    if starts is None:
        out[np.repeat(at, lengths) + within] = source[:len(within)]
    else:
        out[np.repeat(at, lengths) + within] = source[np.repeat(starts, lengths) + within]


def _within_runs(lengths: np.ndarray) -> np.ndarray:
    """For runs of ``lengths`` laid one after another, each element's index inside its run."""
    return np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _inline_pickles(postings: "_Postings", fweights: np.ndarray, starts: np.ndarray,
                    counts: np.ndarray) -> list[bytes]:
    """The pickled ``(ids, weights, values)`` of the terms whose postings start at ``starts``,
    without calling ``pickle.dumps`` once per term. Values are ``(b"",) * n`` when any of a
    term's values is empty, as Whoosh's postings writer has them. A term's pickle is
    ``\x80\x04(``, its ids (all ``M`` + ``<u2`` if they are below 65,536, else all ``J`` +
    ``<i4``), ``t(``, its weights (all ``K`` + one byte if they are whole numbers below 256,
    else all ``G`` + ``>f8``), ``t(``, its values (each ``C`` + one byte size, or ``B`` +
    ``<u4`` size from 256 bytes, then the bytes), ``t\x87.``."""
    pickles: list[bytes] = []
    for lo in range(0, len(counts), _RECORD_CHUNK):
        pickles += _inline_chunk(postings, fweights, starts[lo:lo + _RECORD_CHUNK], counts[lo:lo + _RECORD_CHUNK])
    return pickles


def _inline_chunk(postings: "_Postings", fweights: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> list[bytes]:
    if not len(starts):
        return []
    within = _within_runs(counts)
    take = np.repeat(starts, counts) + within
    first = np.cumsum(counts) - counts
    docs = postings.docs[take].astype(np.int64)
    weights = fweights[take].astype(np.float64)
    whole = ((weights >= 0) & (weights < 256) & (weights == np.floor(weights))).astype(np.int8)
    iw = np.where(np.maximum.reduceat(docs, first) < 65536, 3, 5)  # bytes per id: M or J
    ww = np.where(np.minimum.reduceat(whole, first).astype(bool), 2, 9)  # per weight: K or G
    voffsets = postings.valueoffsets
    sizes = voffsets[take + 1] - voffsets[take]
    sizes[np.repeat(np.minimum.reduceat(sizes, first) == 0, counts)] = 0
    vhead = np.where(sizes < 256, 2, 5)  # C or B
    vitem = vhead + sizes
    vstart = np.cumsum(vitem) - vitem
    vwithin = vstart - np.repeat(vstart[first], counts)
    vtotal = np.add.reduceat(vitem, first)
    tsize = 10 + (iw + ww) * counts + vtotal
    at = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(tsize, out=at[1:])
    out = np.zeros(int(at[-1]), dtype=np.uint8)
    start = at[:-1]
    for j, byte in enumerate(b"\x80\x04("):
        out[start + j] = byte
    # Ids.
    piw = np.repeat(iw, counts)
    id_at = np.repeat(start + 3, counts) + within * piw
    out[id_at] = np.where(piw == 3, ord("M"), ord("J"))
    for j in range(4):
        has = piw > j + 1
        out[id_at[has] + 1 + j] = (docs[has] >> (8 * j)) & 255
    mid1 = start + 3 + iw * counts
    out[mid1], out[mid1 + 1] = ord("t"), ord("(")
    # Weights.
    pww = np.repeat(ww, counts)
    w_at = np.repeat(mid1 + 2, counts) + within * pww
    out[w_at] = np.where(pww == 2, ord("K"), ord("G"))
    short = pww == 2
    out[w_at[short] + 1] = weights[short].astype(np.uint8)
    if not short.all():
        wide = ~short
        out[(w_at[wide][:, None] + 1 + np.arange(8)).ravel()] = weights[wide].astype(">f8").view(np.uint8)
    mid2 = mid1 + 2 + ww * counts
    out[mid2], out[mid2 + 1] = ord("t"), ord("(")
    # Values.
    v_at = np.repeat(mid2 + 2, counts) + vwithin
    out[v_at] = np.where(vhead == 2, ord("C"), ord("B"))
    for j in range(4):
        has = vhead == 5 if j else np.ones(len(vhead), dtype=bool)
        out[v_at[has] + 1 + j] = (sizes[has] >> (8 * j)) & 255
    _put_runs(out, v_at + vhead, postings.valuebytes, sizes, voffsets[take])
    end = at[1:]
    for j, byte in enumerate(b"t\x87."):
        out[end - 3 + j] = byte
    data = out.tobytes()
    bounds = at.tolist()
    return [data[x:y] for x, y in zip(bounds, bounds[1:])]


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
    position = _within_runs(counts)
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
    weights = freqs * float(fmt.field_boost)
    if type(fmt) is Positions:
        valuebytes, valueoffsets = _encode_positions(position[order], first, freqs)
    else:  # Frequency.encode: pack_uint
        valuebytes, valueoffsets = freqs.astype(">u4").tobytes(), 4 * np.arange(len(freqs) + 1)
    return _Postings(btexts, np.append(starts, len(first)), doc[first], weights, valuebytes, valueoffsets)


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
    position = _within_runs(npairs)
    return _token_postings(fmt, [names[i].encode("utf-8") for i in order], pair_rank[inverse.ravel()], doc, position)


def _encode_positions(position: np.ndarray, first: np.ndarray, freqs: np.ndarray) -> tuple[bytes, np.ndarray]:
    """``Positions.encode`` of every posting, as ``(valuebytes, valueoffsets)``: the count
    (``pack_uint``), then ``pickle.dumps(gaps, 2)`` of the gaps (the first from 0). ``position``
    holds every token's position, posting ``k``'s from ``first[k]``, ``freqs[k]`` of them.

    The pickles are laid out with numpy, byte for byte as ``pickle.dumps`` writes a list of ints
    (``]q\\x00``, then ``K``/``M``/``J`` per int and ``a`` for one item, or ``(`` ... ``e``
    for more, then ``.``); lists of over 1,000 items, which ``pickle`` writes in batches, are
    left to ``pickle.dumps``."""
    npost = len(first)
    gaps = np.diff(position, prepend=0)
    gaps[first] = position[first]
    small = freqs <= 1000
    token_small = np.repeat(small, freqs)
    item = np.where(gaps < 256, 2, np.where(gaps < 65536, 3, 5))
    item[~token_small] = 0
    head = 9 + (freqs > 1)  # count, PROTO 2, EMPTY_LIST, BINPUT 0, MARK if more than one
    item_total = np.add.reduceat(item, first) if npost else item
    sizes = head + item_total + 2  # APPEND or APPENDS, STOP
    big = np.flatnonzero(~small).tolist()
    pickles = {k: pack_uint(int(freqs[k])) + dumps(gaps[first[k]:first[k] + freqs[k]].tolist(), 2) for k in big}
    for k, v in pickles.items():
        sizes[k] = len(v)
    offsets = np.zeros(npost + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    out = np.zeros(int(offsets[-1]), dtype=np.uint8)
    at = offsets[:-1][small]
    f = freqs[small]
    for j, shift in enumerate((24, 16, 8, 0)):
        out[at + j] = (f >> shift) & 255
    for j, byte in enumerate(b"\x80\x02]q\x00"):
        out[at + 4 + j] = byte
    out[at[f > 1] + 9] = ord("(")
    end = offsets[1:][small]
    out[end - 2] = np.where(f > 1, ord("e"), ord("a"))
    out[end - 1] = ord(".")
    # Items: each token's place is its posting's start + head + the items before it.
    token_start = np.repeat(offsets[:-1] + head, freqs)
    within = np.cumsum(item) - item
    within -= np.repeat(within[first], freqs)
    where = (token_start + within)[token_small]
    g = gaps[token_small]
    n = item[token_small]
    out[where] = np.where(n == 2, ord("K"), np.where(n == 3, ord("M"), ord("J")))
    for j, shift in enumerate((0, 8, 16, 24)):
        has = n > j + 1
        out[where[has] + 1 + j] = (g[has] >> shift) & 255
    data = out.tobytes()
    if pickles:
        parts, last = [], 0
        for k, v in sorted(pickles.items()):
            parts += [data[last:offsets[k]], v]
            last = int(offsets[k + 1])
        parts.append(data[last:])
        data = b"".join(parts)
    return data, offsets


def _dict_postings(terms: dict[bytes, list[tuple[int, float, bytes]]]) -> _Postings:
    """Postings gathered term by term (values given as anything but a token list)."""
    btexts = sorted(terms)
    docs: list[int] = []
    weights: list[float] = []
    values: list[bytes] = []
    starts = [0]
    for btext in btexts:
        for docnum, weight, vbytes in terms[btext]:
            docs.append(docnum)
            weights.append(weight)
            values.append(vbytes)
        starts.append(len(docs))
    return _Postings(btexts, np.array(starts, dtype=np.int64), np.array(docs, dtype=np.int64),
                     np.array(weights, dtype=np.float64), *_joined(values))


def _merge(parts: list[_Postings]) -> _Postings:
    """One field's postings from several parts (a field given lists in some documents and other
    values in others); no document is in two parts."""
    btexts = sorted(set().union(*(p.btexts for p in parts)))
    rank = {b: i for i, b in enumerate(btexts)}
    terms = np.concatenate([np.repeat(np.array([rank[b] for b in p.btexts], dtype=np.int64), np.diff(p.starts))
                            for p in parts])
    docs = np.concatenate([p.docs for p in parts])
    order = np.lexsort((docs, terms))
    values = [v for p in parts for v in p.values()]
    starts = np.searchsorted(terms[order], np.arange(len(btexts) + 1))
    return _Postings(btexts, starts.astype(np.int64), docs[order], np.concatenate([p.weights for p in parts])[order],
                     *_joined([values[i] for i in order.tolist()]))


def _array_blocks(postings: _Postings, fweights: np.ndarray, plengths: np.ndarray, plbytes: np.ndarray,
                  starts: np.ndarray, counts: np.ndarray, blocklimit: int, fixedsize: int | None,
                  compression: int) -> list[bytes]:
    """The framed array blocks (``index._blocks``) of the terms whose postings start at ``starts``,
    joined per term. Block statistics and the raw parts are computed for all blocks at once."""
    if not len(starts):
        return []
    nblocks = -(-counts // blocklimit)
    term_of_block = np.repeat(np.arange(len(starts)), nblocks)
    bstart = starts[term_of_block] + blocklimit * _within_runs(nblocks)
    bend = np.minimum(bstart + blocklimit, (starts + counts)[term_of_block])
    last_block = np.append(term_of_block[1:] != term_of_block[:-1], True)

    def per_block(ufunc: Any, values: np.ndarray) -> np.ndarray:
        # reduceat over [bstart, bend) for each block: pairs of bounds, keeping every other
        # result (one padding element so that every bound is a valid index).
        padded = np.append(values, values[:1])
        return ufunc.reduceat(padded, np.column_stack((bstart, bend)).ravel())[::2]

    docs = postings.docs
    max_weights = per_block(np.maximum, postings.weights)
    max_weights[~(max_weights > 0)] = 0
    min_lbytes = per_block(np.minimum, np.where(plengths > 0, plbytes, 256))
    min_lbytes[min_lbytes == 256] = 0
    max_lbytes = per_block(np.maximum, plbytes)
    unit = per_block(np.minimum, (fweights == 1.0).astype(np.int8)).astype(bool)

    gaps = np.diff(docs, prepend=0)
    gaps[bstart] = docs[bstart]
    widths = [id_width(g) for g in per_block(np.maximum, gaps).tolist()]
    gapbytes = {w: gaps.astype(dtype).tobytes() for w, dtype in ((1, "u1"), (2, "<u2"), (4, "<u4"))}
    # Weights: whole numbers (term frequencies) as 1 or 2 bytes where a block's fit, else <f4.
    whole = per_block(np.minimum, ((fweights >= 0) & (fweights == np.floor(fweights))).astype(np.int8)).astype(bool)
    wmax = per_block(np.maximum, fweights)
    wwidths = np.where(whole & (wmax < 256), 1, np.where(whole & (wmax < 65536), 2, 4)).tolist()
    weightbytes = {1: fweights.astype("u1").tobytes(), 2: fweights.astype("<u2").tobytes(),
                   4: fweights.astype("<f4").tobytes()}
    offsets = postings.valueoffsets
    has_values = per_block(np.minimum, np.diff(offsets)).astype(bool)
    offsetlist = offsets.tolist()
    allvalues = postings.valuebytes
    if fixedsize == 4 and len(allvalues) == 4 * len(docs):  # frequencies: narrowed where they fit
        ints = np.frombuffer(allvalues, dtype=">u4")
        vwidths = [id_width(v) for v in per_block(np.maximum, ints).tolist()]
        narrow = {1: ints.astype("u1").tobytes(), 2: ints.astype("<u2").tobytes()}
    else:
        vwidths = [0] * len(bstart)

    out: list[bytes] = []
    parts: list[bytes] = []
    for a, b, maxw, minb, maxb, u, hv, width, vwidth, ww, last in zip(
            bstart.tolist(), bend.tolist(), max_weights.tolist(), min_lbytes.tolist(), max_lbytes.tolist(),
            unit.tolist(), has_values.tolist(), widths, vwidths, wwidths, last_block.tolist()):
        if vwidth in (1, 2):
            vbytes = narrow[vwidth][vwidth * a:vwidth * b]
        elif fixedsize == 0 or not hv:
            vwidth = 0
            vbytes = b""
        elif fixedsize is not None and fixedsize > 0:
            vbytes = allvalues[offsetlist[a]:offsetlist[b]]
        else:
            vbytes = ((offsets[a:b + 1] - offsetlist[a]).astype("<u4").tobytes()
                      + allvalues[offsetlist[a]:offsetlist[b]])
        data = block_data(gapbytes[width][width * a:width * b], width, b"" if u else weightbytes[ww][ww * a:ww * b],
                          vbytes, compression, vwidth, ww)
        parts.append(frame_block(data, b - a, int(docs[b - 1]), maxw, compression, minb, maxb, last))
        if last:
            out.append(b"".join(parts))
            parts = []
    return out


def _w3_block(ids: list[int], fweights: list[float], weights: list[float], values: list[bytes],
              lengths: list[int], fixedsize: int | None, compression: int, last: bool) -> bytes:
    """One block as ``W3PostingsWriter._write_block`` writes it (for ``VnCodec``)."""
    max_weight = max(weights)
    if not max_weight > 0:
        max_weight = 0
    nonzero = [x for x in lengths if x]
    mini_ids = tuple(delta_encode(ids))
    if all(w == 1.0 for w in fweights):
        mini_weights: Any = None
    elif all(w == fweights[0] for w in fweights):
        mini_weights = fweights[0]
    else:
        mini_weights = tuple(fweights)
    kept = [v for v in values if v]
    if fixedsize is None or fixedsize < 0:
        mini_values: Any = tuple(kept)
    elif fixedsize == 0:
        mini_values = None
    else:
        mini_values = b"".join(kept)
    databytes = dumps((mini_ids, mini_weights, mini_values), _PROTOCOL)
    if compression:
        databytes = zlib.compress(databytes, compression)
    infobytes = dumps((len(ids), ids[-1], max_weight, compression,
                       length_to_byte(min(nonzero) if nonzero else None), length_to_byte(max(lengths))), 2)
    blocklength = len(infobytes) + len(databytes)
    return pack_int(-blocklength if last else blocklength) + infobytes + databytes


def write_hash_tables(writer: Any) -> None:
    """``HashWriter._write_hashes`` with numpy: the same 256 linear-probing tables of
    ``(hash, position)`` pointers, each entry in the first free slot from its home slot. Entries
    go in by home slot rather than in the order they were added, which gives another, equally
    valid table: a reader probes from the home slot to the first empty one, and every slot
    between an entry's home and its place is taken. Takes the entries of ``writer.buckets`` and
    the ``(hashes, positions)`` arrays of ``writer._vn_entries``."""
    dbfile = writer.dbfile
    listed = [pair for bucket in writer.buckets for pair in bucket]
    hashes = np.concatenate([np.array([h for h, _ in listed], dtype=np.int64)]
                            + [h for h, _ in writer._vn_entries])
    positions = np.concatenate([np.array([p for _, p in listed], dtype=np.int64)]
                               + [p for _, p in writer._vn_entries])
    bucket = hashes & 255
    sizes = np.bincount(bucket, minlength=256)
    numslots = 2 * sizes
    first_slot = np.cumsum(numslots) - numslots  # each bucket's table, one after the other
    home = (hashes >> 8) % np.maximum(numslots[bucket], 1)  # within the bucket's table
    # By bucket, then home slot: first_slot + home orders both (each bucket's slots follow the last's).
    order = _stable_order(first_slot[bucket] + home, int(numslots.sum()))
    rank = np.arange(len(order))
    # Entry i (in that order) goes to max over j <= i of (home[j] + i - j), j in its bucket: a
    # running maximum, kept from crossing into the next bucket by a large step between them.
    step = 4 * len(order) + 4
    sorted_bucket = bucket[order]
    slot = np.maximum.accumulate(sorted_bucket * step + home[order] - rank) + rank - sorted_bucket * step
    fits = slot < numslots[sorted_bucket]
    slot += first_slot[sorted_bucket]
    table = np.zeros(int(numslots.sum()), dtype=_POINTER_DTYPE)
    table["hash"][slot[fits]] = hashes[order][fits]
    table["pos"][slot[fits]] = positions[order][fits]
    if not fits.all():
        # A run of some bucket wraps past its end: place that bucket's entries as Whoosh does.
        for b in np.unique(sorted_bucket[~fits]).tolist():
            lo, n = int(first_slot[b]), int(numslots[b])
            table[lo:lo + n] = np.zeros(n, dtype=_POINTER_DTYPE)
            taken = np.zeros(n, dtype=bool)
            mine = np.flatnonzero(bucket == b)
            for h, p in zip(hashes[mine].tolist(), positions[mine].tolist()):
                s = (h >> 8) % n
                while taken[s]:
                    s = (s + 1) % n
                taken[s] = True
                table[lo + s] = (h, p)
    start = dbfile.tell()
    for b in range(256):
        writer.directory.append((start + int(first_slot[b]) * _POINTER.size, int(numslots[b])))
    dbfile.write(table.tobytes())

def delete_segment_files(storage: Any, segment_id: str) -> None:
    prefix = segment_id + "."
    for name in list(storage.list()):
        if name.startswith(prefix):
            with contextlib.suppress(OSError):
                storage.delete_file(name)


def build_segment(storage: Any, schema: Any, codec: Codec, indexname: str, segid: str,
                  documents: Iterable[dict[str, Any]]) -> Segment:
    """Write ``documents`` (field values) as the new segment ``segid``; returns its ``Segment``."""
    with SegmentBuilder(storage, schema, codec, indexname, segid) as builder:
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
                     storage: Any = None) -> Segment:
    """Write the task's segment into ``storage`` (default: a ``FileStorage`` of its folder)."""
    storage = storage if storage is not None else FileStorage(task.folder)
    return build_segment(storage, task.schema, BlockCodec(), task.indexname, task.segid,
                         (analyze(doc) for doc in task.documents))


def segment_in_worker(task: SegmentTask) -> Segment:
    """Pool task: the batch's segment, written with this worker's analyzer (``init_worker``)."""
    analyzer = worker_analyzer()
    return run_segment_task(task, lambda doc: analyze_document(analyzer, doc, pairs_as_lists=False))
