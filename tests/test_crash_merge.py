"""A merge killed with SIGKILL at any of its stages loses nothing, and searches see the last
commit while it runs. The merging process (``tests/merge_worker.py``) pauses at the named stage
and says so; the test then searches the index, kills the process and checks what is left."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from import_worker import load_documents
from index import Index, export
from index._merge import MergePolicy
from searcher import Searcher

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "merge_worker.py"
QUERIES = ["Super Bowl", "chiến tranh tôn giáo", '"Martin Luther"', "Ba Lan"]
STAGES = ["start", "documents", "field syl", "written", "committing", "committed"]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 documents in 6 segments, 5 of them deleted."""
    path = tmp_path_factory.mktemp("base") / "ix"
    ix = Index.create(path)
    ix.merge_policy = MergePolicy(merge_factor=100)
    ix.add_documents(load_documents(120), workers=1, batch_size=20)
    ix.delete([d.id for d in load_documents(120)[::25]])
    return path


def start(path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(WORKER), str(path), *args], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_paused(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("paused "):
            return line.split(" ", 1)[1].strip()
    assert proc.stderr is not None
    pytest.fail(f"the merge ended without pausing: {proc.stderr.read()[-2000:]}")


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


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

    proc = start(path, "optimize", stage)
    try:
        assert wait_paused(proc) == stage
        # Meanwhile searches answer from the last commit: the old segments, or the merged one.
        committed = stage == "committed"
        assert Index.open(path).segment_count() == (1 if committed else 6)
        assert [d.id for d in export(path)] == [d.id for d in docs]
        if not committed:
            assert ranked(path) == before
    finally:
        kill(proc)

    assert list(export(path)) == docs  # every document, every stored field, in order
    ix = Index.open(path)
    assert ix.doc_count() == len(docs)
    assert {q: set(r) for q, r in ranked(path).items()} == {q: set(r) for q, r in before.items()}
    ix.optimize()  # a writer after the crash completes the work and clears the orphans
    assert ix.segment_count() == 1
    assert list(export(path)) == docs
    assert unlisted_files(path) == []


def wait_line(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == text:
            return
    assert proc.stderr is not None
    pytest.fail(f"the worker ended before printing {text!r}: {proc.stderr.read()[-2000:]}")


def test_an_import_killed_while_its_merge_runs_keeps_its_commits_and_completes(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    Index.create(path)
    proc = start(path, "import", "field syl", "--count", "100", "--batch-size", "10")
    try:
        wait_paused(proc)  # the first merge (three batches of 10) runs in a process of its own ...
        wait_line(proc, "progress 100")  # ... while the import commits every other batch
        ix = Index.open(path)
        assert ix.doc_count() == 100 and ix.segment_count() == 10
    finally:
        kill(proc)
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
    proc = start(path, "import", "field syl", "--count", "60", "--batch-size", "10", "--replace-first", "15")
    try:
        wait_paused(proc)  # merging the first three batches, which hold the 15 documents ...
        wait_line(proc, "progress 75")  # ... that the import's last batches replace meanwhile
        assert proc.stdin is not None
        proc.stdin.write("\n")  # let the merge finish: it commits with those documents deleted
        proc.stdin.flush()
        wait_line(proc, "done")
    finally:
        if proc.poll() is None:
            kill(proc)
    docs = {d.id: d for d in export(path)}
    assert len(docs) == 60
    changed = {d.id for d in load_documents(15)}
    assert all(docs[i].text.endswith("Mã kiểm tra qzxvk.") == (i in changed) for i in docs)
    with Searcher.open(path) as s:
        assert {i for i, _ in s.search_ids("qzxvk", limit=100)} == changed
    assert Index.open(path).doc_count() == 60
