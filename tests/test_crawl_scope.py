"""Scope and robots rules, each checked against servers that record whether they were ever asked:
other ports of the seed's host and another host (127.0.0.2) must never be requested unless allowed;
robots.txt wildcards, ``$`` and longest-match rules; meta robots and X-Robots-Tag."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from corpus import InputError, clean_source
from corpus._crawl import CrawlOptions, crawl
from corpus._scope import Scope

sys.path.insert(0, str(Path(__file__).parent))
from crawl_site import Page, SiteServer, _xquad, article_html, build_site, list_html  # noqa: E402

OPTIONS = CrawlOptions(delay=0, connect_timeout=0.5, read_timeout=1, total_timeout=5, retries=0,
                       backoff=0.01, max_bytes=200_000, concurrency=2, per_host_concurrency=1)
SITE_TEXT = build_site(1)  # only for its real article pages
ARTICLE = SITE_TEXT["/bai/amazon"].body.decode("utf-8")


def _article(title: str) -> Page:
    return Page(body=ARTICLE.replace("Rừng nhiệt đới Amazon", title).encode("utf-8"))


def _robots(text: str) -> Page:
    return Page(body=text.encode(), content_type="text/plain")


@pytest.fixture()
def elsewhere():
    """Two servers the crawl must not touch: another port of 127.0.0.1, and 127.0.0.2."""
    other_port = SiteServer(pages={"/robots.txt": _robots("User-agent: *\nAllow: /\n")})
    other_host = SiteServer(host="127.0.0.2", pages={"/robots.txt": _robots("User-agent: *\nAllow: /\n"),
                                                     "/bai/ngoai": _article("Bài ngoài phạm vi")})
    with other_port, other_host:
        yield other_port, other_host


@pytest.mark.parametrize("url, mode, allow, reason", [
    ("http://127.0.0.1:8081/tin-tuc/a", "host", (), None),
    ("http://127.0.0.1:8083/tin-tuc/a", "host", (), "host 127.0.0.1:8083 is not a seed host"),
    ("https://127.0.0.1:8081/tin-tuc/a", "host", (), "scheme https differs"),
    ("http://127.0.0.2:8081/a", "host", (), "host 127.0.0.2:8081 is not a seed host"),
    ("http://127.0.0.2:8081/a", "host", ("127.0.0.2:8081",), None),
    ("http://127.0.0.2:8082/a", "host", ("127.0.0.2:8081",), "host 127.0.0.2:8082"),
    ("http://example.vn/a", "host", ("example.vn",), None),
    ("https://127.0.0.1/tin-tuc/a", "host", ("127.0.0.1",), None),  # a site moved to https, allowed
    ("https://127.0.0.1:8443/a", "host", ("127.0.0.1",), "host 127.0.0.1:8443"),
    ("http://127.0.0.1:8081/tin-tuc/bai/1", "prefix", (), None),
    ("http://127.0.0.1:8081/other/x", "prefix", (), "not under http://127.0.0.1:8081/tin-tuc/"),
    ("http://127.0.0.1:8081/tin-tuc/%2e%2e/other/x", "prefix", (), "not under"),
    ("http://127.0.0.1:8081/tin-tuc/%2E%2E/%2e%2e/other/x", "prefix", (), "not under"),
    ("http://127.0.0.1:8081/tin-tuc/../other/x", "prefix", (), "not under"),
    ("http://127.0.0.1:8081/tin-tuc/./bai/../a", "prefix", (), None),
])
def test_scope_rule(url: str, mode: str, allow: tuple[str, ...], reason: str | None) -> None:
    scope = Scope(["http://127.0.0.1:8081/tin-tuc/"], mode, allow)  # type: ignore[arg-type]
    got = scope.reason(url)
    if reason is None:
        assert got is None
    else:
        assert got is not None and reason in got, got


def test_nothing_out_of_scope_is_ever_requested(tmp_path: Path, elsewhere) -> None:
    other_port, other_host = elsewhere
    off = [other_port.url("/bai/cong-khac"), other_host.url("/bai/ngoai")]
    pages = {
        # robots.txt names a sitemap on another host; /sitemap.xml is an index with a child elsewhere.
        "/robots.txt": _robots(f"User-agent: *\nAllow: /\nSitemap: {other_host.url('/sitemap.xml')}\n"),
        "/sitemap.xml": Page(body=(
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{other_port.url('/con.xml')}</loc></sitemap></sitemapindex>").encode(),
            content_type="application/xml"),
        "/": Page(body=list_html("Trang chủ", [("/bai/1", "Bài một về rừng Amazon ở Nam Mỹ")]
                                 + [(u, "Liên kết ra ngoài phạm vi của trang") for u in off]
                                 + [("/di-noi-khac", "Chuyển hướng ra ngoài")]).encode()),
        "/bai/1": _article("Bài một"),
    }
    with SiteServer(pages=pages) as site:
        site.pages["/di-noi-khac"] = Page(status=302, headers=(("Location", other_host.url("/bai/ngoai")),))
        crawler = crawl([site.url("/")], tmp_path, OPTIONS)
        docs = list(crawler)
    assert [d.id for d in docs] == [site.url("/bai/1")]
    assert other_port.paths() == [] and other_host.paths() == []
    reasons = dict(crawler.report.skipped)
    assert "out of scope" in reasons[other_host.url("/sitemap.xml")]
    assert "out of scope" in reasons[other_port.url("/con.xml")]
    assert reasons[site.url("/di-noi-khac")].startswith(f"redirects to {other_host.url('/bai/ngoai')}: out of scope")
    assert crawler.report.counts.out_of_scope == 2  # the two links, counted, not requested


def test_robots_txt_redirected_off_host_is_not_followed(tmp_path: Path, elsewhere) -> None:
    _, other_host = elsewhere
    pages = {"/robots.txt": Page(status=301, headers=(("Location", other_host.url("/robots.txt")),)),
             "/": Page(body=list_html("Trang chủ", [("/bai/1", "Bài một về rừng Amazon ở Nam Mỹ")]).encode()),
             "/bai/1": _article("Bài một")}
    with SiteServer(pages=pages) as site:
        crawler = crawl([site.url("/")], tmp_path, replace(OPTIONS, use_sitemaps=False))
        docs = list(crawler)
    assert other_host.paths() == []
    assert "out of scope" in dict(crawler.report.skipped)[other_host.url("/robots.txt")]
    assert [d.id for d in docs] == [site.url("/bai/1")]  # no robots.txt: everything allowed


def test_allowed_host_is_crawled_after_its_robots_txt(tmp_path: Path, elsewhere) -> None:
    other_port, other_host = elsewhere
    pages = {"/": Page(body=list_html("Trang chủ", [(other_host.url("/bai/ngoai"), "Bài ở máy khác"),
                                                    (other_port.url("/bai/x"), "Bài ở cổng khác")]).encode())}
    host = f"127.0.0.2:{other_host.port}"
    with SiteServer(pages=pages) as site:
        docs = list(crawl([site.url("/")], tmp_path, replace(OPTIONS, allow_hosts=(host,), use_sitemaps=False)))
    assert other_host.paths()[:2] == ["/robots.txt", "/bai/ngoai"]  # then its own menu links
    assert [d.id for d in docs] == [other_host.url("/bai/ngoai")]
    assert other_port.paths() == []  # only the named port


def test_prefix_scope_resolves_encoded_dots_before_deciding(tmp_path: Path) -> None:
    links = [("/tin-tuc/bai-1", "Bài trong chuyên mục tin tức"), ("/tin-tuc/%2e%2e/noi-bo/x", "Lối tắt"),
             ("/tin-tuc/%2E%2E/noi-bo/y", "Lối tắt hoa"), ("/tin-tuc/a/../../noi-bo/z", "Lối tắt hai tầng")]
    pages = {"/tin-tuc/": Page(body=list_html("Tin tức", links).encode()),
             "/tin-tuc/bai-1": _article("Bài một"), "/noi-bo/x": _article("Nội bộ")}
    with SiteServer(pages=pages) as site:
        docs = list(crawl([site.url("/tin-tuc/")], tmp_path, replace(OPTIONS, scope="prefix")))
        asked = site.paths()
    assert [d.id for d in docs] == [site.url("/tin-tuc/bai-1")]
    assert not [p for p in asked if "noi-bo" in p or ".." in p.lower() or "%2e" in p.lower()], asked


def test_clean_url_refuses_an_off_host_redirect(elsewhere) -> None:
    _, other_host = elsewhere
    with SiteServer(pages={"/di": Page(status=301, headers=(("Location", other_host.url("/bai/ngoai")),))}) as site:
        with pytest.raises(InputError, match="out of scope"):
            clean_source(site.url("/di"))
    assert other_host.paths() == []


ROBOTS = """User-agent: *
Disallow: /*?print=
Disallow: /*.pdf$
Allow: /tin-tuc/
Disallow: /tin-tuc/noi-bo
Disallow: /tai-lieu/
Allow: /tai-lieu/cong-khai/
"""
ALLOWED = {"/bai/a", "/files/bao-cao.pdf?v=2", "/tin-tuc/cong-khai", "/tai-lieu/cong-khai/a"}
FORBIDDEN = {"/bai/a?print=1", "/files/bao-cao.pdf", "/tin-tuc/noi-bo/mat", "/tai-lieu/mat"}


def test_robots_wildcards_end_anchor_and_longest_match(tmp_path: Path) -> None:
    links = [(p, f"Liên kết đến trang {p} của cổng thông tin") for p in sorted(ALLOWED | FORBIDDEN)]
    pages = {"/robots.txt": _robots(ROBOTS), "/": Page(body=list_html("Trang chủ", links).encode())}
    with SiteServer(pages=pages) as site:
        crawler = crawl([site.url("/")], tmp_path, replace(OPTIONS, use_sitemaps=False))
        list(crawler)
        asked = {r.path + ("?" + r.query if r.query else "") for r in site.requests}
    menu = {"/tin-tuc/", "/lien-he", "/private/noi-bo"}  # every page's menu links (404 here)
    assert asked == {"/robots.txt", "/"} | menu | ALLOWED
    forbidden = {u[len(site.url("")):] for u, why in crawler.report.skipped if why == "forbidden by robots.txt"}
    assert forbidden == FORBIDDEN


def test_meta_robots_and_x_robots_tag(tmp_path: Path) -> None:
    noindex = ARTICLE.replace("<head>", '<head><meta name="robots" content="noindex">')
    nofollow = article_html("Bài nofollow", [r["text"] for r in _xquad()[:2]],
                            extra_links=["/bai/chi-qua-nofollow"]).replace(
        "<head>", '<head><meta name="robots" content="nofollow">')
    pages = {
        "/": Page(body=list_html("Trang chủ", [("/bai/noindex", "Bài có thẻ noindex trong trang"),
                                               ("/bai/x-robots", "Bài có tiêu đề X-Robots-Tag"),
                                               ("/bai/nofollow", "Bài có thẻ nofollow trong trang")]).encode()),
        "/bai/noindex": Page(body=noindex.encode()),
        "/bai/x-robots": Page(body=ARTICLE.encode(), headers=(("X-Robots-Tag", "noindex"),)),
        "/bai/nofollow": Page(body=nofollow.encode()),
        "/bai/chi-qua-nofollow": _article("Chỉ qua nofollow"),
    }
    with SiteServer(pages=pages) as site:
        crawler = crawl([site.url("/")], tmp_path, replace(OPTIONS, use_sitemaps=False))
        docs = list(crawler)
        asked = set(site.paths())
    reasons = {u[len(site.url("")):]: why for u, why in crawler.report.skipped}
    assert reasons["/bai/noindex"] == "noindex (robots meta tag)"
    assert reasons["/bai/x-robots"] == "noindex (X-Robots-Tag header)"
    assert "/bai/chi-qua-nofollow" not in asked
    assert [d.id for d in docs] == [site.url("/bai/nofollow")]  # nofollow still indexes the page
    assert {"/bai/noindex", "/bai/x-robots"} <= asked  # fetched (and archived), just not indexed


def test_no_robots_ignores_robots_txt_and_meta(tmp_path: Path) -> None:
    pages = {"/robots.txt": _robots("User-agent: *\nDisallow: /\n"),
             "/": Page(body=list_html("Trang chủ", [("/bai/1", "Bài một về rừng Amazon ở Nam Mỹ")]).encode()),
             "/bai/1": Page(body=ARTICLE.replace("<head>", '<head><meta name="robots" content="noindex">').encode())}
    with SiteServer(pages=pages) as site:
        blocked = list(crawl([site.url("/")], tmp_path / "a", replace(OPTIONS, use_sitemaps=False)))
        free = list(crawl([site.url("/")], tmp_path / "b", replace(OPTIONS, use_sitemaps=False, obey_robots=False)))
    assert blocked == [] and [d.id for d in free] == [site.url("/bai/1")]



@pytest.mark.parametrize("status, allowed, unavailable", [
    (404, True, False), (403, True, False),    # RFC 9309: a 4xx robots.txt means no rules
    (500, False, True), (503, False, True),    # a 5xx one: the whole host, for now
    (None, False, True),                       # unreachable: the same
])
def test_robots_txt_status_rules(status: int | None, allowed: bool, unavailable: bool) -> None:
    from corpus._robots import RobotsRules

    rules = RobotsRules.from_response(status, b"User-agent: *\nDisallow: /\n", "vnsearch/1")
    assert rules.allowed("http://a.vn/bai", "vnsearch/1") is allowed
    assert (rules.unavailable is not None) is unavailable
