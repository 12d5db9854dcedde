"""The one file lock (corpus/_lock.py), as the crawler and the index use it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import CrawlError
from corpus._crawl import _lock, _unlock
from corpus._lock import FileLock, LockTimeout
from index._lock import LOCK_FILE, WriteLock


def test_a_second_holder_is_refused_until_the_first_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    first = FileLock(path)
    assert first.try_acquire() and first.locked
    second = FileLock(path)
    assert not second.try_acquire() and not second.locked
    waits: list[float] = []
    with pytest.raises(LockTimeout):
        second.acquire(timeout=0.2, on_wait=waits.append)
    assert len(waits) == 1
    first.release()
    first.release()  # releasing twice is harmless
    with second.acquire(timeout=0):
        assert second.locked
    assert not second.locked


def test_the_index_write_lock_is_the_same_lock_on_whooshs_lock_file(tmp_path: Path) -> None:
    with WriteLock(tmp_path):
        pass
    with WriteLock(tmp_path).acquire(timeout=0):
        assert not FileLock(tmp_path / LOCK_FILE).try_acquire()


def test_a_second_crawl_on_one_state_folder_is_refused(tmp_path: Path) -> None:
    held = _lock(tmp_path / "lock")
    with pytest.raises(CrawlError, match="another crawl is using this state folder"):
        _lock(tmp_path / "lock")
    _unlock(held)
    _unlock(_lock(tmp_path / "lock"))


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_the_lock_of_a_killed_process_is_free(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    code = ("import sys\nfrom corpus._lock import FileLock\n"
            "assert FileLock(sys.argv[1]).try_acquire()\nprint('locked', flush=True)\nsys.stdin.readline()\n")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=root, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
    assert not FileLock(path).try_acquire()
    proc.kill()
    assert proc.wait() == -signal.SIGKILL
    assert FileLock(path).try_acquire()
