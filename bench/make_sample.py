#!/usr/bin/env python3
"""Rebuild the bundled sample archive, corpus/data/sample/sample.jsonl.gz, from ../shared/data.

    python bench/make_sample.py

Takes the Bắc Sơn seed article, every XQuAD-vi paragraph (CC BY-SA 4.0) and every 25th
Vietnamese Wikipedia article of 1.5–10 kB (CC BY-SA 3.0). Deterministic: the same data gives
the same file. Sources and licences are in corpus/data/sample/SOURCES.md.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus import Document, clean_plain_text  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "corpus" / "data" / "sample" / "sample.jsonl.gz"


def main() -> int:
    docs: list[Document] = []
    seed = (DATA / "seed" / "bacson_2020-06-12.txt").read_text(encoding="utf-8")
    page = clean_plain_text(seed)
    docs.append(Document(id="bacson-2020-06-12", title=page.title, text=page.text, date=page.date,
                         author=page.author, source="Đảng bộ huyện Bắc Sơn"))
    for line in (DATA / "retrieval" / "xquad_vi" / "corpus.jsonl").open(encoding="utf-8"):
        rec = json.loads(line)
        docs.append(Document(id=rec["id"], title=rec["title"].replace("_", " "), text=rec["text"],
                             source="xquad-vi",
                             url="https://en.wikipedia.org/wiki/" + rec["title"]))
    with gzip.open(DATA / "corpus" / "viwiki.jsonl.gz", "rt", encoding="utf-8") as fh:
        kept = 0
        for i, line in enumerate(fh):
            rec = json.loads(line)
            text = rec["text"].replace("\r\n", "\n")
            if i % 25 or not 1500 <= len(text.encode("utf-8")) <= 10_000:
                continue
            title = rec["title"]
            docs.append(Document(id=rec["id"], title=title, text=text, source="vi.wikipedia.org",
                                 url="https://vi.wikipedia.org/wiki/" + title.replace(" ", "_")))
            kept += 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as gz:
        for d in docs:
            rec = {k: v for k, v in d.as_dict().items() if v and k != "content_hash"}
            gz.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"wrote {len(docs)} documents ({kept} Wikipedia) to {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
