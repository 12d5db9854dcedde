"""Indexes written by earlier versions of vnsearch stay readable (or upgrade without loss).

``tests/data/indexes/vN*/`` hold small indexes written with format version N (how each was made:
``tests/data/FIXTURE_SOURCES.md``): 12 documents of ``fixture_docs.jsonl`` imported in batches
of 5, then one deleted. Every later change must keep these tests green.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dataclasses

import pytest
from click.testing import CliRunner

from corpus import Document
from index import FORMAT_VERSION, Index, IndexVersionError, export, reindex, stats
from index._meta import read_meta, write_meta
from searcher import Searcher
from searcher.cli import main

DATA = Path(__file__).parent / "data"
VERSIONS = sorted(p.name for p in (DATA / "indexes").iterdir() if p.is_dir())
DELETED = "xq-vi-36-03"


def _fixture_documents() -> dict[str, Document]:
    docs = [Document.from_dict(json.loads(line))
            for line in (DATA / "fixture_docs.jsonl").read_text(encoding="utf-8").splitlines()]
    kept = docs[:3] + docs[-9:]  # what the fixture indexes were built from
    return {d.id: d for d in kept if d.id != DELETED}


EXPECTED = {  # query -> every matching id (any order), as the index that wrote them answered
    "bac son": {"bacson-2020-06-12-1", "bacson-2020-06-12-2", "bacson-2020-06-12-3-nfd", "xq-vi-46-00",
                "xq-vi-26-04", "xq-vi-08-03"},
    "Norman": {"xq-vi-02-00"},
    "kinh*": {"xq-vi-35-04", "xq-vi-30-00", "xq-vi-43-03", "xq-vi-26-04", "xq-vi-16-01"},
}
QUERIES = [*EXPECTED, "Bắc Sơn", "tài liệu", "tai lieu", '"nông thôn"', "năm 2020", "source:xquad-vi"]


def _matches(path: Path) -> dict[str, set[str]]:
    with Searcher.open(path) as s:
        return {q: {i for i, _ in s.search_ids(q, limit=100, syntax=True)} for q in QUERIES}


@pytest.fixture(params=VERSIONS)
def old_index(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / request.param
    shutil.copytree(DATA / "indexes" / request.param, path)  # never write into the fixture
    return path


def test_there_is_a_fixture_index_of_every_format_including_this_one() -> None:
    # Raising FORMAT_VERSION means committing an index of the new format here.
    formats = {json.loads((DATA / "indexes" / v / "vnsearch.json").read_text()).get("format_version", 1)
               for v in VERSIONS}
    assert formats == set(range(1, FORMAT_VERSION + 1))
    assert "v1" in VERSIONS  # written before vnsearch.json recorded the format


def test_an_index_of_a_newer_format_is_refused_with_one_line_naming_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    shutil.copytree(DATA / "indexes" / VERSIONS[-1], path)
    write_meta(path, dataclasses.replace(read_meta(path), format_version=FORMAT_VERSION + 1))
    with pytest.raises(IndexVersionError, match="newer vnsearch"):
        Index.open(path)
    result = CliRunner().invoke(main, ["search", "Norman", "--index", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"format {FORMAT_VERSION + 1}" in result.output and "pip install -U vnsearch" in result.output
    assert stats(path)["current"] is False  # stats still describe it


def _format(path: Path) -> int:
    meta = read_meta(path)
    assert meta is not None
    return meta.format_version


def _refused_then_upgraded(path: Path) -> None:
    """An index of an older format: searching and writing are refused with one line naming
    ``vnsearch reindex``, which upgrades it from its stored documents."""
    with pytest.raises(IndexVersionError, match=f"format {_format(path)}"):
        Index.open(path)
    result = CliRunner().invoke(main, ["search", "Norman", "--index", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "vnsearch reindex --index" in " ".join(result.output.split())
    assert stats(path)["current"] is False  # stats still describe it
    assert {d.id: d for d in export(path)} == _fixture_documents()  # and export reads it
    assert reindex(path, workers=1).added == len(_fixture_documents())
    assert _format(path) == FORMAT_VERSION


def test_an_old_index_opens_searches_and_exports(old_index: Path, tmp_path: Path) -> None:
    if _format(old_index) < FORMAT_VERSION:
        _refused_then_upgraded(old_index)
    found = _matches(old_index)
    assert {q: found[q] for q in EXPECTED} == EXPECTED
    with Searcher.open(old_index) as s:
        assert s.search_ids("Bắc Sơn", limit=1)[0][0] == "bacson-2020-06-12-3-nfd"
    # Every query matches what it matches in an index of the same documents written today.
    fresh = tmp_path / "fresh"
    Index.create(fresh).add_documents(_fixture_documents().values(), workers=1, batch_size=5)
    assert found == _matches(fresh)
    expected = _fixture_documents()
    exported = {d.id: d for d in export(old_index)}
    assert exported == expected  # every stored field, exactly; the deleted document is gone
    assert stats(old_index)["documents"] == len(expected) == Index.open(old_index).doc_count()


def test_an_old_index_takes_new_documents_and_upgrades_without_loss(old_index: Path) -> None:
    new = Document(id="new-1", title="Thư viện tỉnh Lạng Sơn", text="Số hóa tài liệu lưu trữ ở Bắc Sơn.")
    if _format(old_index) < FORMAT_VERSION:
        _refused_then_upgraded(old_index)
    Index.open(old_index).add_documents([new], workers=1)
    report = reindex(old_index, workers=1)
    expected = _fixture_documents() | {new.id: new}
    assert report.added == len(expected)
    assert {d.id: d for d in export(old_index)} == expected
    with Searcher.open(old_index) as s:
        assert {i for i, _ in s.search_ids("Norman", limit=100)} == {"xq-vi-02-00"}
        assert "new-1" in {i for i, _ in s.search_ids("lưu trữ", limit=100)}
