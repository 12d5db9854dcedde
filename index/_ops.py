"""Archivists' maintenance of an index folder: inspect, optimize, export, rebuild."""

from __future__ import annotations

import glob
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus import MAX_DOC_BYTES, Document, InputError, VnSearchError, read_documents

from ._index import (DEFAULT_BATCH_SIZE, ConfirmCallback, Index, IndexReport, ProgressCallback, _write_error,
                     preview_import, reindex_temp_path, swap_in)
from ._lock import WaitCallback
from ._merge import MergeProgress

log = logging.getLogger(__name__)


def import_sources(path: str | os.PathLike[str], sources: Sequence[str | os.PathLike[str]], *,
                   user_words_file: str | os.PathLike[str] | None = None, workers: int | None = None,
                   batch_size: int = DEFAULT_BATCH_SIZE, lock_timeout: float = 60.0, prune: bool = False,
                   dry_run: bool = False, source: str | None = None, max_doc_bytes: int = MAX_DOC_BYTES,
                   on_progress: ProgressCallback | None = None, on_wait: WaitCallback | None = None,
                   confirm_prune: ConfirmCallback | None = None) -> IndexReport:
    """Import files and folders (JSONL, text, HTML, PDF, DOCX, WARC) into the index at ``path``,
    creating it (with the user dictionary of ``user_words_file``) if needed: ``vnsearch index``.

    Every source is checked before anything is created, so a typo leaves no empty index behind.
    ``source`` tags every document of this import; ``max_doc_bytes`` caps one document; the
    other options are those of :meth:`Index.add_documents`. Inputs that give no document are
    in ``report.skipped`` with their reason (``report.problems``: those that are input problems).
    Raises :class:`InputError` for a missing source, an unreadable dictionary or one that
    differs from the index's.
    """
    for src in sources:
        if not Path(src).exists():
            raise InputError(f"{src}: no such file or folder", hint="Check the path and try again.")
    words = _read_user_words(Path(user_words_file)) if user_words_file is not None else None
    skipped: list[tuple[str, str]] = []
    # JSONL is parsed by as many processes as analyse (they idle on documents already indexed).
    docs = read_documents(sources, on_skip=lambda where, why: skipped.append((where, why)),
                          workers=workers or os.cpu_count() or 1, source=source, max_bytes=max_doc_bytes)
    if dry_run and not Index.exists(path):
        report = preview_import(docs, {}, prune)
    else:
        ix = Index.open_or_create(path, user_words=words or ())
        if words is not None and tuple(ix.meta.user_words) != words:
            raise InputError(f"the index at {path} was built with another user dictionary "
                             f"({len(ix.meta.user_words)} words)",
                             hint="A dictionary is fixed when an index is created: export the documents "
                                  "(vnsearch export) and index them into a new --index folder with --user-words.")
        report = ix.add_documents(docs, workers=workers, batch_size=batch_size, lock_timeout=lock_timeout,
                                  on_progress=on_progress, prune=prune, on_wait=on_wait, dry_run=dry_run,
                                  confirm_prune=confirm_prune)
    report.skipped.extend(skipped)
    return report


