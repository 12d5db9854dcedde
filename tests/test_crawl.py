"""The crawler against a small Vietnamese site on 127.0.0.1 (tests/crawl_site.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from corpus import InputError
from corpus._crawl import CrawlError, CrawlEvent, CrawlOptions, crawl
from corpus._warc import read_warc

sys.path.insert(0, str(Path(__file__).parent))
from crawl_site import ARTICLE_PATHS, SiteServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = CrawlOptions(delay=0, connect_timeout=0.5, read_timeout=0.5, total_timeout=5, retries=1,
                       backoff=0.01, max_bytes=100_000, concurrency=3, per_host_concurrency=2)
ARTICLES = set(ARTICLE_PATHS) | {"/bai/tam-loi"}
# Temporary failures: a page slower than the timeouts and one cut short, both retried and kept pending.
FAILING = {"/cham", "/cat-ngang"}
LISTS = {"/", "/tin-tuc/", "/lien-he"}


def _paths(site: SiteServer, urls: list[str]) -> set[str]:
    prefix = site.url("")
    return {u[len(prefix):] for u in urls}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory):
    """One complete crawl of the site, shared by the tests that only look at its results."""
    state = tmp_path_factory.mktemp("state")
    events: list[CrawlEvent] = []
    with SiteServer() as site:
        crawler = crawl([site.url("/")], state, OPTIONS, on_event=events.append)
        docs = list(crawler)
        yield site, crawler.report, docs, events, state


def test_crawl_yields_each_article_once_and_no_list_pages(finished) -> None:
    site, report, docs, _, _ = finished
    assert sorted(_paths(site, [d.id for d in docs])) == sorted(ARTICLES)
    assert len(docs) == len(ARTICLES)
    bacson = next(d for d in docs if d.id.endswith("/bai/bac-son"))
    assert bacson.title.startswith("Ban Chấp hành Đảng bộ huyện Bắc Sơn")
    assert "Lộc Huệ" in bacson.text and "Về đầu trang" not in bacson.text
    assert bacson.source == "127.0.0.1" and bacson.url == bacson.id
    assert not report.finished and "2 URL(s) failed and stay pending" in (report.stop_reason or "")


def test_windows_1258_page_is_decoded_to_nfc(finished) -> None:
    _, _, docs, _, _ = finished
    doc = next(d for d in docs if d.id.endswith("/bai/huguenot-1258"))
    assert doc.title == "Chiến tranh tôn giáo"
    assert "Chiến tranh tôn giáo nối lại vào những năm 1620" in doc.text


def test_every_bad_page_is_skipped_with_its_reason(finished) -> None:
    site, report, _, _, _ = finished
    reasons = {url[len(site.url("")):]: why for url, why in report.skipped}
    assert reasons["/private/noi-bo"] == "forbidden by robots.txt"
    assert reasons["/vong-b"].startswith("redirect loop")
    assert reasons["/khong-co"] == "HTTP 404 Not Found"
    assert reasons["/anh/logo.png"] == "unsupported content type image/png"
    assert reasons["/tai-ve/du-lieu.bin"] == "unsupported content type application/octet-stream"
    assert reasons["/nhi-phan.html"].startswith("binary content")
    assert reasons["/english"].startswith("not Vietnamese")
    assert reasons["/rat-lon"].startswith("response too large")
    assert reasons["/bai/ban-sao-bac-son"] == f"duplicate content of {site.url('/bai/bac-son')}"
    # List pages are followed, not indexed: skips too, with the cleaner's reason.
    for path in LISTS:
        assert reasons[path].startswith("not an article ("), reasons[path]
    assert len(reasons) == 9 + len(LISTS), reasons  # nothing else: no good page is in the list
    assert report.counts.skipped == len(report.skipped) == len(reasons)
    failed = {url[len(site.url("")):]: why for url, why in report.failed}
    assert failed["/cham"].startswith("timed out") and failed["/cat-ngang"].startswith("truncated response")
    assert set(failed) == FAILING and report.counts.errors == 2 and report.counts.pending == 2


def test_politeness_robots_sitemap_and_url_dedupe(finished) -> None:
    site, _, _, _, _ = finished
    answered = Counter(site.answered_pages())
    assert "/private/noi-bo" not in answered  # robots.txt obeyed: never requested
    assert answered["/bai/chi-trong-sitemap"] == 1  # only the sitemap links to it
    # Linked as /bai/bac-son, with utm_* and a fragment, via a 301 and in the sitemap: one fetch.
    assert answered["/bai/bac-son"] == 1
    assert answered["/bai/tam-loi"] == 2  # a 503, then the retry got the page
    assert answered["/cat-ngang"] == 2  # truncated twice: retried once, then given up
    assert [r.path for r in site.requests].count("/cham") == 2  # timed out, retried once
    once = {p: n for p, n in answered.items() if p not in ("/bai/tam-loi", "/cat-ngang")}
    assert set(once.values()) == {1}, once
    agents = {r.user_agent for r in site.requests if r.answered}
    assert len(agents) == 1 and agents.pop().startswith("vnsearch/")


def test_events_report_progress(finished) -> None:
    _, report, docs, events, _ = finished
    kinds = Counter(e.kind for e in events)
    assert kinds["document"] == len(docs)
    assert kinds["skipped"] == len(report.skipped) and kinds["error"] == len(report.failed)
    assert kinds["queued"] == report.counts.queued and kinds["finished"] == 1
    assert events[-1].kind == "finished" and events[-1].counts == report.counts
    assert events[-1].counts.pending == len(FAILING)  # kept for the next run


def test_archive_rereads_to_the_same_documents(finished) -> None:
    _, report, docs, _, _ = finished
    from_warc = list(read_warc(report.warc_path))
    # The WARC also keeps the duplicate and the non-Vietnamese page; read_warc rejects them as the crawl did.
    assert sorted(from_warc, key=lambda d: d.id) == sorted(docs, key=lambda d: d.id)


def test_rerun_fetches_only_the_failures_and_replays_documents(finished, tmp_path: Path) -> None:
    site, report, docs, _, state = finished
    before = len(site.requests)
    again = crawl([site.url("/")], state, OPTIONS)
    replayed = list(again)
    assert sorted(d.id for d in replayed) == sorted(d.id for d in docs)
    # Only what failed is asked again (robots.txt is read again by every run).
    assert {r.path for r in site.requests[before:]} == {"/robots.txt"} | FAILING
    assert again.report.resumed and not again.report.finished
    assert len(again.report.skipped) == len(report.skipped)  # earlier runs' skips stay in the report
    quiet = crawl([site.url("/")], state, replace(OPTIONS, replay_archive=False))
    assert list(quiet) == []


def test_archived_page_with_lost_journal_line_is_not_fetched_again(tmp_path: Path) -> None:
    """A kill between writing the WARC record and the journal line must not cost a refetch."""
    with SiteServer() as site:
        first = list(crawl([site.url("/")], tmp_path, OPTIONS))
        journal = tmp_path / "journal.jsonl"
        lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
        last_doc = max(i for i, ln in enumerate(lines) if '"outcome": "document"' in ln)
        lost = json.loads(lines[last_doc])["url"]
        journal.write_text("".join(lines[:last_doc]), encoding="utf-8")  # and everything after it
        before = Counter(site.answered_pages())
        resumed = list(crawl([site.url("/")], tmp_path, replace(OPTIONS, replay_archive=False)))
        after = Counter(site.answered_pages())
    assert [d.id for d in resumed] == [lost]
    assert lost in {d.id for d in first}
    refetched = {p for p in after if after[p] > before[p]}
    # Only URLs whose outcome was not archived (errors, skips after the cut) may be asked again.
    assert not refetched & {p for p in ARTICLES}


_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
from corpus._crawl import CrawlOptions, crawl
options = CrawlOptions(**json.loads(sys.argv[1]))
with open(sys.argv[3], "a", encoding="utf-8") as out:
    for doc in crawl([sys.argv[2]], sys.argv[4], options):
        out.write(json.dumps(doc.as_dict(), ensure_ascii=False) + "\\n")
        out.flush()
"""


