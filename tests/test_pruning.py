"""Top-k with MaxScore pruning (``FastEvaluator.search``) against the exhaustive evaluation.

The index holds tests/real_text.py's ``wiki_documents()`` (Vietnamese Wikipedia and XQuAD-vi
paragraphs from ../shared/data, CC BY-SA) in several segments, with replaced documents (so segments carry
deletions). The queries are real: the first XQuAD-vi questions of ``../shared/data/retrieval``,
as typed and without accents, and the query-language examples of ``tests/test_fast.py``. For each,
the pruned top 1, top 10 and top 100 must be the exhaustive ones (same documents, same order, the same
scores to the last bit) and the hit count the exhaustive count.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from whoosh import query as wq

from index import Index
from searcher import Searcher
from searcher._fast import FastEvaluator
from searcher._query import Text, parse_query

from real_text import DATA, wiki_documents
from test_fast import QUERIES

RETRIEVAL = DATA / "retrieval" / "xquad_vi"


def _questions(name: str, count: int) -> list[str]:
    if not RETRIEVAL.is_dir():
        return []
    with open(RETRIEVAL / name, encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh][:count]


QUESTIONS = _questions("queries.jsonl", 70) + _questions("queries_noaccent.jsonl", 40)
# Quoted runs of two and three syllables of the questions, and the common phrases of the sample.
PHRASES = ['"' + " ".join(q.rstrip("?").split()[i:i + n]) + '"'
           for q in QUESTIONS[:40:2] for i, n in ((0, 2), (2, 3))] + [
    '"của nó"', '"là một"', '"thành phố"', '"trong các"', '"năm 20"', '"có thể là"']


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory):
    docs = list(wiki_documents())
    path = tmp_path_factory.mktemp("pruning-index")
    ix = Index.create(path)
    ix.add_documents(docs[:300], workers=1, batch_size=60)
    # Replace a few documents: their old copies stay in earlier segments, marked deleted.
    ix.add_documents([replace(d, text=d.text + " Bản sửa đổi.") for d in docs[5:200:9]] + docs[300:], workers=1)
    with Searcher.open(path) as searcher:
        yield searcher


def _compiled(s: Searcher, text: str, syntax: bool, accents: str = "auto"):
    return s._compiler(accents=accents).compile(parse_query(text) if syntax else Text(text)).query


def test_the_index_has_segments_and_deletions(s: Searcher) -> None:
    readers = [r for r, _offset in s._searcher.reader().leaf_readers()]
    assert len(readers) > 3
    assert any(r.has_deletions() for r in readers)
    assert len(QUESTIONS) + len(QUERIES) + 2 * len(PHRASES) + 15 > 200


@pytest.mark.parametrize("syntax, text, accents", [(False, q, "auto") for q in QUESTIONS]
                         + [(True, q, "auto") for q in QUERIES + PHRASES]
                         + [(True, q, "any") for q in QUERIES[:15] + PHRASES])
def test_pruned_top_k_is_the_exhaustive_top_k(s: Searcher, syntax: bool, text: str, accents: str) -> None:
    q = _compiled(s, text, syntax, accents)
    fast = FastEvaluator(s._searcher)
    m = fast.matches(q)
    for k in (1, 10, 100):
        expected = fast.top(m, k)
        for total in (True, False):
            got, count = FastEvaluator(s._searcher).search(q, k, total=total)
            assert got == expected, (text, k, total)  # documents, order and exact scores
            assert count == (len(m) if total else None), text


def test_pruning_leaves_most_documents_unscored(s: Searcher) -> None:
    # Guards the test above against comparing two exhaustive evaluations: for questions, most
    # matching documents must fall out of reach before they are scored in full.
    fast = FastEvaluator(s._searcher)
    kept, matched = 0, 0
    for text in QUESTIONS:
        clauses = fast._ranked_terms(_compiled(s, text, False))
        if clauses is None:
            continue  # (an abbreviation's phrase among the words: evaluated whole)
        cand, count = fast._maxscore(clauses, 10, True)
        kept += cand.size
        matched += count
    assert kept < 0.2 * matched


def test_common_phrases_check_positions_in_few_documents(s: Searcher) -> None:
    # With any accents, a quoted phrase is scored exactly only where it could reach the top 3;
    # the count comes from the parts without positions.
    fast = FastEvaluator(s._searcher)
    checked, counts = 0, 0
    for text in ('"của nó"', '"là một"', '"thành phố"', '"trong các"'):
        q = _compiled(s, text, True, "any")
        fast._memo = {}
        exact, count = fast._deferred(q, 3)
        fast._memo = None
        assert count == len(fast.matches(q)) > 25, text
        checked += len(exact)
        counts += count
    assert checked < 0.3 * counts, (checked, counts)


@pytest.mark.parametrize("other, adds", [(wq.Term("title", "sông"), True), (wq.Term("fold", "thanh"), False),
                                         (wq.Term("fold", "pho"), False)])
def test_a_phrase_that_adds_matches_is_counted(s: Searcher, other: wq.Query, adds: bool) -> None:
    # Beside words that do not match every document its filter lets through, a phrase adds
    # documents of its own: the count and the top must still be exact.
    phrase = wq.Require(wq.Phrase("syl", ["thành", "phố"], boost=2.0), wq.Term("pairs", "thanh_pho"))
    q = wq.Or([phrase, other])
    fast = FastEvaluator(s._searcher)
    m = fast.matches(q)
    assert fast.search(q, 10) == (fast.top(m, 10), len(m))
    assert (len(m) > len(fast.matches(other))) is adds


def test_a_wrong_bound_would_be_caught(s: Searcher, monkeypatch: pytest.MonkeyPatch) -> None:
    # The comparison above can fail: with bounds too low, pruning drops real top documents.
    low = FastEvaluator._term_bound
    monkeypatch.setattr(FastEvaluator, "_term_bound", lambda self, f, b: 0.3 * low(self, f, b))
    wrong = 0
    for text in QUESTIONS[:30]:
        q = _compiled(s, text, False)
        fast = FastEvaluator(s._searcher)
        wrong += fast.search(q, 10)[0] != fast.top(fast.matches(q), 10)
    assert wrong


def test_search_pages_use_the_pruned_top_and_the_exact_total(s: Searcher) -> None:
    text = QUESTIONS[3]
    q = _compiled(s, text, True)
    fast = s._evaluator()
    m = fast.matches(q)
    pages = s.search(text, limit=5), s.search(text, limit=5, page=3)
    assert pages[0].total == pages[1].total == len(m) > 15
    expected = fast.column_values("id", np.array([d for d, _ in fast.top(m, 15)]))
    assert [h.id for h in pages[0].hits] == expected[:5] and [h.id for h in pages[1].hits] == expected[10:15]
    assert [h.score for h in pages[0].hits] == [score for _d, score in fast.top(m, 5)]
    beyond = s.search(text, limit=10, page=1000)
    assert beyond.hits == () and beyond.total == len(m)
