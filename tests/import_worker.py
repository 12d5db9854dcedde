"""Test helper: the documents of the index tests, an import (or a merge) run as a separate
process, and :class:`Worker`, the tests' handle on that process.

The crash and concurrency tests start this script through :class:`Worker`, then kill it, race
it or wait for it::

    python tests/import_worker.py INDEX [--count N] [--skip K] [--batch-size B] [--workers W]
        [--replace-first R] [--merge-policy F,MIN,MAX] [--optimize] [--hold]

It prints ``progress <documents seen>`` after each commit, ``locked`` once it holds the write
lock (``--hold``: then it waits for a line on standard input), ``paused <point> <n>`` at the
pause points named by ``VNSEARCH_PAUSE_AT`` (``index/_hooks.py``; then it waits for a line on
the pipe named by ``VNSEARCH_PAUSE_PIPE``, or for the test's SIGKILL; this holds for the merge
process an import starts too), ``error <message>`` for a vnsearch error (exit code 1) and
``done <added> <replaced> <unchanged> <removed>`` at the end, each line flushed.

``--replace-first R`` ends the import with changed copies of its first R documents;
``--merge-policy`` sets the index's :class:`index._merge.MergePolicy` for the import;
``--optimize`` merges the index into one segment instead of importing (it prints ``done``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from corpus import Document, VnSearchError  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "ops" / "xquad_vi_excerpt.jsonl"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
CHANGED = " Mã kiểm tra qzxvk."
"""Appended to the text of the documents that ``--replace-first`` replaces."""

HANG_GUARD = 120.0
"""Seconds: only a hung worker ever gets near this; it fails the test instead of blocking it."""


def load_documents(count: int | None = None) -> list[Document]:
    """About 1,800 small Vietnamese documents (sentence windows of the xquad excerpt), or the first ``count``."""
    paragraphs = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs: list[Document] = []
    for width in (1, 2, 3):
        for k, para in enumerate(paragraphs):
            sentences = [s for s in _SENTENCE_END.split(para["text"].strip()) if s.strip()]
            for i in range(0, len(sentences) - width + 1):
                docs.append(Document(
                    id=f"{para['id']}/{width}/{i}",
                    title=para["title"].replace("_", " "),
                    text=" ".join(sentences[i:i + width]),
                    source=para["title"],
                    date=f"{2001 + k % 20}-{1 + k % 12:02d}-{1 + width * 7 + i % 7:02d}"))
    return docs[:count] if count is not None else docs


class Worker:
    """This script in a child process, its output read line by line by a thread.

    ``pause_at`` sets ``VNSEARCH_PAUSE_AT`` (``index/_hooks.py``) and ``VNSEARCH_PAUSE_PIPE`` to
    a named pipe that this object holds open: the child (and any merge process it starts) stops
    at those points and waits for :meth:`resume`, or for :meth:`kill`, which then lands exactly
    there. The pipe is made in the index's parent folder (a test's ``tmp_path``).
    """

    def __init__(self, index: Path, *args: str, pause_at: str = "") -> None:
        self.pipe = Path(tempfile.mkdtemp(prefix="pause-", dir=index.parent)) / "resume"
        os.mkfifo(self.pipe)
        # Read-write, so that opening does not wait for a reader (Linux): the test is the pipe's
        # only writer, and while this is open the child's pauses wait for our lines.
        self._resume_fd: int | None = os.open(self.pipe, os.O_RDWR)
        env = {**os.environ, "VNSEARCH_PAUSE_AT": pause_at, "VNSEARCH_PAUSE_PIPE": str(self.pipe)}
        self.proc = subprocess.Popen([sys.executable, __file__, str(index), *args], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, prefix: str) -> str:
        """Read lines until one starts with ``prefix``; fails if the child ends first."""
        import pytest

        while True:
            try:
                line = self.lines.get(timeout=HANG_GUARD)
            except queue.Empty:
                self.proc.kill()
                pytest.fail(f"worker hung before printing {prefix!r}")
            if line is None:
                assert self.proc.stderr is not None
                pytest.fail(f"worker ended before printing {prefix!r}: {self.proc.stderr.read()[-2000:]}")
            if line.startswith(prefix):
                return line

    def resume(self) -> None:
        """Let one paused process go on (the pipe keeps lines written before anyone pauses)."""
        assert self._resume_fd is not None
        os.write(self._resume_fd, b"\n")

    def release(self) -> None:
        """Let every pause, now and from now on, go on: close our end of the pipe."""
        if self._resume_fd is not None:
            os.close(self._resume_fd)
            self._resume_fd = None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=HANG_GUARD) == -signal.SIGKILL
        self.release()

    def finish(self) -> int:
        """Let the child run to its end (no more pauses, standard input closed); its exit code."""
        self.release()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout=HANG_GUARD)


def main() -> None:
    from index import Index
    from index._merge import MergePolicy

    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--skip", type=int, default=0, help="start at this document")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--lock-timeout", type=float, default=60.0)
    parser.add_argument("--replace-first", type=int, default=0,
                        help="end the import with changed copies of the first N documents")
    parser.add_argument("--merge-policy", default=None, help="merge_factor,min_docs,max_segments")
    parser.add_argument("--optimize", action="store_true", help="merge into one segment instead of importing")
    parser.add_argument("--hold", action="store_true",
                        help="only take the write lock, and hold it until a line arrives on stdin")
    args = parser.parse_args()

    def progress(seen: int, _bytes: int) -> None:
        print(f"progress {seen}", flush=True)

    try:
        ix = Index.open_or_create(args.index)
        if args.hold:
            with ix.write_lock():
                print("locked", flush=True)
                sys.stdin.readline()
            return
        if args.optimize:
            ix.optimize()
            print("done", flush=True)
            return
        if args.merge_policy:
            factor, min_docs, max_segments = (int(x) for x in args.merge_policy.split(","))
            ix.merge_policy = MergePolicy(merge_factor=factor, min_docs=min_docs, max_segments=max_segments)
        docs = load_documents(args.count)
        docs += [dataclasses.replace(d, text=d.text + CHANGED) for d in docs[:args.replace_first]]
        report = ix.add_documents(docs[args.skip:], workers=args.workers, batch_size=args.batch_size,
                                  lock_timeout=args.lock_timeout, on_progress=progress)
    except VnSearchError as exc:
        print(f"error {exc}", flush=True)
        sys.exit(1)
    print(f"done {report.added} {report.replaced} {report.unchanged} {report.removed}", flush=True)


if __name__ == "__main__":
    main()
