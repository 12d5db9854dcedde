"""An on-disk vnsearch index: create, open, add documents incrementally, delete, export."""

from __future__ import annotations

import collections
import contextlib
import ctypes
import errno
import glob
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index as whoosh_index
from whoosh.codec.base import Segment
from whoosh.filedb.filestore import FileStorage
from whoosh.util import random_name
from whoosh.index import TOC, FileIndex, clean_files
from whoosh.reading import SegmentReader
from whoosh.writing import NO_MERGE
from whoosh.writing import IndexWriter as _WhooshWriter

from analyzers import ANALYZER_VERSION, VietnameseAnalyzer
from corpus import BackgroundJob, Document, is_problem, ordered_map, start_method

from ._analysis import analyze_document, init_worker
from .format import ArrayCodec
from ._errors import IndexLockedError, IndexNotFoundError, IndexVersionError, IndexWriteError
from ._hooks import checkpoint
from ._lock import LockTimeout, WaitCallback, WriteLock
from ._meta import FORMAT_VERSION, OLDEST_READABLE_FORMAT, IndexMeta, read_meta, write_meta
from ._merge import DEFAULT_POLICY, MergePolicy, MergeProgress, merge_in_worker, merge_segments
from ._schema import SCHEMA_VERSION, build_schema
from ._segments import SegmentTask, delete_segment_files, run_segment_task, segment_in_worker

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called as ``on_progress(documents_seen, bytes_seen)`` while an import runs."""


DEFAULT_BATCH_SIZE = 5_000
"""Documents a batch (a new segment) holds at most by default. Paragraph-sized documents (1-2 kB)
then fill a batch to about :data:`BATCH_TEXT_LIMIT`, as long articles do: an import of 100,000
paragraphs writes about 20 segments instead of 200, so the merge policy has little to merge
(``python bench/scale.py``), while a worker still holds at most about 6 MB of text."""

@dataclass
class IndexReport:
    """What an import did."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0
    removed_ids: list[str] = field(default_factory=list)
    """The ids ``prune`` removed (or, with ``dry_run``, would remove), sorted."""
    dry_run: bool = False
    """Nothing was written: the counts say what the import would do."""

    @property
    def problems(self) -> list[tuple[str, str]]:
        """The skips that are input problems (damaged, unreadable, mistyped ...), not merely
        inputs that hold no document (list pages, empty files); see ``corpus.is_problem``."""
        return [(where, why) for where, why in self.skipped if is_problem(why)]

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "replaced": self.replaced, "unchanged": self.unchanged,
                "removed": self.removed, "removed_ids": list(self.removed_ids),
                "skipped": [{"where": w, "reason": r} for w, r in self.skipped],
                "bytes": self.bytes, "seconds": round(self.seconds, 3), "dry_run": self.dry_run}


@dataclass
class DeleteReport:
    """What a delete did (or, with ``dry_run``, would do)."""

    deleted: list[str] = field(default_factory=list)
    """Ids of the documents deleted (would be deleted), in the order asked or found."""
    not_found: list[str] = field(default_factory=list)
    """Ids asked for that the index does not hold."""
    dry_run: bool = False
    cancelled: bool = False
    """``confirm`` said no: nothing was deleted."""

    def as_dict(self) -> dict[str, Any]:
        return {"deleted": list(self.deleted), "not_found": list(self.not_found),
                "dry_run": self.dry_run, "cancelled": self.cancelled}


MatchFinder = Callable[["Index", str], list[str]]
"""``find(index, query)``: the ids of the live documents of ``index`` that ``query`` matches.
The searcher provides the one that compiles queries as searches do (``searcher.matching_ids``);
the index cannot import it (imports point from searcher to index)."""

ConfirmCallback = Callable[[list[str]], bool]
"""Called with the ids about to be deleted (write lock held); False cancels the delete."""


INDEX_NAME = "MAIN"
_TOC_RE = re.compile(r"^_%s_([0-9]+)\.toc$" % INDEX_NAME)
_TOC_TEMP_RE = re.compile(r"^_%s_[0-9]+\.toc\..+$" % INDEX_NAME)
_SEGMENT_RE = re.compile(r"^%s_[0-9a-z]+\..+$" % INDEX_NAME)
_OPEN_RETRIES = 20


def _check_version(path: Path, meta: IndexMeta) -> None:
    if meta.format_version > FORMAT_VERSION:
        raise IndexVersionError(
            f"the index at {path} has format {meta.format_version}, written by a newer vnsearch; "
            f"this one reads formats {OLDEST_READABLE_FORMAT} to {FORMAT_VERSION}",
            hint="Upgrade vnsearch (pip install -U vnsearch) to search it.")
    if not meta.is_current():
        raise IndexVersionError(
            f"the index at {path} was built with analyzer {meta.analyzer_version} / schema "
            f"{meta.schema_version} / format {meta.format_version}; this vnsearch uses {ANALYZER_VERSION} / "
            f"{SCHEMA_VERSION} / {FORMAT_VERSION}",
            hint=f"Rebuild it with: vnsearch reindex --index {path}")


