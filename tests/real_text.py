"""Test helper: real Vietnamese lines from ``../shared/data`` (CI checks ``shared/`` out beside
the repository clone), for the segmenter's identity tests against pyvi and crfsuite."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

import pytest

from corpus import Document

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"shared evaluation data not found at {DATA}"
)


def real_lines() -> list[str]:
    """UD-VTB raw sentences, then law articles and Wikipedia paragraphs cut into lines."""
    lines: list[str] = []
    for name in ("train.raw.txt", "dev.raw.txt"):
        text = (DATA / "segmentation" / "ud_vtb" / name).read_text(encoding="utf-8")
        lines += [line for line in text.split("\n") if line.strip()]
    for corpus in ("alqac2022", "xquad_vi"):
        with open(DATA / "retrieval" / corpus / "corpus.jsonl", encoding="utf-8") as fin:
            for row in fin:
                lines += [line for line in json.loads(row)["text"].split("\n") if line.strip()]
    return lines


@functools.lru_cache(maxsize=1)
def wiki_documents() -> tuple[Document, ...]:
    """388 documents of Vietnamese Wikipedia text, built from ``../shared/data`` exactly as the
    bundled sample was before issue 15 (the seed article, the 240 XQuAD-vi paragraphs and every
    25th viwiki article of 1.5-10 kB): long posting lists and multi-segment indexes for the
    evaluator's and the block writer's comparisons with Whoosh."""
    from corpus import clean_plain_text

    seed = clean_plain_text((DATA / "seed" / "bacson_2020-06-12.txt").read_text(encoding="utf-8"))
    docs = [Document(id="bacson-2020-06-12", title=seed.title, text=seed.text, date=seed.date,
                     author=seed.author, source="Đảng bộ huyện Bắc Sơn")]
    with open(DATA / "retrieval" / "xquad_vi" / "corpus.jsonl", encoding="utf-8") as fin:
        for line in fin:
            rec = json.loads(line)
            docs.append(Document(id=rec["id"], title=rec["title"].replace("_", " "), text=rec["text"],
                                 source="xquad-vi", url="https://en.wikipedia.org/wiki/" + rec["title"]))
    with gzip.open(DATA / "corpus" / "viwiki.jsonl.gz", "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % 25:
                continue
            rec = json.loads(line)
            text = rec["text"].replace("\r\n", "\n")
            if 1500 <= len(text.encode("utf-8")) <= 10_000:
                docs.append(Document(id=rec["id"], title=rec["title"], text=text, source="vi.wikipedia.org",
                                     url="https://vi.wikipedia.org/wiki/" + rec["title"].replace(" ", "_")))
    return tuple(docs)
