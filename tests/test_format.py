"""Format 3 (``index/format.py``): what proves it is a Whoosh codec of vnsearch's own.

- its varints are unsigned LEB128 and its arrays read back what was written;
- a plain Whoosh index written by Whoosh's own ``SegmentWriter`` with :class:`ArrayCodec` answers
  every kind of Whoosh query, and every reader statistic, as the same index written with Whoosh's
  default codec (so it plugs into Whoosh's public codec API, merges and deletions included);
- damaged, truncated, empty or foreign segment files give one :class:`FormatError` line naming the
  file (the CLI prints it and exits non-zero), never another exception;
- a vnsearch index opened by a plain ``whoosh.index.open_dir`` searcher gives the matches and BM25F
  scores of vnsearch's own evaluator;
- positions are stored only for the schema's positional fields;
- the format 3 code imports no concrete Whoosh format module and touches no private Whoosh name.

Text: the XQuAD-vi paragraphs of ``tests/data/ops/xquad_vi_excerpt.jsonl`` (CC BY-SA, see
``tests/data/ops/SOURCES.md``), ``tests/data/fixture_docs.jsonl`` and, for the vnsearch index,
``real_text.wiki_documents()`` from ``../shared/data``.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from whoosh import fields, sorting
from whoosh import index as wi
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.formats import Positions

from index import Index
from index.format import (DOCS_EXT, TERMS_EXT, ArrayCodec, ArrayDocReader, ArrayTermsReader, FormatError,
                          decode_varints, encode_varints)
from index._schema import build_schema
from real_text import needs_data, wiki_documents

ROOT = Path(__file__).resolve().parents[1]
XQUAD = Path(__file__).parent / "data" / "ops" / "xquad_vi_excerpt.jsonl"


# -- varints ---------------------------------------------------------------------------------------

def _leb128(value: int) -> bytes:
    """Unsigned LEB128, one byte at a time (the reference the vectorised encoder must equal)."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


EDGES = [0, 1, 127, 128, 255, 16_383, 16_384, 2**21, 2**32 - 1, 2**32, 2**62, 2**63 - 1]


def test_varints_are_leb128_and_round_trip_edge_values() -> None:
    assert encode_varints(np.array([0, 127, 128])) == b"\x00\x7f\x80\x01"
    for value in EDGES:
        data = encode_varints(np.array([value], dtype=np.uint64))
        assert data == _leb128(value), value
        assert decode_varints(np.frombuffer(data, dtype=np.uint8)).tolist() == [value]
    data = encode_varints(np.array(EDGES, dtype=np.uint64))
    assert data == b"".join(map(_leb128, EDGES))
    assert decode_varints(np.frombuffer(data, dtype=np.uint8)).tolist() == EDGES
    assert encode_varints(np.zeros(0, dtype=np.int64)) == b""
    assert decode_varints(np.zeros(0, dtype=np.uint8)).tolist() == []


@pytest.mark.parametrize("seed", range(4))
def test_varints_round_trip_random_arrays(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 63, size=3000)  # every byte count from 1 to 9
    values = [int(rng.integers(0, 2**int(b))) for b in bits]
    data = encode_varints(np.array(values, dtype=np.uint64))
    assert data == b"".join(map(_leb128, values))
    assert decode_varints(np.frombuffer(data, dtype=np.uint8)).tolist() == values


def test_a_varint_cut_short_is_a_format_error() -> None:
    data = encode_varints(np.array([5, 300, 2**40], dtype=np.uint64))
    with pytest.raises(FormatError):
        decode_varints(np.frombuffer(data[:-1], dtype=np.uint8))


# -- postings as arrays, through the public readers ------------------------------------------------

def _random_postings(rng: np.random.Generator, nterms: int) -> list[tuple[bytes, list[int], list[int], list[list[int]]]]:
    """Terms with ascending documents (gaps up to 2**22: document numbers stay below 2**32, as a
    segment's do) and positions (gaps up to 2**20)."""
    words = sorted({"".join(rng.choice(list("aăâbcdđeêghiklmnoôơpqrstuưvxy"), size=int(rng.integers(1, 6))))
                    for _ in range(nterms)})
    out = []
    for word in words:
        df = int(rng.choice([1, 1, 2, 3, 50, 400]))
        gaps = rng.choice([1, 2, 127, 128, 255, 256, 65_535, 65_536, 70_000, 2**22], size=df)
        docs = np.cumsum(gaps) - gaps[0] + int(rng.integers(0, 3))
        freqs = rng.choice([1, 1, 2, 7, 200], size=df)
        positions = [np.cumsum(rng.choice([0, 1, 3, 200, 2**20], size=f) + np.r_[0, np.ones(f - 1, dtype=int)]).tolist()
                     for f in freqs.tolist()]
        out.append((word.encode("utf-8"), docs.tolist(), freqs.tolist(), positions))
    return out


