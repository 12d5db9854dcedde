"""The archivists' commands through the CLI: stats, export -> index, delete, optimize."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corpus import Document
from index import Index
from searcher import Searcher
from searcher.cli import main

DOCS = [
    Document(id="a", title="Nông thôn mới", text="Xã Tân Lập đạt chuẩn nông thôn mới.", source="bacson", date="2020-06-12"),
    Document(id="b", title="Tài liệu", text="Số hóa tài liệu lưu trữ.", source="luutru", date="2021-01-01"),
    Document(id="c", title="Du lịch", text="Tỉnh Hòa Bình phát triển du lịch.", source="luutru", date="2022-05-01"),
]


def _ix(tmp_path: Path) -> Path:
    path = tmp_path / "ix"
    Index.create(path).add_documents(DOCS, workers=1)
    return path


def test_stats_json_has_documents_sources_and_dates(tmp_path: Path) -> None:
    ix = _ix(tmp_path)
    result = CliRunner().invoke(main, ["stats", "--index", str(ix), "--format", "json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["documents"] == 3 and info["sources"] == {"luutru": 2, "bacson": 1}
    assert (info["date_from"], info["date_to"]) == ("2020-06-12", "2022-05-01")


def test_export_then_index_gives_the_same_results(tmp_path: Path) -> None:
    ix = _ix(tmp_path)
    runner = CliRunner()
    out = tmp_path / "backup.jsonl"
    assert runner.invoke(main, ["export", "--index", str(ix), "-o", str(out)]).exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    # corpus.write_jsonl's rule, as for crawl --jsonl: no content_hash, no empty fields.
    assert all("content_hash" not in rec and None not in rec.values() for rec in map(json.loads, lines))
    to_stdout = runner.invoke(main, ["export", "--index", str(ix)])
    assert to_stdout.exit_code == 0 and to_stdout.stdout.splitlines() == lines
    copy = tmp_path / "copy"
    result = runner.invoke(main, ["index", str(out), "--index", str(copy), "--workers", "1"])
    assert result.exit_code == 0, result.output
    with Searcher.open(ix) as s1, Searcher.open(copy) as s2:
        for q in ("nông thôn", "tai lieu", "Hòa Bình"):
            assert s1.search_ids(q) == s2.search_ids(q)


def test_delete_by_id_and_by_query_then_optimize(tmp_path: Path) -> None:
    ix = _ix(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["delete", "a", "--index", str(ix)])
    assert result.exit_code == 0 and "Deleted 1 document" in result.output
    result = runner.invoke(main, ["delete", "--query", "source:luutru date:2022", "--index", str(ix)])
    assert result.exit_code == 0 and "Deleted 1 document" in result.output
    assert runner.invoke(main, ["optimize", "--index", str(ix)]).exit_code == 0
    with Searcher.open(ix) as s:
        assert s.doc_count() == 1 and s.document("b") is not None


def test_delete_without_ids_or_query_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["delete", "--index", str(_ix(tmp_path))])
    assert result.exit_code == 2 and result.output.startswith("Error: bad query: nothing to delete")


def test_an_index_from_another_analyzer_version_is_refused_then_rebuilt(tmp_path: Path) -> None:
    import dataclasses

    from index._meta import read_meta, write_meta

    ix = _ix(tmp_path)
    write_meta(ix, dataclasses.replace(read_meta(ix), analyzer_version="vi-0"))
    runner = CliRunner()
    result = runner.invoke(main, ["search", "nông thôn", "--index", str(ix)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "analyzer vi-0" in result.output and f"vnsearch reindex --index {ix}" in result.output
    result = runner.invoke(main, ["reindex", "--index", str(ix), "--workers", "1"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["search", "nông thôn", "--index", str(ix), "--format", "json"])
    assert json.loads(result.stdout)["hits"][0]["id"] == "a"


def test_stats_and_facets_when_a_segment_has_no_sources_or_dates(tmp_path: Path) -> None:
    # Whoosh's multi-segment column reader misaligns when one segment lacks a column entirely.
    ix = Index.create(tmp_path)
    ix.add_documents([Document(id=f"a{i}", title="Bắc Sơn", text="nông thôn") for i in range(3)], workers=1)
    ix.add_documents([Document(id=f"b{i}", title="Bắc Sơn", text="nông thôn", source="x", date="2020-05-01")
                      for i in range(2)], workers=1)
    result = CliRunner().invoke(main, ["stats", "--index", str(tmp_path), "--format", "json"])
    info = json.loads(result.stdout)
    assert info["segments"] == 2 and info["sources"] == {"x": 2} and info["without_source"] == 3
    assert info["date_from"] == info["date_to"] == "2020-05-01"
    with Searcher.open(tmp_path) as s:
        facets = s.search("bắc sơn", facets=["source", "year"]).facets
    assert facets == {"source": {"x": 2}, "year": {"2020": 2}}


def test_author_facet_counts_bylines_as_written(tmp_path: Path) -> None:
    ix = Index.create(tmp_path)
    ix.add_documents([Document(id="1", title="Bắc Sơn", text="nông thôn", author="Lộc Huệ"),
                      Document(id="2", title="Bắc Sơn", text="tài liệu", author="Minh Anh"),
                      Document(id="3", title="Bắc Sơn", text="du lịch", author="Lộc Huệ"),
                      Document(id="4", title="Bắc Sơn", text="không tác giả")], workers=1)
    result = CliRunner().invoke(main, ["search", "bắc sơn", "--facet", "author", "--index", str(tmp_path),
                                       "--format", "json"])
    assert json.loads(result.stdout)["facets"] == {"author": {"Lộc Huệ": 2, "Minh Anh": 1}}
