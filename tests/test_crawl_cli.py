"""`vnsearch crawl` end to end: a local site, straight into an index, then the WARC re-indexed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner

from searcher import Searcher
from searcher.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from crawl_site import SiteServer  # noqa: E402

FAST = ["--delay", "0", "--timeout", "0.5"]


def test_crawl_into_an_index_then_reindex_the_archive_without_fetching(tmp_path: Path) -> None:
    state, ix, ix2 = tmp_path / "state", tmp_path / "ix", tmp_path / "ix2"
    runner = CliRunner()
    with SiteServer() as site:
        result = runner.invoke(main, ["crawl", site.url("/"), "--state", str(state), "--index", str(ix), *FAST])
        assert result.exit_code == 0, result.output
        fetched = len(site.answered_pages())
    assert "articles" in result.output and "skipped" in result.output
    with Searcher.open(ix) as s:
        hits = s.search("Ban Chấp hành Đảng bộ huyện Bắc Sơn").hits
        assert hits and hits[0].source == "127.0.0.1" and hits[0].url.startswith("http://127.0.0.1")
        assert "Skip to main content" not in (s.document(hits[0].id) or hits[0]).text  # type: ignore[union-attr]
        crawled = s.doc_count()
    assert fetched > crawled > 0
    # The server is gone: the archive alone rebuilds the same documents.
    result = runner.invoke(main, ["index", str(state / "crawl.warc.gz"), "--index", str(ix2), "--workers", "1"])
    assert result.exit_code == 0, result.output
    with Searcher.open(ix2) as s:
        assert s.doc_count() == crawled


def test_crawl_to_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "docs.jsonl"
    with SiteServer() as site:
        result = CliRunner().invoke(main, ["crawl", site.url("/"), "--state", str(tmp_path / "s"),
                                           "--jsonl", str(out), "--max-pages", "5", *FAST])
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert docs and all(d["id"].startswith("http://127.0.0.1") and d["text"] for d in docs)
    # corpus.write_jsonl's rule, as for export: no content_hash, no empty fields.
    assert all("content_hash" not in d and None not in d.values() for d in docs)
