"""Where the bytes of a vnsearch index go: per section of the segment files, summed by field.

Usage (from the repository root, with the project's virtualenv):

    python bench/index_breakdown.py INDEX_DIR

Prints, largest first, the bytes of each kind of section of the format 3 segment files
(``docs/FORMAT.md``) over all segments: per field its term bytes (``terms``), its term offset
array (``term_offsets``), its postings (``postings``: document frequency, document-number
deltas and frequencies, varints), their offsets (``posting_offsets``) and, for fields with
positions, ``positions`` and ``position_offsets``; stored fields (``stored.data``, compressed),
field lengths (``lengths.*``) and columns (``column.*``).
"""

from __future__ import annotations

import collections
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from whoosh.filedb.filestore import FileStorage  # noqa: E402

from index.format import DOCS_EXT, DOCS_MAGIC, TERMS_EXT, TERMS_MAGIC, _SectionFile  # noqa: E402


def breakdown(path: str) -> tuple[int, collections.Counter[str]]:
    """The folder's total size and the byte counts by kind (see the module docstring)."""
    storage = FileStorage(path)
    tot: collections.Counter[str] = collections.Counter()
    for name in sorted(os.listdir(path)):
        if name.endswith(TERMS_EXT) or name.endswith(DOCS_EXT):
            f = _SectionFile(storage, name, TERMS_MAGIC if name.endswith(TERMS_EXT) else DOCS_MAGIC)
            fields = {f"f{spec['number']}": spec["name"] for spec in f.info.get("fields", [])}
            for section, (_offset, length, _dtype) in f.info["sections"].items():
                head, _, rest = section.partition(".")
                tot[f"{rest} {fields[head]}" if head in fields else section] += length
            f.close()
    folder = Path(path)
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()), tot


def main() -> int:
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        print("usage: python bench/index_breakdown.py INDEX_DIR", file=sys.stderr)
        return 2
    total, tot = breakdown(sys.argv[1])
    print(f"folder total {total / 1e6:.2f} MB")
    for kind, size in sorted(tot.items(), key=lambda kv: -kv[1]):
        print(f"{size / 1e6:9.2f} MB {100 * size / total:5.1f}%  {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