@pytest.mark.parametrize("storage_kind", ["file", "ram"])
def test_arrays_written_by_add_terms_read_back_term_by_term_and_in_ranges(tmp_path: Path, storage_kind: str) -> None:
    rng = np.random.default_rng(11)
    storage = FileStorage(str(tmp_path)) if storage_kind == "file" else RamStorage()
    codec = ArrayCodec()
    segment = codec.new_segment(storage, "MAIN")
    fieldobjs = {"body": fields.TEXT(phrase=True), "tags": fields.KEYWORD(scorable=True)}
    expected = {name: _random_postings(rng, 150) for name in fieldobjs}
    writer = codec.field_writer(storage, segment)
    for name, terms in expected.items():
        for lo in range(0, len(terms), 41):  # several chunks of ascending terms
            chunk = terms[lo:lo + 41]
            starts = np.cumsum([0] + [len(d) for _t, d, _f, _p in chunk])
            docs = np.array([x for _t, d, _f, _p in chunk for x in d])
            freqs = np.array([x for _t, _d, f, _p in chunk for x in f])
            positions = np.array([x for _t, _d, _f, ps in chunk for p in ps for x in p])
            writer.add_terms(name, fieldobjs[name], [t for t, *_ in chunk], starts, docs, freqs,
                             positions if name == "body" else None)
    writer.close()
    reader = codec.terms_reader(storage, segment)
    assert isinstance(reader, ArrayTermsReader)
    for name, terms in expected.items():
        field = reader.field(name)
        assert field is not None and field.count == len(terms) and field.has_positions == (name == "body")
        assert field.terms() == [t for t, *_ in terms]
        for i, (btext, docs, freqs, positions) in enumerate(terms):
            assert field.find(btext) == i and field.doc_frequency(i) == len(docs)
            got_docs, got_freqs = field.postings(i)
            assert (got_docs.tolist(), got_freqs.tolist()) == (docs, freqs), btext
            if name == "body":
                assert field.positions(i, got_freqs).tolist() == [x for p in positions for x in p]
        # Ranges of terms decode at once, each term's documents and each posting's positions
        # restarting from their first gap.
        for lo, hi in [(0, len(terms)), (0, 1), (5, 6), (17, 103), (len(terms) - 3, len(terms)), (9, 9)]:
            dfs, docs, freqs, positions = field.range_postings(lo, hi, True)
            part = terms[lo:hi]
            assert dfs.tolist() == [len(d) for _t, d, _f, _p in part]
            assert docs.tolist() == [x for _t, d, _f, _p in part for x in d]
            assert freqs.tolist() == [x for _t, _d, f, _p in part for x in f]
            if name == "body":
                assert positions is not None
                assert positions.tolist() == [x for _t, _d, _f, ps in part for p in ps for x in p]
        first = terms[0][0][:1]
        lo, hi = field.prefix_range(first)
        assert [t for t, *_ in terms[lo:hi]] == [t for t, *_ in terms if t.startswith(first)] != []
    reader.close()


# -- a plain Whoosh index: ArrayCodec against Whoosh's default codec --------------------------------

def _xquad_docs() -> list[dict[str, Any]]:
    docs = []
    for i, line in enumerate(XQUAD.read_text(encoding="utf-8").splitlines()):
        rec = json.loads(line)
        title = rec["title"].replace("_", " ")
        docs.append({"id": rec["id"], "body": rec["text"], "tags": title.lower(), "n": len(rec["text"]) % 1000,
                     "title": title})
    return docs


def _plain_schema() -> fields.Schema:
    return fields.Schema(id=fields.ID(stored=True, unique=True, sortable=True),
                         body=fields.TEXT(phrase=True, stored=True),
                         tags=fields.KEYWORD(scorable=True, lowercase=True, commas=False),
                         n=fields.NUMERIC(int, sortable=True, stored=True),
                         title=fields.STORED())


def _plain_index(path: Path, codec: ArrayCodec | None) -> Any:
    """The XQuAD-vi excerpt in two segments (two commits, nothing merged)."""
    path.mkdir()
    ix = wi.create_in(str(path), _plain_schema())
    docs = _xquad_docs()
    for part in (docs[:70], docs[70:]):
        writer = ix.writer(codec=codec) if codec is not None else ix.writer()
        for doc in part:
            writer.add_document(**doc)
        writer.commit(merge=False)
    return ix