def _write_error(path: Path, exc: OSError) -> IndexWriteError:
    what = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
            errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
            errno.EPERM: "permission denied"}.get(exc.errno or 0, exc.strerror or str(exc))
    return IndexWriteError(f"cannot write to the index at {path}: {what}",
                           hint="Free disk space or check permissions, then run the import again; "
                                "the index still holds its last commit.")


# -- crash safety on disk -----------------------------------------------------------------
#
# A Whoosh commit writes the new segment files under fresh random names, then the table of
# contents ``_MAIN_<gen>.toc`` to a temporary name that it renames into place; readers always
# take the highest generation, so a process killed at any moment leaves the previous commit
# readable. What Whoosh does not do is fsync, so after a power cut the renamed TOC may reach
# the disk before the segment data it lists. ``_DurableStorage`` syncs before the rename.
# What a killed writer leaves behind (temporary TOCs, unlisted segments, the ``MAIN.tmp``
# pool folder) is ignored by readers and removed by the next writer (``_clean_orphans``).


def _fsync_path(path: str, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return  # e.g. directories cannot be opened on Windows; nothing to sync there
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):  # fs without fsync on directories
            raise
    finally:
        os.close(fd)


class _DurableStorage(FileStorage):
    """Whoosh's file storage, made durable: data reaches the disk before a commit is visible."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._synced: set[tuple[str, int]] = set()
        self.unlisted: set[str] = set()
        """Ids of segments that workers are still writing: the next TOC does not list them."""

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        is_toc = bool(_TOC_RE.match(newname))
        if is_toc:
            for name in self.list():
                if _SEGMENT_RE.match(name) and name.split(".", 1)[0] not in self.unlisted:
                    full = self._fpath(name)
                    try:
                        key = (name, os.path.getsize(full))
                    except FileNotFoundError:
                        continue
                    if key not in self._synced:
                        _fsync_path(full)
                        self._synced.add(key)
            _fsync_path(self._fpath(oldname))
            checkpoint("toc-written")
        super().rename_file(oldname, newname, safe=safe)
        if is_toc:
            _fsync_path(self.folder, directory=True)


def _open_whoosh(path: Path) -> FileIndex:
    """Open the latest commit. A commit deletes the previous TOC right after writing its own, so
    a reader can lose the race between listing the folder and opening the file: try again."""
    for attempt in range(_OPEN_RETRIES):
        try:
            return FileIndex(_DurableStorage(str(path)), indexname=INDEX_NAME)
        except FileNotFoundError:
            if attempt == _OPEN_RETRIES - 1:
                raise
            time.sleep(0.02)
    raise AssertionError("unreachable")


def _has_toc(path: Path) -> bool:
    try:
        return any(_TOC_RE.match(name) for name in os.listdir(path))
    except OSError:
        return False


def _clean_orphans(storage: FileStorage) -> None:
    """Remove what a killed writer left. Call only with the write lock held."""
    toc = TOC.read(storage, INDEX_NAME)
    clean_files(storage, INDEX_NAME, toc.generation, toc.segments)  # old TOCs, unlisted segments
    for name in storage.list():
        if _TOC_TEMP_RE.match(name):
            with contextlib.suppress(OSError):
                storage.delete_file(name)
    shutil.rmtree(os.path.join(storage.folder, INDEX_NAME + ".tmp"), ignore_errors=True)


def _clean_superseded(storage: FileStorage, generation: int, keep: set[str]) -> None:
    """Whoosh's ``clean_files`` after a commit, sparing the segments in ``keep`` (those the TOC
    lists and those workers are still writing, which no TOC lists yet)."""
    tocpattern = TOC._pattern(INDEX_NAME)
    segpattern = TOC._segment_pattern(INDEX_NAME)
    for name in storage.list():
        toc = tocpattern.match(name)
        seg = segpattern.match(name)
        if (toc and int(toc.group(1)) != generation) or (seg and seg.group(1) not in keep):
            with contextlib.suppress(OSError):
                storage.delete_file(name)


# -- swapping a rebuilt index into place ----------------------------------------------------

def reindex_temp_path(path: Path) -> Path:
    return path.with_name(path.name + ".reindex-tmp")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically with Linux ``renameat2(RENAME_EXCHANGE)``; False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def swap_in(new: Path, path: Path) -> None:
    """Put the complete index at ``new`` in place of ``path`` and delete the old one.

    With ``renameat2`` the swap is one atomic step. Otherwise the old index is renamed to
    ``<path>.old-<ts>`` and the new one into place; a crash between those two renames leaves
    ``path`` missing, which :func:`recover_swap` (run by ``Index.open``) repairs.
    """
    if _exchange(new, path):
        _fsync_path(str(path.parent), directory=True)
        shutil.rmtree(new, ignore_errors=True)
        return
    old = path.with_name(f"{path.name}.old-{time.time_ns()}")
    os.rename(path, old)
    try:
        os.rename(new, path)
    except FileNotFoundError:
        if not path.exists():  # a reader's recover_swap may have finished the job for us
            raise
    _fsync_path(str(path.parent), directory=True)
    shutil.rmtree(old, ignore_errors=True)


def recover_swap(path: Path) -> None:
    """Finish a reindex swap that a crash interrupted, if ``path`` is missing because of one."""
    if path.exists():
        return
    olds = sorted(path.parent.glob(glob.escape(path.name) + ".old-*"))
    if not olds:
        return
    tmp = reindex_temp_path(path)
    # The old index is only moved aside once the new one is complete, so a temp folder that
    # sits beside a moved-aside old index is a finished rebuild.
    source = tmp if tmp.is_dir() else olds[-1]
    log.warning("recovering %s from an interrupted reindex (using %s)", path, source.name)
    with contextlib.suppress(FileNotFoundError):
        os.rename(source, path)


# Batches handed to the pool per worker before waiting for the oldest: two, so that a worker
# done early takes the next batch instead of waiting for a long batch ahead of it to commit.
_IN_FLIGHT_PER_WORKER = 2


def _init_pool_worker(user_words: tuple[str, ...], lock_fd: int | None) -> None:
    # A forked worker inherits the parent's descriptor of the write lock: if the parent is
    # killed, the worker would keep the index locked. Closing our copy does not unlock it.
    # (SIGINT and the parent's death are handled by corpus's ordered_map.)
    if lock_fd is not None:
        with contextlib.suppress(OSError):
            os.close(lock_fd)
    init_worker(user_words)


class Index:
    """A vnsearch index folder (Whoosh segments plus ``vnsearch.json``).

    Every writing method holds the index's write lock for its whole run, so a second import
    waits for the first; searches never wait and see the last commit.

    >>> import tempfile
    >>> from corpus import Document
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ix = Index.create(tmp)
    ...     report = ix.add_documents([Document(id="1", title="Tài liệu", text="Nông thôn mới")])
    ...     (report.added, ix.doc_count())
    (1, 1)
    """

    def __init__(self, path: Path, whoosh_ix: Any, meta: IndexMeta) -> None:
        self.path = path
        self.meta = meta
        self.merge_policy: MergePolicy = DEFAULT_POLICY
        """Which segments imports merge after each commit (see :class:`index._merge.MergePolicy`)."""
        self._merge_running: _BackgroundMerge | None = None
        self._ix = whoosh_ix
        self._lock: WriteLock | None = None

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def exists(cls, path: str | os.PathLike[str]) -> bool:
        """True if ``path`` holds a vnsearch index."""
        p = Path(path)
        recover_swap(p)
        return p.is_dir() and read_meta(p) is not None and _has_toc(p)

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, user_words: Iterable[str] = ()) -> "Index":
        """Create an empty index at ``path`` (the folder is made if needed)."""
        p = Path(path)
        try:
            p.mkdir(parents=True, exist_ok=True)
            meta = IndexMeta(user_words=tuple(user_words))
            FileIndex.create(_DurableStorage(str(p)), build_schema(meta.user_words), INDEX_NAME)
            write_meta(p, meta)
            ix = _open_whoosh(p)
        except OSError as exc:
            raise IndexWriteError(f"cannot create an index at {p}: {exc.strerror or exc}",
                                  hint="Choose a folder you can write to with --index DIR.") from exc
        return cls(p, ix, meta)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, check_version: bool = True) -> "Index":
        """Open an existing index; raises :class:`IndexNotFoundError` or :class:`IndexVersionError`."""
        p = Path(path)
        recover_swap(p)
        meta = read_meta(p) if p.is_dir() else None
        if meta is None or not _has_toc(p):
            raise IndexNotFoundError(f"no vnsearch index at {p}",
                                     hint="Create one with: vnsearch index FILES... --index " + str(p))
        if check_version:
            _check_version(p, meta)
        try:
            ix = _open_whoosh(p)
        except (OSError, EOFError, whoosh_index.IndexError) as exc:
            raise IndexNotFoundError(f"cannot open the index at {p}: {exc}",
                                     hint="Rebuild it with: vnsearch reindex --index " + str(p)) from exc
        return cls(p, ix, meta)

    @classmethod
    def open_or_create(cls, path: str | os.PathLike[str], *, user_words: Iterable[str] = ()) -> "Index":
        if cls.exists(path):
            return cls.open(path)
        return cls.create(path, user_words=user_words)

    # -- reading ------------------------------------------------------------------------

    def _whoosh(self) -> FileIndex:
        """The underlying Whoosh index: for this package and the searcher stage only."""
        return self._ix

    def analyzer(self) -> VietnameseAnalyzer:
        """An analyzer configured as this index's (same user dictionary)."""
        return VietnameseAnalyzer(user_words=self.meta.user_words)

    def doc_count(self) -> int:
        """Live documents (deleted ones not counted)."""
        return int(self._ix.doc_count())

    def segment_count(self) -> int:
        """Segments in the last commit (the merge policy keeps it logarithmic in the size)."""
        return len(TOC.read(self._ix.storage, INDEX_NAME).segments)

    def ids(self) -> list[str]:
        """The ids of every live document, in index order."""
        return list(self.content_hashes())

    def content_hashes(self) -> dict[str, str]:
        """``{id: content_hash}`` of every live document, read from columns (no stored fields).

        Segment by segment through the per-document reader only: a Whoosh reader opens every
        segment's term and posting files, and for a compound segment that copies them into
        memory (``CompoundStorage.open_file`` -> ``BytesIO``): about 1.4 GB for viwiki."""
        out: dict[str, str] = {}
        storage = self._ix.storage
        toc = TOC.read(storage, INDEX_NAME)
        id_field, hash_field = toc.schema["id"], toc.schema["content_hash"]
        for seg in toc.segments:
            files = seg.open_compound_file(storage) if seg.is_compound() else storage
            perdoc = seg.codec().per_document_reader(files, seg)
            try:
                if not (perdoc.has_column("id") and perdoc.has_column("content_hash")):
                    continue  # no documents in it
                ids = perdoc.column_reader("id", id_field.column_type)
                hashes = perdoc.column_reader("content_hash", hash_field.column_type)
                for docnum in range(seg.doc_count_all()):
                    if not seg.is_deleted(docnum):
                        out[id_field.from_column_value(ids[docnum])] = hash_field.from_column_value(hashes[docnum])
            finally:
                perdoc.close()
                if files is not storage:
                    files.close()
        return out

    def documents(self) -> Iterator[Document]:
        """Every stored document, as it was imported (for export and reindex).

        The documents come from one commit, even if an import commits while they are read.
        """
        with self._ix.reader() as reader:
            for _docnum, stored in reader.iter_docs():
                yield Document(id=stored["id"], title=stored.get("title", ""), text=stored.get("text", ""),
                               url=stored.get("url"), source=stored.get("source"),
                               date=stored.get("date"), author=stored.get("author"))

    # -- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def write_lock(self, lock_timeout: float = 60.0, on_wait: WaitCallback | None = None) -> Iterator[None]:
        """Hold the index's write lock (waiting up to ``lock_timeout`` s) and clear what a killed
        writer left behind. Re-entrant within one ``Index`` object."""
        if self._lock is not None:
            yield
            return
        lock = WriteLock(self.path)
        try:
            lock.acquire(lock_timeout, on_wait)
        except LockTimeout as exc:
            raise IndexLockedError(
                f"another import is writing to {self.path} and did not finish within {lock_timeout:.0f} s",
                hint="Wait for it to finish, or pass a longer --lock-timeout.") from exc
        except OSError as exc:
            raise _write_error(self.path, exc) from exc
        self._lock = lock
        try:
            # The folder may have been swapped by a reindex while we waited.
            self._ix = _open_whoosh(self.path)
            try:
                _clean_orphans(self._ix.storage)
            except OSError as exc:
                log.warning("could not clean leftover files in %s: %s", self.path, exc)
            yield
        finally:
            self._lock = None
            lock.release()

    def _writer(self, lock_timeout: float = 60.0) -> _WhooshWriter:
        """A Whoosh writer that relies on our lock (``write_lock`` must be held)."""
        assert self._lock is not None, "write_lock() must be held"
        return self._ix.writer(_lk=False, limitmb=256, codec=ArrayCodec())

    def _commit(self, work: Callable[[_WhooshWriter], None], **commit_args: Any) -> None:
        """Run ``work`` in one Whoosh transaction; an OSError leaves the last commit intact."""
        try:
            writer = self._writer()
        except OSError as exc:
            raise _write_error(self.path, exc) from exc
        try:
            work(writer)
            writer.commit(**commit_args)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                if not writer.is_closed:
                    writer.cancel()
            if isinstance(exc, OSError):
                raise _write_error(self.path, exc) from exc
            raise

    def add_documents(self, documents: Iterable[Document], *, workers: int | None = None,
                      batch_size: int = DEFAULT_BATCH_SIZE, lock_timeout: float = 60.0,
                      on_progress: ProgressCallback | None = None, prune: bool = False,
                      on_wait: WaitCallback | None = None, dry_run: bool = False,
                      confirm_prune: ConfirmCallback | None = None) -> IndexReport:
        """Add or replace documents, committing every ``batch_size`` documents (or sooner, every
        :data:`BATCH_TEXT_LIMIT` bytes of text).

        A document whose id is in the index is replaced if its content hash differs and left
        alone (not even re-analysed) if it is the same (the same goes for an id repeated in the
        input: a copy identical to the one before it is ``unchanged``; otherwise the later copy
        wins). Each batch is analysed and written as a new segment by one of ``workers``
        processes (default: every core; with 1, in this process), while this process commits
        the finished batches in order. With ``prune=True``, once every document has been read,
        the documents of the index that were not among them are deleted
        (``report.removed``, ``report.removed_ids``) unless ``confirm_prune(ids)`` says no;
        an import that fails part-way prunes nothing. With ``dry_run``, the documents are read
        and counted (added, replaced, unchanged, pruned) and nothing is written.

        The write lock is held for the whole import: a second import waits up to
        ``lock_timeout`` seconds (calling ``on_wait``), then raises ``IndexLockedError``.
        A crash loses at most the batches not yet committed; running the import again completes it.
        """
        if dry_run:
            return preview_import(documents, self.content_hashes(), prune)
        start = time.perf_counter()
        report = IndexReport()
        seen = 0
        seen_bytes = 0
        seen_ids: set[str] = set()
        with self.write_lock(lock_timeout, on_wait):
            known = self.content_hashes()
            # Hashes of the copies read but not committed yet (batches in the workers' hands).
            queued: dict[str, str] = {}

            def todo() -> Iterator[Document]:
                nonlocal seen, seen_bytes
                for doc in documents:
                    seen += 1
                    seen_bytes += len(doc.title.encode("utf-8")) + len(doc.text.encode("utf-8"))
                    if prune:
                        seen_ids.add(doc.id)
                    previous = queued.get(doc.id)
                    if (previous if previous is not None else known.get(doc.id)) == doc.content_hash:
                        report.unchanged += 1
                        if on_progress and not queued:  # else the next commit reports it
                            progress(seen, seen_bytes)
                        continue
                    queued[doc.id] = doc.content_hash
                    yield doc

            # Progress counts a document once it is committed (or found unchanged), not when it
            # is read: batches are read ahead for the workers. ``stamps`` holds the counts read
            # up to the end of each batch in the workers' hands, in order.
            reported = (0, 0)
            stamps: collections.deque[tuple[int, int]] = collections.deque()

            def progress(docs: int, nbytes: int) -> None:
                nonlocal reported
                if on_progress and docs > reported[0]:
                    reported = (docs, nbytes)
                    on_progress(docs, nbytes)

            def stamped() -> Iterator[list[Document]]:
                for batch in _dedup_batches(todo(), batch_size):
                    stamps.append((seen, seen_bytes))
                    yield batch

            segmented = self._segment_batches(stamped(), workers)
            try:
                for batch, segment in segmented:
                    checkpoint("segment-written")
                    replaced = [doc.id for doc in batch if doc.id in known]
                    self._commit_segment(segment, replaced)
                    report.replaced += len(replaced)
                    report.added += len(batch) - len(replaced)
                    for doc in batch:
                        known[doc.id] = doc.content_hash
                        if queued.get(doc.id) == doc.content_hash:
                            del queued[doc.id]
                    progress(*stamps.popleft())
                    log.info("committed %d documents to %s", len(batch), self.path)
                    checkpoint("batch-committed")
                self._finish_merges()
                progress(seen, seen_bytes)
            except OSError as exc:
                raise _write_error(self.path, exc) from exc
            finally:
                self._abort_merge()  # a merge still running when the import stopped early
                segmented.close()  # ends the pool and removes uncommitted segments if we stopped early
                close = getattr(documents, "close", None)
                if close is not None:
                    close()  # a reader's own worker processes end now, not when it is collected
                shutil.rmtree(os.path.join(self.path, INDEX_NAME + ".tmp"), ignore_errors=True)
            if prune:
                gone = sorted(set(known) - seen_ids)
                if gone and (confirm_prune is None or confirm_prune(gone)):
                    report.removed = self._delete_ids(gone)
                    report.removed_ids = gone
                    log.info("pruned %d documents not seen in this import from %s", report.removed, self.path)
        self._ix = _open_whoosh(self.path)
        report.bytes = seen_bytes
        report.seconds = time.perf_counter() - start
        return report

    def _segment_batches(self, batches: Iterator[list[Document]],
                         workers: int | None) -> Generator[tuple[list[Document], Segment], None, None]:
        """``(batch, segment)`` in batch order: each batch analysed and written as a complete
        segment that no TOC lists yet (by a pool of ``workers`` processes, or in this process
        with one). Up to ``_IN_FLIGHT_PER_WORKER * workers`` batches are in the workers' hands
        at a time, so they never wait for this process to commit (nor for a long batch ahead
        of them to finish), and memory does not grow with the input."""
        workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        storage = self._ix.storage
        schema = self._ix.schema
        folder = str(self.path)

        def task(batch: list[Document]) -> SegmentTask:
            segid = random_name(16)
            storage.unlisted.add(f"{INDEX_NAME}_{segid}")
            return SegmentTask(folder, INDEX_NAME, schema, segid, batch)

        def done(t: SegmentTask) -> None:
            # Handed over for commit: from now on the TOC lists it, and the fsync before the
            # TOC's rename must include its files.
            storage.unlisted.discard(f"{INDEX_NAME}_{t.segid}")

        pending: list[SegmentTask] = []  # handed out, not yet committed

        def tasks() -> Iterator[SegmentTask]:
            for batch in batches:
                t = task(batch)
                pending.append(t)
                yield t

        try:
            if workers == 1:
                analyzer = self.analyzer()
                for t in tasks():
                    # analyze_document is looked up here on each call (tests count the calls)
                    segment = run_segment_task(
                        t, lambda doc: analyze_document(analyzer, doc, pairs_as_lists=False), storage)
                    pending.remove(t)
                    done(t)
                    yield t.documents, segment
                return
            lock_fd = self._lock.fd if (self._lock is not None and start_method() == "fork") else None
            segments = ordered_map(segment_in_worker, tasks(), workers, initializer=_init_pool_worker,
                                   initargs=(self.meta.user_words, lock_fd), ahead=_IN_FLIGHT_PER_WORKER,
                                   what="an analysis process")
            try:
                for segment in segments:
                    t = pending.pop(0)
                    done(t)
                    yield t.documents, segment
            finally:
                segments.close()  # terminates the workers if we stopped early
        finally:
            # Stopped early (an error, Ctrl-C, a closed generator): the pool is gone; what the
            # workers wrote for uncommitted batches is unlisted, so remove it now rather than
            # at the next import.
            for t in pending:
                delete_segment_files(storage, f"{INDEX_NAME}_{t.segid}")
                done(t)

    def _commit_segment(self, segment: Segment, replaced: list[str]) -> None:
        """Commit one worker-written segment: a new TOC lists the current segments (minus the
        documents of ``replaced`` ids, marked deleted) and then ``segment``. No merging here;
        see :meth:`optimize`."""
        storage = self._ix.storage
        toc = TOC.read(storage, INDEX_NAME)
        segments = list(toc.segments)
        if replaced:
            for seg in segments:
                reader = SegmentReader(storage, toc.schema, seg)
                try:
                    for doc_id in replaced:
                        if ("id", doc_id) in reader:
                            for docnum in reader.postings("id", doc_id).all_ids():
                                seg.delete_document(docnum)
                finally:
                    reader.close()
        segments.append(segment)
        generation = toc.generation + 1
        TOC(toc.schema, segments, generation).write(storage, INDEX_NAME)
        keep = {seg.segment_id() for seg in segments} | storage.unlisted
        _clean_superseded(storage, generation, keep)
        self._apply_merge_policy()

    def _apply_merge_policy(self) -> None:
        """After an import's commit: commit the background merge if it has finished, and start
        the next one the policy asks for. Merges run in a process of their own while the import
        goes on (:class:`_BackgroundMerge`); one at a time."""
        running = self._merge_running
        if running is not None:
            if not running.ready():
                return
            self._merge_running = None
            self._commit_merged(running.sources, running.result(), running.deleted_at_start)
        toc = TOC.read(self._ix.storage, INDEX_NAME)
        plan = self.merge_policy.plan([seg.doc_count() for seg in toc.segments])
        if plan is not None:
            self._merge_running = _BackgroundMerge(self, [toc.segments[i] for i in plan])

    def _finish_merges(self) -> None:
        """At the end of an import: wait for the running merge and commit it, then merge in
        this process until the policy is satisfied."""
        running = self._merge_running
        if running is not None:
            self._merge_running = None
            self._commit_merged(running.sources, running.result(), running.deleted_at_start)
        while True:
            toc = TOC.read(self._ix.storage, INDEX_NAME)
            plan = self.merge_policy.plan([seg.doc_count() for seg in toc.segments])
            if plan is None:
                return
            self._merge_and_commit({toc.segments[i].segment_id() for i in plan})

    def _abort_merge(self) -> None:
        running, self._merge_running = self._merge_running, None
        if running is not None:
            running.abort()

    def _merge_and_commit(self, chosen: set[str], on_progress: MergeProgress | None = None) -> None:
        """Merge the segments with ids in ``chosen`` into a new one, in this process (written
        unlisted, without re-analysis), then commit it (:meth:`_commit_merged`)."""
        assert self._lock is not None, "write_lock() must be held"
        storage = self._ix.storage
        toc = TOC.read(storage, INDEX_NAME)
        sources = [seg for seg in toc.segments if seg.segment_id() in chosen]
        segid = random_name(16)
        name = f"{INDEX_NAME}_{segid}"
        storage.unlisted.add(name)
        try:
            merged = merge_segments(storage, toc.schema, sources, INDEX_NAME, segid, on_progress)
        except BaseException:
            delete_segment_files(storage, name)
            storage.unlisted.discard(name)
            raise
        self._commit_merged(sources, merged, {seg.segment_id(): set(seg.deleted_docs()) for seg in sources})

    def _commit_merged(self, sources: list[Segment], merged: Segment, deleted_at_start: dict[str, set[int]]) -> None:
        """Commit a TOC that lists ``merged`` in place of ``sources`` (where the first of them
        was). Documents of the sources deleted since the merge read them (``deleted_at_start``:
        segment id -> deleted document numbers then) are deleted in ``merged`` too. Until the
        TOC's rename, readers and a crash see the last commit; the merged segment is an orphan."""
        assert self._lock is not None, "write_lock() must be held"
        storage = self._ix.storage
        toc = TOC.read(storage, INDEX_NAME)
        current = {seg.segment_id(): seg for seg in toc.segments}
        offset = 0
        for src in sources:
            before = deleted_at_start[src.segment_id()]
            live = np.setdiff1d(np.arange(src.doc_count_all()), np.fromiter(before, np.int64, len(before)))
            since = set(current[src.segment_id()].deleted_docs()) - before
            for docnum in np.searchsorted(live, sorted(since)).tolist():
                merged.delete_document(offset + docnum)
            offset += len(live)
        chosen = {src.segment_id() for src in sources}
        segments: list[Segment] = []
        placed = False
        for seg in toc.segments:
            if seg.segment_id() not in chosen:
                segments.append(seg)
            elif not placed:
                placed = True
                if merged.doc_count():
                    segments.append(merged)  # in place of the first source: documents keep their order
        checkpoint("merge-committing")
        generation = toc.generation + 1
        storage.unlisted.discard(merged.segment_id())
        TOC(toc.schema, segments, generation).write(storage, INDEX_NAME)
        _clean_superseded(storage, generation, {seg.segment_id() for seg in segments} | storage.unlisted)
        checkpoint("merge-committed")
        log.info("merged %d segments of %s", len(sources), self.path)

    def _delete_ids(self, ids: Iterable[str]) -> int:
        count = 0

        def work(writer: _WhooshWriter) -> None:
            nonlocal count
            for doc_id in ids:
                count += writer.delete_by_term("id", doc_id)

        # Whoosh merges nothing here: segments are merged by index._merge.MergePolicy as imports
        # commit, and by optimize, at the array level (Whoosh's merges re-add postings one by one).
        self._commit(work, mergetype=NO_MERGE)
        return count

    def delete(self, ids: Iterable[str], *, dry_run: bool = False, confirm: ConfirmCallback | None = None,
               lock_timeout: float = 60.0, on_wait: WaitCallback | None = None) -> DeleteReport:
        """Delete documents by id in one commit.

        The report lists the ids deleted and those the index does not hold. With ``dry_run``
        nothing is written (the report says what would go); ``confirm`` is asked, with the
        write lock held, before anything is deleted.
        """
        wanted = list(dict.fromkeys(ids))
        return self._delete_found(lambda live: wanted, dry_run, confirm, lock_timeout, on_wait)

    def delete_matching(self, query: str, find: MatchFinder, *, dry_run: bool = False,
                        confirm: ConfirmCallback | None = None, lock_timeout: float = 60.0,
                        on_wait: WaitCallback | None = None) -> DeleteReport:
        """Delete every document ``query`` matches, as ``find`` finds them (use
        ``searcher.matching_ids``, which matches exactly what a search for ``query`` does).

        The write lock is held from finding to deleting, so no import slips in between. With
        ``dry_run`` nothing is written; ``confirm`` is asked before anything is deleted.
        """
        return self._delete_found(lambda live: find(self, query), dry_run, confirm, lock_timeout, on_wait)

    def _delete_found(self, targets: Callable[[set[str]], list[str]], dry_run: bool,
                      confirm: ConfirmCallback | None, lock_timeout: float,
                      on_wait: WaitCallback | None) -> DeleteReport:
        with self.write_lock(lock_timeout, on_wait):  # reopens the latest commit
            live = set(self.ids())
            wanted = targets(live)
            report = DeleteReport(deleted=[i for i in wanted if i in live],
                                  not_found=[i for i in wanted if i not in live], dry_run=dry_run)
            if dry_run or not report.deleted:
                return report
            if confirm is not None and not confirm(report.deleted):
                report.deleted, report.cancelled = [], True
                return report
            self._delete_ids(report.deleted)
        self._ix = _open_whoosh(self.path)
        return report

    def optimize(self, *, lock_timeout: float = 60.0, on_wait: WaitCallback | None = None,
                 on_progress: MergeProgress | None = None) -> None:
        """Merge every segment into one and drop deleted documents (faster searches), without
        re-analysis; ``on_progress(done, total)`` counts documents. Searches keep working and
        see the last commit until the merged segment is committed."""
        with self.write_lock(lock_timeout, on_wait):
            segments = TOC.read(self._ix.storage, INDEX_NAME).segments
            if len(segments) > 1 or (segments and segments[0].has_deletions()):
                try:
                    self._merge_and_commit({seg.segment_id() for seg in segments}, on_progress)
                finally:  # the per-document writer's scratch folder (no workers use it now)
                    shutil.rmtree(os.path.join(self.path, INDEX_NAME + ".tmp"), ignore_errors=True)
        self._ix = _open_whoosh(self.path)


