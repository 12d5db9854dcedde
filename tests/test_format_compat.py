"""Indexes written by earlier versions of vnsearch stay readable (or upgrade without loss).

``tests/data/indexes/vN*/`` hold small indexes written with format version N (how each was made:
``tests/data/FIXTURE_SOURCES.md``; ``tests/data/indexes/make_fixture.py`` writes those of the
current format): 12 documents of ``fixture_docs.jsonl`` imported in batches of 5, then one
deleted. Indexes of the current format are opened, searched, exported and described as they are;
older ones are refused for searching with one line naming ``vnsearch reindex``, which upgrades
them without losing a document. Every later change must keep these tests green.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus import Document
from index import FORMAT_VERSION, Index, IndexVersionError, export, reindex, stats
from index._meta import read_meta, write_meta
from searcher import Searcher
from searcher.cli import main

DATA = Path(__file__).parent / "data"
VERSIONS = sorted(p.name for p in (DATA / "indexes").iterdir() if p.is_dir() and p.name.startswith("v"))
DELETED = "xq-vi-36-03"


def _fixture_format(name: str) -> int:
    return int(json.loads((DATA / "indexes" / name / "vnsearch.json").read_text()).get("format_version", 1))


CURRENT = [v for v in VERSIONS if _fixture_format(v) == FORMAT_VERSION]
OLD = [v for v in VERSIONS if _fixture_format(v) < FORMAT_VERSION]


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


def _copy(name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    shutil.copytree(DATA / "indexes" / name, path)  # never write into the fixture
    return path


@pytest.fixture(params=VERSIONS)
def old_index(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return _copy(request.param, tmp_path)


@pytest.fixture(scope="module")
def fresh_matches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """What every query matches in an index of the same documents written today."""
    fresh = tmp_path_factory.mktemp("fresh") / "ix"
    Index.create(fresh).add_documents(_fixture_documents().values(), workers=1, batch_size=5)
    return _matches(fresh)


def _format(path: Path) -> int:
    meta = read_meta(path)
    assert meta is not None
    return meta.format_version


def _segment_files(path: Path) -> set[str]:
    return {p.suffix for p in path.iterdir() if p.name.startswith("MAIN_") and p.name != "MAIN_WRITELOCK"}


def test_there_is_a_fixture_index_of_every_format_including_this_one() -> None:
    # Raising FORMAT_VERSION means committing an index of the new format here (make_fixture.py).
    assert {_fixture_format(v) for v in VERSIONS} == set(range(1, FORMAT_VERSION + 1))
    assert "v1" in VERSIONS  # written before vnsearch.json recorded the format
    assert f"v{FORMAT_VERSION}" in CURRENT and f"v{FORMAT_VERSION}-merged" in CURRENT


def test_an_index_written_today_says_format_3_and_holds_format_3_segment_files(tmp_path: Path) -> None:
    assert FORMAT_VERSION == 3  # this file's expectations are those of format 3
    Index.create(tmp_path / "ix").add_documents(list(_fixture_documents().values())[:2], workers=1)
    assert json.loads((tmp_path / "ix" / "vnsearch.json").read_text())["format_version"] == 3
    for name in CURRENT:
        assert json.loads((DATA / "indexes" / name / "vnsearch.json").read_text())["format_version"] == 3
    for folder in [tmp_path / "ix", *(DATA / "indexes" / name for name in CURRENT)]:
        assert _segment_files(folder) == {".vnt", ".vnd"}
        for f in folder.glob("MAIN_*.vn?"):
            magic = b"VNS3TERM" if f.suffix == ".vnt" else b"VNS3DOCS"
            data = f.read_bytes()
            assert data[:8] == magic and data[-8:] == magic


@pytest.mark.parametrize("name", CURRENT)
def test_an_index_of_this_format_opens_searches_exports_and_describes_itself(
        name: str, tmp_path: Path, fresh_matches: dict[str, set[str]]) -> None:
    path = _copy(name, tmp_path)
    found = _matches(path)
    assert {q: found[q] for q in EXPECTED} == EXPECTED
    assert found == fresh_matches
    with Searcher.open(path) as s:
        assert s.search_ids("Bắc Sơn", limit=1)[0][0] == "bacson-2020-06-12-3-nfd"
    assert {d.id: d for d in export(path)} == _fixture_documents()  # every stored field, exactly
    info = stats(path)
    assert info["current"] is True
    assert info["documents"] == len(_fixture_documents()) == Index.open(path).doc_count()
    assert info["deleted"] == 1  # deleted, not merged away
    assert info["segments"] == (2 if name.endswith("-merged") else 3)
    result = CliRunner().invoke(main, ["search", "Norman", "--index", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [h["id"] for h in json.loads(result.stdout)["hits"]] == ["xq-vi-02-00"]


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


def _assert_refused(path: Path) -> None:
    """Searching and writing an index of an older format are refused: one error line naming its
    format, then the hint naming the command that upgrades it; no traceback."""
    fmt = _format(path)
    with pytest.raises(IndexVersionError, match=f"format {fmt};"):
        Index.open(path)
    with pytest.raises(IndexVersionError, match=f"format {fmt};"):
        Searcher.open(path)
    new_doc = DATA / "ops" / "xquad_vi_excerpt.jsonl"
    for args in (["search", "Norman", "--index", str(path)], ["index", str(new_doc), "--index", str(path)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and "Traceback" not in result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 2, result.output
        assert lines[0].startswith("Error: ") and f"format {fmt};" in lines[0]
        assert lines[1] == f"Rebuild it with: vnsearch reindex --index {path}"


@pytest.mark.parametrize("name", OLD)
def test_an_index_of_an_older_format_is_refused_then_upgraded_by_reindex_without_loss(
        name: str, tmp_path: Path, fresh_matches: dict[str, set[str]]) -> None:
    path = _copy(name, tmp_path)
    assert _format(path) < FORMAT_VERSION and _segment_files(path) == {".seg"}
    _assert_refused(path)
    assert stats(path)["current"] is False  # stats still describe it
    assert {d.id: d for d in export(path)} == _fixture_documents()  # and export reads it
    result = CliRunner().invoke(main, ["reindex", "--index", str(path), "-q"])
    assert result.exit_code == 0, result.output
    assert _format(path) == FORMAT_VERSION and _segment_files(path) == {".vnt", ".vnd"}
    assert {d.id: d for d in export(path)} == _fixture_documents()  # every id and stored field
    found = _matches(path)
    assert {q: found[q] for q in EXPECTED} == EXPECTED
    assert found == fresh_matches
    assert stats(path)["current"] is True


def test_an_old_index_takes_new_documents_and_upgrades_without_loss(old_index: Path) -> None:
    new = Document(id="new-1", title="Thư viện tỉnh Lạng Sơn", text="Số hóa tài liệu lưu trữ ở Bắc Sơn.")
    if _format(old_index) < FORMAT_VERSION:
        assert reindex(old_index, workers=1).added == len(_fixture_documents())
    Index.open(old_index).add_documents([new], workers=1)
    report = reindex(old_index, workers=1)
    expected = _fixture_documents() | {new.id: new}
    assert report.added == len(expected)
    assert {d.id: d for d in export(old_index)} == expected
    with Searcher.open(old_index) as s:
        assert {i for i, _ in s.search_ids("Norman", limit=100)} == {"xq-vi-02-00"}
        assert "new-1" in {i for i, _ in s.search_ids("lưu trữ", limit=100)}


@pytest.mark.parametrize("suffix", [".vnt", ".vnd"])
def test_a_truncated_segment_file_fails_the_search_with_one_line_naming_it(suffix: str, tmp_path: Path) -> None:
    path = _copy(CURRENT[0], tmp_path)
    damaged = sorted(path.glob(f"MAIN_*{suffix}"))[0]
    damaged.write_bytes(damaged.read_bytes()[:-100])
    result = CliRunner().invoke(main, ["search", "Norman", "--index", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("Error: ") and damaged.name in lines[0] and "truncated or damaged" in lines[0]
    assert len(lines) <= 2 and "bug in vnsearch" not in result.output  # a damaged file, not a crash
