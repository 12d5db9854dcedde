"""Test helper: a merge run as a separate process, paused at a named stage so that a test can
kill it there (``tests/test_crash_merge.py``)::

    python tests/merge_worker.py INDEX optimize STAGE
    python tests/merge_worker.py INDEX import STAGE --count N --batch-size B

At every stage of a merge it prints ``stage <name>``; at the first stage whose name starts with
STAGE it prints ``paused <name>`` and waits for a line on stdin before going on. ``import``
imports the first N documents of ``import_worker.load_documents`` with a merge policy of factor 3
and at most 2 segments over batches of B, so that its third commit merges. It prints ``done`` at the end. Lines are flushed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from import_worker import load_documents  # noqa: E402
from index import Index  # noqa: E402
from index._merge import MergePolicy, set_merge_hook  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("action", choices=["optimize", "import"])
    parser.add_argument("stage")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=10)
    args = parser.parse_args()
    paused = False

    def hook(stage: str) -> None:
        nonlocal paused
        print(f"stage {stage}", flush=True)
        if not paused and stage.startswith(args.stage):
            paused = True
            print(f"paused {stage}", flush=True)
            sys.stdin.readline()

    set_merge_hook(hook)
    ix = Index.open(args.index)
    if args.action == "optimize":
        ix.optimize()
    else:
        ix.merge_policy = MergePolicy(merge_factor=3, min_docs=args.batch_size, max_segments=2)
        ix.add_documents(load_documents(args.count), workers=1, batch_size=args.batch_size)
    print("done", flush=True)


if __name__ == "__main__":
    main()