def _init_merge_worker(lock_fd: int | None) -> None:
    # As _init_pool_worker: the inherited lock descriptor is closed (SIGINT and the parent's
    # death are handled by corpus's BackgroundJob).
    if lock_fd is not None:
        with contextlib.suppress(OSError):
            os.close(lock_fd)


class _BackgroundMerge:
    """A merge written by a process of its own while an import goes on committing batches (the
    importing process only commits it). It reads the sources as they were when it started;
    deletions made meanwhile are carried over at commit (:meth:`Index._commit_merged`)."""

    def __init__(self, index: "Index", sources: list[Segment]) -> None:
        storage = index._ix.storage
        self.sources = sources
        self.deleted_at_start = {seg.segment_id(): set(seg.deleted_docs()) for seg in sources}
        self.segid = random_name(16)
        self.name = f"{INDEX_NAME}_{self.segid}"
        self._storage = storage
        storage.unlisted.add(self.name)
        lock_fd = index._lock.fd if (index._lock is not None and start_method() == "fork") else None
        # A process that dies (the out-of-memory killer) is a WorkerDiedError, never a wait for ever.
        self._job: BackgroundJob[Segment] = BackgroundJob(
            merge_in_worker, str(index.path), index._ix.schema, sources, INDEX_NAME, self.segid,
            initializer=_init_merge_worker, initargs=(lock_fd,), what="a merging process")

    def ready(self) -> bool:
        return self._job.ready()

    def result(self) -> Segment:
        """The merged segment (waits for it); on failure its files are removed and the error raised."""
        try:
            return self._job.result()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self._job.abort()
        delete_segment_files(self._storage, self.name)
        self._storage.unlisted.discard(self.name)