def _journal_fetched(state: Path) -> int:
    path = state / "journal.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines()
               if '"e": "done"' in line and '"fetched": true' in line)


def test_killed_crawl_resumes_without_fetching_any_page_twice(tmp_path: Path) -> None:
    state, out = tmp_path / "state", tmp_path / "docs.jsonl"
    # No retries here: a retry would be a second request by design, not a lost page.
    options = replace(OPTIONS, retries=0)
    opts_json = json.dumps({k: getattr(options, k) for k in
                            ("delay", "connect_timeout", "read_timeout", "total_timeout", "retries",
                             "backoff", "max_bytes", "concurrency", "per_host_concurrency")})
    with SiteServer(hold_after=6) as site:
        child = subprocess.Popen([sys.executable, "-c", _CHILD.format(root=str(ROOT)), opts_json,
                                  site.url("/"), str(out), str(state)], cwd=ROOT)
        try:
            deadline = time.monotonic() + 20
            # Kill once the crawl is stuck at the gate and has recorded every page it was sent.
            while time.monotonic() < deadline:
                if site.held >= 1 and _journal_fetched(state) >= len(site.answered_pages()):
                    break
                assert child.poll() is None, "the crawl ended before it could be killed"
                time.sleep(0.05)
            else:
                pytest.fail("the crawl never reached the gate")
            os.kill(child.pid, signal.SIGKILL)
            child.wait(5)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == -signal.SIGKILL
        first_run = Counter(site.answered_pages())
        assert sum(first_run.values()) == 6
        site.hold_after = None
        site.release()  # the held requests are dropped unanswered

        crawler = crawl([site.url("/")], state, options)
        resumed = list(crawler)
        answered = Counter(site.answered_pages())

    assert sum(answered.values()) > 6  # the second run had work left: the kill came midway
    twice = {p: n for p, n in answered.items() if n > 1}
    assert twice == {}, f"fetched twice: {twice}"
    # /bai/tam-loi answers 503 first, and this crawl does not retry: it stays pending too.
    failed = {u[len(site.url("")):] for u, _ in crawler.report.failed}
    assert crawler.report.resumed and failed == FAILING | {"/bai/tam-loi"}
    # Everything is recoverable: the resumed run replays what the killed one archived.
    # (/bai/tam-loi answers 503 first, and this crawl does not retry.)
    assert _paths(site, [d.id for d in resumed]) == ARTICLES - {"/bai/tam-loi"}
    killed_docs = [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] \
        if out.exists() else []
    assert set(killed_docs) <= {d.id for d in resumed}


