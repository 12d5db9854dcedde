"""Indexes written by earlier versions of vnsearch stay readable (or upgrade without loss).

``tests/data/indexes/vN/`` holds a small index written by format version N (how each was made:
``tests/data/FIXTURE_SOURCES.md``): 12 documents of ``fixture_docs.jsonl`` imported in batches
of 5 (three segments), then one deleted. Every later change must keep these tests green.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from corpus import Document
from index import Index, export, reindex, stats
from searcher import Searcher

DATA = Path(__file__).parent / "data"
VERSIONS = sorted(p.name for p in (DATA / "indexes").iterdir() if p.is_dir())
DELETED = "xq-vi-36-03"


def _fixture_documents() -> dict[str, Document]:
    docs = [Document.from_dict(json.loads(line))
            for line in (DATA / "fixture_docs.jsonl").read_text(encoding="utf-8").splitlines()]
    kept = docs[:3] + docs[-9:]  # what the fixture indexes were built from
    return {d.id: d for d in kept if d.id != DELETED}


EXPECTED = {  # query -> every matching id (any order), as the index that wrote them answered
    "Bắc Sơn": {"bacson-2020-06-12-1", "bacson-2020-06-12-2", "bacson-2020-06-12-3-nfd", "xq-vi-46-00",
                "xq-vi-26-04", "xq-vi-08-03"},
    "bac son": {"bacson-2020-06-12-1", "bacson-2020-06-12-2", "bacson-2020-06-12-3-nfd", "xq-vi-46-00",
                "xq-vi-26-04", "xq-vi-08-03"},
    "Norman": {"xq-vi-02-00"},
    "kinh*": {"xq-vi-35-04", "xq-vi-30-00", "xq-vi-43-03", "xq-vi-26-04", "xq-vi-16-01"},
    "tài liệu": {"xq-vi-08-03", "xq-vi-35-04", "bacson-2020-06-12-1", "bacson-2020-06-12-2", "xq-vi-30-00",
                 "xq-vi-46-00"},
}


@pytest.fixture(params=VERSIONS)
def old_index(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / request.param
    shutil.copytree(DATA / "indexes" / request.param, path)  # never write into the fixture
    return path


def test_there_is_a_fixture_index_of_format_1() -> None:
    assert "v1" in VERSIONS


def test_an_old_index_opens_searches_and_exports(old_index: Path) -> None:
    with Searcher.open(old_index) as s:
        found = {q: {i for i, _ in s.search_ids(q, limit=100)} for q in EXPECTED}
        assert s.search_ids("Bắc Sơn", limit=1)[0][0] == "bacson-2020-06-12-3-nfd"
    assert found == EXPECTED
    expected = _fixture_documents()
    exported = {d.id: d for d in export(old_index)}
    assert exported == expected  # every stored field, exactly; the deleted document is gone
    assert stats(old_index)["documents"] == len(expected) == Index.open(old_index).doc_count()


def test_an_old_index_takes_new_documents_and_upgrades_without_loss(old_index: Path) -> None:
    new = Document(id="new-1", title="Thư viện tỉnh Lạng Sơn", text="Số hóa tài liệu lưu trữ ở Bắc Sơn.")
    Index.open(old_index).add_documents([new], workers=1)
    report = reindex(old_index, workers=1)
    expected = _fixture_documents() | {new.id: new}
    assert report.added == len(expected)
    assert {d.id: d for d in export(old_index)} == expected
    with Searcher.open(old_index) as s:
        assert {i for i, _ in s.search_ids("Norman", limit=100)} == {"xq-vi-02-00"}
        assert "new-1" in {i for i, _ in s.search_ids("lưu trữ", limit=100)}
