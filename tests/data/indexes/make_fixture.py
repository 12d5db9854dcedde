"""Write the fixture indexes of the current format: ``v<N>/`` and ``v<N>-merged/`` beside this file.

Usage (from the repository root, with the project's virtualenv):

    python tests/data/indexes/make_fixture.py            # refuses to replace existing fixtures
    python tests/data/indexes/make_fixture.py --force    # after a change of the format's bytes

Run it only when ``index.FORMAT_VERSION`` goes up (or, before a format is released, when its
byte layout changes); the fixtures of released formats are never rewritten. Both hold the 12
documents of ``../fixture_docs.jsonl`` (the first 3 and the last 9), imported with one worker
in batches of 5 (three segments), then ``xq-vi-36-03`` deleted; ``-merged`` is imported with
``MergePolicy(merge_factor=2, min_docs=5, max_segments=2)``, so the first two batches are
merged into one segment (two segments in all, the deleted document in the merged one). The lock file is
removed. ``tests/data/FIXTURE_SOURCES.md`` records which commit wrote them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from corpus import Document  # noqa: E402
from index import FORMAT_VERSION, Index, MergePolicy  # noqa: E402

DELETED = "xq-vi-36-03"


def fixture_documents() -> list[Document]:
    lines = (HERE.parent / "fixture_docs.jsonl").read_text(encoding="utf-8").splitlines()
    docs = [Document.from_dict(json.loads(line)) for line in lines]
    return docs[:3] + docs[-9:]


def write_fixture(path: Path, policy: MergePolicy | None) -> None:
    ix = Index.create(path)
    if policy is not None:
        ix.merge_policy = policy
    ix.add_documents(fixture_documents(), workers=1, batch_size=5)
    assert ix.delete([DELETED]).deleted == [DELETED]
    (path / "MAIN_WRITELOCK").unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="replace existing fixtures of this format")
    args = parser.parse_args()
    targets = {f"v{FORMAT_VERSION}": None,
               f"v{FORMAT_VERSION}-merged": MergePolicy(merge_factor=2, min_docs=5, max_segments=2)}
    for name, policy in targets.items():
        path = HERE / name
        if path.exists():
            if not args.force:
                print(f"{path} exists (use --force to replace it)", file=sys.stderr)
                return 1
            shutil.rmtree(path)
        write_fixture(path, policy)
        ix = Index.open(path)
        expected = 3 if policy is None else 2
        if ix.segment_count() != expected or ix.doc_count() != 11:
            print(f"{path}: {ix.segment_count()} segments, {ix.doc_count()} documents; expected {expected} "
                  "and 11: the recipe no longer gives the documented fixture", file=sys.stderr)
            return 1
        size = sum(f.stat().st_size for f in path.iterdir())
        print(f"{path}: {ix.doc_count()} documents, {ix.segment_count()} segments, {size / 1000:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
