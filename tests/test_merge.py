"""Merges without re-analysis, and the merge policy that imports apply as they commit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus import Document
from index import Index, export
from index import _index as index_impl
from index._merge import MergePolicy
from searcher import Searcher

FIXTURE = Path(__file__).parent / "data" / "fixture_docs.jsonl"
QUERIES = ["Bắc Sơn", "bac son", '"nông thôn mới"', "Norman", "kinh*", "tài liệu", "năm 2020", '"bac son"',
           "nong thon", "source:xquad-vi", "date:2016..2019", "author:huệ"]


def documents() -> list[Document]:
    return [Document.from_dict(json.loads(line)) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def answers(path: Path, digits: int = 9) -> dict[str, list[tuple[str, float]]]:
    with Searcher.open(path) as s:
        return {q: [(i, round(score, digits)) for i, score in s.search_ids(q, limit=100, syntax=True)]
                for q in QUERIES}


def test_optimize_merges_without_analysing_and_answers_as_one_fresh_segment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = documents()
    fresh = Index.create(tmp_path / "fresh")
    fresh.add_documents(docs, workers=1, batch_size=100)
    merged = Index.create(tmp_path / "merged")
    merged.merge_policy = MergePolicy(merge_factor=100)  # keep the batches apart until optimize
    merged.add_documents(docs, workers=1, batch_size=7)
    assert merged.segment_count() == 4

    def no_analysis(*args: object, **kwargs: object) -> None:
        raise AssertionError("a merge must not analyse documents again")

    monkeypatch.setattr(index_impl, "analyze_document", no_analysis)
    seen: list[tuple[int, int]] = []
    merged.optimize(on_progress=lambda done, total: seen.append((done, total)))
    assert merged.segment_count() == 1
    assert seen[-1] == (len(docs), len(docs)) and seen == sorted(seen)
    expected = answers(tmp_path / "fresh")
    assert any(expected.values())
    assert answers(tmp_path / "merged") == expected  # same postings, lengths, statistics: same scores
    assert list(export(tmp_path / "merged")) == list(export(tmp_path / "fresh")) == docs


def test_a_merge_drops_deleted_documents(tmp_path: Path) -> None:
    docs = documents()
    ix = Index.create(tmp_path / "ix")
    ix.merge_policy = MergePolicy(merge_factor=100)
    ix.add_documents(docs, workers=1, batch_size=7)
    gone = {docs[0].id, docs[9].id, docs[-1].id}
    assert ix.delete(gone) == 3
    ix.optimize()
    kept = [d for d in docs if d.id not in gone]
    assert list(export(ix.path)) == kept
    assert ix.doc_count() == len(kept) and ix.segment_count() == 1
    fresh = Index.create(tmp_path / "fresh")
    fresh.add_documents(kept, workers=1, batch_size=100)
    # Field-length totals lose the deleted documents' lengths as their one-byte lengths say,
    # so scores may move in the third digit; the matches and their order do not.
    ours, theirs = answers(ix.path, 2), answers(fresh.path, 2)
    assert {q: [i for i, _ in r] for q, r in ours.items()} == {q: [i for i, _ in r] for q, r in theirs.items()}


def test_imports_merge_as_they_commit_and_keep_the_segment_count_logarithmic(tmp_path: Path) -> None:
    docs = documents()
    ix = Index.create(tmp_path / "ix")
    ix.merge_policy = MergePolicy(merge_factor=3, min_docs=2)
    counts = []
    for k in range(0, len(docs), 2):  # twelve small imports of 2 documents, then one of 1
        ix.add_documents(docs[k:k + 2], workers=1)
        counts.append(ix.segment_count())
    # Levels of 2, 6, 18 documents: at most 2 segments per level, and merges happened.
    assert max(counts) <= 6 and counts[-1] < len(counts), counts
    assert list(export(ix.path)) == docs
    fresh = Index.create(tmp_path / "fresh")
    fresh.add_documents(docs, workers=1, batch_size=100)
    assert answers(ix.path) == answers(fresh.path)


def test_the_default_policy_keeps_100k_documents_in_at_most_20_segments() -> None:
    policy = MergePolicy()
    sizes: list[int] = []
    most = 0
    for _batch in range(200):  # 100,000 documents in the import's default batches of 500
        sizes.append(500)
        while (plan := policy.plan(sizes)) is not None:
            merged = sum(sizes[i] for i in plan)
            sizes = [s for i, s in enumerate(sizes) if i not in plan]
            sizes.insert(plan[0], merged)
        most = max(most, len(sizes))
    assert sum(sizes) == 100_000
    assert len(sizes) <= 20 and most <= 20, sizes


def test_the_optimize_command_reports_what_it_merged_and_how_long_it_took(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from searcher.cli import main

    ix = Index.create(tmp_path / "ix")
    ix.merge_policy = MergePolicy(merge_factor=100)
    ix.add_documents(documents(), workers=1, batch_size=10)
    result = CliRunner().invoke(main, ["optimize", "--index", str(ix.path)])
    assert result.exit_code == 0, result.output
    assert "3 segments merged into 1, 25 documents, in " in result.output
    assert Index.open(ix.path).segment_count() == 1
