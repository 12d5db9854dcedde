"""Politeness, recovery and re-crawls, judged by what the servers recorded: request times per host
with a non-zero delay, one request at a time per host, Crawl-delay, Retry-After; a site down for
the first crawl and up for the next; a refresh that fetches only new or changed pages."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from corpus._crawl import CrawlOptions, crawl

sys.path.insert(0, str(Path(__file__).parent))
from crawl_site import Page, SiteServer, _bacson, _xquad, article_html, free_port, list_html  # noqa: E402

OPTIONS = CrawlOptions(delay=0.1, connect_timeout=0.5, read_timeout=1, total_timeout=5, retries=1,
                       backoff=0.01, max_bytes=200_000, concurrency=3, per_host_concurrency=1,
                       use_sitemaps=False)
# Eight real paragraphs; each article joins two of them, so no two articles have the same text.
XQ = [r["text"].lstrip("\ufeff") for r in _xquad()] + [p for p in _bacson()[1] if len(p.split()) > 20]


def _small_site(n: int, robots: str = "User-agent: *\nAllow: /\n") -> dict[str, Page]:
    links = [(f"/bai/{i}", f"Bài số {i} trong chuyên mục tin tức của huyện") for i in range(n)]
    pages = {"/robots.txt": Page(body=robots.encode(), content_type="text/plain"),
             "/": Page(body=list_html("Trang chủ", links, nav=False).encode())}
    for i in range(n):
        pages[f"/bai/{i}"] = Page(body=article_html(f"Bài số {i}", [XQ[i], XQ[i + 1]], nav=False).encode())
    return pages


def _gaps(site: SiteServer) -> list[float]:
    times = sorted(r.started for r in site.requests)
    return [b - a for a, b in zip(times, times[1:])]


def test_delay_and_one_request_at_a_time_per_host(tmp_path: Path) -> None:
    with SiteServer(pages=_small_site(5)) as site:
        list(crawl([site.url("/")], tmp_path, OPTIONS))  # three threads, but one host
    assert len(site.requests) == 7  # robots.txt, the list, five articles
    assert min(_gaps(site)) >= 0.1, _gaps(site)
    assert max(r.in_flight for r in site.requests) == 1


def test_per_host_limit_holds_even_without_a_delay() -> None:
    import tempfile

    seen = {}
    for per_host in (1, 2):
        pages = _small_site(4)
        for i in range(4):
            pages[f"/bai/{i}"].sleep = 0.2  # slow answers: a second thread would overlap them
        with SiteServer(pages=pages) as site, tempfile.TemporaryDirectory() as state:
            list(crawl([site.url("/")], state, replace(OPTIONS, delay=0, per_host_concurrency=per_host)))
        seen[per_host] = max(r.in_flight for r in site.requests)
    assert seen == {1: 1, 2: 2}


def test_two_hosts_are_fetched_side_by_side_each_politely(tmp_path: Path) -> None:
    with SiteServer(pages=_small_site(3)) as a, SiteServer(host="127.0.0.2", pages=_small_site(3)) as b:
        options = replace(OPTIONS, allow_hosts=(f"127.0.0.2:{b.port}",), delay=0.2)
        list(crawl([a.url("/"), b.url("/")], tmp_path, options))
    for site in (a, b):
        assert len(site.requests) == 5 and min(_gaps(site)) >= 0.2
    # Interleaved: the second host did not wait for the first to finish.
    assert min(r.started for r in b.requests) < max(r.started for r in a.requests)


def test_crawl_delay_from_robots_txt_wins_when_longer(tmp_path: Path) -> None:
    with SiteServer(pages=_small_site(3, "User-agent: *\nCrawl-delay: 0.3\n")) as site:
        list(crawl([site.url("/")], tmp_path, replace(OPTIONS, delay=0.05)))
    assert len(site.requests) == 5 and min(_gaps(site)) >= 0.3, _gaps(site)


def test_retry_after_is_waited_for(tmp_path: Path) -> None:
    pages = _small_site(1)
    pages["/bai/0"].fail_first, pages["/bai/0"].retry_after = 1, "1"
    with SiteServer(pages=pages) as site:
        docs = list(crawl([site.url("/")], tmp_path, replace(OPTIONS, delay=0.05)))
        times = [r.started for r in site.requests if r.path == "/bai/0"]
    assert len(docs) == 1 and len(times) == 2 and times[1] - times[0] >= 1.0


def test_a_site_down_for_the_first_crawl_is_crawled_fully_by_the_next(tmp_path: Path) -> None:
    port = free_port()
    first = crawl([f"http://127.0.0.1:{port}/"], tmp_path, OPTIONS)
    assert list(first) == []
    assert first.report.nothing_fetched and not first.report.finished
    assert first.report.failed[0][0] == f"http://127.0.0.1:{port}/"
    assert "robots.txt unreachable" in first.report.failed[0][1]
    assert first.report.skipped == []  # nothing given up for good
    with SiteServer(pages=_small_site(3), port=port) as site:
        second = crawl([site.url("/")], tmp_path, OPTIONS)
        docs = list(second)
    assert sorted(d.id for d in docs) == [site.url(f"/bai/{i}") for i in range(3)]
    assert second.report.finished and not second.report.failed


def test_robots_txt_5xx_holds_the_host_until_a_later_run(tmp_path: Path) -> None:
    pages = _small_site(2)
    pages["/robots.txt"].fail_first = 2  # both attempts of the first run get 503
    with SiteServer(pages=pages) as site:
        first = crawl([site.url("/")], tmp_path, OPTIONS)
        assert list(first) == [] and site.paths() == ["/robots.txt", "/robots.txt"]
        assert first.report.nothing_fetched  # 503 is no answer: nothing could be fetched
        assert "robots.txt answered HTTP 503" in first.report.failed[0][1]
        docs = list(crawl([site.url("/")], tmp_path, OPTIONS))
    assert len(docs) == 2


def test_refresh_fetches_only_new_or_changed_pages(tmp_path: Path) -> None:
    pages = _small_site(4)
    pages["/bai/3"].fail_first = 2  # fails in the first pass (both attempts): the refresh must still get it
    pages["/sitemap.xml"] = Page(content_type="application/xml", body=(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>{base}/bai/1</loc><lastmod>2001-01-01</lastmod></url></urlset>").encode())
    options = replace(OPTIONS, delay=0.02, use_sitemaps=True)
    with SiteServer(pages=pages) as site:
        pages["/sitemap.xml"].body = pages["/sitemap.xml"].body.replace(b"{base}", site.url("").encode())
        first = list(crawl([site.url("/")], tmp_path, options))
        assert len(first) == 3
        pages["/bai/3"].fail_first = 0  # back up by the next pass
        # A day later: a new article on the front page, article 2 corrected, articles 0 and 1 as they were.
        new_links = [("/bai/moi", "Bài mới đăng sáng nay trên cổng thông tin huyện")] + [
            (f"/bai/{i}", f"Bài số {i} trong chuyên mục tin tức của huyện") for i in range(3)]  # 3 scrolled off
        pages["/"] = Page(body=list_html("Trang chủ", new_links, nav=False).encode())
        pages["/bai/moi"] = Page(body=article_html("Bài mới", [XQ[6], XQ[7]], nav=False).encode())
        pages["/bai/2"] = Page(body=article_html("Bài số 2 (đính chính)", [XQ[2], XQ[7]], nav=False).encode())
        before = len(site.requests)
        refresh = crawl([site.url("/")], tmp_path, replace(options, refresh=True))
        docs = list(refresh)
        again = site.requests[before:]
    assert sorted(d.id for d in docs) == [site.url("/bai/2"), site.url("/bai/3"), site.url("/bai/moi")]
    by_path = {r.path: r for r in again}
    assert by_path["/bai/0"].status == 304 and by_path["/bai/0"].if_none_match  # asked, not fetched
    assert "/bai/1" not in by_path  # the sitemap says it has not changed since: not even asked
    assert by_path["/bai/2"].status == 200 and by_path["/bai/moi"].status == 200
    assert refresh.report.counts.unchanged == 2
    # Nothing changed since: a second refresh yields nothing and fetches no page body.
    with SiteServer(pages=pages, port=site.port) as site2:
        quiet = list(crawl([site2.url("/")], tmp_path, replace(options, refresh=True)))
        statuses = {r.path: r.status for r in site2.requests if r.path.startswith(("/bai", "/"))}
    assert quiet == []
    assert {s for p, s in statuses.items() if p not in ("/robots.txt", "/sitemap.xml")} == {304}

