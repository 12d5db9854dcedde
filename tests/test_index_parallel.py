"""Segments written by worker processes: the same index as Whoosh's own writer and as one
worker would build, incremental semantics across batches, and what a failed or killed
import leaves (nothing visible, nothing after the next writer)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import whoosh.index
from whoosh import index as wi
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import IndexReader

from analyzers import VietnameseAnalyzer
from corpus import Document
from import_worker import load_documents
from index import Index, export, stats
from index import _index as index_impl
from index import _segments
from index._analysis import Pairs, analyze_document
from index._schema import build_schema
from index._segments import SegmentTask, build_segment, run_segment_task
from index.format import DOCS_EXT, TERMS_EXT, ArrayCodec
from searcher import Searcher

QUERIES = ["Super Bowl", "chiến tranh tôn giáo", "Martin Luther", "đội bóng", '"bằng sáng chế"',
           "nguoi Norman", "Ba Lan"]


def _docs(n: int) -> list[Document]:
    # Bylines and dates too, so the author, year and column fields are exercised.
    return [dataclasses.replace(d, author="Nguyễn Văn An" if i % 3 == 0 else None, url=f"https://x.vn/{i}")
            for i, d in enumerate(load_documents(n))]


def _postings(reader: IndexReader, fieldname: str, btext: bytes) -> list[tuple[int, float, bytes]]:
    m = reader.postings(fieldname, btext)
    out = []
    while m.is_active():
        out.append((m.id(), m.weight(), m.value()))
        m.next()
    return out


def _term_stats(reader: IndexReader, fieldname: str, btext: bytes) -> tuple[Any, ...]:
    ti = reader.term_info(fieldname, btext)
    return (ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length(), ti.max_weight(),
            ti.min_id(), ti.max_id())


def _segment_contents(storage: Any, segment: Any, schema: Any) -> dict[Any, Any]:
    """Everything a format 3 segment holds, read through its own readers as arrays."""
    codec = ArrayCodec()
    terms, docs = codec.terms_reader(storage, segment), codec.per_document_reader(storage, segment)
    out: dict[Any, Any] = {"doc_count": docs.doc_count_all(), "field_lengths": segment.field_lengths(),
                           "fields": terms.indexed_field_names()}
    for name in terms.indexed_field_names():
        field = terms.field(name)
        dfs, ids, freqs, positions = field.range_postings(0, field.count, True)
        out["postings", name] = (field.kind, field.boost, field.terms(), dfs.tolist(), ids.tolist(),
                                 freqs.tolist(), None if positions is None else positions.tolist())
    out["stored"] = [docs.stored_fields(n) for n in range(docs.doc_count_all())]
    out["length_fields"] = docs.length_fields()
    for name in schema.names():
        out["lengths", name] = docs.length_bytes(name).tolist()
    out["columns"] = {name: (docs.column_default(name), list(docs.column_values(name)))
                      for name in docs.column_names()}
    terms.close()
    docs.close()
    return out


def test_segment_builder_writes_what_whoosh_segment_writer_writes(tmp_path: Path) -> None:
    docs = _docs(160)
    # Syllables holding "_" and syllables that are prefixes of others before digits make pair
    # strings that sort unlike their syllables ("ab_c" < "ab1_c"); the builder must cope.
    docs[3] = dataclasses.replace(docs[3], text=docs[3].text + " covid covid19 covid_19 x covid 19 x")
    analyzer = VietnameseAnalyzer()
    values = [analyze_document(analyzer, d) for d in docs]
    # Some documents give a field as text rather than as a term list: both kinds of posting
    # in one field (the builder merges them).
    for v, d in zip(values[::7], docs[::7]):
        v["syl"] = d.text
    # The builder takes the pairs field unspelled, as workers give it.
    ours_values = [dict(v, pairs=analyze_document(analyzer, d, pairs_as_lists=False)["pairs"])
                   for v, d in zip(values, docs)]
    assert isinstance(ours_values[0]["pairs"], Pairs)
    schema = build_schema()

    # Whoosh's own SegmentWriter (its posting pool, its calls to the codec's writers) with format 3.
    (tmp_path / "whoosh").mkdir()
    theirs = wi.create_in(str(tmp_path / "whoosh"), schema)
    writer = theirs.writer(codec=ArrayCodec())
    for v in values:
        writer.add_document(**v)
    writer.commit()

    (tmp_path / "ours").mkdir()
    ours = wi.create_in(str(tmp_path / "ours"), schema)
    segment = build_segment(ours.storage, schema, "MAIN", "abcdefghij012345", ours_values)
    wi.TOC(schema, [segment], 1).write(ours.storage, "MAIN")
    ours = wi.open_dir(str(tmp_path / "ours"))

    with theirs.reader() as reader:
        (their_segment,) = [leaf.segment() for leaf, _offset in reader.leaf_readers()]
    a = _segment_contents(theirs.storage, their_segment, schema)
    b = _segment_contents(ours.storage, segment, schema)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], key
    assert sum(len(a["postings", name][2]) for name in a["fields"]) > 5000
    assert {name for name in a["fields"] if a["postings", name][6] is not None} == {"syl", "fold", "author"}
    # The same postings, lengths and documents make the same files, byte for byte.
    for ext in (TERMS_EXT, DOCS_EXT):
        assert ((tmp_path / "whoosh" / their_segment.make_filename(ext)).read_bytes()
                == (tmp_path / "ours" / segment.make_filename(ext)).read_bytes()), ext

    # And Whoosh's readers see the same index through either.
    with theirs.reader() as r1, ours.reader() as r2:
        terms = list(r1.all_terms())
        assert terms == list(r2.all_terms())
        for fieldname, btext in terms[::50]:
            assert _term_stats(r1, fieldname, btext) == _term_stats(r2, fieldname, btext), (fieldname, btext)
            assert _postings(r1, fieldname, btext) == _postings(r2, fieldname, btext), (fieldname, btext)
        assert list(r1.iter_docs()) == list(r2.iter_docs())


def test_pairs_with_one_string_for_two_syllable_pairs_fall_back_to_strings(tmp_path: Path) -> None:
    # ("a_b", "c") and ("a", "b_c") are both "a_b_c": one term, two postings in one document.
    schema = build_schema()
    pairs = [Pairs((["a_b", "c", "a", "b_c"],)), Pairs((["x", "y"], ["a", "b_c"]))]
    ix = wi.create_in(str(tmp_path), schema)
    segment = build_segment(ix.storage, schema, "MAIN", "abcdefghij012345",
                            [{"id": str(i), "pairs": p} for i, p in enumerate(pairs)])
    wi.TOC(schema, [segment], 1).write(ix.storage, "MAIN")
    with wi.open_dir(str(tmp_path)).reader() as r:
        assert [t.decode() for t in r.lexicon("pairs")] == ["a_b_c", "c_a", "x_y"]
        assert _postings(r, "pairs", b"a_b_c") == [(0, 2.0, b"\x00\x00\x00\x02"), (1, 1.0, b"\x00\x00\x00\x01")]
        assert r.doc_field_length(0, "pairs") == 3 and r.doc_field_length(1, "pairs") == 2


def _everything(path: Path) -> tuple[Any, ...]:
    ix = Index.open(path)
    documents = sorted((d.id, d.title, d.text, d.author, d.date) for d in ix.documents())
    with Searcher.open(path) as s:
        results = {q: [(i, round(score, 5)) for i, score in s.search_ids(q, limit=30)] for q in QUERIES}
    return documents, results


def test_two_workers_build_the_same_index_as_one(tmp_path: Path) -> None:
    docs = _docs(240)
    reports = []
    for workers in (1, 2):
        reports.append(Index.create(tmp_path / str(workers)).add_documents(docs, workers=workers, batch_size=50))
    assert [(r.added, r.replaced, r.unchanged) for r in reports] == [(240, 0, 0)] * 2
    one, two = _everything(tmp_path / "1"), _everything(tmp_path / "2")
    assert one == two
    assert any(one[1].values()), "the queries must match something"
    # One segment per batch, committed in batch order, no merging on commit.
    assert stats(tmp_path / "2")["segments"] == 5
    assert Index.open(tmp_path / "2").ids() == [d.id for d in docs]
    leftovers = [n for n in os.listdir(tmp_path / "2") if ".toc." in n or n == "MAIN.tmp"]
    assert leftovers == []


def test_ids_repeated_across_batches_end_with_the_later_copy(tmp_path: Path) -> None:
    docs = _docs(120)
    changed = [dataclasses.replace(d, text=d.text + " Bản sửa đổi quxzyv.") for d in docs[:30]]
    # Batches of 40: the changed copies land in later batches than the originals, some in the
    # batch right after (still in a worker's hands when the original is committed).
    stream = docs[:60] + changed[:15] + docs[60:] + changed[15:] + docs[:5]
    path = tmp_path / "ix"
    report = Index.create(path).add_documents(stream, workers=2, batch_size=40)
    # docs[:5] at the end equal their first copies, not the changed ones: replaced again.
    assert (report.added, report.replaced, report.unchanged) == (120, 35, 0)
    stored = {d.id: d.text for d in Index.open(path).documents()}
    assert len(stored) == 120 == Index.open(path).doc_count()
    assert all(stored[d.id] == d.text for d in docs[:5])
    assert all(stored[d.id] == d.text for d in changed[5:])
    with Searcher.open(path) as s:
        hits = {i for i, _ in s.search_ids("quxzyv", limit=100)}
    assert hits == {d.id for d in changed[5:]}

    # What the index holds, again, with an identical copy repeated: all unchanged.
    final = docs[:5] + changed[5:] + docs[30:]
    again = Index.open(path).add_documents(final + final[:3], workers=2, batch_size=40)
    assert (again.added, again.replaced, again.unchanged) == (0, 0, 123)
    # A changed copy followed by an identical one: replaced once, then unchanged.
    newer = dataclasses.replace(docs[50], text="Văn bản mới.")
    again = Index.open(path).add_documents([newer] + docs[51:100] + [newer], workers=2, batch_size=20)
    assert (again.added, again.replaced, again.unchanged) == (0, 1, 50)
    assert {d.id: d.text for d in Index.open(path).documents()}[newer.id] == "Văn bản mới."


def test_unlisted_segments_are_invisible_and_cleaned_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    docs = _docs(80)
    Index.create(path).add_documents(docs[:40], workers=2, batch_size=20)
    # What a worker leaves when the import is killed before its batch is committed.
    ix = Index.open(path)
    analyzer = ix.analyzer()
    task = SegmentTask(str(path), "MAIN", whoosh.index.open_dir(str(path), indexname="MAIN").schema, "orphan0123456789", docs[40:60])
    run_segment_task(task, lambda d: analyze_document(analyzer, d))
    (path / "MAIN.tmp").mkdir(exist_ok=True)
    assert any(n.startswith("MAIN_orphan") for n in os.listdir(path))
    assert Index.open(path).doc_count() == 40
    with Searcher.open(path) as s:
        assert s.doc_count() == 40
    report = Index.open(path).add_documents(docs, workers=2, batch_size=20)
    assert (report.unchanged, report.added) == (40, 40)
    names = os.listdir(path)
    assert not any(n.startswith("MAIN_orphan") for n in names) and "MAIN.tmp" not in names
    assert Index.open(path).doc_count() == 80


def test_a_failing_batch_keeps_earlier_commits_and_leaves_no_segment_files(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ix"
    docs = _docs(200)
    Index.create(path)
    bad = docs[130].id
    real = _segments.analyze_document

    def analyze(analyzer: VietnameseAnalyzer, doc: Document, **options: Any) -> dict[str, Any]:
        if doc.id == bad:
            raise ValueError("cannot analyse this one")
        return real(analyzer, doc, **options)

    monkeypatch.setattr(_segments, "analyze_document", analyze)  # forked workers inherit it
    with pytest.raises(ValueError, match="cannot analyse"):
        Index.open(path).add_documents(docs, workers=2, batch_size=40)
    monkeypatch.undo()
    count = Index.open(path).doc_count()
    assert count in (0, 40, 80, 120)  # whole batches before the failing one, nothing after
    listed = {seg.segment_id() for seg in _listed_segments(path)}
    files = [n for n in os.listdir(path) if n.startswith("MAIN_") and n != "MAIN_WRITELOCK"]
    assert all(n.split(".")[0] in listed for n in files), files
    report = Index.open(path).add_documents(docs, workers=2, batch_size=40)
    assert (report.unchanged, report.added) == (count, 200 - count)


def test_in_process_failure_removes_the_partial_segment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ix"
    docs = _docs(60)
    Index.create(path).add_documents(docs[:20], workers=1)
    real = index_impl.analyze_document
    monkeypatch.setattr(index_impl, "analyze_document",
                        lambda a, d, **o: (_ for _ in ()).throw(RuntimeError("boom")) if d.id == docs[45].id else real(a, d, **o))
    with pytest.raises(RuntimeError, match="boom"):
        Index.open(path).add_documents(docs, workers=1, batch_size=20)
    monkeypatch.undo()
    listed = {seg.segment_id() for seg in _listed_segments(path)}
    files = [n for n in os.listdir(path) if n.startswith("MAIN_") and n != "MAIN_WRITELOCK"]
    assert all(n.split(".")[0] in listed for n in files), files
    assert Index.open(path).doc_count() == 40


def test_batches_end_at_the_document_count_or_the_text_limit() -> None:
    docs = [Document(id=str(i), title="Tiêu đề", text="Nông thôn mới " * (50 if i % 2 else 5)) for i in range(40)]
    batches = list(index_impl._dedup_batches(iter(docs), 8, text_limit=2_000))
    assert [d.id for b in batches for d in b] == [d.id for d in docs]
    assert all(len(b) <= 8 for b in batches)
    size = lambda ds: sum(len(d.title.encode()) + len(d.text.encode()) for d in ds)  # noqa: E731
    assert all(size(b[:-1]) < 2_000 for b in batches)
    assert len(batches) > 5  # the text limit ended some batches before 8 documents
    # An id repeated within a batch keeps its last copy, in the last copy's place.
    a, b, a2 = Document(id="a", text="một"), Document(id="b", text="hai"), Document(id="a", text="ba")
    assert list(index_impl._dedup_batches(iter([a, b, a2]), 10)) == [[b, a2]]


def test_each_committed_segment_is_synced_before_its_toc_is_renamed(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ix"
    Index.create(path)
    events: list[tuple[str, str]] = []
    real_fsync, real_rename = index_impl._fsync_path, os.rename

    def fsync(name: str, directory: bool = False) -> None:
        events.append(("sync", os.path.basename(name)))
        real_fsync(name, directory)

    def rename(src: Any, dst: Any) -> None:
        events.append(("rename", os.path.basename(str(dst))))
        real_rename(src, dst)

    monkeypatch.setattr(index_impl, "_fsync_path", fsync)
    monkeypatch.setattr(index_impl.os, "rename", rename)
    Index.open(path).add_documents(_docs(90), workers=2, batch_size=30)
    monkeypatch.undo()
    synced: set[str] = set()
    renamed = []
    for kind, name in events:
        if kind == "sync":
            synced.add(name)
        elif name.endswith(".toc"):
            renamed.append(name)
            toc_gen = int(name.split("_")[-1].split(".")[0])
            listed = {seg.segment_id() for seg in _toc_segments(path, toc_gen)}
            assert all(any(s.startswith(seg + ".") for s in synced) for seg in listed), (name, listed, synced)
    assert len(renamed) == 3


def _toc_segments(path: Path, generation: int) -> list[Any]:
    # The TOCs of earlier generations are gone; rebuild the expectation from the final one:
    # generation g lists the first g - 1 segments (generation 1 is the empty index).
    return _listed_segments(path)[: generation - 1]


def _listed_segments(path: Path) -> list[Any]:
    """The segments the latest table of contents lists, read with Whoosh's own TOC reader."""
    return list(whoosh.index.TOC.read(FileStorage(str(path)), "MAIN").segments)


