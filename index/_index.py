"""An on-disk vnsearch index: create, open, add documents incrementally, delete, export."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import multiprocessing
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex, clean_files
from whoosh.query import Query as WhooshQuery
from whoosh.writing import IndexWriter as _WhooshWriter

from analyzers import ANALYZER_VERSION, VietnameseAnalyzer
from corpus import Document

from ._analysis import AnalyzedFields, analyze_document, analyze_in_worker, init_worker
from ._errors import IndexLockedError, IndexNotFoundError, IndexVersionError, IndexWriteError
from ._lock import LockTimeout, WaitCallback, WriteLock
from ._meta import IndexMeta, read_meta, write_meta
from ._schema import SCHEMA_VERSION, build_schema

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called as ``on_progress(documents_seen, bytes_seen)`` while an import runs."""


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

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "replaced": self.replaced, "unchanged": self.unchanged,
                "removed": self.removed, "skipped": [{"where": w, "reason": r} for w, r in self.skipped],
                "bytes": self.bytes, "seconds": round(self.seconds, 3)}


def _check_version(path: Path, meta: IndexMeta) -> None:
    if not meta.is_current():
        raise IndexVersionError(
            f"the index at {path} was built with analyzer {meta.analyzer_version} / schema "
            f"{meta.schema_version}; this vnsearch uses {ANALYZER_VERSION} / {SCHEMA_VERSION}",
            hint=f"Rebuild it with: vnsearch reindex --index {path}")