QUERIES: list[wq.Query] = [
    wq.Term("body", "của"),
    wq.Term("body", "bóng"),
    wq.Term("tags", "super"),
    wq.Or([wq.Term("body", "sông"), wq.Term("body", "thành"), wq.Term("tags", "warsaw")]),
    wq.And([wq.Term("body", "thành"), wq.Term("body", "phố")]),
    wq.Phrase("body", ["thành", "phố"]),
    wq.Phrase("body", ["đại", "học"]),
    wq.Phrase("body", ["thành", "lớn"], slop=3),
    wq.Phrase("body", ["thành", "phố", "nhất"], slop=2),
    wq.Phrase("body", ["là", "của"], slop=3),  # 18 documents; 1 with slop 1
    wq.Prefix("body", "th"),
    wq.Prefix("tags", "super"),
    wq.Wildcard("body", "ng*i"),
    wq.Wildcard("body", "*ng"),
    wq.NumericRange("n", 100, 400),
    wq.NumericRange("n", None, 250),
    wq.And([wq.Term("body", "và"), wq.Not(wq.Term("body", "của"))]),
    wq.AndNot(wq.Term("body", "năm"), wq.Term("tags", "super")),
    wq.Not(wq.Term("body", "và")),
]
SEARCHES: list[dict[str, Any]] = [
    {"limit": None},
    {"limit": 5},  # Whoosh's top-k path, which prunes by the term infos' bounds
    {"limit": None, "sortedby": "n"},
    {"limit": None, "sortedby": "n", "reverse": True},
    {"limit": 10, "sortedby": "id", "reverse": True},
    {"limit": None, "sortedby": [sorting.FieldFacet("n", reverse=True), sorting.FieldFacet("id")]},
]


def _hits(ix: Any, q: wq.Query, options: dict[str, Any]) -> list[tuple[str, float, int]]:
    """(id, score, docnum) of each hit; a sorted search's "score" is its sort key, not compared."""
    with ix.searcher() as s:
        return [(hit["id"], 0.0 if "sortedby" in options else hit.score, hit.docnum)
                for hit in s.search(q, **options)]


def _same_answers(ours: Any, theirs: Any) -> int:
    """Asserts every query gives the same hits, all and top 5, and the same order sorted by a
    column; returns how many hits were compared."""
    compared = 0
    for q in QUERIES:
        for options in SEARCHES[:3]:
            expected = _hits(theirs, q, options)
            got = _hits(ours, q, options)
            assert [(i, d) for i, _s, d in got] == [(i, d) for i, _s, d in expected], (q, options)
            assert [s for _i, s, _d in got] == pytest.approx([s for _i, s, _d in expected], rel=1e-12), (q, options)
            compared += len(got)
    return compared


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    root = tmp_path_factory.mktemp("plain")
    return _plain_index(root / "array", ArrayCodec()), _plain_index(root / "w3", None)


def test_the_plain_index_is_written_in_format_3(plain: tuple[Any, Any]) -> None:
    ours, _theirs = plain
    names = os.listdir(ours.storage.folder)
    with ours.reader() as r:
        leaves = [leaf for leaf, _offset in r.leaf_readers()]
        assert len(leaves) == 2 and all(isinstance(leaf.codec(), ArrayCodec) for leaf in leaves)
        for leaf in leaves:
            segid = leaf.segment().segment_id()
            assert sorted(n for n in names if n.startswith(segid)) == [segid + DOCS_EXT, segid + TERMS_EXT]


@pytest.mark.parametrize("q", QUERIES, ids=str)
def test_plain_whoosh_queries_give_the_same_hits_and_scores_as_whooshs_codec(plain: tuple[Any, Any],
                                                                           q: wq.Query) -> None:
    ours, theirs = plain
    for options in SEARCHES:
        expected = _hits(theirs, q, options)
        got = _hits(ours, q, options)
        assert [(i, d) for i, _s, d in got] == [(i, d) for i, _s, d in expected], options
        assert [s for _i, s, _d in got] == pytest.approx([s for _i, s, _d in expected], rel=1e-12), options
    assert _hits(theirs, q, {"limit": None}), "the query must match something for the comparison to mean anything"