def test_small_imports_do_not_pile_up_segments(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    docs = _docs(50)
    Index.create(path)
    counts = []
    for i in range(0, 50, 2):  # 25 small imports: ten segments of one level become one
        Index.open(path).add_documents(docs[i:i + 2], workers=1)
        counts.append(stats(path)["segments"])
    assert counts == list(range(1, 10)) + [1] + list(range(2, 10)) + [1] + list(range(2, 8))
    assert sorted(d.id for d in export(path)) == sorted(d.id for d in docs)
    # A big import merges as it commits too (with two workers, in the background): 23 batches of
    # 40, of one level, ten at a time as they are committed.
    big = tmp_path / "big"
    Index.create(big).add_documents(_docs(900), workers=2, batch_size=40)
    assert stats(big)["segments"] <= 9
    assert sorted(d.id for d in export(big)) == sorted(d.id for d in _docs(900))


def test_progress_counts_committed_documents_not_read_ones(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    Index.create(path)
    calls: list[tuple[int, int]] = []
    docs = _docs(200)
    Index.open(path).add_documents(docs, workers=2, batch_size=40,
                                   on_progress=lambda n, _b: calls.append((n, Index.open(path).doc_count())))
    assert [n for n, _ in calls] == [40, 80, 120, 160, 200]
    assert all(n == committed for n, committed in calls)
    # Unchanged documents count as they are read when nothing is waiting to be committed.
    calls.clear()
    Index.open(path).add_documents(docs + _docs(240)[200:], workers=2, batch_size=40,
                                   on_progress=lambda n, _b: calls.append((n, 0)))
    seen = [n for n, _ in calls]
    assert seen == sorted(set(seen)) and seen[-1] == 240 and len(seen) > 100


def test_content_hashes_read_per_segment_match_the_whole_index(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    docs = _docs(120)
    Index.create(path).add_documents(docs, workers=2, batch_size=60)
    Index.open(path).add_documents([dataclasses.replace(d, text=d.text + " Sửa.") for d in docs[::9]], workers=1)
    Index.open(path).delete([docs[1].id, docs[2].id])
    ix = Index.open(path)
    expected = {}
    with whoosh.index.open_dir(str(path), indexname="MAIN").reader() as reader:
        assert len(reader.leaf_readers()) > 1 and reader.has_deletions()
        ids, hashes = reader.column_reader("id"), reader.column_reader("content_hash")
        for docnum in reader.all_doc_ids():
            expected[ids[docnum]] = hashes[docnum]
    assert ix.content_hashes() == expected and len(expected) == 118
    assert Index.create(tmp_path / "empty").content_hashes() == {}


@pytest.mark.parametrize("size", [10, 70_000, 5_000_000])
def test_stable_order_is_a_stable_argsort(size: int) -> None:
    keys = np.random.default_rng(size).integers(0, size, 50_000)
    assert (_segments._stable_order(keys, size) == np.argsort(keys, kind="stable")).all()