def _read_user_words(path: Path) -> tuple[str, ...]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot read the user dictionary {path} ({why})",
                         hint="Give a UTF-8 text file, one word or name a line.") from exc
    return tuple(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def stats(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What the index at ``path`` holds, as a JSON-ready dict.

    Keys: ``path``, ``documents`` (live documents), ``deleted`` (deleted but not yet merged
    away), ``sources`` (``{source: count}``, most documents first), ``without_source``,
    ``date_from``/``date_to`` (``None`` if no document has a date), ``size_bytes`` (every file
    in the folder), ``segments``, ``generation`` (number of commits), ``analyzer_version``,
    ``schema_version``, ``format_version``, ``current`` (all three match this vnsearch), ``user_words`` (a count),
    ``created``. Works on an index of another version.

    >>> import tempfile
    >>> from corpus import MAX_DOC_BYTES, Document, InputError, VnSearchError, read_documents
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Index.create(tmp).add_documents(
    ...         [Document(id="1", text="Nông thôn mới", source="bacson", date="2020-06-12")], workers=1)
    ...     s = stats(tmp)
    ...     (s["documents"], s["sources"], s["date_from"])
    (1, {'bacson': 1}, '2020-06-12')
    """
    ix = Index.open(path, check_version=False)
    sources: Counter[str] = Counter()
    dates: list[str] = []
    with ix._whoosh().reader() as reader:
        documents = int(reader.doc_count())
        deleted = int(reader.doc_count_all()) - documents
        generation = int(reader.generation() or 0)
        segments = ix.segment_count() if documents or deleted else 0
        # Segment by segment: Whoosh's multi-segment column reader misaligns documents when a
        # segment has no value at all for a column (e.g. a first import without sources).
        for leaf, _offset in (reader.leaf_readers() if documents else ()):
            source_col = leaf.column_reader("source") if leaf.has_column("source") else None
            date_col = leaf.column_reader("date") if leaf.has_column("date") else None
            for docnum in leaf.all_doc_ids():
                sources[(source_col[docnum] if source_col is not None else "") or ""] += 1
                date = date_col[docnum] if date_col is not None else None
                if date:
                    dates.append(date)
    without_source = sources.pop("", 0)
    size = sum(f.stat().st_size for f in ix.path.rglob("*") if f.is_file())
    return {
        "path": str(ix.path),
        "documents": documents,
        "deleted": deleted,
        "sources": dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))),
        "without_source": without_source,
        "date_from": min(dates) if dates else None,
        "date_to": max(dates) if dates else None,
        "size_bytes": size,
        "segments": segments,
        "generation": generation,
        "analyzer_version": ix.meta.analyzer_version,
        "schema_version": ix.meta.schema_version,
        "format_version": ix.meta.format_version,
        "current": ix.meta.is_current(),
        "user_words": len(ix.meta.user_words),
        "created": ix.meta.created,
    }


@dataclass(frozen=True)
class OptimizeReport:
    """What ``optimize`` did: segments before and after, live documents, wall-clock seconds."""

    segments_before: int
    segments_after: int
    documents: int
    seconds: float


def optimize(path: str | os.PathLike[str], *, lock_timeout: float = 60.0, on_wait: WaitCallback | None = None,
             on_progress: MergeProgress | None = None) -> OptimizeReport:
    """Merge the index's segments into one, dropping deleted documents, without re-analysis.
    Searches keep working and see the last commit. ``on_progress(done, total)`` counts
    documents; ``seconds`` includes any wait for the write lock."""
    start = time.perf_counter()
    ix = Index.open(path)
    before = ix.segment_count()
    ix.optimize(lock_timeout=lock_timeout, on_wait=on_wait, on_progress=on_progress)
    return OptimizeReport(before, ix.segment_count(), ix.doc_count(), time.perf_counter() - start)


def export(path: str | os.PathLike[str]) -> Iterator[Document]:
    """Every stored document of the index at ``path`` (one commit's worth), in index order.

    ``Document.as_dict()`` of each, one per line, is a JSONL file that ``vnsearch index``
    imports back. Works on an index of another version.
    """
    yield from Index.open(path, check_version=False).documents()


StageCallback = Callable[[str, int], None]
"""Called as ``on_stage(name, total_documents)`` when a stage of ``reindex`` starts: ``"import"``
(analysing the stored documents again), then ``"merge"`` (merging the new segments into one)."""


def reindex(path: str | os.PathLike[str], *, workers: int | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
            lock_timeout: float = 60.0, on_wait: WaitCallback | None = None,
            on_progress: ProgressCallback | None = None, on_stage: StageCallback | None = None) -> IndexReport:
    """Rebuild the index at ``path`` from its own stored documents with this vnsearch's analyzer
    and schema (and the index's user words), then swap the new index into place.

    The new index is built in ``<path>.reindex-tmp`` while the old one keeps answering
    searches; the old index's write lock is held throughout, so no import is lost in between.
    A crash before the swap leaves the old index untouched (the next reindex starts over); the
    swap itself is atomic on Linux and otherwise repaired by the next ``Index.open``.
    ``report.added`` is the number of documents in the rebuilt index; ``report.seconds`` the
    whole rebuild, merge and swap included. ``on_progress`` is called as ``(documents, bytes)``
    while documents are analysed, then as ``(documents merged, 0)`` (see ``on_stage``).
    """
    start = time.perf_counter()
    p = Path(path)
    old = Index.open(p, check_version=False)
    tmp = reindex_temp_path(p)
    with old.write_lock(lock_timeout, on_wait):
        for leftover in [tmp, *p.parent.glob(glob.escape(p.name) + ".old-*")]:
            shutil.rmtree(leftover, ignore_errors=True)  # from a reindex that crashed
        try:
            new = Index.create(tmp, user_words=old.meta.user_words)
            if on_stage is not None:
                on_stage("import", old.doc_count())
            report = new.add_documents(old.documents(), workers=workers, batch_size=batch_size,
                                       on_progress=on_progress)
            if on_stage is not None:
                on_stage("merge", new.doc_count())
            new.optimize(on_progress=(lambda done, _total: on_progress(done, 0)) if on_progress else None)
            swap_in(tmp, p)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise _write_error(p, exc) from exc
        except VnSearchError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    report.seconds = time.perf_counter() - start
    log.info("reindexed %s: %d documents in %.1f s", p, report.added, report.seconds)
    return report
