"""Archivists' operations on a real index: incremental imports, prune, delete, stats,
optimize, export and reindex (crash and concurrency cases are in test_crash.py)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

import index as index_pkg
from corpus import Document
from import_worker import load_documents
from index import Index, IndexVersionError, IndexWriteError, export, optimize, reindex, stats
from index import _index as index_impl
from index._meta import read_meta, write_meta
from searcher import Searcher, matching_ids

N = 200
QUERIES = ["Super Bowl", "chiến tranh tôn giáo", "Martin Luther", "đội bóng", "bằng sáng chế",
           "Ba Lan", "người Norman"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base") / "ix"
    Index.create(path, user_words=["Super Bowl"]).add_documents(load_documents(N), workers=1, batch_size=40)
    return path


@pytest.fixture
def ix_path(base: Path, tmp_path: Path) -> Path:
    path = tmp_path / "ix"
    shutil.copytree(base, path)
    return path


def ranked(path: Path, queries: list[str] = QUERIES, limit: int = 10) -> dict[str, list[str]]:
    with Searcher.open(path) as s:
        return {q: [i for i, _ in s.search_ids(q, limit=limit)] for q in queries}


def matches(path: Path) -> dict[str, set[str]]:
    return {q: set(ids) for q, ids in ranked(path, limit=1000).items()}


def test_rerun_leaves_unchanged_alone_without_analysing(ix_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generation = stats(ix_path)["generation"]
    analysed: list[str] = []
    real = index_impl.analyze_document

    def counting(analyzer, doc, **options):  # type: ignore[no-untyped-def]
        analysed.append(doc.id)
        return real(analyzer, doc, **options)

    monkeypatch.setattr(index_impl, "analyze_document", counting)
    report = Index.open(ix_path).add_documents(load_documents(N), workers=1, batch_size=40)
    assert (report.added, report.replaced, report.unchanged, report.removed) == (0, 0, N, 0)
    assert analysed == []
    assert stats(ix_path)["generation"] == generation  # not even an empty commit


def test_changed_documents_are_replaced_and_new_ones_added(ix_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    docs = load_documents(N + 20)
    changed = {d.id for d in docs[:10]}
    docs = [dataclasses.replace(d, text=d.text + " Cập nhật: hợp tác xã nông nghiệp.") if d.id in changed else d
            for d in docs]
    analysed: list[str] = []
    real = index_impl.analyze_document
    monkeypatch.setattr(index_impl, "analyze_document",
                        lambda a, d, **o: analysed.append(d.id) or real(a, d, **o))
    report = Index.open(ix_path).add_documents(docs, workers=1, batch_size=40)
    assert (report.added, report.replaced, report.unchanged) == (20, 10, N - 10)
    assert len(analysed) == 30
    assert Index.open(ix_path).doc_count() == N + 20
    with Searcher.open(ix_path) as s:
        assert {i for i, _ in s.search_ids('"hợp tác xã nông nghiệp"', limit=50, syntax=True)} == changed
        assert s.document(docs[0].id).text.endswith("hợp tác xã nông nghiệp.")


def test_prune_removes_documents_whose_source_is_gone(ix_path: Path) -> None:
    docs = load_documents(N)
    gone = [d for d in docs if d.source == "Huguenot"]
    kept = [d for d in docs if d.source != "Huguenot"]
    assert gone
    report = Index.open(ix_path).add_documents(kept, workers=1, prune=True)
    assert (report.unchanged, report.removed, report.added) == (len(kept), len(gone), 0)
    assert "Huguenot" not in stats(ix_path)["sources"]
    assert Index.open(ix_path).doc_count() == len(kept)


def test_an_import_that_fails_part_way_prunes_nothing(ix_path: Path) -> None:
    def failing():  # type: ignore[no-untyped-def]
        yield from load_documents(N)[:30]
        raise RuntimeError("source disappeared")

    with pytest.raises(RuntimeError):
        Index.open(ix_path).add_documents(failing(), workers=1, prune=True)
    assert Index.open(ix_path).doc_count() == N


def test_without_prune_nothing_is_removed(ix_path: Path) -> None:
    report = Index.open(ix_path).add_documents(load_documents(N)[:50], workers=1)
    assert report.removed == 0 and Index.open(ix_path).doc_count() == N


def test_delete_by_ids_reports_deleted_and_not_found(ix_path: Path) -> None:
    ix = Index.open(ix_path)
    ids = [d.id for d in load_documents(N)[:3]]
    preview = ix.delete([*ids, "no-such-id"], dry_run=True)
    assert (preview.deleted, preview.not_found, preview.dry_run) == (ids, ["no-such-id"], True)
    assert ix.doc_count() == N  # a dry run deletes nothing
    report = ix.delete([*ids, "no-such-id"])
    assert (report.deleted, report.not_found) == (ids, ["no-such-id"])
    assert ix.doc_count() == N - 3 and not set(ids) & set(ix.ids())
    with Searcher.open(ix_path) as searcher:
        assert all(searcher.document(i) is None for i in ids)


def test_a_confirm_that_says_no_deletes_nothing(ix_path: Path) -> None:
    ix = Index.open(ix_path)
    asked: list[list[str]] = []
    report = ix.delete(["a-missing-one", *ix.ids()[:12]], confirm=lambda ids: asked.append(ids) or False)
    assert report.cancelled and report.deleted == [] and len(asked[0]) == 12
    assert ix.doc_count() == N


def test_delete_matching_deletes_exactly_what_search_finds(ix_path: Path) -> None:
    query = "Warsaw OR (thành phố -sông)"
    with Searcher.open(ix_path) as s:
        results = s.search(query, limit=N)
        found = sorted(h.id for h in results.hits)
    assert 0 < results.total == len(found) < N
    ix = Index.open(ix_path)
    assert sorted(ix.delete_matching(query, matching_ids, dry_run=True).deleted) == found
    assert ix.doc_count() == N
    report = ix.delete_matching(query, matching_ids)
    assert sorted(report.deleted) == found and ix.doc_count() == N - len(found)
    with Searcher.open(ix_path) as s:
        assert s.search(query).total == 0


def test_stats(ix_path: Path) -> None:
    s = stats(ix_path)
    docs = load_documents(N)
    assert s["documents"] == N and s["deleted"] == 0
    assert sum(s["sources"].values()) + s["without_source"] == N
    assert s["sources"]["Warsaw"] == sum(d.source == "Warsaw" for d in docs)
    assert list(s["sources"].values()) == sorted(s["sources"].values(), reverse=True)
    assert (s["date_from"], s["date_to"]) == (min(d.date for d in docs), max(d.date for d in docs))
    files = sum(f.stat().st_size for f in ix_path.iterdir() if f.is_file())
    assert s["size_bytes"] == files > 10_000
    assert s["segments"] >= 1 and s["generation"] >= 1
    assert s["analyzer_version"] == index_pkg.IndexMeta().analyzer_version
    assert s["schema_version"] == index_pkg.SCHEMA_VERSION and s["current"] is True
    assert s["user_words"] == 1
    assert json.loads(json.dumps(s)) == s


def test_stats_of_an_empty_index(tmp_path: Path) -> None:
    Index.create(tmp_path / "ix")
    s = stats(tmp_path / "ix")
    assert (s["documents"], s["sources"], s["date_from"], s["segments"]) == (0, {}, None, 0)


def test_optimize_merges_segments_and_keeps_results(ix_path: Path) -> None:
    ix = Index.open(ix_path)
    ix.delete([d.id for d in load_documents(10)])
    analyzer = ix.analyzer()
    with ix.write_lock():  # Whoosh merges small segments on commit: keep these apart
        for doc in load_documents(N + 3)[N:]:
            ix._commit(lambda w, d=doc: w.add_document(**index_impl.analyze_document(analyzer, d)), merge=False)
    before = stats(ix_path)
    assert before["segments"] > 1 and before["deleted"] == 10
    # Deleted documents still count in BM25 statistics until merged away, so scores (not
    # the set of matches) may move a little.
    results = matches(ix_path)
    optimize(ix_path)
    after = stats(ix_path)
    assert (after["segments"], after["deleted"], after["documents"]) == (1, 0, before["documents"])
    assert matches(ix_path) == results


def test_export_then_import_gives_the_same_results(base: Path, tmp_path: Path) -> None:
    jsonl = tmp_path / "export.jsonl"
    with jsonl.open("w", encoding="utf-8") as out:
        for doc in export(base):
            out.write(json.dumps(doc.as_dict(), ensure_ascii=False) + "\n")
    exported = [Document.from_dict(json.loads(line)) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    originals = {d.id: d for d in load_documents(N)}
    assert len(exported) == N
    assert all(d == originals[d.id] and d.content_hash == originals[d.id].content_hash for d in exported)

    fresh = tmp_path / "fresh"
    Index.create(fresh, user_words=read_meta(base).user_words).add_documents(exported, workers=1, batch_size=N)
    expected = ranked(base)
    assert sum(len(v) for v in expected.values()) > 3 * len(QUERIES)
    assert ranked(fresh) == expected


def _age(path: Path) -> None:
    """Pretend the index was built by an older vnsearch."""
    write_meta(path, dataclasses.replace(read_meta(path), analyzer_version="0.0-old"))


def test_reindex_rebuilds_an_old_index_in_place(ix_path: Path) -> None:
    expected = ranked(ix_path)
    _age(ix_path)
    with pytest.raises(IndexVersionError) as err:
        Index.open(ix_path)
    assert "reindex" in (err.value.hint or "")
    progress: list[int] = []
    report = reindex(ix_path, workers=1, on_progress=lambda n, _b: progress.append(n))
    assert report.added == N and progress[-1] == N
    meta = read_meta(ix_path)
    assert meta.is_current() and meta.user_words == ("Super Bowl",)
    assert stats(ix_path)["segments"] == 1
    assert ranked(ix_path) == expected
    assert sorted(os.listdir(ix_path.parent)) == ["ix"]  # no temp or old folder left


def test_a_searcher_open_during_reindex_keeps_working(ix_path: Path) -> None:
    with Searcher.open(ix_path) as s:
        before = s.search_ids("Super Bowl", limit=5)
        reindex(ix_path, workers=1)
        assert s.search_ids("Super Bowl", limit=5) == before
    assert ranked(ix_path, ["Super Bowl"])["Super Bowl"][:5] == [i for i, _ in before]


def test_reindex_without_atomic_exchange_and_crash_between_renames(ix_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    expected = ranked(ix_path)
    _age(ix_path)
    monkeypatch.setattr(index_impl, "_exchange", lambda a, b: False)
    real_rename = os.rename
    renames = 0

    def crashing_rename(src, dst):  # type: ignore[no-untyped-def]
        nonlocal renames
        renames += os.path.isdir(src)  # count the folder renames of the swap, not Whoosh's TOCs
        if renames == 2:  # the old index is aside, the new one not yet in place
            raise KeyboardInterrupt("simulated crash")
        real_rename(src, dst)

    monkeypatch.setattr(index_impl.os, "rename", crashing_rename)
    with pytest.raises(KeyboardInterrupt):
        reindex(ix_path, workers=1)
    monkeypatch.setattr(index_impl.os, "rename", real_rename)
    assert not ix_path.exists()
    assert Index.exists(ix_path)  # recovered: the complete rebuild is moved into place
    assert read_meta(ix_path).is_current()
    assert ranked(ix_path) == expected
    reindex(ix_path, workers=1)  # and the next reindex clears the moved-aside old index
    assert sorted(os.listdir(ix_path.parent)) == ["ix"]


def test_a_reindex_that_fails_while_building_leaves_the_old_index(ix_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _age(ix_path)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_impl, "swap_in", broken)
    monkeypatch.setattr("index._ops.swap_in", broken)
    with pytest.raises(IndexWriteError, match="disk is full"):
        reindex(ix_path, workers=1)
    assert not (ix_path.parent / "ix.reindex-tmp").exists()
    assert read_meta(ix_path).analyzer_version == "0.0-old"
    assert Index.open(ix_path, check_version=False).doc_count() == N
    monkeypatch.undo()
    reindex(ix_path, workers=1)
    assert read_meta(ix_path).is_current()
    assert sorted(os.listdir(ix_path.parent)) == ["ix"]