class Index:
    """A vnsearch index folder (Whoosh segments plus ``vnsearch.json``).

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
        self._ix = whoosh_ix

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def exists(cls, path: str | os.PathLike[str]) -> bool:
        """True if ``path`` holds a vnsearch index."""
        p = Path(path)
        return p.is_dir() and read_meta(p) is not None and whoosh_index.exists_in(str(p))

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, user_words: Iterable[str] = ()) -> "Index":
        """Create an empty index at ``path`` (the folder is made if needed)."""
        p = Path(path)
        try:
            p.mkdir(parents=True, exist_ok=True)
            meta = IndexMeta(user_words=tuple(user_words))
            ix = whoosh_index.create_in(str(p), build_schema(meta.user_words))
            write_meta(p, meta)
        except OSError as exc:
            raise IndexWriteError(f"cannot create an index at {p}: {exc.strerror or exc}",
                                  hint="Choose a folder you can write to with --index DIR.") from exc
        return cls(p, ix, meta)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, check_version: bool = True) -> "Index":
        """Open an existing index; raises :class:`IndexNotFoundError` or :class:`IndexVersionError`."""
        p = Path(path)
        meta = read_meta(p) if p.is_dir() else None
        if meta is None or not whoosh_index.exists_in(str(p)):
            raise IndexNotFoundError(f"no vnsearch index at {p}",
                                     hint="Create one with: vnsearch index FILES... --index " + str(p))
        if check_version:
            _check_version(p, meta)
        try:
            ix = whoosh_index.open_dir(str(p))
        except (OSError, whoosh_index.IndexError) as exc:
            raise IndexNotFoundError(f"cannot open the index at {p}: {exc}",
                                     hint="Rebuild it with: vnsearch reindex --index " + str(p)) from exc
        return cls(p, ix, meta)

    @classmethod
    def open_or_create(cls, path: str | os.PathLike[str], *, user_words: Iterable[str] = ()) -> "Index":
        if cls.exists(path):
            return cls.open(path)
        return cls.create(path, user_words=user_words)

    # -- reading ------------------------------------------------------------------------

    @property
    def whoosh_index(self) -> Any:
        """The underlying Whoosh index (for the searcher stage)."""
        return self._ix

    def analyzer(self) -> VietnameseAnalyzer:
        """An analyzer configured as this index's (same user dictionary)."""
        return VietnameseAnalyzer(user_words=self.meta.user_words)

    def doc_count(self) -> int:
        return int(self._ix.doc_count())

    def content_hashes(self) -> dict[str, str]:
        """``{id: content_hash}`` of every live document, read from columns (no stored fields)."""
        out: dict[str, str] = {}
        with self._ix.reader() as reader:
            if reader.doc_count() == 0:
                return out
            ids = reader.column_reader("id")
            hashes = reader.column_reader("content_hash")
            for docnum in reader.all_doc_ids():
                out[ids[docnum]] = hashes[docnum]
        return out

    def documents(self) -> Iterator[Document]:
        """Every stored document, as it was imported (for export and reindex)."""
        with self._ix.reader() as reader:
            for _docnum, stored in reader.iter_docs():
                yield Document(id=stored["id"], title=stored.get("title", ""), text=stored.get("text", ""),
                               url=stored.get("url"), source=stored.get("source"),
                               date=stored.get("date"), author=stored.get("author"))

    # -- writing ------------------------------------------------------------------------

    def _writer(self, lock_timeout: float) -> _WhooshWriter:
        try:
            return self._ix.writer(timeout=lock_timeout, delay=0.25, limitmb=256)
        except LockError as exc:
            raise IndexLockedError(
                f"another import is writing to {self.path} and did not finish within {lock_timeout:.0f} s",
                hint="Wait for it to finish, or pass a longer --lock-timeout.") from exc

    def add_documents(self, documents: Iterable[Document], *, workers: int | None = None,
                      batch_size: int = 500, lock_timeout: float = 60.0,
                      on_progress: ProgressCallback | None = None) -> IndexReport:
        """Add or replace documents, committing every ``batch_size`` documents.

        A document whose id is in the index is replaced if its content hash differs and left
        alone (not even re-analysed) if it is the same. Analysis runs in ``workers`` processes
        (default: every core) while this process writes.
        """
        start = time.perf_counter()
        report = IndexReport()
        known = self.content_hashes()
        seen = 0
        seen_bytes = 0

        def todo() -> Iterator[Document]:
            nonlocal seen, seen_bytes
            for doc in documents:
                seen += 1
                seen_bytes += len(doc.title.encode("utf-8")) + len(doc.text.encode("utf-8"))
                if known.get(doc.id) == doc.content_hash:
                    report.unchanged += 1
                    if on_progress:
                        on_progress(seen, seen_bytes)
                    continue
                yield doc

        for batch in self._analyzed_batches(todo(), workers, batch_size):
            writer = self._writer(lock_timeout)
            try:
                for doc, values in batch:
                    if doc.id in known:
                        writer.delete_by_term("id", doc.id)
                        report.replaced += 1
                    else:
                        report.added += 1
                    writer.add_document(**values)
                    known[doc.id] = doc.content_hash
                writer.commit()
            except OSError as exc:
                writer.cancel()
                raise IndexWriteError(f"cannot write to the index at {self.path}: {exc.strerror or exc}",
                                      hint="Free disk space or check permissions; the last commit is intact.") from exc
            except BaseException:
                writer.cancel()
                raise
            if on_progress:
                on_progress(seen, seen_bytes)
            log.info("committed %d documents to %s", len(batch), self.path)
        self._ix = whoosh_index.open_dir(str(self.path))
        report.bytes = seen_bytes
        report.seconds = time.perf_counter() - start
        return report

    def _analyzed_batches(self, docs: Iterator[Document], workers: int | None,
                          batch_size: int) -> Iterator[list[tuple[Document, AnalyzedFields]]]:
        """Batches of (document, field values); ids repeated inside a batch keep the last copy."""
        workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        batches = _dedup_batches(docs, batch_size)
        if workers == 1:
            analyzer = self.analyzer()
            for batch in batches:
                yield [(d, analyze_document(analyzer, d)) for d in batch]
            return
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ctx.Pool(workers, initializer=init_worker, initargs=(self.meta.user_words,)) as pool:
            # Double buffering: workers analyse the next batch while this process writes one.
            pending = None
            for batch in batches:
                job = pool.map_async(analyze_in_worker, batch, chunksize=max(1, len(batch) // (workers * 4)))
                if pending is not None:
                    yield list(zip(pending[0], pending[1].get()))
                pending = (batch, job)
            if pending is not None:
                yield list(zip(pending[0], pending[1].get()))

    def delete(self, ids: Iterable[str], *, lock_timeout: float = 60.0) -> int:
        """Delete documents by id; returns how many were deleted."""
        writer = self._writer(lock_timeout)
        count = 0
        try:
            for doc_id in ids:
                count += writer.delete_by_term("id", doc_id)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        self._ix = whoosh_index.open_dir(str(self.path))
        return count


def _dedup_batches(docs: Iterator[Document], batch_size: int) -> Iterator[list[Document]]:
    batch: dict[str, Document] = {}
    for doc in docs:
        batch.pop(doc.id, None)
        batch[doc.id] = doc
        if len(batch) >= batch_size:
            yield list(batch.values())
            batch = {}
    if batch:
        yield list(batch.values())
