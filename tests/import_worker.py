"""Test helper: the documents of the index tests, and an import run as a separate process.

The crash and concurrency tests start this script, then kill it, race it or wait for it::

    VNSEARCH_PAUSE_AT=batch-committed#2 python tests/import_worker.py INDEX [--count N]
        [--batch-size B] [--workers W] [--hold]

It prints ``progress <documents seen>`` after each commit, ``locked`` once it holds the write
lock (``--hold``: then it waits for a line on standard input), ``paused <point> <n>`` at the
pause points named by ``VNSEARCH_PAUSE_AT`` (``index/_hooks.py``; it then waits for a line on
standard input, or for the test's SIGKILL), ``error <message>`` for a vnsearch error (exit
code 1) and ``done <added> <replaced> <unchanged> <removed>`` at the end, each line flushed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from corpus import Document, VnSearchError  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "ops" / "xquad_vi_excerpt.jsonl"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


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


def main() -> None:
    from index import Index

    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--skip", type=int, default=0, help="start at this document")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--lock-timeout", type=float, default=60.0)
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
        docs = load_documents(args.count)[args.skip:]
        report = ix.add_documents(docs, workers=args.workers, batch_size=args.batch_size,
                                  lock_timeout=args.lock_timeout, on_progress=progress)
    except VnSearchError as exc:
        print(f"error {exc}", flush=True)
        sys.exit(1)
    print(f"done {report.added} {report.replaced} {report.unchanged} {report.removed}", flush=True)


if __name__ == "__main__":
    main()
