"""Test helper: real Vietnamese lines for the segmenter's identity tests against pyvi and crfsuite.

:func:`shipped_lines` reads only ``tests/data`` (sources and licences in
``tests/data/FIXTURE_SOURCES.md``), so the identity tests run in a plain clone. :func:`real_lines`
reads the larger evaluation data in ``../shared/data`` (CI checks ``shared/`` out beside the
clone); tests that need it are marked :func:`needs_data`: skipped without it, but failed when
the ``CI`` environment variable is set, so that CI never passes by skipping them.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from corpus import Document

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
F = TypeVar("F", bound=Callable[..., Any])


def require_data() -> Path:
    """``../shared/data``, or a skip (a failure under CI) if it is not there."""
    if not DATA.is_dir():
        message = f"shared evaluation data not found at {DATA}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: these tests must run)")
        pytest.skip(message)
    return DATA


def needs_data(test: F) -> F:
    """Mark a test that reads ``../shared/data`` (see :func:`require_data`)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> Any:
        require_data()
        return test(*args, **kwargs)

    return run  # type: ignore[return-value]


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def shipped_lines() -> list[str]:
    """About 950 real lines from ``tests/data``: UD-VTB sentences (tokenised news text), then
    Wikipedia paragraphs, the seed article and a news page's text (untokenised)."""
    data = HERE / "data"
    lines = _lines((data / "segmentation" / "ud_vtb_excerpt.txt").read_text(encoding="utf-8"))
    for jsonl in (data / "ops" / "xquad_vi_excerpt.jsonl", data / "fixture_docs.jsonl"):
        for row in _lines(jsonl.read_text(encoding="utf-8")):
            rec = json.loads(row)
            lines += _lines(rec["title"]) + _lines(rec["text"])
    for page in ("bacson_2020-06-12.txt", "tuoitre_article.reference.txt"):
        lines += _lines((data / "pages" / page).read_text(encoding="utf-8"))
    return lines


def real_lines() -> list[str]:
    """UD-VTB raw sentences, then law articles and Wikipedia paragraphs cut into lines (``../shared``)."""
    data = require_data()
    lines: list[str] = []
    for name in ("train.raw.txt", "dev.raw.txt"):
        lines += _lines((data / "segmentation" / "ud_vtb" / name).read_text(encoding="utf-8"))
    for corpus in ("alqac2022", "xquad_vi"):
        with open(data / "retrieval" / corpus / "corpus.jsonl", encoding="utf-8") as fin:
            for row in fin:
                lines += _lines(json.loads(row)["text"])
    return lines


@functools.lru_cache(maxsize=1)
def wiki_documents() -> tuple[Document, ...]:
    """388 documents of Vietnamese Wikipedia text, built from ``../shared/data`` exactly as the
    bundled sample was before issue 15 (the seed article, the 240 XQuAD-vi paragraphs and every
    25th viwiki article of 1.5-10 kB): long posting lists and multi-segment indexes for the
    evaluator's and the block writer's comparisons with Whoosh."""
    from corpus import clean_plain_text

    DATA = require_data()
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
