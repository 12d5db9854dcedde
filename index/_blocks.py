"""Posting blocks that read as arrays: document numbers and weights apart from positions.

Whoosh 3 stores each block of up to 128 postings as one pickled, compressed tuple of
(ids, weights, values). To score a term, a reader then unpickles every position list of the
block too: for the syllable fields most of the bytes. The blocks written here keep Whoosh's
block framing (length, pickled block info, so block skipping is unchanged) but lay out the data
as three separately compressed parts:

    header  <BIII   flags, ids bytes, weights bytes, values bytes
    ids     deltas (the first from 0): uint8 or uint16 if the largest fits (never compressed),
            otherwise uint32; little-endian
    weights uint8 or uint16 when every weight is a whole number that fits (term frequencies),
            otherwise float32; little-endian; absent when every weight is 1.0
    values  positions etc.: offsets (uint32, n + 1) and the concatenated bytes; for
            fixed-size values only the concatenation, except 4-byte values (frequencies),
            which are read as big-endian uint32 and kept as uint8 or uint16 when they fit
            (never compressed); nothing for formats without values

Narrow parts skip zlib, whose set-up costs more than the compression saves on a block.

so ``numpy.frombuffer`` reads ids and weights without touching the values. Whoosh's own matchers
read these blocks through :class:`BlockMatcher`. :class:`BlockCodec` is pickled into each
segment's entry of the table of contents, so segments written before it (``VnCodec``) stay
readable beside new ones: keep both classes' import paths stable.

Segments of this codec (:class:`BlockSegment`) also read their compound file without copying
it: Whoosh maps the file into memory but then wraps each part in ``BytesIO(view)``, which
copies it, so opening a searcher read every term table and posting file of the index into
memory (about 1.4 GB for the viwiki benchmark index). Here each part is read in place.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from array import array
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3FieldWriter, W3LeafMatcher, W3Segment
from whoosh.compat import dumps
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filetables import crc_hash
from whoosh.filedb.structfile import BufferFile
from whoosh.matching import ListMatcher
from whoosh.system import pack_int
from whoosh.util.numeric import byte_to_length, length_to_byte

from ._codec import VnCodec, _PostingsWriter

_HEADER = struct.Struct("<BIII")
_COMPRESSED = 1
_UNIT_WEIGHTS = 2
_IDS_U8 = 4
_IDS_U16 = 8
_VALUES_U8 = 16
_VALUES_U16 = 32
_WEIGHTS_U8 = 64
_WEIGHTS_U16 = 128
_ID_TYPES = {1: ("u1", _IDS_U8), 2: ("<u2", _IDS_U16), 4: ("<u4", 0)}
_VALUE_TYPES = {1: ("u1", _VALUES_U8), 2: ("<u2", _VALUES_U16), 4: (">u4", 0)}
_WEIGHT_TYPES = {1: ("u1", _WEIGHTS_U8), 2: ("<u2", _WEIGHTS_U16), 4: ("<f4", 0)}


def id_width(largest_gap: int) -> int:
    """Bytes per document-number delta in a block whose largest delta is ``largest_gap``."""
    return 1 if largest_gap < 256 else 2 if largest_gap < 65536 else 4


def weight_width(weights: Any) -> int:
    """Bytes per weight in a block of ``weights``: 1 or 2 when every weight is a whole number
    that fits (term frequencies, as vnsearch's fields have), else 4 (``<f4``)."""
    w = np.asarray(weights, dtype=np.float64)
    if not len(w) or not np.all((w >= 0) & (w == np.floor(w))):
        return 4
    return id_width(int(w.max())) if w.max() < 65536 else 4


def encode_block(ids: Any, weights: Any, values: list[bytes], fixedsize: int | None,
                 compression: int) -> bytes:
    """The data part of one block: ``ids`` ascending document numbers, ``weights`` floats,
    ``values`` one bytes value per posting (or none), ``fixedsize`` the format's value size."""
    id_arr = np.asarray(ids, dtype=np.int64)
    gaps = np.diff(id_arr, prepend=0)
    width = id_width(int(gaps.max()))
    w_arr = np.asarray(weights, dtype="<f4")
    unit = bool(np.all(w_arr == 1.0))
    wwidth = weight_width(w_arr)
    wbytes = b"" if unit else w_arr.astype(_WEIGHT_TYPES[wwidth][0]).tobytes()
    if not values or fixedsize == 0 or len(values) != len(id_arr):
        # (Whoosh's writers drop empty values; a block with some missing has none usable.)
        vbytes = b""
    elif fixedsize == 4:
        ints = np.frombuffer(b"".join(values), dtype=">u4")
        vwidth = id_width(int(ints.max()))
        return block_data(gaps.astype(_ID_TYPES[width][0]).tobytes(), width, wbytes,
                          ints.astype(_VALUE_TYPES[vwidth][0]).tobytes(), compression, vwidth, wwidth)
    elif fixedsize is not None and fixedsize > 0:
        vbytes = b"".join(values)
    else:
        offsets = np.zeros(len(values) + 1, dtype="<u4")
        np.cumsum([len(v) for v in values], out=offsets[1:])
        vbytes = offsets.tobytes() + b"".join(values)
    return block_data(gaps.astype(_ID_TYPES[width][0]).tobytes(), width, wbytes, vbytes, compression,
                      wwidth=wwidth)


def block_data(deltas: bytes, width: int, wbytes: bytes, vbytes: bytes, compression: int,
               vwidth: int = 0, wwidth: int = 4) -> bytes:
    """A block's data part from its raw parts: id deltas of ``width`` bytes (see
    :func:`id_width`), weights (``wwidth`` bytes each, see :func:`weight_width`: ``u1``, ``<u2``
    or ``<f4``; empty when all are 1.0) and values (see the module docstring; ``vwidth`` 1 or 2
    for narrowed 4-byte values), compressed if ``compression``."""
    flags = (_ID_TYPES[width][1] | (_WEIGHT_TYPES[wwidth][1] if wbytes else _UNIT_WEIGHTS)
             | (_VALUE_TYPES[vwidth][1] if vwidth else 0))
    if compression:
        flags |= _COMPRESSED
        if width == 4:
            deltas = zlib.compress(deltas, compression)
        if vbytes and vwidth in (0, 4):
            vbytes = zlib.compress(vbytes, compression)
    return _HEADER.pack(flags, len(deltas), len(wbytes), len(vbytes)) + deltas + wbytes + vbytes


def framed_block(ids: Any, weights: Any, values: list[bytes], fixedsize: int | None, compression: int,
                 maxweight: Any, minlength: int | None, maxlength: int, last: bool) -> bytes:
    """One block as it goes into the posting file: Whoosh's framing (the signed length, negative
    for a term's last block, then the pickled block info) around :func:`encode_block`'s data."""
    databytes = encode_block(ids, weights, values, fixedsize, compression)
    return frame_block(databytes, len(ids), ids[-1], maxweight, compression,
                       length_to_byte(minlength), length_to_byte(maxlength), last)


def frame_block(databytes: bytes, count: int, lastid: int, maxweight: Any, compression: int,
                minbyte: int, maxbyte: int, last: bool) -> bytes:
    """Whoosh's framing around a block's data; lengths are given as Whoosh's length bytes."""
    infobytes = dumps((count, lastid, maxweight, compression, minbyte, maxbyte), 2)
    size = len(infobytes) + len(databytes)
    return pack_int(-size if last else size) + infobytes + databytes


def _parts(data: bytes) -> tuple[int, bytes, bytes, bytes]:
    flags, ni, nw, nv = _HEADER.unpack_from(data)
    start = _HEADER.size
    ids = data[start:start + ni]
    weights = data[start + ni:start + ni + nw]
    values = data[start + ni + nw:start + ni + nw + nv]
    return flags, ids, weights, values


def decode_arrays(data: bytes, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Absolute document numbers (int64) and weights (float64) of a block."""
    flags, ids, weights, _values = _parts(data)
    if flags & _IDS_U8:
        gaps = np.frombuffer(ids, dtype="u1")
    elif flags & _IDS_U16:
        gaps = np.frombuffer(ids, dtype="<u2")
    else:
        gaps = np.frombuffer(zlib.decompress(ids) if flags & _COMPRESSED else ids, dtype="<u4")
    id_arr = np.cumsum(gaps, dtype=np.int64)
    if flags & _UNIT_WEIGHTS:
        w_arr = np.ones(count, dtype=np.float64)
    else:
        wtype = "u1" if flags & _WEIGHTS_U8 else "<u2" if flags & _WEIGHTS_U16 else "<f4"
        w_arr = np.frombuffer(weights, dtype=wtype).astype(np.float64)
    return id_arr, w_arr


def decode_values(data: bytes, count: int, fixedsize: int | None) -> tuple[Any, ...]:
    """A block's values as Whoosh's block reader gives them (``None`` each for no values)."""
    flags, _ids, _weights, values = _parts(data)
    if fixedsize == 0:
        return (None,) * count
    if not values:
        return (b"",) * count
    if flags & (_VALUES_U8 | _VALUES_U16):
        values = np.frombuffer(values, dtype="u1" if flags & _VALUES_U8 else "<u2").astype(">u4").tobytes()
    elif flags & _COMPRESSED:
        values = zlib.decompress(values)
    if fixedsize is not None and fixedsize > 0:
        return tuple(values[i:i + fixedsize] for i in range(0, len(values), fixedsize))
    offsets = np.frombuffer(values, dtype="<u4", count=count + 1).tolist()
    base = 4 * (count + 1)
    return tuple(values[base + a:base + b] for a, b in zip(offsets, offsets[1:]))


def decode_raw_values(data: bytes, count: int, fixedsize: int | None) -> tuple[bytes, np.ndarray]:
    """A block's values as one string and each posting's length (for merges, which copy them)."""
    flags, _ids, _weights, values = _parts(data)
    if fixedsize == 0 or not values:
        return b"", np.zeros(count, dtype=np.int64)
    if flags & (_VALUES_U8 | _VALUES_U16):
        values = np.frombuffer(values, dtype="u1" if flags & _VALUES_U8 else "<u2").astype(">u4").tobytes()
    elif flags & _COMPRESSED:
        values = zlib.decompress(values)
    if fixedsize is not None and fixedsize > 0:
        return values, np.full(count, fixedsize, dtype=np.int64)
    offsets = np.frombuffer(values, dtype="<u4", count=count + 1).astype(np.int64)
    base = 4 * (count + 1)
    return values[base + int(offsets[0]):base + int(offsets[-1])], np.diff(offsets)


class BlockMatcher(W3LeafMatcher):  # type: ignore[misc]
    """Whoosh's block matcher over array blocks; ``block_arrays``/``block_values`` give the
    current block whole, for readers that score a term at once."""

    # The current block's bytes and decoded parts, read on demand (None: not read yet).
    _data: Any
    _ids: Any
    _weights: Any
    _values: Any

    def _goto(self, position: int) -> None:
        # Whoosh's _goto, reading through get() (slices of the mapped file) instead of seek()
        # and pickle.load() on a file object, which reads one opcode at a time. The block info
        # is a small protocol-2 pickle; its length is that of its re-dump, checked byte for byte.
        postfile = self._postfile
        try:
            length = postfile.get_int(position)
            head = postfile.get(position + 4, min(abs(length), 128))
            info = pickle.loads(head)
            infobytes = dumps(info, 2)
            if head[:len(infobytes)] != infobytes:
                raise ValueError("block info does not re-dump identically")
        except Exception:
            super()._goto(position)
            return
        self._data = self._ids = self._weights = self._values = None
        self._i = 0
        if length < 0:
            self._lastblock = True
            length = -length
        self._nextoffset = position + 4 + length
        self._dataoffset = position + 4 + len(infobytes)
        (self._blocklength, self._maxid, self._maxweight, self._compression, mnlen, mxlen) = info
        self._minlength = byte_to_length(mnlen)
        self._maxlength = byte_to_length(mxlen)

    def _read_data(self) -> None:
        self._data = self._postfile.get(self._dataoffset, self._nextoffset - self._dataoffset)

    def block_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._data is None:
            self._read_data()
        return decode_arrays(self._data, self._blocklength)

    def block_values(self) -> tuple[Any, ...]:
        if self._data is None:
            self._read_data()
        return decode_values(self._data, self._blocklength, self._fixedsize)

    def block_raw_values(self) -> tuple[bytes, np.ndarray]:
        if self._data is None:
            self._read_data()
        return decode_raw_values(self._data, self._blocklength, self._fixedsize)

    def _read_ids(self) -> None:
        self._ids = tuple(self.block_arrays()[0].tolist())

    def _read_weights(self) -> None:
        self._weights = array("f", self.block_arrays()[1].astype(np.float32).tobytes())

    def _read_values(self) -> None:
        self._values = self.block_values()


class _BlockPostingsWriter(_PostingsWriter):
    def _write_block(self, last: bool = False) -> None:
        if self._byteids:  # term vectors: Whoosh's layout (not used by vnsearch's schema)
            super()._write_block(last)
            return
        if not self._blockcount:
            self._postfile.write(WHOOSH3_HEADER_MAGIC)
        self._terminfo.add_block(self)
        self._postfile.write(framed_block(self._ids, self._weights, self._values, self._format.fixed_value_size(),
                                          self._compression, self._maxweight, self._minlength,
                                          self._maxlength, last))
        self._blockcount += 1
        self._new_block()


class _ViewReader:
    """A read-only, seekable file over a memoryview, without copying it."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0
        self._size = len(view)

    def read(self, n: int | None = -1) -> bytes:
        start = self._pos
        end = self._size if n is None or n < 0 else min(self._size, start + n)
        self._pos = end
        return self._view[start:end].tobytes()

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._size - self._pos)
        buffer[:n] = self._view[self._pos:self._pos + n]
        self._pos += n
        return n

    def readline(self, limit: int = -1) -> bytes:  # pickle wants it; protocols 2+ rarely use it
        end = self._pos
        stop = self._size if limit is None or limit < 0 else min(self._size, self._pos + limit)
        while end < stop and self._view[end] != 10:
            end += 1
        return self.read(min(end + 1, stop) - self._pos)

    def seek(self, pos: int, whence: int = 0) -> int:
        self._pos = pos if whence == 0 else self._pos + pos if whence == 1 else self._size + pos
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._view.release()


class _ViewFile(BufferFile):  # type: ignore[misc]
    """Whoosh's ``BufferFile`` reading its memoryview in place (Whoosh's copies it)."""

    def __init__(self, buf: memoryview, name: str | None = None, onclose: Any = None) -> None:
        self._buf = buf
        self._name = name
        self.file = _ViewReader(buf)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    def subset(self, position: int, length: int, name: str | None = None) -> "_ViewFile":
        return _ViewFile(self._buf[position:position + length], name=name or self._name)


class _ViewCompoundStorage(CompoundStorage):  # type: ignore[misc]
    def open_file(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._source is None:  # not memory-mapped: Whoosh reads through the file
            return super().open_file(name, *args, **kwargs)
        offset, length = self.range(name)
        return _ViewFile(memoryview(self._source)[offset:offset + length], name=name)


class BlockSegment(W3Segment):  # type: ignore[misc]
    """A W3 segment whose compound file is read in place (see the module docstring)."""

    def open_compound_file(self, storage: Any) -> CompoundStorage:
        dbfile = storage.open_file(self.make_filename(self.COMPOUND_EXT))
        return _ViewCompoundStorage(dbfile, use_mmap=storage.supports_mmap)


class _FieldWriter(W3FieldWriter):  # type: ignore[misc]
    """W3's field writer with a CRC-32 term table (Whoosh's hash type 1) instead of MD5. Readers
    take the hash type from the file's header; CRC-32 is one C call (``zlib.crc32``), which
    lets the segment builder hash a whole field's terms with one ``map``."""

    def __init__(self, codec: Any, storage: Any, segment: Any) -> None:
        super().__init__(codec, storage, segment)
        tindex = self._tindex
        tindex.hashtype = 1
        tindex.hashfn = crc_hash
        # HashWriter wrote its header (magic, hash type, 8 spare bytes) on creation.
        dbfile = tindex.dbfile
        end = dbfile.tell()
        dbfile.seek(tindex.startoffset + 4)
        dbfile.write_byte(1)
        dbfile.seek(end)


class BlockCodec(VnCodec):  # type: ignore[misc]
    """``VnCodec`` (short lists inlined) with array blocks, CRC-32 term tables and
    :class:`BlockSegment` segments."""

    def new_segment(self, storage: Any, indexname: str) -> BlockSegment:
        return BlockSegment(self, indexname)

    def field_writer(self, storage: Any, segment: Any) -> _FieldWriter:
        return _FieldWriter(self, storage, segment)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> _BlockPostingsWriter:
        return _BlockPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                    compression=self._compression, inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None,
                        scorer: Any = None) -> Any:
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            return ListMatcher(ids, weights, values, format_, scorer=scorer, term=term, terminfo=terminfo)
        offset, length = terminfo.extent()
        return BlockMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)
