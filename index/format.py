"""Format 3: vnsearch's own segment files, plugged into Whoosh through ``whoosh.codec.base``.

Whoosh stays the indexing framework (schema, writers, readers, queries, the table of contents);
this module is the codec that owns how a segment's terms, postings and documents are laid out
on disk. ``docs/FORMAT.md`` is the specification; in short, a segment is two files:

``<segment>.vnt``  terms and postings: per field, the sorted term bytes with an offset array and
                   a sample of every 16th term's first 8 bytes (binary search, prefix ranges),
                   and per term a record: its document frequency, then the document-number
                   deltas and the frequencies as packed little-endian integers of one width (1, 2
                   or 4 bytes) behind a skip list (the last document of each block of 128
                   postings); positions, for the fields whose format has them, in a section
                   apart (blocks of 128 postings' positions, each packed with its own width,
                   behind a skip list of the blocks' sizes), so scoring never reads them.
``<segment>.vnd``  documents: stored fields as zlib-compressed JSON lines in blocks, one-byte
                   field lengths per document, sortable column values as arrays.

Both end with a JSON directory of their sections, so a reader needs no Python class to read
them; every array is read in place from a memory map with ``numpy``: a term's postings in a few
array operations, a range of terms at once for merges, and through the skip lists only the blocks
(or the postings' positions) that some documents need.

Supported field formats: Whoosh's ``Existence``, ``Frequency`` and ``Positions`` with the same
weight for every token (a posting's weight is its frequency times the field boost); term
vectors are not supported. :class:`ArrayCodec` and :class:`ArraySegment` are pickled into the
table of contents: keep their import path (``index.format``) stable.
"""

from __future__ import annotations

import bisect
import json
import mmap
import os
import struct
import weakref
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from whoosh import formats
from whoosh.codec.base import (Automata, Codec, FieldCursor, FieldWriter, PerDocumentReader, PerDocumentWriter,
                               Segment, TermsReader)
from whoosh.columns import ColumnReader
from whoosh.filedb.filestore import FileStorage
from whoosh.matching import ListMatcher
from whoosh.reading import TermInfo, TermNotFound
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte

from corpus import VnSearchError

FORMAT = 3
TERMS_EXT = ".vnt"
DOCS_EXT = ".vnd"
TERMS_MAGIC = b"VNS3TERM"
DOCS_MAGIC = b"VNS3DOCS"
_TRAILER = struct.Struct("<QQ8s")  # directory offset, directory length, the file's magic
STORED_BLOCK_DOCS = 32  # at most this many documents per compressed block of stored fields
STORED_BLOCK_BYTES = 8192  # a block is closed once its JSON reaches this size (a hit decompresses one)
_DTYPES = ("|u1", "<u4", "<u8", ">u8", "<i8", "<f8")  # the array types sections are written in
_KINDS = ("positions", "frequency", "existence")
_ZLIB_LEVEL = 6
BLOCK = 128  # postings per block: of a term's postings and of its positions, each with a skip list
_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.int64)
_NO_INTS = np.zeros(0, dtype=np.int64)


class FormatError(VnSearchError, ValueError):
    """A segment file that is not what this format says (damaged, truncated or foreign); the
    message is one line naming the file."""


class MissingFileError(FormatError):
    """A segment file the table of contents lists is not there: the index is damaged."""

    @classmethod
    def of(cls, exc: FileNotFoundError) -> "MissingFileError":
        name = os.path.basename(str(exc.filename or "")) or "a segment file"
        return cls(f"{name}: missing, though the index lists it (the index is damaged)",
                   hint="Restore the index folder from a backup, or index the sources again into a new folder.")


# -- varints ----------------------------------------------------------------------------------

def encode_varints(values: np.ndarray) -> bytes:
    """Unsigned LEB128 of each value (7 bits a byte, low bits first, high bit on all bytes but
    a value's last), all at once: the first byte of every value, then the second byte of
    those longer than one byte, and so on."""
    v = np.asarray(values, dtype=np.int64)
    if not v.size:
        return b""
    if int(v.min()) < 0:
        raise ValueError("varints hold numbers from 0")
    if int(v.max()) < 128:
        return v.astype(np.uint8).tobytes()
    nbytes = _varint_sizes(v)
    starts = np.cumsum(nbytes) - nbytes
    out = np.empty(int(starts[-1] + nbytes[-1]), dtype=np.uint8)
    k = 0
    while True:
        more = nbytes > k + 1
        out[starts + k] = (v & 0x7F).astype(np.uint8) | (more.astype(np.uint8) << 7)
        if not more.any():
            break
        sel = np.flatnonzero(more)
        v, starts, nbytes = v[sel] >> 7, starts[sel], nbytes[sel]
        k += 1
    return out.tobytes()


def decode_varints(buf: np.ndarray) -> np.ndarray:
    """The values of a byte array holding whole varints (int64): each value's last byte (high
    bit clear) holds its highest 7 bits; the bytes before it, while they belong to it, the lower."""
    if not buf.size:
        return _NO_INTS
    last = buf < 0x80
    if last.all():
        return buf.astype(np.int64)
    if not last[-1]:
        raise FormatError("a varint runs past the end of its section")
    ends = np.flatnonzero(last)
    lengths = np.diff(ends, prepend=-1)
    values = buf[ends].astype(np.int64)
    longest = int(lengths.max())
    if longest > 10:
        raise FormatError("a varint longer than 10 bytes")
    for k in range(1, longest):
        sel = np.flatnonzero(lengths > k)
        values[sel] = (values[sel] << 7) | (buf[ends[sel] - k] & 0x7F)
    return values


def _runs(lengths: np.ndarray) -> np.ndarray:
    """For runs of ``lengths`` one after another, each element's index inside its run."""
    return np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _offset_dtype(largest: int) -> str:
    return "<u4" if largest < 2 ** 32 else "<u8"


# -- packed integers ------------------------------------------------------------------------------
# A group of values (a term's document-number deltas, its frequencies, a block of positions) is
# stored as little-endian unsigned integers of one width, the narrowest of 1, 2 or 4 bytes that
# holds the group's largest value (0 bytes: every value is 1). numpy reads a group in one step.

