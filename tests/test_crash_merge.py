"""A merge killed with SIGKILL at any of its stages loses nothing, and searches see the last
commit while it runs. The merging process (``tests/import_worker.py``) pauses at the named stage
(``index/_hooks.py``) and says so; the test then searches the index, kills the process and checks
what is left."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from import_worker import CHANGED, Worker, load_documents
from index import Index, export
from index._merge import MergePolicy
from searcher import Searcher

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

QUERIES = ["Super Bowl", "chiến tranh tôn giáo", '"Martin Luther"', "Ba Lan"]
STAGES = ["start", "documents", "field-syl", "written", "committing", "committed"]
"""Every pause point of a merge (``index/_hooks.py``), each ``merge-`` + stage."""
MERGE_POLICY = "3,10,2"
"""Merge factor 3, at most 2 segments: over batches of 10, an import's third commit starts a
merge, which runs in a process of its own while the import goes on."""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 documents in 6 segments, 5 of them deleted."""
    path = tmp_path_factory.mktemp("base") / "ix"
    ix = Index.create(path)
    ix.merge_policy = MergePolicy(merge_factor=100)
    ix.add_documents(load_documents(120), workers=1, batch_size=20)
    ix.delete([d.id for d in load_documents(120)[::25]])
    return path


def ranked(path: Path) -> dict[str, list[str]]:
    with Searcher.open(path) as s:
        return {q: [i for i, _ in s.search_ids(q, limit=20)] for q in QUERIES}


def unlisted_files(path: Path) -> list[str]:
    listed = {seg.segment_id() for seg in TOC.read(FileStorage(str(path)), "MAIN").segments}
    return [n for n in os.listdir(path) if n.startswith("MAIN") and n != "MAIN_WRITELOCK"
            and n.split(".")[0] not in listed]


@pytest.mark.parametrize("stage", STAGES)
def test_optimize_killed_at_any_stage_loses_nothing(base: Path, tmp_path: Path, stage: str) -> None:
    path = tmp_path / "ix"
    shutil.copytree(base, path)
    docs = list(export(path))
    before = ranked(path)
    assert Index.open(path).segment_count() == 6 and any(before.values())

    run = Worker(path, "--optimize", pause_at=f"merge-{stage}")
    try:
        assert run.expect("paused ") == f"paused merge-{stage} 1"
        # Meanwhile searches answer from the last commit: the old segments, or the merged one.
        committed = stage == "committed"
        assert Index.open(path).segment_count() == (1 if committed else 6)
        assert [d.id for d in export(path)] == [d.id for d in docs]
        if not committed:
            assert ranked(path) == before
    finally:
        run.kill()

    assert list(export(path)) == docs  # every document, every stored field, in order
    ix = Index.open(path)
    assert ix.doc_count() == len(docs)
    assert {q: set(r) for q, r in ranked(path).items()} == {q: set(r) for q, r in before.items()}
    ix.optimize()  # a writer after the crash completes the work and clears the orphans
    assert ix.segment_count() == 1
    assert list(export(path)) == docs
    assert unlisted_files(path) == []


def test_an_import_killed_while_its_merge_runs_keeps_its_commits_and_completes(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    Index.create(path)
    run = Worker(path, "--count", "100", "--batch-size", "10", "--merge-policy", MERGE_POLICY,
                 pause_at="merge-field-syl")
    try:
        run.expect("paused merge-field-syl 1")  # the first merge (three batches of 10) runs in a process of its own ...
        run.expect("progress 100")  # ... while the import commits every other batch
        ix = Index.open(path)
        assert ix.doc_count() == 100 and ix.segment_count() == 10
    finally:
        run.kill()
    ix = Index.open(path)
    assert ix.doc_count() == 100 and ix.segment_count() == 10  # nothing lost, the merge not committed
    ix.merge_policy = MergePolicy(merge_factor=3, min_docs=10, max_segments=2)
    report = ix.add_documents(load_documents(100), workers=1, batch_size=10)
    assert (report.unchanged, report.added) == (100, 0)
    ids = [d.id for d in export(path)]
    assert sorted(ids) == sorted(d.id for d in load_documents(100)) and len(set(ids)) == 100
    assert ix.segment_count() <= 2  # merged at the end of the rerun
    assert unlisted_files(path) == []


def test_documents_replaced_while_their_segment_is_merged_stay_replaced(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    Index.create(path)
    run = Worker(path, "--count", "60", "--batch-size", "10", "--replace-first", "15",
                 "--merge-policy", MERGE_POLICY, pause_at="merge-field-syl")
    run.expect("paused merge-field-syl 1")  # merging the first three batches, which hold the 15 documents ...
    run.expect("progress 75")  # ... that the import's last batches replace meanwhile
    # Let the merge finish (it commits with those documents deleted), and any merge after it.
    assert run.finish() == 0
    run.expect("done ")
    docs = {d.id: d for d in export(path)}
    assert len(docs) == 60
    changed = {d.id for d in load_documents(15)}
    assert all(docs[i].text.endswith(CHANGED) == (i in changed) for i in docs)
    with Searcher.open(path) as s:
        assert {i for i, _ in s.search_ids("qzxvk", limit=100)} == changed
    assert Index.open(path).doc_count() == 60
