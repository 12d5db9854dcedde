"""The numpy evaluator (searcher/_fast.py) against Whoosh's own search, on real Vietnamese text.

The index is built from every other document of tests/real_text.py's ``wiki_documents()``
(Vietnamese Wikipedia and XQuAD-vi paragraphs from ../shared/data, CC BY-SA) in several
segments, with replaced documents (so segments carry deletions). For every query the evaluator
must give the same matching documents as Whoosh, the same BM25F scores, and the same top 20.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from whoosh import query as wq

from index import Index
from searcher import Searcher
from real_text import wiki_documents
from searcher._fast import FastEvaluator, Matches, _chained
from searcher._query import parse_query


QUERIES = [
    "nông thôn mới", "bắc sơn", "bac son", "super bowl", "Warsaw", "sông", "hoà bình", "hòa bình",
    "kinh tế xã hội", "thành phố lớn nhất", "dân số của thành phố là bao nhiêu người",
    "ai là người đã thành lập trường đại học này vào năm nào", "\"thành phố\"", "\"đại học\" -warsaw",
    "\"nam bộ\"~3", "kinh tế AND xã hội", "+sông +núi", "thành ph*", "title:\"Super Bowl\"",
    "nông nghiệp OR công nghiệp", "năm 2016", "chiến tranh -thế", "\"thanh pho\"", "khong co",
    "source:vi.wikipedia.org sông", "date:2020..2021", "một hai ba bốn năm sáu bảy tám",
]


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory):
    docs = list(wiki_documents())[::2]
    path = tmp_path_factory.mktemp("fast-index")
    ix = Index.create(path)
    ix.add_documents(docs, workers=1, batch_size=50)
    # Replace a few documents: their old copies stay in earlier segments, marked deleted.
    ix.add_documents([replace(d, text=d.text + " Bản sửa đổi.") for d in docs[10:60:7]], workers=1)
    with Searcher.open(path) as searcher:
        yield searcher


@pytest.fixture(scope="module")
def one(tmp_path_factory: pytest.TempPathFactory):
    """Every document in one segment: common words hold several blocks of postings."""
    path = tmp_path_factory.mktemp("one-segment")
    Index.create(path).add_documents(list(wiki_documents()), workers=1)
    with Searcher.open(path) as searcher:
        yield searcher


def _whoosh(s: Searcher, q: wq.Query) -> list[tuple[int, float]]:
    if type(q) is wq.AndNot:
        # Whoosh's AndNotMatcher lets some excluded documents through ("chiến tranh -thế" keeps a
        # document holding "thế" here); the evaluator subtracts exactly, so compare with that.
        excluded = set(q.b.docs(s._searcher))
        return [(d, score) for d, score in _whoosh(s, q.a) if d not in excluded]
    results = s._searcher.search(q, limit=None, terms=False, optimize=False)
    return [(hit.docnum, hit.score) for hit in results]


def test_the_index_has_segments_and_deletions(s: Searcher) -> None:
    readers = [r for r, _offset in s._searcher.reader().leaf_readers()]
    assert len(readers) > 1
    assert any(r.has_deletions() for r in readers)


@pytest.mark.parametrize("text", QUERIES)
def test_same_matches_scores_and_ranking_as_whoosh(s: Searcher, text: str) -> None:
    q = s._compiler().compile(parse_query(text)).query
    expected = _whoosh(s, q)
    fast = FastEvaluator(s._searcher)
    m = fast.matches(q)
    assert sorted(m.ids.tolist()) == sorted(d for d, _score in expected), text
    by_doc = dict(zip(m.ids.tolist(), m.scores.tolist()))
    for docnum, score in expected:
        assert by_doc[docnum] == pytest.approx(score, rel=1e-9, abs=1e-12), (text, docnum)
    top = fast.top(m, 20)
    assert [d for d, _ in top] == [d for d, _ in expected[:20]], text


def test_every_query_matches_something(s: Searcher) -> None:
    # Guards the test above against comparing empty results.
    empty = [t for t in QUERIES if not s.search(t, suggest=False).total]
    assert empty == ["date:2020..2021"] or not empty


def test_search_pages_and_total_come_from_the_evaluator(s: Searcher) -> None:
    q = s._compiler().compile(parse_query("thành phố")).query
    expected = _whoosh(s, q)
    first, second = s.search("thành phố", limit=5), s.search("thành phố", limit=5, page=2)
    assert first.total == second.total == len(expected)
    ids = s._evaluator().column_values("id", np.array([d for d, _ in expected[:10]]))
    assert [h.id for h in first.hits + second.hits] == ids
    assert [h.rank for h in second.hits] == [6, 7, 8, 9, 10]


def test_top_breaks_ties_by_document_number() -> None:
    m = Matches(np.array([1, 2, 3, 4, 5]), np.array([1.0, 2.0, 1.0, 2.0, 1.0]))
    assert [d for d, _ in FastEvaluator.top(m, 3)] == [2, 4, 1]
    assert FastEvaluator.top(m, 0) == []


@pytest.mark.parametrize("positions, slop, found", [
    ([[3], [4]], 1, True), ([[3], [5]], 1, False), ([[3], [5]], 2, True), ([[5], [3]], 3, False),
    ([[1, 9], [10], [11]], 1, True), ([[1], [2], [2]], 1, False), ([[4], [4]], 1, False),
])
def test_phrase_positions_follow_whooshs_ordered_span_rule(positions, slop, found) -> None:
    assert _chain(positions, slop) is found
    words = [(np.array([len(word)], dtype=np.int64), np.array(word, dtype=np.int64)) for word in positions]
    assert bool(_chained(1, words, slop)[0]) is found


def _chain(positions: list[list[int]], slop: int) -> bool:
    """The rule written plainly, for one document: ``p1 in positions[0]``, ``p2 in
    positions[1]``, ... with ``1 <= p(i+1) - p(i) <= slop`` (Whoosh's ordered span rule)."""
    reach = positions[0]
    for nxt in positions[1:]:
        reach = [p for p in nxt if any(1 <= p - r <= slop for r in reach)]
        if not reach:
            return False
    return True


@pytest.mark.parametrize("text", ["nông thôn mới", "\"thành phố\"", "bac son"])
def test_segments_of_other_codecs_are_read_through_whooshs_matchers(s: Searcher, text: str) -> None:
    q = s._compiler().compile(parse_query(text)).query
    fast, generic = FastEvaluator(s._searcher), FastEvaluator(s._searcher)
    generic._w3 = False  # as for a segment of another codec
    a, b = fast.matches(q), generic.matches(q)
    assert a.ids.tolist() == b.ids.tolist() and len(a)
    assert b.scores.tolist() == pytest.approx(a.scores.tolist(), rel=1e-12)
    assert generic.doc_frequency("syl", "phố") == fast.doc_frequency("syl", "phố") > 0


@pytest.mark.parametrize("slop", [1, 2, 3])
def test_vectorised_phrase_check_agrees_with_the_per_document_one(slop: int) -> None:
    rng = np.random.default_rng(slop)
    words = []
    for _ in range(3):
        lists = [sorted(rng.choice(80, size=int(rng.integers(1, 7)), replace=False).tolist()) for _ in range(400)]
        lists[7] = sorted(rng.choice(2_000_000, size=1200, replace=False).tolist())  # large gaps, long list
        counts = np.array([len(p) for p in lists], dtype=np.int64)
        flat = np.array([x for p in lists for x in p], dtype=np.int64)
        words.append((counts, flat, lists))
    keep = _chained(400, [(c, f) for c, f, _l in words], slop)
    assert keep.tolist() == [_chain([w[2][k] for w in words], slop) for k in range(400)]
    assert keep.any() and not keep.all()


def test_positions_of_some_postings_read_through_the_skip_list_equal_all_positions(one: Searcher) -> None:
    """A term's positions are stored in blocks of 128 postings with a skip list: reading a few
    postings' positions decodes only their blocks, and must give what decoding all of them gives."""
    from index.format import BLOCK, segment_terms

    if True:
        (reader, _offset), = one._searcher.reader().leaf_readers()
        field = segment_terms(reader).field("syl")
        dfs = np.array([field.doc_frequency(i) for i in range(field.count)])
        big = np.flatnonzero(dfs > 2 * BLOCK)
        assert big.size, "the test needs terms with several blocks of positions"
        rng = np.random.default_rng(0)
        for i in big[:20].tolist():
            docs, freqs = field.postings(i)
            flat = field.positions(i, freqs)
            starts = np.cumsum(freqs) - freqs
            for size in (1, 3, len(freqs) // 10):
                which = np.sort(rng.choice(len(freqs), size=size, replace=False))
                counts, got = field.positions_of(i, which)
                assert counts.tolist() == freqs[which].tolist()
                want = [p for k in which.tolist() for p in flat[starts[k]:starts[k] + freqs[k]].tolist()]
                assert got.tolist() == want


PARTIAL = ["\"của thành phố\"", "\"thành phố lớn\"", "\"của\" \"nông thôn\"", "nông thôn của",
           "\"là một\" warsaw", "\"trong những\"~2 sông"]


@pytest.mark.parametrize("text", QUERIES + PARTIAL)
def test_reads_of_some_blocks_give_whooshs_matches_and_scores(one: Searcher, text: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """With every document in one segment, common words span several blocks, and terms read
    within few candidates (phrases, optional parts) decode only the blocks that may hold them
    (here for terms of over two blocks, as in big archives for the most common words)."""
    from index import postings
    from index.format import BLOCK, segment_terms

    monkeypatch.setattr(postings, "PARTIAL_MIN_DF", 2 * BLOCK)
    monkeypatch.setattr(postings, "PARTIAL_RATIO", 4)

    (reader, _offset), = one._searcher.reader().leaf_readers()
    syl = segment_terms(reader).field("syl")
    assert syl.doc_frequency(syl.find("của".encode())) > 2 * BLOCK
    q = one._compiler().compile(parse_query(text)).query
    ev = FastEvaluator(one._searcher)
    got = ev.matches(q)
    want = sorted(_whoosh(one, q))
    assert got.ids.tolist() == [d for d, _s in want]
    assert got.scores.tolist() == pytest.approx([score for _d, score in want], rel=1e-9)
    found, total = ev.search(q, 10)
    assert total == len(want)
