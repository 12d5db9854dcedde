"""Crash safety and concurrency: real import processes killed with SIGKILL, raced by searches
and by a second import. See ``tests/import_worker.py`` for the process that gets killed."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from import_worker import load_documents
from index import Index, IndexLockedError, IndexWriteError
from index import _index as index_impl
from searcher import Searcher

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "import_worker.py"
BATCH = 50


def start_import(index: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(WORKER), str(index), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_line(proc: subprocess.Popen[str], prefix: str, times: int = 1, timeout: float = 30.0) -> None:
    """Read the worker's output until ``prefix`` has been printed ``times`` times."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = 0
    while seen < times:
        line = proc.stdout.readline()
        if not line:
            assert proc.stderr is not None
            pytest.fail(f"worker ended before printing {prefix!r}: {proc.stderr.read()[-2000:]}")
        if line.startswith(prefix):
            seen += 1
        assert time.monotonic() < deadline, f"no {prefix!r} within {timeout} s"


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def live_ids(path: Path) -> list[str]:
    return Index.open(path).ids()


def assert_committed_state(path: Path, total: int) -> int:
    """The index opens, searches, and holds exactly a whole number of batches, each id once."""
    ix = Index.open(path)
    count = ix.doc_count()
    assert count % BATCH == 0 or count == total, f"{count} documents is not a commit boundary"
    ids = live_ids(path)
    assert len(ids) == count == len(set(ids))
    with Searcher.open(path) as s:
        assert s.doc_count() == count
        hits = s.search_ids("Super Bowl", limit=5)
        assert (len(hits) > 0) == (count > 0)
    return count


def test_sigkill_at_random_moments_leaves_last_commit_and_rerun_completes(tmp_path: Path) -> None:
    total = 1600  # enough work left after each run's first commit for a kill to land mid-import
    path = tmp_path / "ix"
    rng = random.Random(5)
    counts = []
    for _kill in range(3):
        proc = start_import(path, "--count", str(total), "--batch-size", str(BATCH))
        # Wait for this run's first commit (so every run makes progress), then kill it at a
        # random moment: while analysing, adding, writing segments or renaming the TOC.
        wait_for_line(proc, "progress", times=1 if not counts else 1 + counts[-1])
        time.sleep(rng.uniform(0.0, 0.6))
        kill(proc)
        counts.append(assert_committed_state(path, total))
    assert counts == sorted(counts) and counts[-1] < total, counts

    report = Index.open(path).add_documents(load_documents(total), workers=1, batch_size=BATCH)
    assert report.unchanged == counts[-1]
    assert report.added == total - counts[-1]
    assert report.replaced == 0
    assert sorted(live_ids(path)) == sorted(d.id for d in load_documents(total))
    # The killed runs' leftovers were cleared by the last writer.
    names = os.listdir(path)
    assert not [n for n in names if ".toc." in n or n == "MAIN.tmp"], names


def orphan_segment_files(path: Path) -> list[str]:
    """Segment files that the current commit does not list."""
    listed = {seg.segment_id() for seg in TOC.read(FileStorage(str(path)), "MAIN").segments}
    return [n for n in os.listdir(path) if n.startswith("MAIN_") and n != "MAIN_WRITELOCK"
            and n.split(".")[0] not in listed]


