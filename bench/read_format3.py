"""A reader of vnsearch format 3 index folders, written from ``docs/FORMAT.md`` alone.

It imports nothing of vnsearch or Whoosh (the standard library and numpy only): it is the proof
that the specification is enough to read an index, and ``tests/test_format_spec.py`` checks that
everything it reads equals what vnsearch's own readers (``index/format.py``) read. Each function
names the section of ``docs/FORMAT.md`` it follows.

Usage (from the repository root; any Python 3.10+ with numpy):

    python bench/read_format3.py INDEX                          # segments and their fields
    python bench/read_format3.py INDEX --field syl --prefix kinh  # terms of a field with a prefix
    python bench/read_format3.py INDEX --field syl --term kinh    # postings and positions of a term
    python bench/read_format3.py INDEX --field year --term 2020   # a NUMERIC term (the year field)
    python bench/read_format3.py INDEX --doc 3                    # stored fields, lengths, columns

Document numbers given to ``--doc`` and printed by ``--term`` are index-wide ("The table of
contents": segment after segment).
"""

from __future__ import annotations

import argparse
import io
import json
import mmap
import pickle
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TERMS_MAGIC = b"VNS3TERM"
DOCS_MAGIC = b"VNS3DOCS"
TRAILER = struct.Struct("<QQ8s")
POSITION_BLOCK = 128  # postings per block of positions
POSTING_BLOCK = 128  # postings per block of a posting record
DTYPES = ("|u1", "<u4", "<u8", ">u8", "<i8", "<f8")


class SpecError(ValueError):
    """The folder or a file is not what docs/FORMAT.md describes."""


# -- "Varints" ---------------------------------------------------------------------------------