def test_max_pages_stops_and_a_later_run_continues(tmp_path: Path) -> None:
    with SiteServer() as site:
        small = crawl([site.url("/")], tmp_path, replace(OPTIONS, max_pages=4))
        list(small)
        assert not small.report.finished and "max_pages" in (small.report.stop_reason or "")
        assert len(site.answered_pages()) == 4 and small.report.counts.fetched == 4
        rest = crawl([site.url("/")], tmp_path, OPTIONS)
        docs = list(rest)
        assert rest.report.stop_reason and "failed" in rest.report.stop_reason  # only FAILING left
        assert _paths(site, [d.id for d in docs]) == ARTICLES


def test_prefix_scope_and_depth(tmp_path: Path) -> None:
    with SiteServer() as site:
        options = replace(OPTIONS, scope="prefix", max_depth=1, use_sitemaps=False)
        docs = list(crawl([site.url("/bai/bac-son")], tmp_path, options))
        asked = set(site.answered_pages())
    # /bai/bac-son links to /bai/amazon (depth 1), which links to /bai/rung-amazon (depth 2: too deep).
    assert _paths(site, [d.id for d in docs]) == {"/bai/bac-son", "/bai/amazon"}
    assert asked == {"/bai/bac-son", "/bai/amazon"}  # nav links outside /bai/ are out of scope


def test_break_releases_the_state_folder_and_second_crawler_is_refused(tmp_path: Path) -> None:
    with SiteServer() as site:
        with crawl([site.url("/")], tmp_path, OPTIONS) as first:
            next(iter(first))
            with pytest.raises(CrawlError):
                next(iter(crawl([site.url("/")], tmp_path, OPTIONS)))
        # Leaving the with block closed the first crawl, so the folder is free again.
        docs = list(crawl([site.url("/")], tmp_path, OPTIONS))
    assert _paths(site, [d.id for d in docs]) == ARTICLES


@pytest.mark.parametrize("bad", [{"concurrency": 0}, {"scope": "domain"}, {"max_pages": 0},
                                 {"read_timeout": 0}, {"per_host_concurrency": 5}])
def test_invalid_options_are_input_errors(bad: dict) -> None:
    with pytest.raises(InputError):
        CrawlOptions(**bad)


def test_seed_must_be_a_web_url(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        crawl(["ftp://example.vn/"], tmp_path)