BATCH_TEXT_LIMIT = 6_000_000
"""Bytes of title and text after which a batch ends early, whatever ``batch_size`` says: a worker
holds a whole batch's postings while it writes the segment (about 25-35 bytes of memory per
byte of text), so this, not the corpus, bounds its memory."""


def _dedup_batches(docs: Iterator[Document], batch_size: int,
                   text_limit: int = BATCH_TEXT_LIMIT) -> Iterator[list[Document]]:
    """Batches of at most ``batch_size`` documents and about ``text_limit`` bytes of text; an id
    repeated within a batch keeps its last copy."""
    batch: dict[str, Document] = {}
    size = 0
    for doc in docs:
        batch.pop(doc.id, None)
        batch[doc.id] = doc
        size += len(doc.title.encode("utf-8")) + len(doc.text.encode("utf-8"))
        if len(batch) >= batch_size or size >= text_limit:
            yield list(batch.values())
            batch = {}
            size = 0
    if batch:
        yield list(batch.values())


def preview_import(documents: Iterable[Document], known: dict[str, str], prune: bool) -> IndexReport:
    """What importing ``documents`` into an index holding ``known`` (``{id: content_hash}``)
    would do, written nowhere: ``add_documents(dry_run=True)``."""
    start = time.perf_counter()
    report = IndexReport(dry_run=True)
    latest: dict[str, str] = {}
    for doc in documents:
        report.bytes += len(doc.title.encode("utf-8")) + len(doc.text.encode("utf-8"))
        before = latest.get(doc.id, known.get(doc.id))
        if before == doc.content_hash:
            report.unchanged += 1
        elif doc.id not in latest:
            if doc.id in known:
                report.replaced += 1
            else:
                report.added += 1
        latest[doc.id] = doc.content_hash
    if prune:
        report.removed_ids = sorted(set(known) - set(latest))
        report.removed = len(report.removed_ids)
    report.seconds = time.perf_counter() - start
    return report