def read_varint(buf: bytes | memoryview, at: int) -> tuple[int, int]:
    """The unsigned LEB128 value starting at ``buf[at]`` and the offset after it."""
    value = shift = 0
    while True:
        if at >= len(buf):
            raise SpecError("a varint runs past the end of its bytes")
        byte = buf[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def read_varints(buf: bytes | memoryview) -> list[int]:
    """Every varint of ``buf``, which holds whole varints only."""
    out = []
    at = 0
    while at < len(buf):
        value, at = read_varint(buf, at)
        out.append(value)
    return out


# -- "Packed groups" -----------------------------------------------------------------------------

def unpack(buf: bytes | memoryview, at: int, count: int, width: int) -> list[int]:
    """``count`` little-endian unsigned integers of ``width`` bytes at ``buf[at]`` (width 0:
    ``count`` ones, no bytes)."""
    if width == 0:
        return [1] * count
    if at + count * width > len(buf):
        raise SpecError("a packed group runs past the end of its bytes")
    return list(struct.unpack_from(f"<{count}{ {1: 'B', 2: 'H', 4: 'I'}[width]}", buf, at))


def read_packed(buf: bytes | memoryview, at: int, count: int, allowed: tuple[int, ...]) -> tuple[list[int], int]:
    """A packed group at ``buf[at]``: a width byte, then ``count`` values of that width; the
    values and the offset after them."""
    if at >= len(buf):
        raise SpecError("a packed group runs past the end of its bytes")
    width = buf[at]
    if width not in allowed:
        raise SpecError(f"width {width}, expected one of {allowed}")
    return unpack(buf, at + 1, count, width), at + 1 + count * width


def running_sums(gaps: list[int]) -> list[int]:
    """Deltas to values: the first is itself, each next one adds to the one before."""
    out = []
    total = 0
    for gap in gaps:
        total += gap
        out.append(total)
    return out


# -- "vnsearch.json" and "The table of contents" ----------------------------------------------------

def read_meta(folder: Path) -> dict[str, Any]:
    meta = json.loads((folder / "vnsearch.json").read_text(encoding="utf-8"))
    meta.setdefault("format_version", 1)
    return meta


@dataclass
class SegmentEntry:
    """One entry of the TOC's segment list."""

    segid: str
    doccount: int
    deleted: set[int]
    fieldlengths: dict[str, int]
    base: int  # index-wide number of the segment's document 0

    @property
    def name(self) -> str:
        return f"MAIN_{self.segid}"


@dataclass
class Toc:
    generation: int
    release: tuple[int, int, int]
    schema_pickle: bytes  # not unpickled: that needs Whoosh's and vnsearch's classes
    segments: list[SegmentEntry] = field(default_factory=list)


class _Attributes:
    """Stands for ``index.format.ArraySegment`` / ``ArrayCodec``: pickle's BUILD fills __dict__."""


class _SegmentListUnpickler(pickle.Unpickler):
    """Unpickles the segment list with stand-in classes; any other class is refused (so an
    index of format 1 or 2, or a foreign pickle, is an error rather than code run)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "index.format" and name in ("ArraySegment", "ArrayCodec"):
            return type(name, (_Attributes,), {})
        raise SpecError(f"the table of contents names {module}.{name}: not a format 3 index")


def latest_toc_name(folder: Path) -> tuple[int, Path]:
    gens = []
    for p in folder.iterdir():
        name = p.name
        if name.startswith("_MAIN_") and name.endswith(".toc") and name[6:-4].isdigit():
            gens.append(int(name[6:-4]))
    if not gens:
        raise SpecError(f"{folder}: no _MAIN_<gen>.toc")
    gen = max(gens)
    return gen, folder / f"_MAIN_{gen}.toc"


def read_toc(folder: Path) -> Toc:
    gen, path = latest_toc_name(folder)
    data = path.read_bytes()
    at = 0
    header = []
    for _ in range(3):  # sizes of int, long, float
        value, at = read_varint(data, at)
        header.append(value)
    if header != [4, 8, 4]:
        raise SpecError(f"{path.name}: sizes {header}, expected [4, 8, 4]")
    check, version = struct.unpack_from(">ii", data, at)
    at += 8
    if check != -12345 or version != -111:
        raise SpecError(f"{path.name}: byte-order check {check} / TOC version {version}")
    release = []
    for _ in range(3):
        value, at = read_varint(data, at)
        release.append(value)
    size, at = read_varint(data, at)
    schema = data[at:at + size]
    at += size
    generation, _unused = struct.unpack_from(">ii", data, at)
    at += 8
    if generation != gen:
        raise SpecError(f"{path.name}: generation {generation} inside")
    entries = _SegmentListUnpickler(io.BytesIO(data[at:])).load()
    toc = Toc(generation, (release[0], release[1], release[2]), schema)
    base = 0
    for seg in entries:
        attrs = vars(seg)
        if attrs.get("compound") or type(attrs.get("_codec")).__name__ != "ArrayCodec":
            raise SpecError(f"segment {attrs.get('segid')}: not a format 3 segment")
        deleted = attrs.get("_deleted") or set()
        toc.segments.append(SegmentEntry(attrs["segid"], attrs["_doccount"], set(deleted),
                                         dict(attrs["_fieldlengths"]), base))
        base += attrs["_doccount"]
    return toc


# -- "Segment files: common layout" -------------------------------------------------------------------

class SectionFile:
    """A ``.vnt`` or ``.vnd`` file: magic, sections, JSON directory, trailer."""

    def __init__(self, path: Path, magic: bytes) -> None:
        self.path = path
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            if size < len(magic) + TRAILER.size:
                raise SpecError(f"{path.name}: truncated ({size} bytes)")
            self.data = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
        if bytes(self.data[:8]) != magic:
            raise SpecError(f"{path.name}: magic {bytes(self.data[:8])!r}, expected {magic!r}")
        offset, length, tail = TRAILER.unpack(self.data[size - TRAILER.size:])
        if tail != magic or offset + length != size - TRAILER.size:
            raise SpecError(f"{path.name}: bad trailer")
        self.directory: dict[str, Any] = json.loads(bytes(self.data[offset:offset + length]).decode("utf-8"))
        if self.directory.get("format") != 3:
            raise SpecError(f"{path.name}: directory format {self.directory.get('format')!r}")
        self.sections: dict[str, list[Any]] = self.directory["sections"]
        for name, (start, length, dtype) in self.sections.items():
            if dtype not in DTYPES or start < 8 or start + length > offset or length % np.dtype(dtype).itemsize:
                raise SpecError(f"{path.name}: section {name} {[start, length, dtype]} is not whole items "
                                "of a known type between the magic and the directory")

    def raw(self, name: str) -> memoryview:
        offset, length, _dtype = self.sections[name]
        return self.data[offset:offset + length]

    def array(self, name: str) -> np.ndarray:
        offset, length, dtype = self.sections[name]
        dt = np.dtype(dtype)
        return np.frombuffer(self.data, dtype=dt, count=length // dt.itemsize, offset=offset)


# -- "The terms file (.vnt)" -------------------------------------------------------------------------

class FieldTerms:
    """One field of a ``.vnt`` file."""

    def __init__(self, f: SectionFile, spec: dict[str, Any]) -> None:
        p = f"f{spec['number']}."
        self.name: str = spec["name"]
        self.kind: str = spec["kind"]
        self.boost: float = spec["boost"]
        self.count: int = spec["terms"]
        self._terms = f.raw(p + "terms")
        self._term_offsets = f.array(p + "term_offsets")
        self._samples = f.array(p + "term_samples")
        self._postings = f.raw(p + "postings")
        self._posting_offsets = f.array(p + "posting_offsets")
        if self.kind == "positions":
            self._positions = f.raw(p + "positions")
            self._position_offsets = f.array(p + "position_offsets")

    def term(self, i: int) -> bytes:
        return bytes(self._terms[int(self._term_offsets[i]):int(self._term_offsets[i + 1])])

    def terms(self) -> list[bytes]:
        return [self.term(i) for i in range(self.count)]

    def samples_match(self) -> bool:
        """The term samples are the first 8 bytes (zero-padded) of terms 0, 16, 32, ..."""
        expected = [int.from_bytes(self.term(i)[:8].ljust(8, b"\0"), "big") for i in range(0, self.count, 16)]
        return [int(v) for v in self._samples] == expected

    def lower_bound(self, btext: bytes) -> int:
        """Binary search: the index of the first term >= ``btext`` (bytes compare unsigned)."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            if self.term(mid) < btext:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def find(self, btext: bytes) -> int:
        i = self.lower_bound(btext)
        return i if i < self.count and self.term(i) == btext else -1

    def prefix(self, prefix: bytes) -> list[bytes]:
        out = []
        for i in range(self.lower_bound(prefix), self.count):
            t = self.term(i)
            if not t.startswith(prefix):
                break
            out.append(t)
        return out

    def postings(self, i: int) -> tuple[list[int], list[int]]:
        """Term ``i``'s document numbers (in its segment) and frequencies ("Posting records")."""
        df, skips, docs, freqs = self.record(i)
        return docs, freqs

    def record(self, i: int) -> tuple[int, list[int], list[int], list[int]]:
        """Term ``i``'s record: document frequency, skip list, document numbers, frequencies."""
        rec = self._postings[int(self._posting_offsets[i]):int(self._posting_offsets[i + 1])]
        df, at = read_varint(rec, 0)
        nskip = -(-df // POSTING_BLOCK) - 1
        width = rec[at]  # the deltas' width, then the skip list, then the deltas
        if width not in (1, 2, 4):
            raise SpecError(f"{self.name}: term {i}: deltas' width {width}")
        skips = unpack(rec, at + 1, nskip, 4)
        at += 1 + 4 * nskip
        docs = running_sums(unpack(rec, at, df, width))
        freqs, at = read_packed(rec, at + df * width, df, (0, 1, 2, 4))
        if at != len(rec):
            raise SpecError(f"{self.name}: term {i}: {len(rec) - at} bytes after its record")
        if skips != [docs[POSTING_BLOCK * (k + 1) - 1] for k in range(nskip)]:
            raise SpecError(f"{self.name}: term {i}: skip list {skips} does not match its documents")
        return df, skips, docs, freqs

    def block_postings(self, i: int, k: int) -> tuple[list[int], list[int]]:
        """The document numbers and frequencies of postings ``128 k`` to ``128 k + 127`` of term
        ``i`` alone, from the skip list (what a search skipping ahead reads)."""
        rec = self._postings[int(self._posting_offsets[i]):int(self._posting_offsets[i + 1])]
        df, at = read_varint(rec, 0)
        nskip = -(-df // POSTING_BLOCK) - 1
        width = rec[at]
        skips = unpack(rec, at + 1, nskip, 4)
        deltas = at + 1 + 4 * nskip
        lo, hi = POSTING_BLOCK * k, min(df, POSTING_BLOCK * (k + 1))
        before = skips[k - 1] if k else 0  # the last document number of the block before
        docs = [before + d for d in running_sums(unpack(rec, deltas + lo * width, hi - lo, width))]
        fwidth = rec[deltas + df * width]
        return docs, unpack(rec, deltas + df * width + 1 + lo * fwidth, hi - lo, fwidth)

    def weights(self, i: int) -> list[float]:
        return [f * self.boost for f in self.postings(i)[1]]

    def _region(self, i: int) -> tuple[memoryview, list[int], list[int]]:
        """Term ``i``'s positions region, its skip list and the number of positions per block."""
        _docs, freqs = self.postings(i)
        region = self._positions[int(self._position_offsets[i]):int(self._position_offsets[i + 1])]
        nblocks = -(-len(freqs) // POSITION_BLOCK)
        skips = list(struct.unpack_from(f"<{nblocks - 1}I", region, 0))
        counts = [sum(freqs[k * POSITION_BLOCK:(k + 1) * POSITION_BLOCK]) for k in range(nblocks)]
        return region, skips, counts

    def _block_positions(self, region: memoryview, at: int, freqs: list[int]) -> tuple[list[list[int]], int]:
        gaps, end = read_packed(region, at, sum(freqs), (1, 2, 4))
        out = []
        for freq in freqs:
            out.append(running_sums(gaps[:freq]))
            gaps = gaps[freq:]
        return out, end

    def positions(self, i: int) -> list[list[int]]:
        """Term ``i``'s positions, one list per posting (fields of kind ``positions``), reading
        the blocks one after the other and checking the skip list's sizes on the way."""
        _docs, freqs = self.postings(i)
        region, skips, _counts = self._region(i)
        at = 4 * len(skips)
        out: list[list[int]] = []
        for k in range(len(skips) + 1):
            block, end = self._block_positions(region, at, freqs[k * POSITION_BLOCK:(k + 1) * POSITION_BLOCK])
            if k < len(skips) and end - at != skips[k]:
                raise SpecError(f"{self.name}: term {i}: skip entry {k} says {skips[k]} bytes, not {end - at}")
            out.extend(block)
            at = end
        if at != len(region):
            raise SpecError(f"{self.name}: term {i}: {len(region) - at} bytes after its positions")
        return out

    def positions_of_block(self, i: int, k: int) -> list[list[int]]:
        """The positions of postings ``128 k`` to ``128 k + 127`` of term ``i`` alone, found
        through the skip list (what a phrase query reads for one candidate document)."""
        _docs, freqs = self.postings(i)
        region, skips, _counts = self._region(i)
        at = 4 * len(skips) + sum(skips[:k])
        return self._block_positions(region, at, freqs[k * POSITION_BLOCK:(k + 1) * POSITION_BLOCK])[0]


class TermsFile:
    def __init__(self, path: Path) -> None:
        self.file = SectionFile(path, TERMS_MAGIC)
        if self.file.directory.get("kind") != "terms":
            raise SpecError(f"{path.name}: kind {self.file.directory.get('kind')!r}")
        self.fields = {spec["name"]: FieldTerms(self.file, spec) for spec in self.file.directory["fields"]}


# -- "The documents file (.vnd)" --------------------------------------------------------------------

def byte_to_length(code: int) -> int:
    """A field length from its one-byte code ("Field lengths")."""
    return int(round((1.033 ** code - 1) * 27))


class DocumentsFile:
    def __init__(self, path: Path) -> None:
        self.file = f = SectionFile(path, DOCS_MAGIC)
        d = f.directory
        if d.get("kind") != "documents":
            raise SpecError(f"{path.name}: kind {d.get('kind')!r}")
        self.doc_count: int = d["doc_count"]
        self.length_fields: list[str] = d["lengths"]
        self.columns: dict[str, dict[str, Any]] = d["columns"]
        self._block_starts = f.array("stored.block_starts")
        self._block_offsets = f.array("stored.block_offsets")
        self._stored = f.raw("stored.data")

    def block_lines(self, b: int) -> list[bytes]:
        data = self._stored[int(self._block_offsets[b]):int(self._block_offsets[b + 1])]
        lines = zlib.decompress(data).split(b"\n")
        if len(lines) != int(self._block_starts[b + 1] - self._block_starts[b]):
            raise SpecError(f"stored block {b}: {len(lines)} lines")
        return lines

    def stored(self, docnum: int) -> dict[str, Any]:
        """The stored fields of the segment's document ``docnum`` (deleted ones too)."""
        starts = self._block_starts
        lo, hi = 0, len(starts) - 1  # the block b with starts[b] <= docnum < starts[b + 1]
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if starts[mid] <= docnum:
                lo = mid
            else:
                hi = mid
        return json.loads(self.block_lines(lo)[docnum - int(starts[lo])])

    def length(self, fieldname: str, docnum: int) -> int:
        if fieldname not in self.length_fields:
            return 0
        return byte_to_length(int(self.file.array(f"lengths.{fieldname}")[docnum]))

    def column(self, fieldname: str, docnum: int) -> bytes | int | float | None:
        """The column value of a document: bytes, or an int or float (None: no such column)."""
        spec = self.columns.get(fieldname)
        if spec is None:
            return None
        if spec["kind"] == "bytes":
            offsets = self.file.array(f"column.{fieldname}.offsets")
            data = self.file.raw(f"column.{fieldname}.data")
            return bytes(data[int(offsets[docnum]):int(offsets[docnum + 1])])
        value = self.file.array(f"column.{fieldname}")[docnum]
        return int(value) if spec["kind"] == "int" else float(value)


# -- "Term bytes" --------------------------------------------------------------------------------

def numeric_term(btext: bytes) -> tuple[int, int]:
    """A term of an unsigned 32-bit NUMERIC field (``year``): its shift and ``value >> shift``."""
    if len(btext) != 5:
        raise SpecError(f"{btext!r} is not a 32-bit NUMERIC term")
    return btext[0], struct.unpack(">I", btext[1:])[0]


def numeric_bytes(value: int, shift: int = 0) -> bytes:
    return bytes([shift]) + struct.pack(">I", value >> shift)


# -- the index ------------------------------------------------------------------------------------------

class Format3Index:
    """An index folder: its metadata, table of contents and segments' files."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.meta = read_meta(self.folder)
        if self.meta["format_version"] != 3:
            raise SpecError(f"{self.folder}: format {self.meta['format_version']}, not 3")
        self.toc = read_toc(self.folder)
        self.terms = [TermsFile(self.folder / f"{s.name}.vnt") for s in self.toc.segments]
        self.docs = [DocumentsFile(self.folder / f"{s.name}.vnd") for s in self.toc.segments]
        for seg, docs in zip(self.toc.segments, self.docs):
            if docs.doc_count != seg.doccount:
                raise SpecError(f"{seg.name}.vnd: {docs.doc_count} documents, the TOC says {seg.doccount}")

    def locate(self, docnum: int) -> tuple[int, int]:
        """Index-wide document number -> (segment index, document number in the segment)."""
        for k, seg in enumerate(self.toc.segments):
            if docnum < seg.base + seg.doccount:
                return k, docnum - seg.base
        raise SpecError(f"no document {docnum}")

    def term_bytes(self, fieldname: str, text: str) -> bytes:
        return numeric_bytes(int(text)) if fieldname == "year" else text.encode("utf-8")


def _show_term(ix: Format3Index, fieldname: str, text: str) -> None:
    btext = ix.term_bytes(fieldname, text)
    for seg, terms in zip(ix.toc.segments, ix.terms):
        field_terms = terms.fields.get(fieldname)
        i = field_terms.find(btext) if field_terms is not None else -1
        if field_terms is None or i < 0:
            continue
        docs, freqs = field_terms.postings(i)
        positions = field_terms.positions(i) if field_terms.kind == "positions" else [None] * len(docs)
        for d, f, p in zip(docs, freqs, positions):
            gone = " (deleted)" if d in seg.deleted else ""
            print(f"{seg.name}: doc {seg.base + d}{gone} freq {f} weight {f * field_terms.boost}"
                  + (f" positions {p}" if p is not None else ""))


def _show_doc(ix: Format3Index, docnum: int) -> None:
    k, d = ix.locate(docnum)
    seg, docs = ix.toc.segments[k], ix.docs[k]
    print(f"{seg.name} document {d}" + (" (deleted)" if d in seg.deleted else ""))
    print(json.dumps(docs.stored(d), ensure_ascii=False, indent=1))
    for name in docs.length_fields:
        print(f"length {name}: {docs.length(name, d)}")
    for name in sorted(docs.columns):
        print(f"column {name}: {docs.column(name, d)!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index")
    parser.add_argument("--field")
    parser.add_argument("--term")
    parser.add_argument("--prefix")
    parser.add_argument("--doc", type=int)
    args = parser.parse_args(argv)
    try:
        ix = Format3Index(args.index)
        if args.doc is not None:
            _show_doc(ix, args.doc)
        elif args.field and args.term is not None:
            _show_term(ix, args.field, args.term)
        elif args.field:
            prefix = (args.prefix or "").encode("utf-8")
            found = sorted({t for terms in ix.terms if args.field in terms.fields
                            for t in terms.fields[args.field].prefix(prefix)})
            for t in found:
                print(t.decode("utf-8", "backslashreplace") if args.field != "year" else numeric_term(t))
        else:
            print(f"generation {ix.toc.generation}, Whoosh {'.'.join(map(str, ix.toc.release))}, "
                  f"{json.dumps({k: ix.meta[k] for k in ('analyzer_version', 'schema_version', 'format_version')})}")
            for seg, terms in zip(ix.toc.segments, ix.terms):
                print(f"{seg.name}: {seg.doccount} documents ({len(seg.deleted)} deleted), field lengths "
                      f"{seg.fieldlengths}")
                print("  " + ", ".join(f"{n} {f.kind} {f.count}" for n, f in sorted(terms.fields.items())))
    except (SpecError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