def test_crash_between_segment_files_and_toc(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    proc = start_import(path, "--count", "150", "--batch-size", "50", "--crash-at-toc", "3")
    proc.wait(timeout=60)
    assert proc.returncode == 9
    # The third batch's segment and temporary TOC are on disk but not committed.
    assert any(".toc." in n for n in os.listdir(path))
    assert orphan_segment_files(path)
    assert assert_committed_state(path, 150) == 100
    report = Index.open(path).add_documents(load_documents(150), workers=1, batch_size=50)
    assert (report.unchanged, report.added) == (100, 50)
    assert sorted(live_ids(path)) == sorted(d.id for d in load_documents(150))
    assert not any(".toc." in n for n in os.listdir(path))
    assert orphan_segment_files(path) == []


def test_searches_during_an_import_see_only_commits(tmp_path: Path) -> None:
    total = 300
    path = tmp_path / "ix"
    Index.create(path).add_documents(load_documents(BATCH), workers=1)
    with Searcher.open(path) as before:
        proc = start_import(path, "--count", str(total), "--batch-size", str(BATCH))
        states: list[int] = []
        while proc.poll() is None:
            with Searcher.open(path) as s:
                n = s.doc_count()
                hits = s.search_ids("chiến tranh", limit=10)
                assert len({i for i, _ in hits}) == len(hits)
            assert n % BATCH == 0 or n == total
            assert not states or n >= states[-1]
            states.append(n)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        # A searcher opened before the import still answers, from the commit it opened on.
        assert before.doc_count() == BATCH
        before.refresh()
        assert before.doc_count() == total
    assert len(set(states)) >= 3, "the searches did not overlap the import's commits"


def test_second_import_waits_for_the_first_then_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    Index.create(path)
    first = start_import(path, "--count", "150", "--batch-size", str(BATCH), "--slow", "0.3")
    wait_for_line(first, "progress")
    waits: list[float] = []
    second = Index.open(path)
    mine = load_documents(210)[150:]
    report = second.add_documents(mine, workers=1, batch_size=BATCH, lock_timeout=60, on_wait=waits.append)
    assert first.wait(timeout=30) == 0
    assert waits and waits[0] < 0.5
    assert report.added == 60
    assert sorted(live_ids(path)) == sorted(d.id for d in load_documents(210))


def test_lock_timeout_raises_index_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    Index.create(path)
    holder = start_import(path, "--hold", "30")
    try:
        wait_for_line(holder, "locked")
        waits: list[float] = []
        start = time.monotonic()
        with pytest.raises(IndexLockedError) as err:
            Index.open(path).add_documents(load_documents(5), workers=1, lock_timeout=0.5, on_wait=waits.append)
        assert 0.5 <= time.monotonic() - start < 5
        assert len(waits) == 1 and waits[0] < 0.5
        assert err.value.hint and "--lock-timeout" in err.value.hint
        assert Index.open(path).doc_count() == 0
    finally:
        kill(holder)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def test_lock_of_a_killed_import_is_released_even_with_worker_processes(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    proc = start_import(path, "--count", "400", "--batch-size", str(BATCH), "--workers", "2")
    wait_for_line(proc, "progress")
    workers = _children(proc.pid)
    kill(proc)
    start = time.monotonic()
    waits: list[float] = []
    report = Index.open(path).add_documents(load_documents(400), workers=1, batch_size=200,
                                            lock_timeout=10, on_wait=waits.append)
    # flock is released by the kernel with the killed process; the pool workers closed their
    # copy of the descriptor, so nothing keeps the "stale" lock alive.
    assert waits == [], "the lock outlived the killed import"
    assert time.monotonic() - start < 10
    assert report.added + report.unchanged == 400
    deadline = time.monotonic() + 5
    while workers and any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{w}/status").exists() and "State:\tZ" not in Path(f"/proc/{w}/status").read_text()
                   for w in workers), "pool workers outlived their killed parent"


def test_disk_full_gives_index_write_error_and_keeps_the_last_commit(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ix"
    ix = Index.create(path)
    ix.add_documents(load_documents(100), workers=1, batch_size=BATCH)
    real_create = index_impl._DurableStorage.create_file
    calls = 0

    def create_file(self, name, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls > 3:
            raise OSError(errno.ENOSPC, "No space left on device", name)
        return real_create(self, name, *args, **kwargs)

    monkeypatch.setattr(index_impl._DurableStorage, "create_file", create_file)
    with pytest.raises(IndexWriteError, match="disk is full") as err:
        Index.open(path).add_documents(load_documents(200), workers=1, batch_size=BATCH)
    assert "intact" in (err.value.hint or "") or "last commit" in (err.value.hint or "")
    monkeypatch.undo()
    assert assert_committed_state(path, 200) == 100
    Index.open(path).add_documents(load_documents(200), workers=1, batch_size=BATCH)
    assert sorted(live_ids(path)) == sorted(d.id for d in load_documents(200))


def test_read_only_folder_gives_index_write_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ix"
    Index.create(path).add_documents(load_documents(20), workers=1)
    if os.geteuid() != 0:
        os.chmod(path, 0o555)
        (path / "MAIN_WRITELOCK").chmod(0o444)
    else:  # root ignores permissions: make the folder refuse writes as a read-only mount would
        def refuse(*_args: object, **_kwargs: object) -> None:
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(index_impl.WriteLock, "try_acquire", refuse)
    try:
        with pytest.raises(IndexWriteError, match="read-only|permission denied"):
            Index.open(path).add_documents(load_documents(40), workers=1)
    finally:
        os.chmod(path, 0o755)
    assert Index.open(path).doc_count() == 20
