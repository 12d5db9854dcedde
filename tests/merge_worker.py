"""Test helper: a merge run as a separate process, paused at a named stage so that a test can
kill it there (``tests/test_crash_merge.py``)::

    python tests/merge_worker.py INDEX optimize STAGE
    python tests/merge_worker.py INDEX import STAGE --count N --batch-size B

At every stage of a merge it prints ``stage <name>``; at the first stage whose name starts with
STAGE (the first time, in whichever process merges: it leaves ``INDEX.paused``) it prints
``paused <name>`` and waits for a line on stdin before going on. ``import``
imports the first N documents of ``import_worker.load_documents`` (then, with
``--replace-first K``, changed copies of the first K) with a merge policy of factor 3 and at most
2 segments over batches of B, so that its third commit starts a merge, which runs in a process of
its own while the import goes on; it prints ``progress <documents>`` after each commit. It
prints ``done`` at the end. Lines are flushed.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from corpus import Document  # noqa: E402
from import_worker import load_documents  # noqa: E402
from index import Index  # noqa: E402
from index._merge import MergePolicy, set_merge_hook  # noqa: E402


def documents(count: int, replace_first: int = 0) -> list[Document]:
    """The first ``count`` test documents, then changed copies of the first ``replace_first``."""
    docs = load_documents(count)
    return docs + [dataclasses.replace(d, text=d.text + " Mã kiểm tra qzxvk.") for d in docs[:replace_first]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("action", choices=["optimize", "import"])
    parser.add_argument("stage")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--replace-first", type=int, default=0,
                        help="end the import with changed copies of the first N documents")
    args = parser.parse_args()
    # Merges during an import run in a forked process, whose sys.stdin multiprocessing replaces
    # with /dev/null: read the pipe through a descriptor of our own, which the fork inherits.
    resume = os.fdopen(os.dup(sys.stdin.fileno()), "r")

    marker = args.index.rstrip("/") + ".paused"  # pause once, whichever process merges first

    def hook(stage: str) -> None:
        print(f"stage {stage}", flush=True)
        if stage.startswith(args.stage):
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
            print(f"paused {stage}", flush=True)
            resume.readline()

    set_merge_hook(hook)
    ix = Index.open(args.index)
    if args.action == "optimize":
        ix.optimize()
    else:
        ix.merge_policy = MergePolicy(merge_factor=3, min_docs=args.batch_size, max_segments=2)
        ix.add_documents(documents(args.count, args.replace_first), workers=1, batch_size=args.batch_size,
                         on_progress=lambda seen, _bytes: print(f"progress {seen}", flush=True))
    print("done", flush=True)


if __name__ == "__main__":
    main()
