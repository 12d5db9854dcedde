"""Whole Whoosh segments written from analysed documents, without Whoosh's posting pool.

Whoosh's ``SegmentWriter`` puts every posting of a batch into a ``PostingPool`` (one tuple per
posting, sized and possibly spilled to disk), sorts them all at commit, then re-reads each
document's field length from the per-document file it has just written, posting by posting,
and writes each term through three layers of per-posting method calls. For a batch that fits
in memory none of that is needed: :class:`SegmentBuilder` gathers each field's postings per
term as documents arrive (already in document order), keeps the field lengths it computes,
and at the end writes the term table and posting file a term at a time, computing what
``VnCodec``'s writers would (see :meth:`SegmentBuilder._write_field_fast`), or, for
``BlockCodec`` (what imports use), the same with the array blocks of ``index/_blocks.py``.
The per-document files (stored fields, lengths, columns) are written by Whoosh's own
per-document writer.

The result is a Whoosh W3 segment: Whoosh's readers, merges and ``optimize`` read it as any
other. The only difference from what Whoosh writes for the same documents is that inlined
postings and posting blocks are pickled with protocol 4 instead of 2 (Whoosh's reader
unpickles either; protocol 2 pickles each bytes value through ``codecs.encode``, which is
three times slower and half again as large). ``tests/test_index_parallel.py`` compares
every term's postings and statistics, the stored fields, lengths and columns with Whoosh's.

A builder writes a complete, compound segment under a name chosen by the caller and returns
the picklable ``Segment`` object; the segment is invisible until a table of contents lists it
(see ``_index.Index.add_documents``), and removed as an orphan by the next writer if none ever
does. Builders run in worker processes, one batch each, so the files of several batches are
written at once while the process holding the write lock only commits.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import struct
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from whoosh.codec.base import Codec, Segment
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC as _BLOCK_MAGIC
from whoosh.codec.whoosh3 import W3FieldWriter, W3TermInfo
from whoosh.compat import dumps
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filetables import _lengths as _HASH_LENGTHS
from whoosh.formats import Frequency, Positions
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort, unpack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.util.numlists import delta_encode

from corpus import Document

from ._analysis import analyze_document, worker_analyzer
from ._blocks import BlockCodec, framed_block
from ._codec import VnCodec

# Postings are kept flat, two slots each, to save the memory of a tuple and a float per
# posting: [docnum, payload, docnum, payload, ...], where the payload is the frequency (an int)
# for a term list in a Frequency field, the encoded positions (bytes, the frequency first) in a
# Positions field, and a (weight, encoded value) tuple for anything else.
_STRIDE = 2
_TERMINFO: struct.Struct = W3TermInfo._struct
_FLUSH = 1 << 20
_PROTOCOL = 4
md5 = functools.partial(hashlib.md5, usedforsecurity=False)


class SegmentBuilder:
    """Writes the documents given to :meth:`add` as one new segment of ``indexname``.

    ``add`` takes the field values of :func:`index._analysis.analyze_document`: term lists for
    the analysed fields (indexed as Whoosh indexes a list value: one token per item, positions
    0, 1, 2, ...), plain values for the others, ``_stored_<name>`` for what to store instead.
    The result is the same segment ``SegmentWriter.add_document`` + ``commit`` would write
    for the same values (``tests/test_index_parallel.py`` compares them term by term).
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
        self._postings: dict[str, dict[bytes, list[Any]]] = {}
        self._lengths: dict[str, dict[int, int]] = {}
        self._single_position: dict[int, bytes] = {}  # shared encodings of one-position postings  # field -> docnum -> length as the reader sees it
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
        """Add the postings of one field value; returns the number of tokens (for the length)."""
        terms = self._postings.get(name)
        if terms is None:
            terms = self._postings[name] = {}
        fmt = field.format
        if isinstance(value, (list, tuple)) and type(fmt) in (Frequency, Positions):
            # What Whoosh does with a list value (formats.tokens -> entoken): each item is one
            # token, unchanged, at positions 0, 1, 2, ...; every token weighs 1.0.
            if type(fmt) is Frequency:
                for term, freq in Counter(value).items():
                    btext = term.encode("utf-8")
                    postings = terms.get(btext)
                    if postings is None:
                        terms[btext] = [docnum, freq]
                    else:
                        postings += (docnum, freq)
            else:
                positions: dict[str, list[int]] = {}
                for pos, term in enumerate(value):
                    plist = positions.get(term)
                    if plist is None:
                        positions[term] = [pos]
                    else:
                        plist.append(pos)
                single = self._single_position
                for term, plist in positions.items():
                    # Positions.encode: the count, then the pickled gaps
                    if len(plist) == 1:
                        pos = plist[0]
                        vbytes = single.get(pos)
                        if vbytes is None:
                            vbytes = single[pos] = pack_uint(1) + dumps([pos], 2)
                    else:
                        deltas = [plist[0]]
                        deltas += [b - a for a, b in zip(plist, plist[1:])]
                        vbytes = pack_uint(len(plist)) + dumps(deltas, 2)
                    btext = term.encode("utf-8")
                    postings = terms.get(btext)
                    if postings is None:
                        terms[btext] = [docnum, vbytes]
                    else:
                        postings += (docnum, vbytes)
            return len(value)
        total = 0
        for btext, freq, weight, vbytes in field.index(value):
            total += freq
            postings = terms.get(btext)
            if postings is None:
                postings = terms[btext] = []
            postings += (docnum, (weight, vbytes))
        return total

    def _decoder(self, name: str) -> Callable[[list[Any]], tuple[list[Any], list[bytes]]]:
        """A function from a term's payloads to its (weights, encoded values)."""
        boost = self.schema[name].format.field_boost
        weight_of: dict[int, float] = {}
        bytes_of: dict[int, bytes] = {}

        def decode(payloads: list[Any]) -> tuple[list[Any], list[bytes]]:
            weights: list[Any] = []
            values: list[bytes] = []
            for p in payloads:
                kind = type(p)
                if kind is int:
                    w = weight_of.get(p)
                    if w is None:
                        w = weight_of[p] = p * boost
                        bytes_of[p] = pack_uint(p)
                    weights.append(w)
                    values.append(bytes_of[p])
                elif kind is bytes:
                    weights.append(unpack_uint(p[:4])[0] * boost)
                    values.append(p)
                else:
                    weights.append(p[0])
                    values.append(p[1] or b"")
            return weights, values

        return decode

    def finish(self) -> Segment:
        """Write the postings, close the files, assemble the compound file; returns the segment."""
        segment = self.segment
        self._perdoc.close()
        segment.set_doc_count(self.docnum)
        fieldwriter = self.codec.field_writer(self.storage, segment)
        try:
            fast = type(self.codec) in (VnCodec, BlockCodec) and isinstance(fieldwriter, W3FieldWriter)
            for name in sorted(self._postings):
                terms = self._postings[name]
                if terms:
                    if fast:
                        self._write_field_fast(fieldwriter, name, terms)
                    else:
                        self._write_field(fieldwriter, name, terms)
                self._postings[name] = {}  # free each field's postings once written
        finally:
            fieldwriter.close()
        self._postings.clear()
        self._lengths.clear()
        if segment.should_assemble():
            segment.create_compound_file(self.storage)
            segment.compound = True
        self._closed = True
        return segment

    def _field_lengths(self, name: str) -> list[int]:
        lengths = [0] * self.docnum
        for docnum, length in self._lengths.get(name, {}).items():
            lengths[docnum] = length
        return lengths

    def _write_field(self, fieldwriter: Any, name: str, terms: dict[bytes, list[Any]]) -> None:
        """Through the codec's field writer API, one posting at a time (any codec)."""
        lengths = self._field_lengths(name)
        decode = self._decoder(name)
        fieldwriter.start_field(name, self.schema[name])
        start_term, add, finish_term = fieldwriter.start_term, fieldwriter.add, fieldwriter.finish_term
        for btext in sorted(terms):
            postings = terms[btext]
            weights, values = decode(postings[1::_STRIDE])
            start_term(btext)
            for docnum, weight, vbytes in zip(postings[0::_STRIDE], weights, values):
                add(docnum, weight, vbytes, lengths[docnum])
            finish_term()
        fieldwriter.finish_field()

    def _write_field_fast(self, fieldwriter: Any, name: str, terms: dict[bytes, list[Any]]) -> None:
        """What :meth:`_write_field` writes with ``VnCodec``, computed a term at a time instead
        of a posting at a time: ``W3FieldWriter.finish_term`` with ``VnCodec``'s postings
        writer (lists of up to ``inlinelimit`` postings inlined in the term's entry, longer ones
        in blocks of ``blocklimit``) and ``OrderedHashWriter.add`` for the term table. The same
        bytes but for the pickle protocol of inlined postings and block data (see the module
        docstring). With ``BlockCodec``, blocks are ``index._blocks.framed_block``'s instead.
        Relies on whoosh-reloaded 2.7.5's internals, which pyproject pins."""
        codec = self.codec
        inlinelimit, blocklimit, compression = codec._inlinelimit, codec._blocklimit, codec._compression
        array_blocks = isinstance(codec, BlockCodec)
        fieldobj = self.schema[name]
        fixedsize = fieldobj.format.fixed_value_size()
        lengths = self._field_lengths(name)
        decode = self._decoder(name)

        fieldmap = fieldwriter._fieldmap
        fieldid = fieldmap.setdefault(name, len(fieldmap))
        keyprefix = pack_ushort(fieldid)
        tindex = fieldwriter._tindex
        tfile = tindex.dbfile
        tindex_positions = tindex.index
        buckets = tindex.buckets
        postfile = fieldwriter._postfile

        tbuf = bytearray()
        tbase = tfile.tell()
        pbuf = bytearray()
        pbase = postfile.tell()
        pack_info = _TERMINFO.pack
        pack_lengths = _HASH_LENGTHS.pack
        boost = fieldobj.format.field_boost
        l2b: dict[int, int] = {}
        for x in set(lengths):
            l2b[x] = length_to_byte(x)
        as_float32: dict[Any, float] = {}
        positions: list[int] = []
        key = b""
        for btext in sorted(terms):
            postings = terms[btext]
            if len(postings) == 2:
                # One posting (most terms): the general case below, unrolled.
                docnum, p = postings
                kind = type(p)
                if kind is int:
                    weight: Any = p * boost
                    vbytes = pack_uint(p)
                elif kind is bytes:
                    weight = unpack_uint(p[:4])[0] * boost
                    vbytes = p
                else:
                    weight, vbytes = p
                fweight = as_float32.get(weight)
                if fweight is None:
                    fweight = as_float32[weight] = array("f", [weight])[0]
                lbyte = l2b[lengths[docnum]]
                inlined = ((docnum,), (fweight,), (vbytes,) if vbytes else (b"",))
                value = pack_info(1, fweight, 1, lbyte, lbyte, weight if weight > 0 else 0,
                                  docnum, docnum) + dumps(inlined, _PROTOCOL)
                key = keyprefix + btext
                pos = tbase + len(tbuf)
                positions.append(pos)
                tbuf += pack_lengths(len(key), len(value))
                tbuf += key
                tbuf += value
                h = int.from_bytes(md5(key).digest()[12:], "big")
                buckets[h & 255].append((h, pos))
                if len(tbuf) > _FLUSH:
                    tfile.write(bytes(tbuf))
                    tbase += len(tbuf)
                    tbuf.clear()
                continue
            ids = postings[0::_STRIDE]
            weights, values = decode(postings[1::_STRIDE])
            n = len(ids)
            lens = [lengths[d] for d in ids]
            if n <= inlinelimit:
                fweights = array("f", weights)
                nonzero = [x for x in lens if x]
                maxweight = max(weights)
                if not maxweight > 0:
                    maxweight = 0
                kept = [v for v in values if v]
                inlined = (tuple(ids), tuple(fweights), tuple(kept) if len(kept) == n else (b"",) * n)
                value = pack_info(1, sum(fweights), n, length_to_byte(min(nonzero)) if nonzero else 0,
                                  length_to_byte(max(lens)), maxweight, ids[0], ids[-1]) + dumps(inlined, _PROTOCOL)
            else:
                start = pbase + len(pbuf)
                pbuf += _BLOCK_MAGIC
                total_weight = 0.0
                term_max_weight: Any = 0
                term_min_length = None
                term_max_length = 0
                for b in range(0, n, blocklimit):
                    bids = ids[b:b + blocklimit]
                    bweights = weights[b:b + blocklimit]
                    fweights = array("f", bweights)
                    blens = [x for x in lens[b:b + blocklimit] if x]
                    bvalues = [v for v in values[b:b + blocklimit] if v]
                    max_weight = max(bweights)
                    if not max_weight > 0:
                        max_weight = 0
                    min_length = min(blens) if blens else None
                    max_length = max(blens) if blens else 0
                    total_weight += sum(fweights)
                    term_max_weight = max(term_max_weight, max_weight)
                    if b == 0:
                        term_min_length = min_length
                    elif term_min_length is not None:
                        term_min_length = min(term_min_length, min_length)  # type: ignore[type-var]
                    term_max_length = max(term_max_length, max_length)
                    if array_blocks:  # BlockCodec: index/_blocks.py's layout
                        pbuf += framed_block(bids, fweights, bvalues, fixedsize, compression, max_weight,
                                             min_length, max_length, last=b + blocklimit >= n)
                        continue
                    # W3PostingsWriter._write_block
                    mini_ids = tuple(delta_encode(bids))
                    if all(w == 1.0 for w in fweights):
                        mini_weights: Any = None
                    elif all(w == fweights[0] for w in fweights):
                        mini_weights = fweights[0]
                    else:
                        mini_weights = tuple(fweights)
                    if fixedsize is None or fixedsize < 0:
                        mini_values: Any = tuple(bvalues)
                    elif fixedsize == 0:
                        mini_values = None
                    else:
                        mini_values = b"".join(bvalues)
                    databytes = dumps((mini_ids, mini_weights, mini_values), _PROTOCOL)
                    if compression:
                        databytes = zlib.compress(databytes, compression)
                    infobytes = dumps((len(bids), bids[-1], max_weight, compression,
                                       length_to_byte(min_length), length_to_byte(max_length)), 2)
                    blocklength = len(infobytes) + len(databytes)
                    if b + blocklimit >= n:
                        blocklength = -blocklength
                    pbuf += pack_int(blocklength)
                    pbuf += infobytes
                    pbuf += databytes
                length = pbase + len(pbuf) - start
                value = pack_info(0, total_weight, n,
                                  0 if term_min_length is None else length_to_byte(term_min_length),
                                  length_to_byte(term_max_length), term_max_weight, ids[0], ids[-1]
                                  ) + pack_long(start) + pack_int(length)
                if len(pbuf) > _FLUSH:
                    postfile.write(bytes(pbuf))
                    pbase += len(pbuf)
                    pbuf.clear()
            # OrderedHashWriter.add
            key = keyprefix + btext
            pos = tbase + len(tbuf)
            positions.append(pos)
            tbuf += pack_lengths(len(key), len(value))
            tbuf += key
            tbuf += value
            h = int.from_bytes(md5(key).digest()[12:], "big")  # filetables.md5_hash
            buckets[h & 255].append((h, pos))
            if len(tbuf) > _FLUSH:
                tfile.write(bytes(tbuf))
                tbase += len(tbuf)
                tbuf.clear()
        if pbuf:
            postfile.write(bytes(pbuf))
        if tbuf:
            tfile.write(bytes(tbuf))
        if key:
            tindex.lastkey = key
            # GrowableArray.append for each position, at once: the positions only grow, so the
            # array ends with the type its largest value needs.
            if positions[-1] >= 2 ** 31:
                tindex_positions.extend(positions)
            else:
                if positions[-1] >= 2 ** 16 and tindex_positions.typecode == "H":
                    tindex_positions._retype(positions[-1])
                tindex_positions.array.extend(positions)

    def cancel(self) -> None:
        """Drop what was written (best effort)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            if not self._perdoc.is_closed:
                self._perdoc.close()
        delete_segment_files(self.storage, self.segment.segment_id())


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
    return run_segment_task(task, lambda doc: analyze_document(analyzer, doc))
