"""The index's write lock, held for a whole import rather than for one Whoosh commit.

It is :class:`corpus._lock.FileLock` (vnsearch's one file lock) on the file Whoosh's own writers
lock, ``MAIN_WRITELOCK``, with the same kind of lock (``fcntl.flock``), so vnsearch imports and
plain Whoosh writers exclude each other. A killed import never leaves a stale lock (the kernel
drops an flock with its process); the analysis pool closes its inherited copy of the descriptor
(see ``_index._init_pool_worker``).
"""

from __future__ import annotations

import os
from pathlib import Path

from corpus._lock import WAIT_REPORT_EVERY, FileLock, LockTimeout, WaitCallback

__all__ = ["LOCK_FILE", "WAIT_REPORT_EVERY", "LockTimeout", "WaitCallback", "WriteLock"]

LOCK_FILE = "MAIN_WRITELOCK"


class WriteLock(FileLock):
    """The exclusive write lock of the index in ``folder`` (``<folder>/MAIN_WRITELOCK``).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with WriteLock(tmp).acquire(timeout=0):
    ...         WriteLock(tmp).try_acquire()
    False
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        super().__init__(Path(folder) / LOCK_FILE)
