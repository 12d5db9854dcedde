#!/usr/bin/env python3
"""Rebuild the bundled sample archive, corpus/data/sample/sample.jsonl.gz, from ../shared/data.

    python bench/make_sample.py

The sample is what a fresh install searches, so it holds the kind of text vnsearch is for:

- the Bắc Sơn district Party committee article of 12 June 2020 (the project's seed document);
- the headline and lead of the five news articles of ``pages/`` (VnExpress, Tuổi Trẻ, Dân trí,
  CafeF, Báo Chính phủ), cleaned by vnsearch's own cleaner, with the dates and bylines their
  pages give;
- every fourth article of the four Vietnamese codes and laws in ``retrieval/alqac2022``, each
  titled with its law's name, number and article heading, and dated with the day the text
  itself says the National Assembly passed it ("thông qua ngày 24 tháng 11 năm 2015").

Deterministic: the same data gives the same file. Sources and licences are in
corpus/data/sample/SOURCES.md.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus import Document, clean_html, clean_plain_text  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "corpus" / "data" / "sample" / "sample.jsonl.gz"
EVERY = 4  # one law article in EVERY

# The official names of the four texts of the ALQAC 2022 set, by their numbers.
LAWS = {
    "91/2015/QH13": "Bộ luật Dân sự",
    "01/VBHN-VPQH": "Bộ luật Hình sự (văn bản hợp nhất)",
    "45/2019/QH14": "Bộ luật Lao động",
    "24/2018/QH14": "Luật An ninh mạng",
}
_PASSED = re.compile(r"thông qua ngày (\d{1,2}) tháng (\d{1,2}) năm (\d{4})")


def news() -> list[Document]:
    docs = []
    seed = (DATA / "seed" / "bacson_2020-06-12.txt").read_text(encoding="utf-8")
    page = clean_plain_text(seed)
    docs.append(Document(id="bacson-2020-06-12", title=page.title, text=page.text, date=page.date,
                         author=page.author, source="bacson.langson.gov.vn"))
    for line in (DATA / "pages" / "manifest.jsonl").open(encoding="utf-8"):
        rec = json.loads(line)
        if rec["page_type"] != "article":
            continue
        page = clean_html((DATA / "pages" / rec["file"]).read_bytes(), url=rec["url"])
        host = rec["url"].split("/")[2]
        # The headline and lead only: the plain news item, not the publisher's whole article.
        lead = next(p for p in page.text.split("\n") if p.strip())
        docs.append(Document(id=host + "/" + rec["url"].rstrip("/").rsplit("/", 1)[-1], title=page.title,
                             text=lead, url=rec["url"], date=page.date, author=page.author, source=host))
    return docs


def laws() -> list[Document]:
    articles: dict[str, list[dict[str, str]]] = {}
    for line in (DATA / "retrieval" / "alqac2022" / "corpus.jsonl").open(encoding="utf-8"):
        rec = json.loads(line)
        articles.setdefault(rec["id"].split("@")[0], []).append(rec)
    docs = []
    for number, name in LAWS.items():
        passed = [m for rec in articles[number] for m in _PASSED.finditer(rec["text"])]
        day, month, year = (int(x) for x in passed[-1].groups())
        date = f"{year:04d}-{month:02d}-{day:02d}"
        for rec in articles[number][::EVERY]:
            heading, _, body = rec["text"].partition("\n")
            article = rec["title"].split(", ", 1)[1]  # "Điều 12"
            docs.append(Document(id=rec["id"], title=f"{name} {number}, {article}. {heading.strip()}",
                                 text=body.strip() or heading, date=date, source="Quốc hội", author=None))
    return docs


def main() -> int:
    docs = news() + laws()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as gz:
        for d in docs:
            rec = {k: v for k, v in d.as_dict().items() if v and k != "content_hash"}
            gz.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"wrote {len(docs)} documents to {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
