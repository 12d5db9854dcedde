"""Array posting blocks (index/_blocks.py): same postings, same searches as Whoosh's own blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh import formats
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex

from analyzers import VietnameseAnalyzer
from index._analysis import analyze_document
from index._blocks import BlockCodec, BlockMatcher, decode_arrays, decode_values, encode_block
from index._codec import VnCodec
from index._schema import build_schema
from real_text import wiki_documents
from searcher._fast import FastEvaluator



@pytest.mark.parametrize("compression", [0, 3])
@pytest.mark.parametrize("fixedsize, values", [
    (None, [b"\x00\x00\x00\x02\x80\x02]q\x00(K\x01K\x05e.", b"", b"abc"]),  # positions-like
    (4, [b"\x00\x00\x00\x01", b"\x00\x00\x00\x07", b"\x00\x00\x00\x02"]),  # Frequency, 1 byte each
    (4, [b"\x00\x00\x01\x00", b"\x00\x00\x00\x07", b"\x00\x00\xff\xff"]),  # 2 bytes each
    (4, [b"\x00\x01\x00\x00", b"\xff\x00\x00\x07", b"\x00\x00\x00\x02"]),  # 4 bytes each
    (0, []),  # Existence
])
@pytest.mark.parametrize("ids", [[3, 4, 90], [3, 300, 301], [0, 70_000, 70_001]])  # 1, 2 and 4-byte deltas
def test_block_round_trip(compression: int, fixedsize: int | None, values: list[bytes], ids: list[int]) -> None:
    weights = [1.0, 2.0, 7.0]
    data = encode_block(ids, weights, values, fixedsize, compression)
    got_ids, got_weights = decode_arrays(data, 3)
    assert got_ids.tolist() == ids and got_weights.tolist() == weights
    expected = (None, None, None) if fixedsize == 0 else tuple(values)
    assert decode_values(data, 3, fixedsize) == expected


def test_unit_weights_take_no_bytes() -> None:
    ones = encode_block([1, 2], [1.0, 1.0], [], 0, 0)
    other = encode_block([1, 2], [1.0, 2.0], [], 0, 0)
    assert len(other) - len(ones) == 2  # whole weights below 256: one byte each
    assert decode_arrays(ones, 2)[1].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("weights, size", [([1.0, 2.0], 1), ([255.0, 3.0], 1), ([256.0, 3.0], 2),
                                           ([65535.0, 1.0], 2), ([65536.0, 1.0], 4), ([1.5, 1.0], 4),
                                           ([2.0, -1.0], 4)])
def test_weights_take_the_narrowest_exact_width(weights: list[float], size: int) -> None:
    data = encode_block([1, 2], weights, [], 0, 0)
    assert len(data) - len(encode_block([1, 2], [1.0, 1.0], [], 0, 0)) == 2 * size
    assert decode_arrays(data, 2)[1].tolist() == weights


def _build(path: Path, codec: object, docs: list) -> FileIndex:
    ix = FileIndex.create(FileStorage(str(path)), build_schema(), "MAIN")
    analyzer = VietnameseAnalyzer()
    writer = ix.writer(codec=codec)
    for doc in docs:
        writer.add_document(**analyze_document(analyzer, doc))
    writer.commit()
    return ix


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[FileIndex, FileIndex]:
    # Long posting lists need many documents; every third sample document keeps it quick.
    docs = list(wiki_documents())[::3]
    return (_build(tmp_path_factory.mktemp("w3"), VnCodec(), docs),
            _build(tmp_path_factory.mktemp("blocks"), BlockCodec(), docs))


QUERIES = [wq.Term("text", "thành_phố"), wq.Term("syl", "năm"), wq.Term("fold", "nam"),
           wq.Phrase("syl", ["thành", "phố"]), wq.Phrase("fold", ["nam", "bo"], slop=3),
           wq.Term("pairs", "thanh_pho"), wq.Prefix("syl", "thà"), wq.Term("source", "xquad-vi")]


@pytest.mark.parametrize("q", QUERIES, ids=str)
def test_whoosh_reads_array_blocks_as_its_own(indexes: tuple[FileIndex, FileIndex], q: wq.Query) -> None:
    w3, blocks = indexes
    with w3.searcher() as a, blocks.searcher() as b:
        expected = [(h.docnum, h.score) for h in a.search(q, limit=None)]
        got = [(h.docnum, h.score) for h in b.search(q, limit=None)]
        assert expected and got == expected
        fast = FastEvaluator(b)
        m = fast.matches(q)
        assert sorted(m.ids.tolist()) == sorted(d for d, _ in expected)
        assert dict(zip(m.ids.tolist(), m.scores.tolist())) == pytest.approx(dict(expected), rel=1e-9)


def test_positions_and_long_lists_are_in_array_blocks(indexes: tuple[FileIndex, FileIndex]) -> None:
    _w3, blocks = indexes
    with blocks.reader() as reader:
        m = reader.postings("syl", "năm")
        m = getattr(m, "child", m)  # deletions would wrap it
        assert isinstance(m, BlockMatcher)
        ids, _weights = m.block_arrays()
        assert ids.size == m._blocklength > 8 and np.all(np.diff(ids) > 0)
        poses = [formats.Positions().decode_positions(v) for v in m.block_values()[:5]]
        assert all(p == sorted(p) and p for p in poses)


def test_the_segment_builder_writes_array_blocks(tmp_path: Path) -> None:
    from index._segments import build_segment

    docs = list(wiki_documents())[::5]
    analyzer = VietnameseAnalyzer()
    schema = build_schema()
    searchers = []
    for name, codec in (("w3", VnCodec()), ("blocks", BlockCodec())):
        (tmp_path / name).mkdir()
        ix = FileIndex.create(FileStorage(str(tmp_path / name)), schema, "MAIN")
        segment = build_segment(ix.storage, schema, codec, "MAIN", "seg" + name,
                                (analyze_document(analyzer, d) for d in docs))
        TOC(schema, [segment], 1).write(ix.storage, "MAIN")
        searchers.append(FileIndex(ix.storage, indexname="MAIN").searcher())
    a, b = searchers
    m = b.reader().postings("syl", "năm")
    assert isinstance(getattr(m, "child", m), BlockMatcher)
    for q in QUERIES:
        expected = [(h.docnum, h.score) for h in a.search(q, limit=None)]
        assert expected and [(h.docnum, h.score) for h in b.search(q, limit=None)] == expected, q
    for s in searchers:
        s.close()


def test_block_maxima_bound_every_posting_of_their_block(tmp_path: Path) -> None:
    from import_worker import load_documents

    from index import Index
    from index.postings import block_maxima, entry, has_entries, read_entry

    ix = Index.create(tmp_path / "ix")
    ix.add_documents(load_documents(400), workers=1, batch_size=400)
    checked_blocks = 0
    with FileIndex(FileStorage(str(ix.path)), indexname="MAIN").reader() as reader:  # as Whoosh reads it
        (leaf, _offset), = reader.leaf_readers()
        assert has_entries(leaf)
        frequent = [("text", t) for _n, t in leaf.most_frequent_terms("text", 3)]
        for fieldname, btext in [("syl", "của".encode()), ("syl", "năm".encode()), ("fold", b"nam"),
                                 ("pairs", b"super_bowl"), *frequent]:
            btext = btext if isinstance(btext, bytes) else btext.encode()
            info = entry(leaf, fieldname, btext)
            assert info is not None, (fieldname, btext)
            ids, weights = read_entry(leaf, fieldname, info, None)
            last, maxima = block_maxima(leaf, fieldname, info)
            assert last[-1] == ids[-1] and np.all(np.diff(last) > 0)
            block_of = np.searchsorted(last, ids)  # the block whose range holds each posting
            assert np.all(weights <= maxima[block_of] + 1e-6)
            for b in range(len(last)):  # the maximum is reached in its block
                assert np.isclose(weights[block_of == b].max(), maxima[b], rtol=1e-6)
            checked_blocks += len(last)
            assert np.isclose(maxima.max(), info.max_weight(), rtol=1e-6)
    assert checked_blocks > 10  # long lists span several blocks
