"""The index's write lock, held for a whole import rather than for one Whoosh commit.

It is the same file Whoosh's own writers lock (``MAIN_WRITELOCK``) and the same kind of lock
(``fcntl.flock``), so vnsearch imports and plain Whoosh writers exclude each other. An flock
belongs to an open file, not to a path: the kernel drops it when the holding process dies,
even by SIGKILL, so a killed import never leaves a stale lock behind. The one way to keep a
dead import's lock alive is a child process that inherited the descriptor; the analysis pool
closes it (see ``_index._init_pool_worker``).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # Windows: fall back on Whoosh's msvcrt lock
    fcntl = None  # type: ignore[assignment]

WaitCallback = Callable[[float], None]
"""Called as ``on_wait(seconds_waited)`` when another import holds the lock: once right away,
then about every :data:`WAIT_REPORT_EVERY` seconds until the lock is free or the wait times out."""

LOCK_FILE = "MAIN_WRITELOCK"
WAIT_REPORT_EVERY = 5.0
_POLL = 0.1


class LockTimeout(Exception):
    """Internal: the lock stayed busy for the whole timeout (turned into IndexLockedError)."""


class WriteLock:
    """An exclusive, non-reentrant lock on ``<folder>/MAIN_WRITELOCK``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with WriteLock(tmp).acquire(timeout=0):
    ...         WriteLock(tmp).try_acquire()
    False
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / LOCK_FILE
        self.fd: int | None = None
        self._fallback = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; never waits. Raises OSError if the file cannot be opened."""
        if fcntl is None:
            from whoosh.util.filelock import FileLock

            self._fallback = FileLock(str(self.path))
            return bool(self._fallback.acquire(blocking=False))
        fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
        # A reindex swaps folders: if our file is no longer the one at the path, the lock we
        # hold protects nothing; let go and try again on the file that is there now.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            same = False
        if not same:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            return False
        self.fd = fd
        return True

    def acquire(self, timeout: float = 60.0, on_wait: WaitCallback | None = None) -> "WriteLock":
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
        if self._fallback is not None:
            self._fallback.release()
            self._fallback = None
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    @property
    def locked(self) -> bool:
        return self.fd is not None or self._fallback is not None

    def __enter__(self) -> "WriteLock":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
