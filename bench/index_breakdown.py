"""Where the bytes of a vnsearch index go: per file kind of each segment and per field.

Usage (from the repository root, with the project's virtualenv):

    python bench/index_breakdown.py INDEX_DIR

Prints, largest first, the bytes of: each column file (``col``), the term table's records per
field (``trm rec``: lengths, key, statistics and inlined postings) and the part of them that is
inlined postings (``inline``), the rest of the term table (hash tables and the sorted position
array: ``trm total`` less the records), and the posting blocks per field split into framing
(``pst frame``: length, pickled block info, array header), document-number gaps (``pst ids``),
weights (``pst wts``) and values (``pst vals``: positions or frequencies). Reads format 1 and 2.
"""

from __future__ import annotations

import collections
import os
import pickle
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from whoosh import index as wix  # noqa: E402
from whoosh.filedb.filetables import OrderedHashReader  # noqa: E402

from index._blocks import _HEADER  # noqa: E402

_TERMINFO = struct.Struct("!BfIBBfII")


def breakdown(path: str) -> tuple[int, collections.Counter[str]]:
    """The folder's total size and the byte counts by kind (see the module docstring)."""
    ix = wix.open_dir(path)
    tot: collections.Counter[str] = collections.Counter()
    for seg in ix._segments():
        cs = seg.open_compound_file(ix.storage)
        prefix = seg.make_filename("")
        for name in cs.list():
            ext = name[len(prefix):]
            length = cs.range(name)[1]
            if ext.endswith(".col"):
                tot["col " + ext] += length
            elif ext == ".trm":
                tot["trm total"] += length
                _terms(cs, name, length, cs.open_file(prefix + ".pst"), tot)
    folder = Path(path)
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()), tot


def _terms(cs: object, name: str, length: int, pst: object, tot: collections.Counter[str]) -> None:
    table = OrderedHashReader(cs.open_file(name), length)  # type: ignore[attr-defined]
    fields = {v: k for k, v in table.extras["fieldmap"].items()}
    for key, val in table.items():
        field = fields[struct.unpack("!H", key[:2])[0]]
        tot[f"trm rec {field}"] += 8 + len(key) + len(val)
        if val[0] & 1:
            tot[f"inline {field}"] += len(val) - _TERMINFO.size
            continue
        offset, size = struct.unpack("!qi", val[_TERMINFO.size:_TERMINFO.size + 12])
        pos, end = offset + 4, offset + size
        while pos < end:
            n = abs(struct.unpack("!i", pst.get(pos, 4))[0])  # type: ignore[attr-defined]
            block = pst.get(pos + 4, n)  # type: ignore[attr-defined]
            infolen = len(pickle.dumps(pickle.loads(block), 2))
            _flags, ni, nw, nv = _HEADER.unpack_from(block, infolen)
            tot[f"pst frame {field}"] += 4 + infolen + _HEADER.size
            tot[f"pst ids {field}"] += ni
            tot[f"pst wts {field}"] += nw
            tot[f"pst vals {field}"] += nv
            pos += 4 + n


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
