"""`vnsearch crawl` end to end: a local site, straight into an index, then the WARC re-indexed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from click.testing import CliRunner

from searcher import Searcher
from searcher.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from crawl_site import Page, SiteServer, free_port, list_html  # noqa: E402

FAST = ["--delay", "0", "--timeout", "0.5", "--retries", "0"]


def test_crawl_into_an_index_then_reindex_the_archive_without_fetching(tmp_path: Path) -> None:
    state, ix, ix2 = tmp_path / "state", tmp_path / "ix", tmp_path / "ix2"
    runner = CliRunner()
    with SiteServer() as site:
        result = runner.invoke(main, ["crawl", site.url("/"), "--state", str(state), "--index", str(ix), *FAST])
        assert result.exit_code == 0, result.output
        fetched = len(site.answered_pages())
        # The site serves the screen-reader link real sites open with; the index must not hold it.
        assert b"Skip to main content" in site.pages["/bai/bac-son"].body
    assert "articles" in result.output and "skipped" in result.output
    with Searcher.open(ix) as s:
        hits = s.search("Ban Chấp hành Đảng bộ huyện Bắc Sơn").hits
        assert hits and hits[0].source == "127.0.0.1" and hits[0].url.startswith("http://127.0.0.1")
        bacson = s.document(hits[0].id)
        assert bacson is not None and "Lộc Huệ" in bacson.text
        assert "Skip to main content" not in bacson.text
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


def test_site_down_exits_1_and_the_next_run_crawls_it(tmp_path: Path) -> None:
    port, state = free_port(), tmp_path / "state"
    args = ["crawl", f"http://127.0.0.1:{port}/", "--state", str(state), "--jsonl", str(tmp_path / "a.jsonl"), *FAST]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "nothing could be fetched (1 URL(s) failed)" in result.output and "Traceback" not in result.output
    with SiteServer(port=port) as site:
        result = CliRunner().invoke(main, [*args, "--max-depth", "1"])
        assert result.exit_code == 0, result.output
    docs = [json.loads(line)["id"] for line in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    assert site.url("/bai/bac-son") in docs


def test_summary_counts_every_skip_and_says_how_many_more(tmp_path: Path) -> None:
    links = [(f"/mat/{i}", f"Trang đã bị xoá số {i} của cổng thông tin") for i in range(25)]
    with SiteServer(pages={"/": Page(body=list_html("Trang chủ", links, nav=False).encode())}) as site:
        result = CliRunner().invoke(main, ["crawl", site.url("/"), "--state", str(tmp_path / "s"),
                                           "--jsonl", str(tmp_path / "d.jsonl"), *FAST])
    assert result.exit_code == 0, result.output
    # 25 pages answer 404 and the front page is a list: 26 skips, 20 listed.
    assert ", 26 skipped," in result.output
    assert result.output.count("  skipped ") == 20 and "… and 6 more" in result.output


def test_clean_refuses_a_page_over_the_cap(tmp_path: Path) -> None:
    big = tmp_path / "lon.html"
    big.write_bytes(b"<html><body>" + "<p>Bắc Sơn nông thôn mới</p>".encode() * 200_000 + b"</body></html>")
    result = CliRunner().invoke(main, ["clean", str(big)])
    assert result.exit_code == 1 and "response too large" in result.output and "Traceback" not in result.output


def test_clean_url_follows_a_redirect_on_its_own_host(tmp_path: Path) -> None:
    with SiteServer() as site:
        site.pages["/cu"] = Page(status=301, headers=(("Location", "/bai/bac-son"),))
        result = CliRunner().invoke(main, ["clean", site.url("/cu")])
    assert result.exit_code == 0, result.output
    assert "article: yes" in result.output and "Lộc Huệ" in result.output


def test_a_site_answering_only_503_exits_1(tmp_path: Path) -> None:
    pages = {"/": Page(body=b"", fail_first=100)}
    with SiteServer(pages=pages) as site:
        result = CliRunner().invoke(main, ["crawl", site.url("/"), "--state", str(tmp_path / "s"),
                                           "--jsonl", str(tmp_path / "d.jsonl"), "--no-robots", *FAST])
    assert result.exit_code == 1, result.output
    assert "failed " in result.output and "HTTP 503" in result.output