def _reader_facts(ix: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    with ix.reader() as r:
        terms = list(r.all_terms())
        facts["terms"] = terms
        facts["stats"] = [(r.doc_frequency(f, t), r.frequency(f, t)) for f, t in terms]
        facts["postings"] = {}
        for f, t in terms:
            m = r.postings(f, t)
            rows = []
            while m.is_active():
                # value(): positions in Whoosh's encoding; no value for an Existence posting
                # (Whoosh's codec reads None, format 3 b"")
                rows.append((m.id(), m.weight(), m.value() or None))
                m.next()
            facts["postings"][f, t] = rows
        infos = [r.term_info(f, t) for f, t in terms]
        facts["term_infos"] = [(i.doc_frequency(), i.weight(), i.max_weight(), i.min_id(), i.max_id()) for i in infos]
        facts["missing"] = (r.doc_frequency("body", "zzzqqq"), r.frequency("body", "zzzqqq"),
                            ("body", b"zzzqqq") in r)
        for name in ("body", "tags", "id", "n"):
            facts["lexicon", name] = list(r.lexicon(name))
        for name in ("body", "tags"):
            facts["lengths", name] = (r.field_length(name), r.min_field_length(name), r.max_field_length(name),
                                      [r.doc_field_length(d, name) for d in range(r.doc_count_all())])
            facts["frequent", name] = r.most_frequent_terms(name, 25)
            facts["distinctive", name] = r.most_distinctive_terms(name, 10)
        facts["stored"] = [r.stored_fields(d) for d in range(r.doc_count_all())]
        facts["all_stored"] = list(r.all_stored_fields())
        facts["counts"] = (r.doc_count(), r.doc_count_all(), sorted(r.all_doc_ids()))
        facts["columns"] = {name: list(r.column_reader(name)) for name in ("id", "n")}
        facts["expand"] = list(r.expand_prefix("body", "ng"))
    with ix.searcher() as s:
        facts["avg"] = [s.avg_field_length(name) for name in ("body", "tags")]
        facts["searcher_df"] = [s.doc_frequency("body", w) for w in ("của", "thành", "zzzqqq")]
    return facts


def test_reader_statistics_are_those_of_whooshs_codec(plain: tuple[Any, Any]) -> None:
    ours, theirs = plain
    a, b = _reader_facts(ours), _reader_facts(theirs)
    assert len(a["terms"]) > 2000 and a["stored"][0]["id"] == "xq-vi-00-00"
    assert a["missing"] == (0, 0, False)
    for key in b:
        assert a[key] == b[key], key


def test_deletions_reopened_and_a_merge_by_whooshs_writer(tmp_path: Path) -> None:
    ours, theirs = _plain_index(tmp_path / "array", ArrayCodec()), _plain_index(tmp_path / "w3", None)
    victims = ["xq-vi-00-00", "xq-vi-00-03", _xquad_docs()[100]["id"]]  # both segments
    for ix, codec in ((ours, ArrayCodec()), (theirs, None)):
        writer = ix.writer(codec=codec) if codec is not None else ix.writer()
        for victim in victims:
            writer.delete_by_term("id", victim)
        writer.commit(merge=False)
    ours, theirs = wi.open_dir(str(tmp_path / "array")), wi.open_dir(str(tmp_path / "w3"))
    with ours.searcher() as s:
        assert s.doc_count() == len(_xquad_docs()) - 3 and s.doc_count_all() == len(_xquad_docs())
        assert not s.search(wq.Term("id", victims[0])) and not s.search(wq.Or([wq.Term("id", v) for v in victims]))
        assert victims[0] not in {d["id"] for d in s.all_stored_fields()}
    assert _same_answers(ours, theirs) > 1000
    with ours.reader() as a, theirs.reader() as b:
        assert (a.doc_count(), list(a.all_doc_ids())) == (b.doc_count(), list(b.all_doc_ids()))
    # Whoosh's own merge (its writer reading both segments and writing through the codec's
    # per-posting and per-document API) drops the deleted documents in both.
    ours.writer(codec=ArrayCodec()).commit(optimize=True)
    theirs.writer().commit(optimize=True)
    ours, theirs = wi.open_dir(str(tmp_path / "array")), wi.open_dir(str(tmp_path / "w3"))
    with ours.reader() as r:
        assert len(r.leaf_readers()) == 1 and isinstance(r.leaf_readers()[0][0].codec(), ArrayCodec)
        assert not r.has_deletions() and r.doc_count_all() == len(_xquad_docs()) - 3
    assert _same_answers(ours, theirs) > 1000
    a, b = _reader_facts(ours), _reader_facts(theirs)
    for key in b:
        assert a[key] == b[key], key


# -- damaged, truncated, empty and foreign segment files -------------------------------------------

FIXTURE_DOCS = Path(__file__).parent / "data" / "fixture_docs.jsonl"


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vnsearch index of the 25 fixture documents, one segment."""
    from corpus import Document

    path = tmp_path_factory.mktemp("small") / "ix"
    docs = [Document.from_dict(json.loads(line)) for line in FIXTURE_DOCS.read_text(encoding="utf-8").splitlines()]
    Index.create(path).add_documents(docs, workers=1)
    return path


def _segment_file(path: Path, ext: str) -> Path:
    (found,) = [p for p in path.iterdir() if p.suffix == ext]
    return found


def _open_and_search(path: Path) -> int:
    """Open the index with Whoosh's own reader and search it with vnsearch; the hit count."""
    from searcher import Searcher

    with wi.open_dir(str(path)).reader() as r:
        list(r.all_stored_fields())
    with Searcher.open(path) as s:
        return s.search("nông thôn", suggest=False).total + s.search('"Bắc Sơn"', suggest=False).total


def _damaged(small_index: Path, tmp_path: Path, ext: str, damage: Callable[[bytes], bytes]) -> tuple[Path, str]:
    path = tmp_path / "ix"
    shutil.copytree(small_index, path)
    target = _segment_file(path, ext)
    target.write_bytes(damage(target.read_bytes()))
    return path, target.name


def _trailer_flip(k: int) -> Callable[[bytes], bytes]:
    return lambda data: data[:len(data) - 24 + k] + bytes([data[len(data) - 24 + k] ^ 0x41]) + data[len(data) - 23 + k:]


DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda data: b"",
    "magic only": lambda data: data[:8],
    "cut in the trailer": lambda data: data[:-1],
    "trailer cut off": lambda data: data[:-24],
    "cut in half": lambda data: data[:len(data) // 2],
    "one byte more": lambda data: data + b"\0",
    "directory offset flipped": _trailer_flip(0),
    "directory length flipped": _trailer_flip(9),
    "trailer magic flipped": _trailer_flip(20),
    "first magic flipped": lambda data: b"X" + data[1:],
    "directory not JSON": lambda data: data.replace(b'"sections"', b'"sections\x00', 1),
    "section out of the file": lambda data: _redirect(data, lambda spec: [spec[0] + 10**6, spec[1], spec[2]]),
    "section of unknown type": lambda data: _redirect(data, lambda spec: [spec[0], spec[1], "<c16"]),
    "section of partial items": lambda data: _redirect(data, lambda spec: [spec[0], spec[1] - 1, spec[2]]
                                                       if spec[2] != "|u1" else spec),
    "section missing": lambda data: _redirect(data, None),
    "foreign: JSON lines": lambda data: FIXTURE_DOCS.read_bytes()[:5000],
    "foreign: magic then text": lambda data: data[:8] + FIXTURE_DOCS.read_bytes()[:5000],
}


def _redirect(data: bytes, change: Callable[[list[Any]], list[Any]] | None) -> bytes:
    """The file with its directory rewritten: every section changed (or dropped if None), with
    a consistent trailer, as a writer with a bug would leave it."""
    offset, length, magic = struct.unpack("<QQ8s", data[-24:])
    info = json.loads(data[offset:offset + length])
    if change is None:
        info["sections"] = dict(list(info["sections"].items())[1:])
    else:
        info["sections"] = {k: change(v) for k, v in info["sections"].items()}
    directory = json.dumps(info).encode()
    return data[:offset] + directory + struct.pack("<QQ8s", offset, len(directory), magic)


@pytest.mark.parametrize("ext", [TERMS_EXT, DOCS_EXT])
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_segment_file_is_one_format_error_naming_it(small_index: Path, tmp_path: Path, ext: str,
                                                              damage: str) -> None:
    assert _open_and_search(small_index) > 0
    path, name = _damaged(small_index, tmp_path, ext, DAMAGES[damage])
    with pytest.raises(FormatError) as caught:
        _open_and_search(path)
    message = str(caught.value)
    assert message.startswith(name + ":") and "\n" not in message, message


def test_the_cli_prints_a_damaged_segment_as_one_line(small_index: Path, tmp_path: Path) -> None:
    from searcher.cli import main

    path, name = _damaged(small_index, tmp_path, TERMS_EXT, DAMAGES["cut in half"])
    result = CliRunner().invoke(main, ["search", "nông thôn", "--index", str(path)])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: " + name), result.output
    assert "Traceback" not in result.output and "bug" not in result.output


def _fuzz_positions(data: bytes) -> Iterator[int]:
    offset = struct.unpack("<QQ8s", data[-24:])[0]
    return iter(range(offset, len(data), 5))  # a fifth of the directory's and trailer's bytes


@pytest.mark.parametrize("ext", [TERMS_EXT, DOCS_EXT])
def test_any_flipped_byte_of_the_directory_gives_a_format_error_or_a_working_index(small_index: Path,
                                                                                    tmp_path: Path, ext: str) -> None:
    path = tmp_path / "ix"
    shutil.copytree(small_index, path)
    target = _segment_file(path, ext)
    data = target.read_bytes()
    outcomes: dict[str, int] = {}
    for k, at in enumerate(_fuzz_positions(data)):
        damaged = bytearray(data)
        damaged[at] ^= (0x01, 0x20, 0x80, 0x0F)[k % 4]
        target.write_bytes(bytes(damaged))
        try:
            _open_and_search(path)
            outcome = "works"
        except FormatError as exc:
            assert "\n" not in str(exc) and target.name in str(exc)
            outcome = "FormatError"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # A flip can leave valid JSON with other numbers (a boost, a default): that index still works.
    assert outcomes.get("FormatError", 0) > 3 * outcomes.get("works", 0), outcomes


# -- a vnsearch index, read by a plain Whoosh searcher ---------------------------------------------

VN_QUERIES = [
    "nông thôn mới", "bắc sơn", "bac son", "sông", "Warsaw", "hòa bình", "kinh tế xã hội",
    "ai là người đã thành lập trường đại học này vào năm nào", '"thành phố"', '"thanh pho"', '"đại học" -warsaw',
    '"nam bộ"~3', '"dân số của thành phố"', "kinh tế AND xã hội", "+sông +núi", "thành ph*", "bac*",
    'title:"Super Bowl"', "nông nghiệp OR công nghiệp", "năm 2016", "chiến tranh -thế",
    "source:vi.wikipedia.org sông", "source:xquad-vi thành phố",
]


@pytest.fixture(scope="module")
def vn_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 200 real documents in four segments, some replaced (deletions in earlier segments)."""
    from dataclasses import replace

    docs = list(wiki_documents())[::2]
    path = tmp_path_factory.mktemp("vn") / "ix"
    ix = Index.create(path)
    ix.add_documents(docs, workers=1, batch_size=50)
    ix.add_documents([replace(d, text=d.text + " Bản sửa đổi.") for d in docs[10:60:7]], workers=1)
    return path


def _whoosh_hits(s: Any, q: wq.Query) -> dict[str, float]:
    """Plain Whoosh's hits by stored id (what the evaluator must give)."""
    if type(q) is wq.AndNot:
        # Whoosh's AndNotMatcher lets some excluded documents through (see tests/test_fast.py);
        # the evaluator subtracts exactly, so compare with that.
        excluded = {s.stored_fields(d)["id"] for d in q.b.docs(s)}
        return {i: score for i, score in _whoosh_hits(s, q.a).items() if i not in excluded}
    return {hit["id"]: hit.score for hit in s.search(q, limit=None, terms=False, optimize=False)}


@needs_data
def test_a_plain_whoosh_searcher_gives_vnsearchs_matches_and_scores(vn_index: Path) -> None:
    from searcher import Searcher
    from searcher._query import parse_query

    plain = wi.open_dir(str(vn_index))  # Whoosh's own open_dir, searcher and default BM25F
    with Searcher.open(vn_index) as ours, plain.searcher() as theirs:
        readers = [r for r, _offset in theirs.reader().leaf_readers()]
        assert len(readers) > 3 and any(r.has_deletions() for r in readers)
        assert all(isinstance(r.codec(), ArrayCodec) for r in readers)
        evaluator = ours._evaluator()
        ids = ours._evaluator().column_values  # docnum -> id through vnsearch's own column read
        matched = 0
        for text in VN_QUERIES:
            q = ours._compiler().compile(parse_query(text)).query
            m = evaluator.matches(q)
            got = dict(zip(ids("id", m.ids), m.scores.tolist()))
            expected = _whoosh_hits(theirs, q)
            assert sorted(got) == sorted(expected), text
            for doc_id, score in expected.items():
                assert got[doc_id] == pytest.approx(score, rel=1e-9, abs=1e-12), (text, doc_id)
            matched += bool(expected)
        assert matched >= len(VN_QUERIES) - 1, "the queries must match something"


def _directory(path: Path) -> dict[str, Any]:
    """A segment file's directory, read as the specification describes it (trailer, then JSON)."""
    data = path.read_bytes()
    offset, length, magic = struct.unpack("<QQ8s", data[-24:])
    assert data[:8] == magic
    return json.loads(data[offset:offset + length])


def test_positions_are_stored_only_for_the_schemas_positional_fields(small_index: Path) -> None:
    schema = build_schema()
    positional = {name for name, field in schema.items() if isinstance(field.format, Positions)}
    assert positional == {"syl", "fold", "author"}  # phrases are searched in these three only
    directory = _directory(_segment_file(small_index, TERMS_EXT))
    sections = directory["sections"]
    fields_ = {spec["name"]: spec for spec in directory["fields"]}
    assert positional <= set(fields_) and {"title", "text", "pairs", "id"} <= set(fields_)
    for name, spec in fields_.items():
        has = {f"f{spec['number']}.positions", f"f{spec['number']}.position_offsets"} & set(sections)
        assert (spec["kind"] == "positions") == (name in positional) == bool(has), name
        assert f"f{spec['number']}.postings" in sections
    with wi.open_dir(str(small_index)).searcher() as s:  # and Whoosh's phrases work on them
        assert s.search(wq.Phrase("fold", ["bac", "son"])) and s.search(wq.Phrase("syl", ["bắc", "sơn"]))


# -- no concrete Whoosh format, no private Whoosh name ------------------------------------------------

FORMAT3_CODE = ["index/format.py", "index/_segments.py", "index/_merge.py", "index/postings.py", "searcher/_fast.py"]
FORBIDDEN_MODULES = ("whoosh.codec.whoosh3", "whoosh.codec.whoosh2", "whoosh.filedb.compound",
                     "whoosh.filedb.filetables")
# Our own private names read on objects other than self (each is a class of ours, never Whoosh's).
OWN_PRIVATE = {
    ("index/format.py", "_block_starts"), ("index/format.py", "_block_bytes"),  # ArrayDocReader, by ArrayDocWriter
    ("index/format.py", "_block_lines"),  # ArrayDocReader, by ArrayDocWriter.append_documents
    ("index/format.py", "_positions"),  # _Values, by ArrayMatcher
    ("index/_merge.py", "_next"),  # _SourceField, by the merge loop
}
# Private names of a Whoosh base class that a subclass of ours reads or sets on self, each because
# Whoosh's own code reads it there: a new one must be justified here.
INHERITED_PRIVATE = {
    ("ArrayMatcher", "_i"), ("ArrayMatcher", "_values"),  # ListMatcher's cursor and values (value_as)
    ("ArrayTermInfo", "_df"),  # TermInfo's document frequency, which doc_frequency() returns
    # TermInfo's statistics, which its weight(), max_weight(), min_length() and max_length() return
    # (read-only properties computed from the postings, or the length bounds):
    ("ArrayTermInfo", "_weight"), ("ArrayTermInfo", "_maxweight"),
    ("ArrayTermInfo", "_minlength"), ("ArrayTermInfo", "_maxlength"),
    ("ArrayTermInfo", "_minid"), ("ArrayTermInfo", "_maxid"),  # set by whoosh.reading.combine_terminfos
    ("ArrayColumnReader", "_doccount"),  # ColumnReader.__len__ reads it
}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_format_3_code_imports_no_concrete_whoosh_format_and_no_private_name() -> None:
    """An AST scan of the format 3 code: no import of Whoosh's concrete formats (W2, W3, compound
    files, hash tables), no ``from whoosh... import _name``, no ``x._name`` on anything but
    ``self``/``cls`` except the listed private helpers of our own classes (``OWN_PRIVATE``)."""
    problems = []
    for rel in FORMAT3_CODE:
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("whoosh"):
                names = [f"{node.module}.{a.name}" for a in node.names]
                problems += [f"{rel}:{node.lineno}: imports {n}" for n in names
                             if n.startswith(FORBIDDEN_MODULES) or _private(n.rsplit(".", 1)[1])]
                if node.module.startswith(FORBIDDEN_MODULES) or any(_private(p) for p in node.module.split(".")):
                    problems.append(f"{rel}:{node.lineno}: imports from {node.module}")
            elif isinstance(node, ast.Import):
                problems += [f"{rel}:{node.lineno}: imports {a.name}" for a in node.names
                             if a.name.startswith(FORBIDDEN_MODULES)]
            elif isinstance(node, ast.Attribute):
                if ast.unparse(node).startswith(FORBIDDEN_MODULES):
                    problems.append(f"{rel}:{node.lineno}: uses {ast.unparse(node)}")
                owner = node.value.id if isinstance(node.value, ast.Name) else None
                if _private(node.attr) and owner not in ("self", "cls") and (rel, node.attr) not in OWN_PRIVATE:
                    problems.append(f"{rel}:{node.lineno}: reads {ast.unparse(node)}")
    assert problems == []


def _whoosh_private_names(cls: type) -> set[str]:
    """Private attribute and method names Whoosh's classes in ``cls``'s ancestry use on self."""
    import inspect
    import textwrap

    names: set[str] = set()
    for klass in cls.__mro__[1:]:
        if not klass.__module__.startswith("whoosh."):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
            elif isinstance(node, ast.FunctionDef):
                names.add(node.name)
    return {n for n in names if _private(n)}


def test_subclasses_of_whoosh_classes_touch_only_the_listed_private_state_of_their_bases() -> None:
    """``self._name`` in a class of ours where a Whoosh ancestor uses ``_name`` itself: exactly the
    pairs of ``INHERITED_PRIVATE``, each there because Whoosh's own code reads or sets it."""
    import importlib

    found = set()
    for rel in FORMAT3_CODE:
        module = importlib.import_module(rel[:-3].replace("/", "."))
        for node in ast.parse((ROOT / rel).read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ClassDef):
                continue
            theirs = _whoosh_private_names(getattr(module, node.name))
            for sub in ast.walk(node):
                if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == "self" \
                        and sub.attr in theirs:
                    found.add((node.name, sub.attr))
                elif isinstance(sub, ast.FunctionDef) and sub.name in theirs:
                    found.add((node.name, sub.name))
    assert found == INHERITED_PRIVATE


def test_a_new_index_names_only_public_classes_of_ours(tmp_path: Path) -> None:
    """The table of contents pickles the schema and the segment list; every class of ours it
    names is at a public import path (no ``_module``), so that moving private code never makes
    an archive unreadable."""
    import re

    from corpus import Document
    from index import Index

    ix = Index.create(tmp_path / "ix")
    ix.add_documents([Document(id="a", title="Bắc Sơn", text="Xây dựng nông thôn mới ở Bắc Sơn.")], workers=1)
    data = max((tmp_path / "ix").glob("_MAIN_*.toc")).read_bytes()
    named = {m.group(1).decode() for m in re.finditer(rb"c([A-Za-z_][\w.]*)\n[A-Za-z_]\w*\n", data)}
    # Protocol 4+: SHORT_BINUNICODE module, (MEMOIZE), SHORT_BINUNICODE name, (MEMOIZE), STACK_GLOBAL
    for m in re.finditer(rb"\x8c(.)", data, re.S):
        text = data[m.end():m.end() + m.group(1)[0]]
        if re.fullmatch(rb"[a-z_][\w]*(\.[\w]+)+|[a-z]+", text):
            named.add(text.decode())
    ours = {name for name in named if name.split(".")[0] in ("corpus", "analyzers", "index", "searcher")}
    assert {"analyzers", "analyzers.whoosh_adapter", "index.format"} <= ours
    assert not [name for name in ours if any(part.startswith("_") for part in name.split("."))], ours


def test_a_segment_file_gone_from_the_folder_is_one_line_naming_it(tmp_path: Path) -> None:
    """A file the table of contents lists but the folder lacks: the index is damaged (a commit
    that removed it while the searcher opened would have been retried). One line, exit 1."""
    from click.testing import CliRunner

    from corpus import Document
    from index import Index
    from index.format import MissingFileError
    from searcher import Searcher
    from searcher.cli import main

    path = tmp_path / "ix"
    docs = [Document(id=f"d{i}", title="Bắc Sơn", text=f"Xây dựng nông thôn mới ở Bắc Sơn, năm {2000 + i}.")
            for i in range(6)]
    Index.create(path).add_documents(docs, workers=1, batch_size=3)
    gone = sorted(path.glob("MAIN_*.vnd"))[0]
    gone.unlink()
    with pytest.raises(MissingFileError, match=gone.name):
        Searcher.open(path)
    result = CliRunner().invoke(main, ["search", "Bắc Sơn", "--index", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "bug" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("Error: ") and gone.name in lines[0] and "missing" in lines[0]
