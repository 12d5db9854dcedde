"""Crash safety and concurrency: real import processes killed with SIGKILL, raced by searches
and by a second import. See ``tests/import_worker.py`` for the process that gets killed.

Nothing here waits on the clock: the import stops at named pause points (``index/_hooks.py``,
driven by ``import_worker.Worker``) and the test kills it or lets it go on from there; disks
that are full or read-only are real file systems mounted in a private mount namespace."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from import_worker import HANG_GUARD, Worker, load_documents
from index import Index, IndexLockedError
from searcher import Searcher

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).resolve().parent / "import_worker.py"
BATCH = 50


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


def test_sigkill_at_chosen_moments_leaves_last_commit_and_rerun_completes(tmp_path: Path) -> None:
    total = 400
    path = tmp_path / "ix"
    # Between two batches: the second batch's commit is visible, the third not started.
    run = Worker(path, "--count", str(total), "--batch-size", str(BATCH), pause_at="batch-committed#2")
    run.expect("paused batch-committed 2")
    run.kill()
    assert assert_committed_state(path, total) == 100
    assert orphan_segment_files(path) == []

    # In the middle of a commit: the fourth batch's segment and its TOC are written and synced,
    # the TOC is not renamed into place. (The first 100 documents are unchanged: no commit.)
    run = Worker(path, "--count", str(total), "--batch-size", str(BATCH), pause_at="toc-written#2")
    run.expect("paused toc-written 2")
    run.kill()
    assert any(".toc." in n for n in os.listdir(path))
    assert orphan_segment_files(path)
    assert assert_committed_state(path, total) == 150

    # A batch analysed and written as a segment that no commit lists yet.
    run = Worker(path, "--count", str(total), "--batch-size", str(BATCH), "--workers", "2",
                 pause_at="segment-written#1")
    run.expect("paused segment-written 1")
    run.kill()
    assert orphan_segment_files(path)
    assert assert_committed_state(path, total) == 150

    report = Index.open(path).add_documents(load_documents(total), workers=1, batch_size=BATCH)
    assert (report.unchanged, report.added, report.replaced) == (150, total - 150, 0)
    assert sorted(live_ids(path)) == sorted(d.id for d in load_documents(total))
    # The killed runs' leftovers were cleared by the last writer.
    names = os.listdir(path)
    assert not [n for n in names if ".toc." in n or n == "MAIN.tmp"], names
    assert orphan_segment_files(path) == []


def orphan_segment_files(path: Path) -> list[str]:
    """Segment files that the current commit does not list."""
    listed = {seg.segment_id() for seg in TOC.read(FileStorage(str(path)), "MAIN").segments}
    return [n for n in os.listdir(path) if n.startswith("MAIN_") and n != "MAIN_WRITELOCK"
            and n.split(".")[0] not in listed]


def test_searches_during_an_import_see_only_commits(tmp_path: Path) -> None:
    total = 300
    path = tmp_path / "ix"
    Index.create(path).add_documents(load_documents(BATCH), workers=1)
    with Searcher.open(path) as before:
        run = Worker(path, "--count", str(total), "--batch-size", str(BATCH),
                     pause_at="toc-written,batch-committed")
        committed = BATCH
        while committed < total:
            point = run.expect("paused").split()[1]
            if point == "batch-committed":
                committed += BATCH
            # At a written but not yet renamed TOC, readers still see the commit before it.
            with Searcher.open(path) as s:
                assert s.doc_count() == committed, point
                hits = s.search_ids("chiến tranh", limit=10)
                assert hits and len({i for i, _ in hits}) == len(hits)
            run.resume()
        assert run.finish() == 0
        # A searcher opened before the import still answers, from the commit it opened on.
        assert before.doc_count() == BATCH
        before.refresh()
        assert before.doc_count() == total


def test_second_import_waits_for_the_first_then_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    Index.create(path)
    first = Worker(path, "--count", "150", "--batch-size", str(BATCH), pause_at="batch-committed#1")
    first.expect("paused batch-committed 1")
    waits: list[float] = []

    def on_wait(waited: float) -> None:  # the second import is waiting: let the first go on
        if not waits:
            first.resume()
        waits.append(waited)

    mine = load_documents(210)[150:]
    report = Index.open(path).add_documents(mine, workers=1, batch_size=BATCH, lock_timeout=HANG_GUARD,
                                            on_wait=on_wait)
    assert waits, "the second import did not wait for the first"
    assert first.proc.poll() is not None, "the second import wrote while the first held the lock"
    assert first.finish() == 0
    first.expect("done 150 0 0 0")
    assert report.added == 60
    assert sorted(live_ids(path)) == sorted(d.id for d in load_documents(210))


def test_lock_timeout_raises_index_locked_error(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    Index.create(path)
    holder = Worker(path, "--hold")
    try:
        holder.expect("locked")
        waits: list[float] = []
        start = time.monotonic()
        with pytest.raises(IndexLockedError) as err:
            Index.open(path).add_documents(load_documents(5), workers=1, lock_timeout=0.5, on_wait=waits.append)
        assert time.monotonic() - start >= 0.5  # it waited out its timeout
        assert len(waits) == 1
        assert err.value.hint and "--lock-timeout" in err.value.hint
        assert Index.open(path).doc_count() == 0
    finally:
        assert holder.finish() == 0
    # Released: the same import now goes through at once.
    assert Index.open(path).add_documents(load_documents(5), workers=1, lock_timeout=0).added == 5


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _open_files(pid: int) -> list[str]:
    names = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            names.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return names


def _wait_gone(pid: int) -> bool:
    """Block until process ``pid`` (not our child) has exited; False if it is still running
    after :data:`HANG_GUARD` seconds."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], HANG_GUARD)  # a pidfd is readable once it exits
        return bool(readable)
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfd_open to wait for pool workers")
def test_lock_of_a_killed_import_is_released_even_with_worker_processes(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    run = Worker(path, "--count", "400", "--batch-size", str(BATCH), "--workers", "2",
                 pause_at="batch-committed#1")
    run.expect("paused batch-committed 1")
    workers = _children(run.proc.pid)
    assert len(workers) == 2, workers
    lock_file = str(path / "MAIN_WRITELOCK")
    assert not [w for w in workers if lock_file in _open_files(w)], "a pool worker holds the lock's descriptor"
    run.kill()
    # flock is released by the kernel with the killed process; the pool workers closed their
    # copy of the descriptor, so nothing keeps the "stale" lock alive: no wait at all.
    report = Index.open(path).add_documents(load_documents(400), workers=1, batch_size=200, lock_timeout=0)
    assert (report.unchanged, report.added) == (BATCH, 400 - BATCH)
    assert all(_wait_gone(w) for w in workers), "pool workers outlived their killed parent"


def _mount_namespace() -> list[str]:
    """``unshare`` arguments for a private mount namespace (a user namespace too when not root),
    or a skip saying why the machine does not allow one."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs util-linux's unshare to mount a file system for the test")
    return [unshare, "-m"] if os.geteuid() == 0 else [unshare, "-r", "-m"]


def test_disk_full_gives_index_write_error_and_keeps_the_last_commit(tmp_path: Path) -> None:
    source = tmp_path / "ix"
    Index.create(source).add_documents(load_documents(100), workers=1, batch_size=BATCH)
    after = tmp_path / "after"
    mount = tmp_path / "small"
    mount.mkdir()
    # In a private mount namespace: a small tmpfs holding a copy of the index, filled up but
    # for 32 kB, so the import runs out of space part-way through writing its first batch;
    # the index is then copied out as the failed import left it.
    script = (
        'mount -t tmpfs -o size=8m tmpfs "$1" || exit 99\n'
        'cp -a "$2" "$1/ix"\n'
        'dd if=/dev/zero of="$1/spare" bs=4096 count=8 2>/dev/null\n'
        'dd if=/dev/zero of="$1/fill" bs=4096 2>/dev/null\n'
        'rm "$1/spare"\n'
        '"$4" "$5" "$1/ix" --count 200 --batch-size 50\n'
        'rc=$?\n'
        'cp -a "$1/ix" "$3"\n'
        'exit $rc\n'
    )
    proc = subprocess.run([*_mount_namespace(), "sh", "-c", script, "sh", str(mount), str(source),
                           str(after), sys.executable, str(WORKER)],
                          cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD)
    if proc.returncode == 99:
        pytest.skip(f"this machine does not let a test mount a small file system: {proc.stderr.strip()}")
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "error cannot write to the index" in proc.stdout and "the disk is full" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert assert_committed_state(after, 200) == 100
    report = Index.open(after).add_documents(load_documents(200), workers=1, batch_size=BATCH)
    assert (report.unchanged, report.added) == (100, 100)
    assert sorted(live_ids(after)) == sorted(d.id for d in load_documents(200))


def test_read_only_file_system_gives_index_write_error(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    Index.create(path).add_documents(load_documents(20), workers=1)
    # The import runs in its own mount namespace, where the index folder is bind-mounted on
    # itself read-only: a real EROFS from the kernel, for root as well, and nothing changes
    # outside that process.
    remount = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" || exit 99; shift; exec "$@"'
    base = [*_mount_namespace(), "sh", "-c", remount, "sh", str(path)]
    probe = subprocess.run([*base, "touch", str(path / "probe")], capture_output=True, text=True)
    if probe.returncode == 0 or "Read-only file system" not in probe.stderr:
        pytest.skip(f"this machine does not let a test mount a read-only file system: {probe.stderr.strip()}")
    proc = subprocess.run([*base, sys.executable, str(WORKER), str(path), "--count", "40"],
                          cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "error cannot write to the index" in proc.stdout
    assert "the file system is read-only" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert Index.open(path).doc_count() == 20
    assert not (path / "probe").exists()
