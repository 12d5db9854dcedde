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
    assert sorted(ix.delete(gone).deleted) == sorted(gone)
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
    ix.merge_policy = MergePolicy(merge_factor=3, min_docs=2, max_segments=3)
    counts = []
    for k in range(0, len(docs), 2):  # twelve small imports of 2 documents, then one of 1
        ix.add_documents(docs[k:k + 2], workers=1)
        counts.append(ix.segment_count())
    # Three segments of a level are merged as soon as they are there: never more than 2 of a level.
    assert max(counts) <= 3 and counts[:4] == [1, 2, 1, 2], counts
    # Merges may bring segments of different ages together, so the documents' order in the
    # index changes; what they hold and how they score does not.
    assert sorted(export(ix.path), key=lambda d: d.id) == sorted(docs, key=lambda d: d.id)
    fresh = Index.create(tmp_path / "fresh")
    fresh.add_documents(docs, workers=1, batch_size=100)
    assert {q: dict(r) for q, r in answers(ix.path).items()} == {q: dict(r) for q, r in answers(fresh.path).items()}


def test_the_default_policy_keeps_100k_documents_in_at_most_20_segments() -> None:
    policy = MergePolicy()
    sizes: list[int] = []
    most = merged_docs = 0
    for _batch in range(200):  # 100,000 documents in the import's default batches of 500
        sizes.append(500)
        while (plan := policy.plan(sizes)) is not None:
            merged = sum(sizes[i] for i in plan)
            merged_docs += merged
            sizes = [s for i, s in enumerate(sizes) if i not in plan]
            sizes.insert(plan[0], merged)
        most = max(most, len(sizes))
        if len(sizes) * 500 == sum(sizes):
            assert merged_docs == 0  # nothing merged while the batches fit in the budget
    assert sum(sizes) == 100_000
    assert len(sizes) <= 20 and most <= 20, sizes
    assert merged_docs <= 2 * 100_000  # each document merged about log10(200) times at most


