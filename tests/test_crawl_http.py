"""The one HTTP client (corpus/_http.py) against real servers on 127.0.0.1: encodings, caps that
hold (a gzip bomb, a slow drip, a page too large), connections closed on abort, Retry-After,
proxies from the environment."""

from __future__ import annotations

import gzip
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

from corpus._http import FetchError, HttpClient, HttpLimits, decompress_capped
from corpus._robots import parse_sitemap

sys.path.insert(0, str(Path(__file__).parent))
from crawl_site import Page, SiteServer  # noqa: E402

TEXT = (Path(__file__).parent / "data" / "site" / "bacson.txt").read_text(encoding="utf-8")
HTML = f"<html lang='vi'><body><article><p>{TEXT}</p></article></body></html>".encode("utf-8")


def _client(**kw: object) -> HttpClient:
    base = dict(user_agent="vnsearch/test", connect_timeout=1.0, read_timeout=2.0, total_timeout=5.0,
                max_bytes=200_000, retries=0, backoff=0.01)
    base.update(kw)
    return HttpClient(HttpLimits(**base))  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding, chunked", [("gzip", False), ("deflate", False), (None, True), ("gzip", True)])
def test_body_is_decoded_and_the_exchange_kept_as_received(encoding: str | None, chunked: bool) -> None:
    pages = {"/bai": Page(body=HTML, encoding=encoding, chunked=chunked)}
    with SiteServer(pages=pages) as site, _client() as client:
        resp = client.get(site.url("/bai"))
        wire = site.wire["/bai"]
    assert resp.status == 200 and resp.body == HTML
    assert resp.raw_body == wire  # compressed and chunk-framed, byte for byte as sent
    if encoding:
        assert resp.header("Content-Encoding") == encoding and resp.raw_body != resp.body
    if chunked:
        assert resp.header("Transfer-Encoding") == "chunked" and resp.raw_body.endswith(b"0\r\n\r\n")
    assert ("Accept-Encoding", "gzip, deflate") in resp.request_headers


def test_raw_deflate_without_zlib_header_is_decoded() -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    data = raw.compress(HTML) + raw.flush()
    assert decompress_capped(data, "deflate", 10**6) == HTML


def test_gzip_bomb_stops_at_the_cap_with_bounded_memory() -> None:
    bomb = b"\0" * (30 * 1024 * 1024)  # 30 MB of zeros: about 30 KB gzipped
    pages = {"/bom": Page(body=bomb, encoding="gzip", content_type="text/html")}
    with SiteServer(pages=pages) as site, _client(max_bytes=100_000) as client:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="too large once decompressed"):
                client.get(site.url("/bom"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 2_000_000, peak  # unpacking it whole would take 30 MB


def test_gzipped_sitemap_bomb_stops_at_its_cap() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * (20 * 1024 * 1024) + b"</urlset>")
    with pytest.raises(FetchError, match="too large once decompressed"):
        parse_sitemap(bomb, max_bytes=1_000_000)
    small = gzip.compress(b'<urlset><url><loc>http://a.vn/1</loc><lastmod>2020-01-02</lastmod></url></urlset>')
    assert parse_sitemap(small) == ([("http://a.vn/1", "2020-01-02")], [])


def test_slow_drip_is_stopped_by_the_total_time_limit_and_the_connection_closed() -> None:
    # One byte every 50 ms never trips a 2 s read timeout; the whole body would take 20 s.
    pages = {"/nho-giot": Page(body=HTML[:400], drip=0.05)}
    with SiteServer(pages=pages) as site, _client(total_timeout=0.5, read_timeout=2.0) as client:
        started = time.monotonic()
        with pytest.raises(FetchError, match=r"download took longer than 0.5 s") as info:
            client.get(site.url("/nho-giot"))
        took = time.monotonic() - started
        assert info.value.retryable
        # The server notices the hang-up on its next byte: the connection was closed, not kept.
        assert site.hung_up.wait(5)
    assert took < 5, took


def test_oversized_body_without_length_aborts_and_closes_the_connection() -> None:
    pages = {"/lon": Page(body=HTML * 2000, chunked=True)}  # about 3 MB, no Content-Length
    with SiteServer(pages=pages) as site, _client(max_bytes=100_000) as client:
        with pytest.raises(FetchError, match="response too large") as info:
            client.get(site.url("/lon"))
        assert not info.value.retryable
        assert site.hung_up.wait(5)  # the server's write failed: the client hung up


def test_retry_after_is_honoured_then_the_page_is_fetched() -> None:
    pages = {"/ban": Page(body=HTML, fail_first=1, retry_after="1")}
    with SiteServer(pages=pages) as site, _client(retries=2, backoff=0.01) as client:
        resp = client.get(site.url("/ban"))
        times = [r.started for r in site.requests if r.path == "/ban"]
    assert resp.status == 200 and [r.status for r in site.requests] == [503, 200]
    assert times[1] - times[0] >= 1.0


def test_a_retry_after_longer_than_allowed_gives_up_at_once_retryable() -> None:
    pages = {"/ban": Page(body=HTML, fail_first=5, retry_after="3600")}
    with SiteServer(pages=pages) as site, _client(retries=3, max_retry_after=10) as client:
        with pytest.raises(FetchError, match="retry after 3600 s") as info:
            client.get(site.url("/ban"))
        assert info.value.retryable and len(site.requests) == 1


def test_connection_errors_are_retried_with_backoff_then_fail_retryable() -> None:
    from crawl_site import free_port

    with _client(retries=2, backoff=0.01) as client:
        with pytest.raises(FetchError, match="connection failed") as info:
            client.get(f"http://127.0.0.1:{free_port()}/")
    assert info.value.retryable


def test_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy receives the absolute URL as the request target.
    target = "http://bao.example.invalid/bai"
    with SiteServer(pages={target: Page(body=HTML)}) as proxy, _client() as client:
        monkeypatch.setenv("http_proxy", proxy.url(""))
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        resp = client.get(target)
    assert resp.status == 200 and resp.body == HTML
    assert proxy.paths() == [target]
