"""The one file lock of vnsearch: an exclusive, non-blocking ``flock`` on a file, held by an
open descriptor (the crawler's state folder, the index's write lock).

An flock belongs to an open file, not to a path: the kernel drops it when the holding process
dies, even by SIGKILL, so a killed crawl or import never leaves a stale lock behind. The one way
to keep a dead process's lock alive is a child process that inherited the descriptor: callers
that fork hand :attr:`FileLock.fd` to their children to close. On Windows (no ``fcntl``) the
first byte of the file is locked with ``msvcrt.locking`` instead, which the system also
releases with the process.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

WaitCallback = Callable[[float], None]
"""Called as ``on_wait(seconds_waited)`` while another process holds the lock: once right away,
then about every :data:`WAIT_REPORT_EVERY` seconds until the lock is free or the wait times out."""

WAIT_REPORT_EVERY = 5.0
_POLL = 0.1
_BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


class LockTimeout(Exception):
    """The lock stayed busy for the whole timeout (callers turn it into their own typed error)."""


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """An exclusive, non-reentrant lock on the file at ``path`` (created if missing).

    >>> import tempfile, os
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with FileLock(os.path.join(tmp, "lock")).acquire(timeout=0):
    ...         FileLock(os.path.join(tmp, "lock")).try_acquire()
    False
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits. Raises OSError if the file cannot be opened."""
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            if not _try_lock(fd):
                os.close(fd)
                return False
            # The folder may have been swapped (a reindex): if our file is no longer the one at
            # the path, the lock we hold protects nothing; let go (the caller tries again).
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if not same:
            _unlock(fd)
            os.close(fd)
            return False
        self.fd = fd
        return True

    def acquire(self, timeout: float = 60.0, on_wait: WaitCallback | None = None) -> "FileLock":
        """Wait up to ``timeout`` seconds for the lock; raises :class:`LockTimeout`."""
        start = time.monotonic()
        next_report = 0.0
        while not self.try_acquire():
            waited = time.monotonic() - start
            if waited >= timeout:
                raise LockTimeout(f"{self.path} is still locked after {waited:.1f} s")
            if on_wait is not None and waited >= next_report:
                on_wait(waited)
                next_report = waited + WAIT_REPORT_EVERY
            time.sleep(min(_POLL, max(0.0, timeout - waited)))
        return self

    def release(self) -> None:
        """Let go of the lock (nothing happens if it is not held)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                _unlock(fd)
            finally:
                os.close(fd)

    @property
    def locked(self) -> bool:
        return self.fd is not None

    def __enter__(self) -> "FileLock":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