_PACKED: dict[int, np.dtype[Any]] = {1: np.dtype("u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}
_WIDTHS = (0, 1, 2, 4)  # of frequencies (0: every one is 1); deltas and positions take 1, 2 or 4
_VALID_WIDTH = np.zeros(256, dtype=bool)
_VALID_WIDTH[[1, 2, 4]] = True


def _varint_size(value: int) -> int:
    return max(1, (value.bit_length() + 6) // 7)


def _widths(largest: np.ndarray, ones: np.ndarray | None = None) -> np.ndarray:
    """The width of groups whose largest values are ``largest`` (0 where ``ones``: all are 1)."""
    w = np.where(largest < 256, 1, np.where(largest < 65536, 2, 4))
    if np.any(largest >= 2 ** 32):
        raise ValueError("a value does not fit in 4 bytes")
    return np.where(ones, 0, w) if ones is not None else w


def _packed_places(at: np.ndarray, counts: np.ndarray, widths: np.ndarray
                   ) -> Iterator[tuple[int, np.dtype[Any], np.ndarray, np.ndarray]]:
    """For packed groups (group ``g``: ``counts[g]`` values of ``widths[g]`` bytes from byte
    ``at[g]``), per width in use: the width, its dtype, the values' places in the groups laid
    one after the other, and the byte where each value starts."""
    vstart = np.cumsum(counts) - counts
    for w, dtype in _PACKED.items():
        sel = np.flatnonzero(widths == w)
        if sel.size:
            c = counts[sel]
            within = _runs(c)
            yield w, dtype, np.repeat(vstart[sel], c) + within, np.repeat(at[sel], c) + within * w


def _put_packed(out: np.ndarray, at: np.ndarray, counts: np.ndarray, widths: np.ndarray,
                values: np.ndarray) -> None:
    """Write group ``g``'s ``counts[g]`` values (``values`` holds the groups one after the other)
    at byte ``at[g]`` of ``out``, ``widths[g]`` bytes each."""
    for w, dtype, places, dest in _packed_places(at, counts, widths):
        vals = values[places]
        if w == 1:
            out[dest] = vals.astype(np.uint8)
        else:
            raw = vals.astype(dtype).view(np.uint8).reshape(-1, w)
            out[(dest[:, None] + np.arange(w)).ravel()] = raw.ravel()


def _get_packed(buf: np.ndarray, at: np.ndarray, counts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """The values :func:`_put_packed` wrote (int64, group after group)."""
    total = int(counts.sum())
    if len(at) == 1:  # one group: a view of its bytes
        w = int(widths[0])
        if w == 0:
            return np.ones(total, dtype=np.int64)
        a = int(at[0])
        return buf[a:a + total * w].view(_PACKED[w]).astype(np.int64)
    out = np.ones(total, dtype=np.int64)
    for w, dtype, places, src in _packed_places(at, counts, widths):
        out[places] = buf[src] if w == 1 else buf[(src[:, None] + np.arange(w)).ravel()].view(dtype)
    return out


def _varints_at(buf: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The varint starting at each byte ``at`` of ``buf``: values and byte lengths."""
    values = np.zeros(len(at), dtype=np.int64)
    lengths = np.zeros(len(at), dtype=np.int64)
    going = np.arange(len(at))
    shift = 0
    while going.size:
        if shift > 63:
            raise FormatError("a varint longer than 10 bytes")
        where = at[going] + lengths[going]
        if where.size and int(where.max()) >= buf.size:
            raise FormatError("a varint runs past the end of its section")
        byte = buf[where].astype(np.int64)
        values[going] |= (byte & 0x7F) << shift
        lengths[going] += 1
        going = going[byte >= 0x80]
        shift += 7
    return values, lengths


# -- files with a JSON directory ------------------------------------------------------------------

class _SectionWriter:
    """Writes ``magic``, then sections one after the other, then the JSON directory and trailer."""

    def __init__(self, dbfile: Any, magic: bytes) -> None:
        self._file = dbfile
        self._magic = magic
        self._file.write(magic)
        self._pos = len(magic)
        self.sections: dict[str, list[Any]] = {}

    def add(self, name: str, data: bytes | np.ndarray) -> None:
        if isinstance(data, np.ndarray):
            dtype = data.dtype.str
            data = data.tobytes()
        else:
            dtype = "|u1"
        self._file.write(data)
        self.sections[name] = [self._pos, len(data), dtype]
        self._pos += len(data)

    def close(self, info: dict[str, Any]) -> None:
        info = dict(info, format=FORMAT, sections=self.sections)
        directory = json.dumps(info, ensure_ascii=False, sort_keys=True).encode("utf-8")
        self._file.write(directory)
        self._file.write(_TRAILER.pack(self._pos, len(directory), self._magic))
        self._file.close()


class _SectionFile:
    """A file of sections, memory-mapped when it is a real file (else read into memory)."""

    def __init__(self, storage: Any, name: str, magic: bytes) -> None:
        self.name = name
        self._map: mmap.mmap | None = None
        data: Any
        try:
            if isinstance(storage, FileStorage):
                with open(os.path.join(storage.folder, name), "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    if size < len(magic) + _TRAILER.size:
                        raise FormatError(f"{name}: truncated ({size} bytes)")
                    self._map = data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            else:
                with storage.open_file(name) as f:
                    data = f.read()
        except FileNotFoundError as exc:
            # (Kept an OSError: Whoosh's reader retries on those, for a commit that removed the
            # file between its reading the table of contents and opening the segment.)
            exc.filename = exc.filename or name
            raise
        self.buffer = np.frombuffer(data, dtype=np.uint8)
        size = self.buffer.size
        if size < len(magic) + _TRAILER.size or bytes(self.buffer[:len(magic)]) != magic:
            raise FormatError(f"{name}: not a vnsearch format {FORMAT} file")
        offset, length, tail = _TRAILER.unpack(bytes(self.buffer[size - _TRAILER.size:]))
        if tail != magic or offset + length != size - _TRAILER.size:
            raise FormatError(f"{name}: truncated or damaged (bad trailer)")
        try:
            self.info = json.loads(bytes(self.buffer[offset:offset + length]).decode("utf-8"))
        except ValueError as exc:
            raise FormatError(f"{name}: damaged directory ({exc})") from None
        if not isinstance(self.info, dict) or not isinstance(self.info.get("sections"), dict):
            raise FormatError(f"{name}: damaged directory (no sections)")
        if self.info.get("format") != FORMAT:
            raise FormatError(f"{name}: format {self.info.get('format')!r}, expected {FORMAT}")
        self._sections: dict[str, list[Any]] = self.info["sections"]
        for key, spec in self._sections.items():
            # Each section lies between the magic and the directory, whole items of a known type.
            if not (isinstance(spec, list) and len(spec) == 3 and all(type(v) is int for v in spec[:2])
                    and spec[2] in _DTYPES and len(magic) <= spec[0] and 0 <= spec[1]
                    and spec[0] + spec[1] <= offset and spec[1] % np.dtype(spec[2]).itemsize == 0):
                raise FormatError(f"{name}: damaged directory (section {key!r})")

    def has(self, name: str) -> bool:
        return name in self._sections

    def array(self, name: str, size: int | None = None) -> np.ndarray:
        """Section ``name`` as an array (of ``size`` items, if given)."""
        if name not in self._sections:
            raise FormatError(f"{self.name}: damaged directory (no section {name})")
        offset, length, dtype = self._sections[name]
        dt = np.dtype(dtype)
        if size is not None and length != size * dt.itemsize:
            raise FormatError(f"{self.name}: section {name} holds {length // dt.itemsize} items, not {size}")
        return np.frombuffer(self.buffer, dtype=dt, count=length // dt.itemsize, offset=offset)

    def offsets(self, name: str, size: int, data: np.ndarray) -> np.ndarray:
        """An offset array of ``size`` items into ``data``: from 0 to the end of ``data``."""
        arr = self.array(name, size)
        if int(arr[0]) != 0 or int(arr[-1]) != data.size:
            raise FormatError(f"{self.name}: section {name} does not span its data")
        return arr

    def spec(self, value: Any, keys: dict[str, Any]) -> dict[str, Any]:
        """``value`` from the directory, checked to be a dict with ``keys`` of the given types."""
        if not isinstance(value, dict) or any(not isinstance(value.get(k), t) for k, t in keys.items()):
            raise FormatError(f"{self.name}: damaged directory ({str(value)[:60]})")
        return value

    def close(self) -> None:
        self.buffer = np.zeros(0, dtype=np.uint8)
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:  # arrays handed out still point into it; the GC closes it
                pass
            self._map = None


# -- the codec and its segment ---------------------------------------------------------------------

class ArrayCodec(Codec):  # type: ignore[misc]
    """Format 3 (see the module docstring)."""

    length_stats = False  # Whoosh asks; term infos report bounds rather than exact lengths

    def per_document_writer(self, storage: Any, segment: Any) -> "ArrayDocWriter":
        return ArrayDocWriter(storage, segment)

    def field_writer(self, storage: Any, segment: Any) -> "ArrayFieldWriter":
        return ArrayFieldWriter(storage, segment)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        raise NotImplementedError("format 3 writes postings through its field writer")

    def postings_reader(self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None, scorer: Any = None) -> Any:
        raise NotImplementedError("format 3 reads postings through its terms reader")

    def automata(self, storage: Any, segment: Any) -> Automata:
        return Automata()

    def terms_reader(self, storage: Any, segment: Any) -> "ArrayTermsReader":
        return ArrayTermsReader(storage, segment)

    def per_document_reader(self, storage: Any, segment: Any) -> "ArrayDocReader":
        return ArrayDocReader(storage, segment)

    def new_segment(self, storage: Any, indexname: str) -> "ArraySegment":
        return ArraySegment(self, indexname)


class ArraySegment(Segment):  # type: ignore[misc]
    """A format 3 segment as the table of contents records it: its id, document count, deleted
    document numbers and each field's total length. Its files are never assembled into one."""

    def __init__(self, codec: ArrayCodec, indexname: str) -> None:
        super().__init__(indexname)
        self._codec = codec
        self._doccount = 0
        self._deleted: set[int] | None = None
        self._fieldlengths: dict[str, int] = {}

    def codec(self) -> ArrayCodec:
        return self._codec

    def should_assemble(self) -> bool:
        return False

    def set_doc_count(self, doccount: int) -> None:
        self._doccount = doccount

    def doc_count_all(self) -> int:
        return self._doccount

    def deleted_count(self) -> int:
        return len(self._deleted) if self._deleted else 0

    def deleted_docs(self) -> Iterator[int]:
        return iter(sorted(self._deleted or ()))

    def delete_document(self, docnum: int, delete: bool = True) -> None:
        if delete:
            if self._deleted is None:
                self._deleted = set()
            self._deleted.add(docnum)
        elif self._deleted is not None:
            self._deleted.discard(docnum)

    def is_deleted(self, docnum: int) -> bool:
        return bool(self._deleted) and docnum in self._deleted  # type: ignore[operator]

    def field_lengths(self) -> dict[str, int]:
        """Each field's total length (tokens) over the segment's documents, deleted ones included."""
        return dict(self._fieldlengths)

    def set_field_lengths(self, totals: dict[str, int]) -> None:
        self._fieldlengths = {name: int(total) for name, total in totals.items() if total}


# -- terms and postings: writing ----------------------------------------------------------------------

def _field_kind(fieldobj: Any) -> str:
    """``positions``, ``frequency`` or ``existence``: what the field's postings hold."""
    fmt = fieldobj.format
    kind = {formats.Positions: "positions", formats.Frequency: "frequency", formats.Existence: "existence"}.get(type(fmt))
    if kind is None or fieldobj.vector:
        raise ValueError(f"format {FORMAT} stores Existence, Frequency and Positions fields without vectors, "
                         f"not {type(fmt).__name__}")
    return kind


class _FieldBuffer:
    """One field's encoded sections as chunks of ascending terms arrive."""

    def __init__(self, name: str, kind: str, boost: float) -> None:
        self.name = name
        self.kind = kind
        self.boost = boost
        self.terms: list[bytes] = []
        self.term_lengths: list[np.ndarray] = []
        self.postings: list[bytes] = []
        self.post_lengths: list[np.ndarray] = []
        self.positions: list[bytes] = []
        self.pos_lengths: list[np.ndarray] = []
        self.count = 0
        self.last: bytes | None = None

    def add(self, btexts: Sequence[bytes], starts: np.ndarray, docs: np.ndarray, freqs: np.ndarray,
            positions: np.ndarray | None) -> None:
        n = len(btexts)
        if not n:
            return
        if self.last is not None and btexts[0] <= self.last:
            raise ValueError(f"field {self.name!r}: terms out of order")
        self.last = btexts[-1]
        starts = np.asarray(starts, dtype=np.int64)
        docs = np.asarray(docs, dtype=np.int64)
        freqs = np.asarray(freqs, dtype=np.int64)
        counts = np.diff(starts)
        if (counts <= 0).any():
            raise ValueError(f"field {self.name!r}: a term without postings")
        first = starts[:-1] - starts[0]
        gaps = np.diff(docs, prepend=0)
        gaps[first] = docs[first]
        if (gaps[_runs(counts) > 0] <= 0).any() or (docs < 0).any():
            raise ValueError(f"field {self.name!r}: document numbers not ascending within a term")
        if len(freqs) != len(docs) or (freqs <= 0).any():
            raise ValueError(f"field {self.name!r}: a frequency per posting, each at least 1")
        # Each term's record: df (varint), the deltas' width, a skip list (the last document
        # number of each block of BLOCK postings but the last, <u4 each), the deltas, the
        # frequencies' width and the frequencies (packed, see _put_packed), for all terms at once.
        dfbytes = encode_varints(counts)
        dflen = _varint_sizes(counts)
        wd = _widths(np.maximum.reduceat(gaps, first))
        ones = np.minimum.reduceat(freqs == 1, first).astype(bool) if len(freqs) else np.ones(n, dtype=bool)
        wf = _widths(np.maximum.reduceat(freqs, first), ones)
        nskip = -(-counts // BLOCK) - 1
        reclen = dflen + 1 + 4 * nskip + counts * wd + 1 + counts * wf
        rstart = np.cumsum(reclen) - reclen
        out = np.empty(int(reclen.sum()), dtype=np.uint8)
        out[np.repeat(rstart, dflen) + _runs(dflen)] = np.frombuffer(dfbytes, dtype=np.uint8)
        out[rstart + dflen] = wd
        block_last = np.repeat(first, nskip) + BLOCK * (_runs(nskip) + 1) - 1  # last posting of each
        _put_packed(out, rstart + dflen + 1, nskip, np.full(n, 4), docs[block_last])
        dat = rstart + dflen + 1 + 4 * nskip
        _put_packed(out, dat, counts, wd, gaps)
        fat = dat + counts * wd
        out[fat] = wf
        _put_packed(out, fat + 1, counts, wf, freqs)
        self.postings.append(out.tobytes())
        self.post_lengths.append(reclen)
        if self.kind == "positions":
            assert positions is not None
            positions = np.asarray(positions, dtype=np.int64)
            if len(positions) != int(freqs.sum()):
                raise ValueError(f"field {self.name!r}: positions do not add up to the frequencies")
            pfirst = np.cumsum(freqs) - freqs
            pgaps = np.diff(positions, prepend=0)
            pgaps[pfirst] = positions[pfirst]
            if (pgaps < 0).any():
                raise ValueError(f"field {self.name!r}: positions not ascending within a posting")
            # Per term: a skip list (the byte size of each block of BLOCK postings'
            # positions but the last, <u4 each), then the blocks: a width byte, the packed gaps.
            nblocks = -(-counts // BLOCK)
            bfirst = np.repeat(first, nblocks) + BLOCK * _runs(nblocks)  # first posting
            bcount = np.add.reduceat(freqs, bfirst)  # positions in the block
            bw = _widths(np.maximum.reduceat(pgaps, pfirst[bfirst]))
            bbytes = 1 + bcount * bw
            nskip = nblocks - 1
            term_of_block = np.repeat(np.arange(n), nblocks)
            region = 4 * nskip + np.bincount(term_of_block, weights=bbytes, minlength=n).astype(np.int64)
            tstart = np.cumsum(region) - region
            pout = np.empty(int(region.sum()), dtype=np.uint8)
            not_last = np.ones(len(bfirst), dtype=bool)
            not_last[np.cumsum(nblocks) - 1] = False
            _put_packed(pout, tstart, nskip, np.full(n, 4), bbytes[not_last])
            bstart = np.repeat(tstart + 4 * nskip, nblocks) + (np.cumsum(bbytes) - bbytes) - np.repeat(
                (np.cumsum(bbytes) - bbytes)[np.cumsum(nblocks) - nblocks], nblocks)
            pout[bstart] = bw
            _put_packed(pout, bstart + 1, bcount, bw, pgaps)
            self.positions.append(pout.tobytes())
            self.pos_lengths.append(region)
        self.terms.append(b"".join(btexts))
        self.term_lengths.append(np.fromiter(map(len, btexts), dtype=np.int64, count=n))
        self.count += n

    def write(self, out: _SectionWriter, number: int) -> dict[str, Any]:
        prefix = f"f{number}."

        def offsets(lengths: list[np.ndarray]) -> np.ndarray:
            cat = np.concatenate(lengths) if lengths else _NO_INTS
            total = int(cat.sum())
            arr = np.zeros(len(cat) + 1, dtype=_offset_dtype(total))
            np.cumsum(cat, out=arr[1:])
            return arr

        out.add(prefix + "terms", b"".join(self.terms))
        term_offsets = offsets(self.term_lengths)
        out.add(prefix + "term_offsets", term_offsets)
        out.add(prefix + "term_samples", _term_samples(b"".join(self.terms), term_offsets))
        out.add(prefix + "postings", b"".join(self.postings))
        out.add(prefix + "posting_offsets", offsets(self.post_lengths))
        if self.kind == "positions":
            out.add(prefix + "positions", b"".join(self.positions))
            out.add(prefix + "position_offsets", offsets(self.pos_lengths))
        return {"name": self.name, "number": number, "kind": self.kind, "boost": self.boost, "terms": self.count}


TERM_SAMPLE = 16  # every 16th term's first 8 bytes are in a sample array, for binary search


def _term_samples(data: bytes, offsets: np.ndarray) -> np.ndarray:
    """The first 8 bytes (zero-padded) of terms 0, 16, 32, ... as big-endian unsigned ints (their
    order is the terms' order), from the terms' bytes and offsets."""
    at = offsets[:-1:TERM_SAMPLE].astype(np.int64)
    lengths = np.minimum(offsets[1:][::TERM_SAMPLE].astype(np.int64) - at, 8)
    raw = np.frombuffer(data + b"\0" * 8, dtype=np.uint8)
    grid = raw[at[:, None] + np.arange(8)]
    grid[np.arange(8) >= lengths[:, None]] = 0
    return np.ascontiguousarray(grid).view(">u8").ravel()


def _varint_sizes(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64)
    sizes = np.ones(v.size, dtype=np.int64)
    for k in range(1, 10):
        more = v >= (1 << (7 * k))
        if not more.any():
            break
        sizes += more
    return sizes


class ArrayFieldWriter(FieldWriter):  # type: ignore[misc]
    """Writes the ``.vnt`` file: through Whoosh's API (``start_field``, ``start_term``, ``add``,
    ``finish_term``, ``finish_field``) or, for whole arrays of postings, :meth:`add_terms`."""

    def __init__(self, storage: Any, segment: ArraySegment) -> None:
        self._storage = storage
        self._segment = segment
        self._open: _FieldBuffer | None = None  # the field being written
        self._last_field: str | None = None
        self._written: list[dict[str, Any]] = []  # the directory entries of the fields written
        self._out: _SectionWriter | None = None
        self._current: _FieldBuffer | None = None
        self._term: bytes | None = None
        self._pending: list[tuple[bytes, list[int], list[int], list[int]]] = []  # one field's terms
        self._ids: list[int] = []
        self._freqs: list[int] = []
        self._poses: list[int] = []
        self._fieldobj: Any = None
        self.is_closed = False

    # Whoosh's per-posting API ----------------------------------------------------------------

    def start_field(self, fieldname: str, fieldobj: Any) -> None:
        self._current = self._buffer(fieldname, fieldobj)
        self._fieldobj = fieldobj

    def start_term(self, text: bytes) -> None:
        self._term = text
        self._ids, self._freqs, self._poses = [], [], []

    def add(self, docnum: int, weight: float, vbytes: bytes, length: int) -> None:
        assert self._current is not None
        fmt = self._fieldobj.format
        if self._current.kind == "positions":
            poses = fmt.decode_positions(vbytes)
            freq = len(poses)
            self._poses.extend(poses)
        elif self._current.kind == "frequency":
            freq = fmt.decode_frequency(vbytes)
        else:
            freq = int(round(weight / self._current.boost)) if self._current.boost else 1
        if abs(weight - freq * self._current.boost) > 1e-6 * max(1.0, abs(weight)):
            raise ValueError(f"field {self._current.name!r}: weight {weight} is not frequency x field boost "
                             f"(format {FORMAT} does not store per-token boosts)")
        self._ids.append(docnum)
        self._freqs.append(freq)

    def finish_term(self) -> None:
        assert self._term is not None
        self._pending.append((self._term, self._ids, self._freqs, self._poses))
        self._term = None
        if len(self._pending) >= 4096:
            self._flush_pending()

    def finish_field(self) -> None:
        self._flush_pending()
        self._current = None

    def _flush_pending(self) -> None:
        if not self._pending or self._current is None:
            return
        counts = np.array([len(ids) for _t, ids, _f, _p in self._pending], dtype=np.int64)
        starts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        docs = np.fromiter((d for _t, ids, _f, _p in self._pending for d in ids), dtype=np.int64)
        freqs = np.fromiter((f for _t, _i, fs, _p in self._pending for f in fs), dtype=np.int64)
        poses = np.fromiter((p for _t, _i, _f, ps in self._pending for p in ps), dtype=np.int64)
        self._current.add([t for t, *_rest in self._pending], starts, docs, freqs,
                          poses if self._current.kind == "positions" else None)
        self._pending = []

    def add_spell_word(self, fieldname: str, text: str) -> None:
        raise ValueError(f"format {FORMAT} has no spelling words")

    # Whole arrays -------------------------------------------------------------------------------

    def add_terms(self, fieldname: str, fieldobj: Any, btexts: Sequence[bytes], starts: np.ndarray,
                  docs: np.ndarray, freqs: np.ndarray, positions: np.ndarray | None = None) -> None:
        """Add the postings of ``btexts`` (ascending, after any earlier ones of the field): term
        ``i`` has postings ``starts[i]:starts[i + 1]`` of ``docs`` (ascending within a term) and
        ``freqs``; ``positions`` holds each posting's ``freq`` positions (ascending), one
        posting after the other, for fields with positions."""
        self._buffer(fieldname, fieldobj).add(btexts, starts, docs, freqs, positions)

    def _buffer(self, fieldname: str, fieldobj: Any) -> _FieldBuffer:
        """The open field's buffer; a new field writes the previous one's sections out (fields
        come in ascending name order, each once), so only one field is held in memory."""
        buf = self._open
        if buf is not None and buf.name == fieldname:
            return buf
        if buf is not None:
            self._write_field(buf)
        if self._last_field is not None and fieldname <= self._last_field:
            raise ValueError(f"field {fieldname!r} after {self._last_field!r}: fields must come in order, once each")
        self._last_field = fieldname
        buf = self._open = _FieldBuffer(fieldname, _field_kind(fieldobj), float(fieldobj.format.field_boost))
        return buf

    def _write_field(self, buf: _FieldBuffer) -> None:
        self._open = None
        if buf.count:
            if self._out is None:
                self._out = _SectionWriter(self._segment.create_file(self._storage, TERMS_EXT), TERMS_MAGIC)
            self._written.append(buf.write(self._out, len(self._written)))

    def close(self) -> None:
        if self.is_closed:
            return
        self._flush_pending()
        self.is_closed = True
        if self._open is not None:
            self._write_field(self._open)
        if self._out is None:
            self._out = _SectionWriter(self._segment.create_file(self._storage, TERMS_EXT), TERMS_MAGIC)
        self._out.close({"kind": "terms", "fields": self._written})


# -- terms and postings: reading ----------------------------------------------------------------------

class FieldTerms:
    """One field's terms and postings in one segment, read in place."""

    def __init__(self, source: _SectionFile, spec: dict[str, Any]) -> None:
        spec = source.spec(spec, {"number": int, "name": str, "kind": str, "boost": (int, float), "terms": int})
        if spec["kind"] not in _KINDS or spec["terms"] < 0:
            raise FormatError(f"{source.name}: damaged directory (field {spec['name']})")
        prefix = f"f{spec['number']}."
        self.file = source.name
        self.name: str = spec["name"]
        self.kind: str = spec["kind"]
        self.boost: float = float(spec["boost"])
        self.count: int = int(spec["terms"])
        self._terms = source.array(prefix + "terms")
        self._term_offsets = source.offsets(prefix + "term_offsets", self.count + 1, self._terms)
        # (big-endian on disk, so that their bytes sort as the terms; searched as native ints)
        self._samples = source.array(prefix + "term_samples", -(-self.count // TERM_SAMPLE)).astype(np.uint64)
        self._postings = source.array(prefix + "postings")
        self._post_offsets = source.offsets(prefix + "posting_offsets", self.count + 1, self._postings)
        if self.kind == "positions":
            self._positions = source.array(prefix + "positions")
            self._pos_offsets = source.offsets(prefix + "position_offsets", self.count + 1, self._positions)
        self._keys = _TermList(self)
        # Byte-level reads (a term, a record's head) through memoryviews: indexing one gives a
        # Python int or bytes at once, where a numpy array makes a scalar object first.
        self._term_bytes = self._terms.data
        self._term_at = _int_view(self._term_offsets)
        self._post_bytes = self._postings.data
        self._post_at = _int_view(self._post_offsets)

    @property
    def has_positions(self) -> bool:
        return self.kind == "positions"

    def term(self, i: int) -> bytes:
        at = self._term_at
        return self._term_bytes[at[i]:at[i + 1]].tobytes()

    def terms(self, lo: int = 0, hi: int | None = None) -> list[bytes]:
        """Terms ``lo`` to ``hi`` (exclusive)."""
        hi = self.count if hi is None else hi
        offsets = self._term_offsets[lo:hi + 1].astype(np.int64)
        if not len(offsets) or hi <= lo:
            return []
        data = self._terms[int(offsets[0]):int(offsets[-1])].tobytes()
        rel = (offsets - offsets[0]).tolist()
        return [data[a:b] for a, b in zip(rel, rel[1:])]

    def lower_bound(self, btext: bytes) -> int:
        """The index of the first term ``>= btext``: the samples (every ``TERM_SAMPLE``-th
        term's first 8 bytes) bracket it, a binary search over the terms between finds it."""
        key = np.uint64(int.from_bytes(btext[:8].ljust(8, b"\0"), "big"))
        below = int(self._samples.searchsorted(key, side="left"))  # samples whose term < btext
        upto = int(self._samples.searchsorted(key, side="right"))  # and those <= its prefix
        lo = max(0, TERM_SAMPLE * (below - 1) + 1)
        hi = min(self.count, TERM_SAMPLE * upto)
        return bisect.bisect_left(self._keys, btext, lo, max(lo, hi))

    def find(self, btext: bytes) -> int:
        """The index of ``btext``, or -1."""
        i = self.lower_bound(btext)
        return i if i < self.count and self.term(i) == btext else -1

    def prefix_range(self, prefix: bytes) -> tuple[int, int]:
        """Indexes ``[lo, hi)`` of the terms starting with ``prefix``: from the first term at or
        after it, the terms with the prefix come first, then only larger ones."""
        lo = self.lower_bound(prefix)
        a, b = lo, self.count
        while a < b:
            mid = (a + b) // 2
            if self.term(mid).startswith(prefix):
                a = mid + 1
            else:
                b = mid
        return lo, a

    def doc_frequency(self, i: int) -> int:
        """The first varint of term ``i``'s record."""
        buf, at = self._post_bytes, self._post_at[i]
        value = shift = 0
        while True:
            if at >= len(buf) or shift > 63:
                raise self._damaged(f"postings of term {i}")
            byte = buf[at]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            at += 1

    def _damaged(self, what: str) -> FormatError:
        return FormatError(f"{self.file}: field {self.name}: damaged {what}")

    def _record_heads(self, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For records of ``terms``: their document frequencies and where their deltas' width
        byte is (in ``_postings``)."""
        at = self._post_offsets[terms].astype(np.int64)
        dfs, lengths = _varints_at(self._postings, at)
        return dfs, at + lengths

    def _head(self, i: int) -> tuple[int, int, int, int, int, int]:
        """Where the parts of term ``i``'s record are: its document frequency, the deltas' width,
        where its skip list starts, where its deltas start, the frequencies' width, where they
        start (checked to end where the record ends)."""
        buf = self._post_bytes
        end = self._post_at[i + 1]
        df = self.doc_frequency(i)
        p = self._post_at[i] + _varint_size(df)
        wd = buf[p] if p < end else -1
        dat = p + 1 + 4 * (-(-df // BLOCK) - 1)
        q = dat + df * wd
        wf = buf[q] if wd in _PACKED and q < end else -1
        if wf not in _WIDTHS or q + 1 + df * wf != end:
            raise self._damaged(f"postings of term {i}")
        return df, wd, p + 1, dat, wf, q + 1

    def postings(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Term ``i``'s document numbers and frequencies (int64)."""
        df, wd, _skips, dat, wf, fat = self._head(i)
        buf = self._postings
        docs = np.cumsum(buf[dat:dat + df * wd].view(_PACKED[wd]), dtype=np.int64)
        return docs, self._freqs(df, wf, fat, 0, df)

    def _freqs(self, df: int, wf: int, fat: int, lo: int, hi: int) -> np.ndarray:
        if not wf:
            return np.ones(hi - lo, dtype=np.int64)
        return self._postings[fat + lo * wf:fat + hi * wf].view(_PACKED[wf]).astype(np.int64)

    def postings_in(self, i: int, want: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Term ``i``'s postings in the blocks that may hold the sorted document numbers
        ``want`` (a superset of those of them it holds): their indexes among the term's
        postings, document numbers and frequencies. Only those blocks are decoded."""
        df, wd, sat, dat, wf, fat = self._head(i)
        nskip = -(-df // BLOCK) - 1
        buf = self._postings
        if not nskip:
            docs = np.cumsum(buf[dat:dat + df * wd].view(_PACKED[wd]), dtype=np.int64)
            return np.arange(df), docs, self._freqs(df, wf, fat, 0, df)
        last = buf[sat:sat + 4 * nskip].view("<u4")
        blocks = np.unique(np.searchsorted(last, want, side="left"))
        lo = blocks * BLOCK
        sizes = np.minimum(lo + BLOCK, df) - lo
        idx = np.repeat(lo, sizes) + _runs(sizes)
        gaps = buf[dat:dat + df * wd].view(_PACKED[wd])[idx].astype(np.int64)
        # Each block's first delta is from the last document of the block before it.
        first = np.cumsum(sizes) - sizes
        base = np.zeros(len(blocks), dtype=np.int64)
        base[blocks > 0] = last[blocks[blocks > 0] - 1]
        gaps[first] += base
        docs = _segmented_cumsum(gaps, sizes)
        freqs = buf[fat:fat + df * wf].view(_PACKED[wf])[idx].astype(np.int64) if wf else np.ones(len(idx), np.int64)
        return idx, docs, freqs

    def blocks_of(self, i: int) -> int:
        """How many blocks term ``i``'s postings are in."""
        return -(-self.doc_frequency(i) // BLOCK)

    def _records(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Terms ``lo`` to ``hi``: document frequencies, document numbers, frequencies."""
        buf = self._postings
        dfs, wat = self._record_heads(np.arange(lo, hi))
        if int(wat.max()) >= buf.size:
            raise self._damaged(f"postings of terms {lo} to {hi}")
        wd = buf[wat].astype(np.int64)
        dat = wat + 1 + 4 * (-(-dfs // BLOCK) - 1)
        fat = dat + dfs * wd
        if int(fat.max()) >= buf.size or not _VALID_WIDTH[wd].all():
            raise self._damaged(f"postings of terms {lo} to {hi}")
        wf = buf[fat].astype(np.int64)
        end = fat + 1 + dfs * wf
        if not np.array_equal(end, self._post_offsets[lo + 1:hi + 1].astype(np.int64)) or not (
                _VALID_WIDTH[wf] | (wf == 0)).all():
            raise self._damaged(f"postings of terms {lo} to {hi}")
        gaps = _get_packed(buf, dat, dfs, wd)
        freqs = _get_packed(buf, fat + 1, dfs, wf)
        return dfs, _segmented_cumsum(gaps, dfs), freqs

    def positions(self, i: int, freqs: np.ndarray) -> np.ndarray:
        """Term ``i``'s positions, posting after posting (``freqs`` from :meth:`postings`)."""
        return self._range_positions(i, i + 1, np.array([len(freqs)], dtype=np.int64), freqs)

    def _range_positions(self, lo: int, hi: int, dfs: np.ndarray, freqs: np.ndarray) -> np.ndarray:
        """The positions of terms ``lo`` to ``hi`` (of ``dfs`` postings of ``freqs`` each), posting
        after posting: each term's skip list gives its blocks' starts, the blocks are unpacked."""
        n = hi - lo
        nblocks = -(-dfs // BLOCK)
        nskip = nblocks - 1
        tstart = self._pos_offsets[lo:hi].astype(np.int64)
        skips = _get_packed(self._positions, tstart, nskip, np.full(n, 4))
        # Each block's start: its term's first block after the skip list, then the sizes.
        sizes = np.zeros(int(nblocks.sum()), dtype=np.int64)
        first_block = np.cumsum(nblocks) - nblocks
        not_first = np.ones(len(sizes), dtype=bool)
        not_first[first_block] = False
        sizes[not_first] = skips
        starts = _segmented_cumsum(sizes, nblocks) + np.repeat(tstart + 4 * nskip, nblocks)
        pfirst = np.cumsum(dfs) - dfs
        bfirst = np.repeat(pfirst, nblocks) + BLOCK * _runs(nblocks)
        counts = np.add.reduceat(freqs, bfirst)
        buf = self._positions
        if len(starts) and int(starts.max()) >= buf.size:
            raise self._damaged(f"positions of terms {lo} to {hi}")
        widths = buf[starts].astype(np.int64)
        last = np.cumsum(nblocks) - 1
        ends = starts[last] + 1 + counts[last] * widths[last]
        if not _VALID_WIDTH[widths].all() or not np.array_equal(
                ends, self._pos_offsets[lo + 1:hi + 1].astype(np.int64)):
            raise self._damaged(f"positions of terms {lo} to {hi}")
        return _segmented_cumsum(_get_packed(buf, starts + 1, counts, widths), freqs)

    def positions_of(self, i: int, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions of term ``i``'s postings ``which`` (sorted indexes into its postings):
        their counts and their positions one after the other. Few postings are found through
        the skip list of their blocks (each block's start) and the frequencies before them in
        their block; only their own positions are decoded."""
        df, _wd, _sat, _dat, wf, fat = self._head(i)
        if len(which) * 4 > df:  # many of them: decode the term whole
            freqs = self._freqs(df, wf, fat, 0, df)
            return _select(freqs, self.positions(i, freqs), which)
        buf = self._positions
        a, end = int(self._pos_offsets[i]), int(self._pos_offsets[i + 1])
        nskip = -(-df // BLOCK) - 1
        if a + 4 * nskip > end:
            raise self._damaged(f"positions of term {i}")
        starts = np.zeros(nskip + 1, dtype=np.int64)
        np.cumsum(buf[a:a + 4 * nskip].view("<u4"), out=starts[1:])
        block = which // BLOCK
        first = block * BLOCK  # each posting's block's first posting
        lens = which - first  # postings before it in its block
        if wf:
            packed = self._postings[fat:fat + df * wf].view(_PACKED[wf])
            counts = packed[which].astype(np.int64)
            sums = np.zeros(int(lens.sum()) + 1, dtype=np.int64)
            np.cumsum(packed[np.repeat(first, lens) + _runs(lens)], out=sums[1:])
            ends = np.cumsum(lens)
            before = sums[ends] - sums[ends - lens]  # positions before it in its block
        else:
            counts = np.ones(len(which), dtype=np.int64)
            before = lens
        bstart = starts[block] + (a + 4 * nskip)
        if len(bstart) and int(bstart.max()) >= end:
            raise self._damaged(f"positions of term {i}")
        widths = buf[bstart].astype(np.int64)
        at = bstart + 1 + before * widths
        if not _VALID_WIDTH[widths].all() or (len(at) and int((at + counts * widths).max()) > end):
            raise self._damaged(f"positions of term {i}")
        return counts, _segmented_cumsum(_get_packed(buf, at, counts, widths), counts)

    def range_postings(self, lo: int, hi: int, with_positions: bool = False
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Terms ``lo`` to ``hi`` at once: each term's document frequency, then all their
        document numbers and frequencies (term after term) and, if asked, positions."""
        if hi <= lo:
            return _NO_INTS, _NO_INTS, _NO_INTS, (_NO_INTS if with_positions else None)
        dfs, docs, freqs = self._records(lo, hi)
        poses = None
        if with_positions and self.kind == "positions":
            poses = self._range_positions(lo, hi, dfs, freqs)
        return dfs, docs, freqs, poses

    def postings_size(self) -> int:
        """Bytes of postings and positions (a measure of the work of reading them all)."""
        return self.postings_before(self.count)

    def postings_before(self, i: int) -> int:
        """Bytes of postings and positions of the terms before term ``i``."""
        done = int(self._post_offsets[i])
        return done + int(self._pos_offsets[i]) if self.kind == "positions" else done

    def chunk_end(self, lo: int, budget: int) -> int:
        """The end of a run of terms from ``lo`` holding about ``budget`` bytes of postings and
        of positions each, and at most ``budget // 64`` terms (at least one term)."""
        hi = int(np.searchsorted(self._post_offsets, int(self._post_offsets[lo]) + budget, side="right")) - 1
        hi = min(hi, lo + max(1, budget // 64))
        if self.kind == "positions":
            hi = min(hi, int(np.searchsorted(self._pos_offsets, int(self._pos_offsets[lo]) + budget,
                                             side="right")) - 1)
        return min(self.count, max(hi, lo + 1))


def _int_view(offsets: np.ndarray) -> Any:
    """An offset array as a sequence of Python ints: a memoryview of it when it is in this
    machine's byte order (the usual case), else a list."""
    if offsets.dtype.isnative and offsets.flags.c_contiguous:
        return offsets.data.cast("B").cast("Q" if offsets.dtype.itemsize == 8 else "I")
    return offsets.tolist()


def _segmented_cumsum(gaps: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Running sums of ``gaps`` restarting at each run of ``counts`` (runs one after another):
    each run's first gap is lowered by what the previous runs added, then one running sum."""
    if not gaps.size:
        return gaps
    runs = counts[counts > 0]
    if len(runs) == 1:
        return np.cumsum(gaps)
    first = np.cumsum(runs) - runs
    total = np.cumsum(gaps)
    base = total[first] - gaps[first]  # what the runs before each run add up to
    adjusted = gaps.copy()
    adjusted[first[1:]] -= np.diff(base)
    return np.cumsum(adjusted)


def _select(counts: np.ndarray, flat: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The counts and positions of postings ``which`` of postings with ``counts`` and all their
    positions ``flat`` (posting after posting)."""
    starts = np.cumsum(counts) - counts
    picked = counts[which]
    take = np.repeat(starts[which] - (np.cumsum(picked) - picked), picked) + np.arange(int(picked.sum()))
    return picked, flat[take]


class _TermList(Sequence):  # type: ignore[type-arg]
    """A field's terms as a sequence, for ``bisect``."""

    def __init__(self, field: FieldTerms) -> None:
        self._field = field

    def __len__(self) -> int:
        return self._field.count

    def __getitem__(self, i: Any) -> Any:
        return self._field.term(i)


class ArrayTermInfo(TermInfo):  # type: ignore[misc]
    """A term's statistics, computed from its postings when first asked for (the document
    frequency alone is read from the record's head). Lengths are bounds: 1 and 2**31 - 1.
    Whoosh's multi-segment reader shifts ``_minid``/``_maxid`` by a segment's offset: they are
    properties that keep the shift."""

    def __init__(self, field: FieldTerms, index: int) -> None:
        self.field = field
        self.index = index
        self._df = field.doc_frequency(index)
        self._minlength = 1
        self._maxlength = 2 ** 31 - 1
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._partial: tuple[np.ndarray, np.ndarray] | None = None  # (indexes, documents) read in part
        self._shift = [0, 0]  # added to the first and last document numbers

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The term's document numbers and frequencies in its segment (int64)."""
        if self._arrays is None:
            self._arrays = self.field.postings(self.index)
        return self._arrays

    def arrays_in(self, want: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and frequencies of the term's postings in the blocks that may hold
        the sorted document numbers ``want`` (all of them once :meth:`arrays` has been read);
        :meth:`indexes_of` then finds those postings' places."""
        if self._arrays is not None:
            return self._arrays
        idx, docs, freqs = self.field.postings_in(self.index, want)
        self._partial = (idx, docs)
        return docs, freqs

    def indexes_of(self, docs: np.ndarray) -> np.ndarray:
        """The places among the term's postings of the sorted document numbers ``docs``, all of
        which the term holds (read by :meth:`arrays_in` or :meth:`arrays`)."""
        if self._arrays is None and self._partial is not None:
            idx, read = self._partial
            at = np.minimum(np.searchsorted(read, docs), len(read) - 1)
            if len(read) and np.array_equal(read[at], docs):
                return idx[at]  # type: ignore[no-any-return]
        return np.searchsorted(self.arrays()[0], docs)

    @property
    def _weight(self) -> float:
        return float(self.arrays()[1].sum()) * self.field.boost

    @property
    def _maxweight(self) -> float:
        return float(self.arrays()[1].max()) * self.field.boost

    @property
    def _minid(self) -> int:
        return int(self.arrays()[0][0]) + self._shift[0]

    @_minid.setter
    def _minid(self, value: int) -> None:
        self._shift[0] += value - self._minid

    @property
    def _maxid(self) -> int:
        return int(self.arrays()[0][-1]) + self._shift[1]

    @_maxid.setter
    def _maxid(self, value: int) -> None:
        self._shift[1] += value - self._maxid


class _Values(Sequence):  # type: ignore[type-arg]
    """Whoosh-encoded values of a term's postings, made when asked for."""

    def __init__(self, kind: str, freqs: list[int], positions: list[list[int]] | None, fmt: Any) -> None:
        self._kind = kind
        self._freqs = freqs
        self._positions = positions
        self._format = fmt

    def __len__(self) -> int:
        return len(self._freqs)

    def __getitem__(self, i: Any) -> Any:
        if self._kind == "positions":
            assert self._positions is not None
            return self._format.encode(self._positions[i])
        if self._kind == "frequency":
            return pack_uint(self._freqs[i])
        return b""


class ArrayMatcher(ListMatcher):  # type: ignore[misc]
    """Whoosh's list matcher over one term's decoded postings; positions are given as lists
    without a round trip through Whoosh's encoding."""

    def value_as(self, astype: str) -> Any:
        values = self._values
        if astype == "positions" and isinstance(values, _Values) and values._positions is not None:
            return values._positions[self._i]
        return super().value_as(astype)


class _Cursor(FieldCursor):  # type: ignore[misc]
    def __init__(self, field: FieldTerms | None, fieldobj: Any) -> None:
        self._field = field
        self._fieldobj = fieldobj
        self._i = 0

    def _count(self) -> int:
        return self._field.count if self._field is not None else 0

    def first(self) -> Any:
        self._i = 0
        return self.text()

    def find(self, term: Any) -> Any:
        if not isinstance(term, bytes):
            term = self._fieldobj.to_bytes(term)
        self._i = self._field.lower_bound(term) if self._field is not None else 0
        return self.text()

    def next(self) -> Any:
        self._i += 1
        return self.text()

    def is_valid(self) -> bool:
        return self._i < self._count()

    def term(self) -> bytes | None:
        return self._field.term(self._i) if self.is_valid() and self._field is not None else None

    def text(self) -> Any:
        btext = self.term()
        return None if btext is None else self._fieldobj.from_bytes(btext)

    def term_info(self) -> Any:
        return ArrayTermInfo(self._field, self._i) if self.is_valid() and self._field is not None else None


class ArrayTermsReader(TermsReader):  # type: ignore[misc]
    """Reads the ``.vnt`` file of a segment."""

    def __init__(self, storage: Any, segment: Segment) -> None:
        self._file = _SectionFile(storage, segment.make_filename(TERMS_EXT), TERMS_MAGIC)
        self.fields: dict[str, FieldTerms] = {}
        specs = self._file.info.get("fields", [])
        if not isinstance(specs, list):
            raise FormatError(f"{self._file.name}: damaged directory (fields)")
        for spec in specs:
            self.fields[spec["name"]] = FieldTerms(self._file, spec)
        self._names = sorted(self.fields)

    def field(self, fieldname: str) -> FieldTerms | None:
        """A field's terms and postings, or None if the segment has none."""
        return self.fields.get(fieldname)

    def _index(self, fieldname: str, btext: bytes) -> tuple[FieldTerms, int]:
        field, i = self._find(fieldname, btext)
        if i < 0:
            raise TermNotFound((fieldname, btext))
        assert field is not None
        return field, i

    def __contains__(self, term: Any) -> bool:
        return self._find(*term)[1] >= 0

    def cursor(self, fieldname: str, fieldobj: Any) -> _Cursor:
        return _Cursor(self.fields.get(fieldname), fieldobj)

    def terms(self) -> Iterator[tuple[str, bytes]]:
        for name in self._names:
            for btext in self.fields[name].terms():
                yield name, btext

    def terms_from(self, fieldname: str, prefix: bytes) -> Iterator[tuple[str, bytes]]:
        for name in self._names:
            if name < fieldname:
                continue
            field = self.fields[name]
            lo = field.lower_bound(prefix) if name == fieldname else 0
            for i in range(lo, field.count, 4096):
                for btext in field.terms(i, min(field.count, i + 4096)):
                    yield name, btext

    def items(self) -> Iterator[tuple[tuple[str, bytes], ArrayTermInfo]]:
        for name in self._names:
            field = self.fields[name]
            for i in range(field.count):
                yield (name, field.term(i)), ArrayTermInfo(field, i)

    def items_from(self, fieldname: str, prefix: bytes) -> Iterator[tuple[tuple[str, bytes], ArrayTermInfo]]:
        for name in self._names:
            if name < fieldname:
                continue
            field = self.fields[name]
            lo = field.lower_bound(prefix) if name == fieldname else 0
            for i in range(lo, field.count):
                yield (name, field.term(i)), ArrayTermInfo(field, i)

    def term_info(self, fieldname: str, btext: bytes) -> ArrayTermInfo:
        return ArrayTermInfo(*self._index(fieldname, btext))

    # A term of another segment reads as 0 here: Whoosh's readers ask every segment for the terms
    # a prefix or wildcard found in any of them (Whoosh's SegmentReader turns only KeyError into 0).
    def _find(self, fieldname: str, btext: bytes) -> tuple[FieldTerms | None, int]:
        field = self.fields.get(fieldname)
        return field, field.find(btext) if field is not None else -1

    def frequency(self, fieldname: str, btext: bytes) -> float:
        field, i = self._find(fieldname, btext)
        return ArrayTermInfo(field, i).weight() if field is not None and i >= 0 else 0.0

    def doc_frequency(self, fieldname: str, btext: bytes) -> int:
        field, i = self._find(fieldname, btext)
        return field.doc_frequency(i) if field is not None and i >= 0 else 0

    def matcher(self, fieldname: str, btext: bytes, format_: Any, scorer: Any = None) -> ArrayMatcher:
        field, i = self._index(fieldname, btext)
        info = ArrayTermInfo(field, i)
        docs, freqs = info.arrays()
        positions = None
        if field.kind == "positions":
            flat = field.positions(i, freqs).tolist()
            bounds = np.concatenate([[0], np.cumsum(freqs)]).tolist()
            positions = [flat[a:b] for a, b in zip(bounds, bounds[1:])]
        weights = (freqs * field.boost).astype(np.float64).tolist()
        values = _Values(field.kind, freqs.tolist(), positions, format_)
        return ArrayMatcher(docs.tolist(), weights, values, format_, scorer=scorer, term=(fieldname, btext),
                            terminfo=info)

    def indexed_field_names(self) -> list[str]:
        return list(self._names)

    def close(self) -> None:
        self.fields = {}
        self._file.close()


_TERMS: "weakref.WeakKeyDictionary[Any, ArrayTermsReader]" = weakref.WeakKeyDictionary()
_DOCS: "weakref.WeakKeyDictionary[Any, ArrayDocReader]" = weakref.WeakKeyDictionary()


def segment_terms(reader: Any) -> "ArrayTermsReader | None":
    """The format 3 terms of a Whoosh segment reader (None for another codec's segment), opened
    once per reader (a second memory map of the same file: Whoosh keeps its own private)."""
    found = _TERMS.get(reader)
    if found is None:
        codec = reader.codec()
        if not isinstance(codec, ArrayCodec):
            return None
        found = _TERMS[reader] = codec.terms_reader(reader.storage(), reader.segment())
    return found


def segment_documents(reader: Any) -> "ArrayDocReader | None":
    """The format 3 documents (lengths, stored fields, columns) of a Whoosh segment reader, as
    :func:`segment_terms`."""
    found = _DOCS.get(reader)
    if found is None:
        codec = reader.codec()
        if not isinstance(codec, ArrayCodec):
            return None
        found = _DOCS[reader] = codec.per_document_reader(reader.storage(), reader.segment())
    return found


# -- documents ---------------------------------------------------------------------------------------

class ArrayDocWriter(PerDocumentWriter):  # type: ignore[misc]
    """Writes the ``.vnd`` file: stored fields, field lengths, columns."""

    def __init__(self, storage: Any, segment: ArraySegment) -> None:
        self._storage = storage
        self._segment = segment
        self._docnum = 0
        self._doc: dict[str, Any] | None = None
        self._lines: list[bytes] = []  # stored fields of the documents of the open block
        self._block_size = 0  # bytes of those
        self._blocks: list[bytes] = []
        self._block_docs: list[int] = []  # documents in each block
        self._lengths: dict[str, list[np.ndarray]] = {}  # field -> length bytes, in chunks
        self._doc_lengths: dict[str, int] = {}  # the current document's length bytes
        self._length_chunk: dict[str, list[tuple[int, int]]] = {}
        self._totals: dict[str, int] = {}
        self._columns: dict[str, dict[int, Any]] = {}  # field -> docnum -> value
        self._column_defaults: dict[str, Any] = {}
        self.is_closed = False

    def start_doc(self, docnum: int) -> None:
        if docnum != self._docnum:
            raise ValueError(f"documents must be added in order: expected {self._docnum}, got {docnum}")
        self._doc = {}
        self._doc_lengths = {}
        self._doc_columns: dict[str, Any] = {}

    def add_field(self, fieldname: str, fieldobj: Any, value: Any, length: int) -> None:
        assert self._doc is not None
        if value is not None:
            self._doc[fieldname] = value
        if length:
            self._doc_lengths[fieldname] = int(length)

    def add_column_value(self, fieldname: str, columnobj: Any, value: Any) -> None:
        self._column_defaults.setdefault(fieldname, columnobj.default_value())
        self._doc_columns[fieldname] = value

    def add_vector_items(self, fieldname: str, fieldobj: Any, items: Any) -> None:
        raise ValueError(f"format {FORMAT} does not store term vectors")

    def cancel_doc(self) -> None:
        self._doc = None

    def finish_doc(self) -> None:
        assert self._doc is not None
        try:
            line = json.dumps(self._doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"stored fields must be JSON values (str, int, float, bool, None, lists, "
                             f"dicts): {exc}") from None
        encoded = line.encode("utf-8")
        self._lines.append(encoded)
        self._block_size += len(encoded) + 1
        docnum = self._docnum
        for name, length in self._doc_lengths.items():
            self._length_chunk.setdefault(name, []).append((docnum, length_to_byte(length)))
            self._totals[name] = self._totals.get(name, 0) + length
        for name, value in self._doc_columns.items():
            self._columns.setdefault(name, {})[docnum] = value
        self._docnum += 1
        self._doc = None
        if len(self._lines) >= STORED_BLOCK_DOCS or self._block_size >= STORED_BLOCK_BYTES:
            self._close_block()

    def _close_block(self) -> None:
        if self._lines:
            self._blocks.append(zlib.compress(b"\n".join(self._lines), _ZLIB_LEVEL))
            self._block_docs.append(len(self._lines))
            self._lines = []
        self._block_size = 0

    def append_documents(self, source: "ArrayDocReader", live: np.ndarray) -> None:
        """Copy the documents of ``source`` where ``live`` is True, in order (a merge): blocks
        of stored fields whose documents all stay are copied as they are; lengths and column
        values as arrays."""
        self._close_block()
        base = self._docnum
        count = int(live.sum())
        starts = source._block_starts
        for b in range(len(starts) - 1):
            lo, hi = int(starts[b]), int(starts[b + 1])
            keep = live[lo:hi]
            if keep.all():
                self._blocks.append(source._block_bytes(b))
                self._block_docs.append(hi - lo)
            elif keep.any():
                lines = source._block_lines(b)
                self._lines = [line for line, k in zip(lines, keep.tolist()) if k]
                self._close_block()
        for name in source.length_fields():
            raw = source.length_bytes(name)[live]
            self._lengths.setdefault(name, []).append(_placed(base, raw))
        for name in source.column_names():
            values = source.column_values(name)
            self._column_defaults.setdefault(name, source.column_default(name))
            col = self._columns.setdefault(name, {})
            for d, v in zip(range(base, base + count), (v for v, k in zip(values, live.tolist()) if k)):
                col[d] = v
        self._docnum += count

    def close(self) -> None:
        if self.is_closed:
            return
        self._close_block()
        n = self._docnum
        self._segment.set_doc_count(n)
        totals = dict(self._segment.field_lengths())
        for name, total in self._totals.items():
            totals[name] = totals.get(name, 0) + total
        self._segment.set_field_lengths(totals)
        out = _SectionWriter(self._segment.create_file(self._storage, DOCS_EXT), DOCS_MAGIC)
        block_starts = np.zeros(len(self._block_docs) + 1, dtype="<u4")
        np.cumsum(self._block_docs, out=block_starts[1:])
        block_offsets = np.zeros(len(self._blocks) + 1, dtype="<u8")
        np.cumsum([len(b) for b in self._blocks], out=block_offsets[1:])
        out.add("stored.block_starts", block_starts)
        out.add("stored.block_offsets", block_offsets)
        out.add("stored.data", b"".join(self._blocks))
        self._blocks = []
        lengths = []
        for name in sorted(set(self._lengths) | set(self._length_chunk)):
            arr = np.zeros(n, dtype=np.uint8)
            for chunk in self._lengths.get(name, []):
                arr[chunk[0]:chunk[0] + len(chunk) - 1] = chunk[1:]
            pairs = self._length_chunk.get(name)
            if pairs:
                where = np.array([d for d, _b in pairs], dtype=np.int64)
                arr[where] = np.array([b for _d, b in pairs], dtype=np.uint8)
            out.add(f"lengths.{name}", arr)
            lengths.append(name)
        columns = {}
        for name in sorted(self._columns):
            default = self._column_defaults.get(name)
            given = self._columns[name]
            values = [given.get(d, default) for d in range(n)]
            columns[name] = _write_column(out, name, values, default)
        out.close({"kind": "documents", "doc_count": n, "lengths": lengths, "columns": columns})
        self.is_closed = True


def _placed(base: int, raw: np.ndarray) -> np.ndarray:
    """Length bytes starting at document ``base``, as one array: ``[base, bytes...]``."""
    out = np.empty(len(raw) + 1, dtype=np.int64)
    out[0] = base
    out[1:] = raw
    return out


def _write_column(out: _SectionWriter, name: str, values: list[Any], default: Any) -> dict[str, Any]:
    if all(isinstance(v, bytes) for v in values):
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        offsets = np.zeros(len(values) + 1, dtype=_offset_dtype(int(lengths.sum())))
        np.cumsum(lengths, out=offsets[1:])
        out.add(f"column.{name}.offsets", offsets)
        out.add(f"column.{name}.data", b"".join(values))
        return {"kind": "bytes", "default": default.decode("latin-1") if isinstance(default, bytes) else ""}
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        out.add(f"column.{name}", np.array(values, dtype="<i8"))
        return {"kind": "int", "default": int(default or 0)}
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        out.add(f"column.{name}", np.array(values, dtype="<f8"))
        return {"kind": "float", "default": float(default or 0)}
    raise ValueError(f"column {name!r}: format {FORMAT} stores bytes or numbers in columns")


class ArrayColumnReader(ColumnReader):  # type: ignore[misc]
    """A column's values (bytes or numbers) read in place."""

    def __init__(self, values: Any, count: int) -> None:
        self._values = values
        self._doccount = count
        self._reverse = False

    def __getitem__(self, docnum: int) -> Any:
        return self._values[docnum]

    def sort_key(self, docnum: int) -> Any:
        value = self._values[docnum]
        if self._reverse:
            if isinstance(value, bytes):
                return bytes(255 - b for b in value) + b"\xff"
            return -value
        return value

    def is_reversible(self) -> bool:
        return True

    def set_reverse(self) -> None:
        self._reverse = not self._reverse

    def load(self) -> list[Any]:
        return [self._values[d] for d in range(self._doccount)]


class _BytesValues(Sequence):  # type: ignore[type-arg]
    def __init__(self, offsets: np.ndarray, data: np.ndarray) -> None:
        self._offsets = offsets
        self._data = data

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i: Any) -> Any:
        return self._data[int(self._offsets[i]):int(self._offsets[i + 1])].tobytes()


class ArrayDocReader(PerDocumentReader):  # type: ignore[misc]
    """Reads the ``.vnd`` file of a segment."""

    def __init__(self, storage: Any, segment: ArraySegment) -> None:
        self._segment = segment
        self._file = _SectionFile(storage, segment.make_filename(DOCS_EXT), DOCS_MAGIC)
        info = self._file.spec(self._file.info, {"doc_count": int, "lengths": list, "columns": dict})
        self._count = info["doc_count"]
        if self._count != segment.doc_count_all():
            raise FormatError(f"{self._file.name}: {self._count} documents, the table of contents says "
                              f"{segment.doc_count_all()}")
        self._block_starts = self._file.array("stored.block_starts").astype(np.int64)
        self._stored = self._file.array("stored.data")
        self._block_offsets = self._file.offsets("stored.block_offsets", len(self._block_starts),
                                                 self._stored).astype(np.int64)
        if (not self._block_starts.size or self._block_starts[0] != 0 or self._block_starts[-1] != self._count
                or (np.diff(self._block_starts) < 0).any() or (np.diff(self._block_offsets) < 0).any()):
            raise FormatError(f"{self._file.name}: damaged block index of stored fields")
        self._length_names: list[str] = list(info["lengths"])
        for name in self._length_names:
            self._file.array(f"lengths.{name}", self._count)
        self._columns: dict[str, dict[str, Any]] = dict(info["columns"])
        for name, spec in self._columns.items():
            self._file.spec(spec, {"kind": str, "default": (str, int, float)})
            if spec["kind"] == "bytes":
                data = self._file.array(f"column.{name}.data")
                self._file.offsets(f"column.{name}.offsets", self._count + 1, data)
            elif spec["kind"] in ("int", "float"):
                self._file.array(f"column.{name}", self._count)
            else:
                raise FormatError(f"{self._file.name}: damaged directory (column {name})")
        self._cache: tuple[int, list[bytes]] | None = None

    # documents and deletions
    def doc_count(self) -> int:
        return self._count - self._segment.deleted_count()

    def doc_count_all(self) -> int:
        return self._count

    def has_deletions(self) -> bool:
        return self._segment.has_deletions()

    def is_deleted(self, docnum: int) -> bool:
        return self._segment.is_deleted(docnum)

    def deleted_docs(self) -> Any:
        return self._segment.deleted_docs()

    # stored fields
    def _block_bytes(self, b: int) -> bytes:
        return self._stored[int(self._block_offsets[b]):int(self._block_offsets[b + 1])].tobytes()

    def _block_lines(self, b: int) -> list[bytes]:
        if self._cache is not None and self._cache[0] == b:
            return self._cache[1]
        try:
            lines = zlib.decompress(self._block_bytes(b)).split(b"\n")
        except zlib.error as exc:
            raise FormatError(f"{self._file.name}: damaged stored block {b} ({exc})") from None
        if len(lines) != int(self._block_starts[b + 1] - self._block_starts[b]):
            raise FormatError(f"{self._file.name}: stored block {b} holds {len(lines)} documents")
        self._cache = (b, lines)
        return lines

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        if not 0 <= docnum < self._count:
            raise IndexError(docnum)
        b = int(np.searchsorted(self._block_starts, docnum, side="right")) - 1
        line = self._block_lines(b)[docnum - int(self._block_starts[b])]
        return json.loads(line)  # type: ignore[no-any-return]

    def all_stored_fields(self) -> Iterator[dict[str, Any]]:
        for b in range(len(self._block_starts) - 1):
            lo = int(self._block_starts[b])
            for k, line in enumerate(self._block_lines(b)):
                if not self.is_deleted(lo + k):
                    yield json.loads(line)

    # lengths
    def length_fields(self) -> list[str]:
        return list(self._length_names)

    def length_bytes(self, fieldname: str) -> np.ndarray:
        """Each document's length of ``fieldname`` as Whoosh's one-byte code (zeros if none)."""
        if fieldname not in self._length_names:
            return np.zeros(self._count, dtype=np.uint8)
        return self._file.array(f"lengths.{fieldname}")

    def lengths(self, fieldname: str) -> np.ndarray:
        """Each document's length of ``fieldname`` as readers see it (int64; 0 if none)."""
        return _BYTE_TO_LENGTH[self.length_bytes(fieldname)]

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        if fieldname not in self._length_names:
            return default
        return int(_BYTE_TO_LENGTH[self._file.array(f"lengths.{fieldname}")[docnum]])

    def field_length(self, fieldname: str) -> int:
        return self._segment.field_lengths().get(fieldname, 0)

    def min_field_length(self, fieldname: str) -> int:
        lengths = self.lengths(fieldname)
        lengths = lengths[lengths > 0]
        return int(lengths.min()) if lengths.size else 0

    def max_field_length(self, fieldname: str) -> int:
        lengths = self.lengths(fieldname)
        return int(lengths.max()) if lengths.size else 0

    def has_vector(self, docnum: int, fieldname: str) -> bool:
        return False

    # columns
    def supports_columns(self) -> bool:
        return True

    def has_column(self, fieldname: str) -> bool:
        return fieldname in self._columns

    def list_columns(self) -> list[str]:
        return sorted(self._columns)

    def column_names(self) -> list[str]:
        return sorted(self._columns)

    def column_default(self, fieldname: str) -> Any:
        spec = self._columns[fieldname]
        return spec["default"].encode("latin-1") if spec["kind"] == "bytes" else spec["default"]

    def column_values(self, fieldname: str) -> Sequence[Any]:
        spec = self._columns[fieldname]
        if spec["kind"] == "bytes":
            return _BytesValues(self._file.array(f"column.{fieldname}.offsets"),
                                self._file.array(f"column.{fieldname}.data"))
        arr = self._file.array(f"column.{fieldname}")
        return arr.tolist()  # type: ignore[no-any-return]

    def column_array(self, fieldname: str) -> np.ndarray | None:
        """A numeric column as an array (None for a bytes column)."""
        spec = self._columns[fieldname]
        return None if spec["kind"] == "bytes" else self._file.array(f"column.{fieldname}")

    def column_reader(self, fieldname: str, column: Any) -> ArrayColumnReader:
        return ArrayColumnReader(self.column_values(fieldname), self._count)

    def close(self) -> None:
        self._cache = None
        self._file.close()


__all__ = ["MissingFileError", "ArrayCodec", "ArrayDocReader", "ArrayDocWriter", "ArrayFieldWriter", "ArraySegment", "ArrayTermsReader",
           "FieldTerms", "FormatError", "FORMAT", "decode_varints", "encode_varints", "segment_documents",
           "segment_terms"]
