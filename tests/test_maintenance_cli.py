"""The archivists' commands through the CLI: stats, export -> index, delete, optimize."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


# -- deletes you can see coming ---------------------------------------------------------

def _many(tmp_path: Path, n: int = 30) -> Path:
    from import_worker import load_documents

    path = tmp_path / "many"
    Index.create(path).add_documents(load_documents(n), workers=1)
    return path


def test_delete_dry_run_lists_and_deletes_nothing_and_json_gives_ids(tmp_path: Path) -> None:
    ix = _ix(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["delete", "a", "zz", "--dry-run", "--index", str(ix)])
    assert result.exit_code == 0, result.output
    assert "Would delete 1 document (dry run: nothing was deleted):\n  a\n" in result.output
    assert "Not found (1): zz" in result.output
    assert Index.open(ix).doc_count() == 3
    result = runner.invoke(main, ["delete", "a", "zz", "--format", "json", "--index", str(ix)])
    assert json.loads(result.stdout) == {"deleted": ["a"], "not_found": ["zz"], "dry_run": False, "cancelled": False}
    assert sorted(Index.open(ix).ids()) == ["b", "c"]


def test_deleting_only_unknown_ids_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["delete", "nope", "--index", str(_ix(tmp_path))])
    assert result.exit_code == 1 and "Deleted 0 documents." in result.output and "Not found (1): nope" in result.output


@pytest.mark.parametrize("query", ["thành phố OR Warsaw -sông",
                                   "cua thanh pho"])  # unaccented with a common word: compiled as search does
def test_delete_query_removes_exactly_the_documents_search_finds(tmp_path: Path, query: str) -> None:
    ix = _many(tmp_path, 400)
    runner = CliRunner()
    found = json.loads(runner.invoke(main, ["search", query, "--limit", "1000", "--index", str(ix),
                                            "--format", "json"]).stdout)
    ids = sorted(h["id"] for h in found["hits"])
    assert 0 < len(ids) == found["total"] < 400
    result = runner.invoke(main, ["delete", "--query", query, "--format", "json", "--index", str(ix)])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["deleted"]) == ids
    assert Index.open(ix).doc_count() == 400 - len(ids)


def test_many_deletes_on_a_terminal_ask_first(tmp_path: Path) -> None:
    """A real terminal (a pseudo-terminal): answering "n" deletes nothing; --yes does not ask."""
    import os
    import pty
    import subprocess
    import sys

    ix = _many(tmp_path)
    cli = "import sys; from searcher.cli import main; sys.argv[0] = 'vnsearch'; main()"
    ids = Index.open(ix).ids()[:12]
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", cli, "delete", *ids, "--index", str(ix)],
                            stdin=follower, stdout=follower, stderr=follower, cwd=Path(__file__).parents[1])
    os.close(follower)
    seen = b""
    while b"[y/N]" not in seen:  # the prompt: the process waits for the answer
        chunk = os.read(leader, 4096)
        assert chunk, seen
        seen += chunk
    assert b"Delete these 12 documents" in seen and ids[0].encode() in seen
    os.write(leader, b"n\n")
    assert proc.wait(timeout=60) == 1
    os.close(leader)
    assert Index.open(ix).doc_count() == 30
    result = CliRunner().invoke(main, ["delete", *ids, "--yes", "--index", str(ix)])
    assert result.exit_code == 0 and "Deleted 12 documents:" in result.output
    assert Index.open(ix).doc_count() == 18


def test_prune_dry_run_names_what_would_go(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.jsonl").write_text(json.dumps({"id": name, "text": "Bắc Sơn nông thôn"}) + "\n",
                                              encoding="utf-8")
    ix = tmp_path / "ix"
    runner = CliRunner()
    assert runner.invoke(main, ["index", str(folder), "--index", str(ix)]).exit_code == 0
    (folder / "b.jsonl").unlink()
    result = runner.invoke(main, ["index", str(folder), "--index", str(ix), "--prune", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would be 0 added, 0 replaced, 1 unchanged, 1 removed" in result.output
    assert "Would remove (not in the sources any more):\n  b\n" in result.output
    assert sorted(Index.open(ix).ids()) == ["a", "b"]
    result = runner.invoke(main, ["index", str(folder), "--index", str(ix), "--prune"])
    assert "Removed (not in the sources any more):\n  b\n" in result.output
    assert Index.open(ix).ids() == ["a"]


# -- options and output -------------------------------------------------------------------

def test_global_options_work_after_the_command(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "Bắc Sơn"}) + "\n", encoding="utf-8")
    runner = CliRunner()
    quiet = runner.invoke(main, ["index", str(src), "--index", str(tmp_path / "ix"), "-q"])
    assert quiet.exit_code == 0 and quiet.output == ""
    loud = runner.invoke(main, ["-q", "index", str(src), "--index", str(tmp_path / "ix2")])
    assert loud.exit_code == 0 and loud.output == ""
    shown = runner.invoke(main, ["index", str(src), "--index", str(tmp_path / "ix3")])
    assert "1 added" in shown.output


def test_stats_for_people_and_numbers_in_json(tmp_path: Path) -> None:
    ix = _ix(tmp_path)
    result = CliRunner().invoke(main, ["stats", "--index", str(ix)])
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.output.splitlines())
    assert lines["up to date"].strip() == "yes" and lines["documents"].strip() == "3"
    assert lines["size on disk"].strip().endswith(("kB", "MB")) and "True" not in result.output
    assert lines["dates"].strip() == "2020-06-12 to 2022-05-01"
    info = json.loads(CliRunner().invoke(main, ["stats", "--index", str(ix), "--format", "json"]).stdout)
    assert isinstance(info["size_bytes"], int) and info["current"] is True


def test_the_lock_error_names_an_option_the_command_has(tmp_path: Path) -> None:
    from index._lock import WriteLock

    ix = _ix(tmp_path)
    runner = CliRunner()
    with WriteLock(ix).acquire(timeout=0):
        for command in (["delete", "a"], ["optimize"], ["index", str(tmp_path)], ["reindex"]):
            result = runner.invoke(main, [*command, "--index", str(ix), "--lock-timeout", "0"])
            assert result.exit_code == 1 and "--lock-timeout" in result.output, (command, result.output)
            help_text = runner.invoke(main, [command[0], "--help"]).output
            assert "--lock-timeout" in help_text


@pytest.mark.parametrize("command", ["index", "delete", "optimize", "reindex", "crawl"])
def test_every_command_that_takes_the_write_lock_has_the_option_its_error_names(command: str) -> None:
    # IndexLockedError's hint says "pass a longer --lock-timeout": each writer must have it.
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "--lock-timeout" in result.output
