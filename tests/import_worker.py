"""Test helper: the documents of the index tests, and an import run as a separate process.

The crash and concurrency tests start this script, then kill it, race it or wait for it::

    python tests/import_worker.py INDEX [--count N] [--batch-size B] [--workers W] [--hold S]

It prints ``progress <documents seen>`` after each commit, ``locked`` once it holds the write
lock and ``done <added> <replaced> <unchanged> <removed>`` at the end, each line flushed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from corpus import Document  # noqa: E402

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
    parser.add_argument("--hold", type=float, default=0.0, help="only hold the write lock this long")
    parser.add_argument("--crash-at-toc", type=int, default=0,
                        help="exit abruptly just before the Nth commit's TOC is renamed into place")
    parser.add_argument("--slow", type=float, default=0.0, help="sleep this long after each commit")
    args = parser.parse_args()

    ix = Index.open_or_create(args.index)
    if args.hold:
        with ix.write_lock():
            print("locked", flush=True)
            time.sleep(args.hold)
        return
    if args.crash_at_toc:
        from index import _index

        real_rename = _index._DurableStorage.rename_file
        tocs = 0

        def rename_file(self, old, new, safe=False):  # type: ignore[no-untyped-def]
            nonlocal tocs
            if new.endswith(".toc"):
                tocs += 1
                if tocs == args.crash_at_toc:
                    os._exit(9)  # like SIGKILL: no cleanup, no finally blocks
            return real_rename(self, old, new, safe)

        _index._DurableStorage.rename_file = rename_file  # type: ignore[method-assign]

    def progress(seen: int, _bytes: int) -> None:
        print(f"progress {seen}", flush=True)
        if args.slow:
            time.sleep(args.slow)

    docs = load_documents(args.count)[args.skip:]
    report = ix.add_documents(docs, workers=args.workers, batch_size=args.batch_size,
                              lock_timeout=args.lock_timeout, on_progress=progress)
    print(f"done {report.added} {report.replaced} {report.unchanged} {report.removed}", flush=True)


if __name__ == "__main__":
    main()