def test_the_optimize_command_reports_what_it_merged_and_how_long_it_took(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from searcher.cli import main

    ix = Index.create(tmp_path / "ix")
    ix.merge_policy = MergePolicy(merge_factor=100)
    ix.add_documents(documents(), workers=1, batch_size=10)
    result = CliRunner().invoke(main, ["optimize", "--index", str(ix.path)])
    assert result.exit_code == 0, result.output
    assert "segments 3 -> 1, 25 documents, in " in result.output
    assert Index.open(ix.path).segment_count() == 1


def test_a_range_of_terms_reads_as_each_term_does(tmp_path: Path) -> None:
    """Merges read postings a range of terms at a time (one varint decode for the range, skip
    lists of positions dropped); it must equal reading each term alone."""
    import numpy as np

    from index.format import segment_terms
    from real_text import wiki_documents

    ix = Index.create(tmp_path / "ix")
    ix.add_documents(list(wiki_documents()), workers=1)  # terms with several blocks of positions
    with Searcher.open(ix.path) as s:
        (reader, _offset), = s._searcher.reader().leaf_readers()
        terms = segment_terms(reader)
        for name in ("syl", "pairs", "id"):
            field = terms.field(name)
            for lo, hi in ((0, field.count), (3, min(field.count, 40)), (field.count - 1, field.count)):
                dfs, docs, freqs, positions = field.range_postings(lo, hi, with_positions=True)
                want = [field.postings(i) for i in range(lo, hi)]
                assert dfs.tolist() == [len(d) for d, _f in want]
                assert docs.tolist() == [x for d, _f in want for x in d.tolist()]
                assert freqs.tolist() == [x for _d, f in want for x in f.tolist()]
                if field.has_positions:
                    assert positions is not None
                    assert positions.tolist() == [x for i, (_d, f) in zip(range(lo, hi), want)
                                                  for x in field.positions(i, f).tolist()]
                else:
                    assert positions is None
        assert int(np.max([terms.field("syl").doc_frequency(i) for i in range(terms.field("syl").count)])) > 128


def test_merges_read_in_small_chunks_give_the_same_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from index import _merge

    import shutil

    docs = documents()
    ix = Index.create(tmp_path / "ix")
    ix.merge_policy = MergePolicy(merge_factor=100)
    ix.add_documents(docs, workers=1, batch_size=7)
    ix.delete([docs[3].id, docs[9].id])
    shutil.copytree(ix.path, tmp_path / "copy")
    ix.optimize()
    monkeypatch.setattr(_merge, "_CHUNK_BYTES", 64)  # a few terms a read: chunk bounds everywhere
    small = Index.open(tmp_path / "copy")
    small.optimize()
    assert ix.segment_count() == small.segment_count() == 1
    assert answers(ix.path) == answers(small.path) and any(answers(ix.path).values())
    files = [{p.suffix: p.read_bytes() for p in path.glob("MAIN_*.vn?")} for path in (ix.path, small.path)]
    assert files[0] == files[1]  # the same bytes, whatever the chunks


def test_segments_of_whoosh_s_own_layout_merge_too(tmp_path: Path) -> None:
    """Segments that Whoosh's own writer wrote with the format 3 codec (posting by posting
    through the codec's field writer) merge like the builder's."""
    from analyzers import VietnameseAnalyzer
    from index._analysis import analyze_document
    from index.format import ArrayCodec

    docs = documents()
    ix = Index.create(tmp_path / "old")
    analyzer = VietnameseAnalyzer()
    with ix.write_lock():
        for part in (docs[:12], docs[12:]):
            writer = ix._whoosh().writer(codec=ArrayCodec(), _lk=False)
            for doc in part:
                writer.add_document(**analyze_document(analyzer, doc))
            writer.commit(merge=False)
    assert ix.segment_count() == 2
    before = answers(ix.path, 6)
    ix.optimize()
    assert ix.segment_count() == 1
    assert sorted(export(ix.path), key=lambda d: d.id) == sorted(docs, key=lambda d: d.id)
    # Whoosh's writer keeps the exact field-length totals too: the scores stay the same.
    assert answers(ix.path, 6) == before and any(before.values())


def test_reindex_reports_its_stages_and_progress_to_the_end(tmp_path: Path) -> None:
    from index import reindex

    docs = documents()
    ix = Index.create(tmp_path / "ix")
    ix.merge_policy = MergePolicy(merge_factor=100)
    ix.add_documents(docs, workers=1, batch_size=10)
    events: list[tuple[str, int]] = []
    report = reindex(ix.path, workers=1, batch_size=10,
                     on_stage=lambda name, total: events.append((name, total)),
                     on_progress=lambda done, _bytes: events.append(("progress", done)))
    stages = [e for e in events if e[0] != "progress"]
    assert stages == [("import", len(docs)), ("merge", len(docs))]
    merging = events[events.index(("merge", len(docs))) + 1:]
    assert merging and merging[-1] == ("progress", len(docs))  # the merge counts up to every document
    assert report.added == len(docs) and Index.open(ix.path).segment_count() == 1


def test_merged_terms_are_ordered_as_bytes_however_long_and_alike() -> None:
    """Merges rank terms with numpy on their first bytes and Python where those tie: the result
    must be the byte order of the whole terms (long terms sharing a long prefix, zero bytes)."""
    import random

    from index._merge import _KEY_BYTES, _unique

    rng = random.Random(3)
    alphabet = [b"a", b"b", b"\xc3", b"\xa1", b"z", b"\x01"]
    for trial in range(300):
        sizes = [1, 2, _KEY_BYTES - 1, _KEY_BYTES, _KEY_BYTES + 1, 2 * _KEY_BYTES]
        terms = [b"".join(rng.choice(alphabet) for _ in range(rng.choice(sizes))) for _ in range(rng.randint(1, 60))]
        if trial % 3 == 0:
            terms = [b"x" * (_KEY_BYTES + 5) + t for t in terms]  # ties on the whole key
        if trial % 7 == 0:
            terms.append(b"a\x00")
        unique, rank = _unique(terms)
        assert unique == sorted(set(terms))
        assert [unique[i] for i in rank.tolist()] == terms
