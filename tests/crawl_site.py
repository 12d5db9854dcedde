"""A small Vietnamese news site on 127.0.0.1 for crawler tests, with every kind of bad page.

Pages are built from real text in ``tests/data/site/`` (see SOURCES.md there). The server
logs every request (when it started, which headers came, how many were in flight at once),
can hold requests at a gate (to kill a crawl at a known point), serves pages gzipped, deflated
or chunked, answers conditional requests with 304, can drip a body one byte at a time, and
records when a client hung up on it.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import socket
import threading
import zlib
import time
import unicodedata
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DATA = Path(__file__).parent / "data" / "site"

# The articles the site holds: path -> (title, paragraphs, published date or None).
ARTICLE_PATHS = ("/bai/bac-son", "/bai/amazon", "/bai/rung-amazon", "/bai/dong-co-hoi-nuoc",
                 "/bai/huguenot-1258", "/bai/chi-trong-sitemap")
NOT_PAGES = {"/robots.txt", "/sitemap.xml"}
ENGLISH = ("The district committee met on Friday to review the work of the first half of the year. "
           "Delegates discussed agriculture, forestry, the budget and new rural development. "
           "They agreed on the main tasks for the rest of the year and thanked the people of the "
           "district for their efforts during a difficult season of storms and disease.")


def _xquad() -> list[dict]:
    with open(DATA / "xquad_vi.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _bacson() -> tuple[str, list[str]]:
    lines = [ln.strip() for ln in (DATA / "bacson.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    lines = [ln for ln in lines if ln != "Skip to main content"]
    return lines[0], lines[1:]


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def encode_cp1258(text: str) -> bytes:
    """Vietnamese text in windows-1258: base letters precomposed, tone marks as combining characters."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", ch)
            tones = "".join(c for c in decomposed if c in TONE_MARKS)
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_MARKS))
            out.append(base.encode("cp1258") + tones.encode("cp1258"))
    return b"".join(out)


# Real government and news sites open with this link for screen readers; it is chrome, not text.
SKIP_LINK = '<a class="skip" href="#main">Skip to main content</a>'
NAV = ('<nav><a href="/">Trang chủ</a> | <a href="/tin-tuc/">Tin tức</a> | <a href="/lien-he">Liên hệ</a>'
       ' | <a href="/private/noi-bo">Nội bộ</a></nav>')
FOOTER = "<footer><p>© Cổng thông tin điện tử huyện Bắc Sơn. <a href=\"/\">Về đầu trang</a></p></footer>"


def article_html(title: str, paragraphs: list[str], *, date: str | None = None, charset: str = "utf-8",
                 extra_links: list[str] = (), nav: bool = True) -> str:
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    links = "".join(f'<p>Xem thêm: <a href="{u}">bài liên quan</a></p>' for u in extra_links)
    return (f'<!DOCTYPE html><html lang="vi"><head><meta charset="{charset}">{meta}'
            f"<title>{html.escape(title)}</title></head><body>{SKIP_LINK}{NAV if nav else ''}"
            f"<main id=\"main\"><article><h1>{html.escape(title)}</h1>{body}{links}</article></main>{FOOTER}</body></html>")


def list_html(title: str, links: list[tuple[str, str]], *, nav: bool = True) -> str:
    items = "".join(f'<li><a href="{u}">{html.escape(t)}</a></li>' for u, t in links)
    return (f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"</head><body>{NAV if nav else ''}<main><h1>{html.escape(title)}</h1><ul>{items}</ul></main>{FOOTER}</body></html>")


@dataclass
class Page:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    sleep: float = 0.0
    truncate_to: int | None = None
    fail_first: int = 0
    """Answer this many requests with 503 before the real page (for retry tests)."""
    retry_after: str | None = None
    """The Retry-After header of those 503 answers."""
    encoding: str | None = None
    """Send the body gzip- or deflate-encoded (Content-Encoding), as compressed here."""
    chunked: bool = False
    """Send the body with Transfer-Encoding: chunked, in pieces of 100 bytes."""
    drip: float = 0.0
    """Send the body one byte every ``drip`` seconds (a slow-drip server)."""
    etag: bool = True
    """Send an ETag and answer a matching If-None-Match with 304."""

    def wire_body(self) -> bytes:
        """The body as sent, content-encoded (without chunk framing)."""
        if self.encoding == "gzip":
            return gzip.compress(self.body, mtime=0)
        if self.encoding == "deflate":
            return zlib.compress(self.body)
        return self.body


def build_site(port: int) -> dict[str, Page]:
    """Every path of the site and what it answers."""
    base = f"http://127.0.0.1:{port}"
    xq = _xquad()
    huguenot, steam, amazon1, amazon2 = (next(r for r in xq if r["id"] == i) for i in
                                         ("xq-vi-10-00", "xq-vi-11-00", "xq-vi-16-00", "xq-vi-16-01"))
    bs_title, bs_paragraphs = _bacson()
    pages: dict[str, Page] = {}

    def page(path: str, text: str, **kw: object) -> None:
        pages[path] = Page(body=text.encode("utf-8"), **kw)  # type: ignore[arg-type]

    page("/robots.txt", f"User-agent: *\nDisallow: /private/\n\nSitemap: {base}/sitemap.xml\n",
         content_type="text/plain")
    page("/sitemap.xml",
         '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
         f"<url><loc>{base}/bai/chi-trong-sitemap</loc></url><url><loc>{base}/bai/bac-son</loc></url></urlset>",
         content_type="application/xml")
    page("/", list_html("Trang chủ", [("/tin-tuc/", "Tin tức"), ("/bai/bac-son", bs_title)]))
    page("/tin-tuc/", list_html("Tin tức", [
        ("/bai/bac-son?utm_source=facebook&utm_medium=social#binh-luan", bs_title),
        ("/bai/amazon", "Rừng nhiệt đới Amazon"),
        ("/bai/dong-co-hoi-nuoc", "Động cơ hơi nước"),
        ("/bai/huguenot-1258", "Chiến tranh tôn giáo"),
        ("/bai/ban-sao-bac-son", "Bắc Sơn (bản sao)"),
        ("/cu/bac-son", "Bắc Sơn (địa chỉ cũ)"),
        ("/vong-a", "Vòng lặp"), ("/khong-co", "Trang không tồn tại"), ("/cham", "Trang chậm"),
        ("/anh/logo.png", "Logo"), ("/tai-ve/du-lieu.bin", "Dữ liệu"), ("/nhi-phan.html", "Trang hỏng"),
        ("/english", "English"), ("/rat-lon", "Trang rất lớn"), ("/cat-ngang", "Trang bị cắt"),
    ]))
    page("/bai/bac-son", article_html(bs_title, bs_paragraphs, date="2020-06-12",
                                      extra_links=["/bai/amazon"]))
    # The same article under a second address: a duplicate by content, not by URL.
    page("/bai/ban-sao-bac-son", article_html(bs_title, bs_paragraphs, date="2020-06-12",
                                              extra_links=["/bai/amazon"]))
    page("/bai/amazon", article_html("Rừng nhiệt đới Amazon", [amazon1["text"]],
                                     extra_links=["/bai/rung-amazon"]))
    page("/bai/rung-amazon", article_html("Rừng Amazon bị mất", [amazon2["text"]]))
    page("/bai/dong-co-hoi-nuoc", article_html("Động cơ hơi nước", [steam["text"]]))
    # Declared only in the page's <meta>, as old Vietnamese sites did; the header names no charset.
    pages["/bai/huguenot-1258"] = Page(
        body=encode_cp1258(article_html("Chiến tranh tôn giáo", [huguenot["text"].lstrip("\ufeff")],
                                        charset="windows-1258")),
        content_type="text/html")
    page("/bai/chi-trong-sitemap", article_html("Rừng Amazon (trong sitemap)",
                                                [amazon2["text"] + " " + steam["text"]]))
    pages["/cu/bac-son"] = Page(status=301, headers=(("Location", "/bai/bac-son"),))
    pages["/vong-a"] = Page(status=302, headers=(("Location", f"{base}/vong-b"),))
    pages["/vong-b"] = Page(status=302, headers=(("Location", "/vong-a"),))
    page("/khong-co", "<html><body><h1>404 Không tìm thấy trang</h1></body></html>")
    pages["/khong-co"].status = 404
    page("/cham", article_html("Trang chậm", [steam["text"]]), sleep=2.0)
    pages["/anh/logo.png"] = Page(body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, content_type="image/png")
    pages["/tai-ve/du-lieu.bin"] = Page(body=bytes(range(256)) * 8, content_type="application/octet-stream")
    pages["/nhi-phan.html"] = Page(body=b"<html>\x00\x01\x02" + bytes(range(256)) * 4)
    page("/english", article_html("District committee meeting", [ENGLISH] * 3))
    page("/rat-lon", article_html("Trang rất lớn", [bs_paragraphs[1]] * 400))
    page("/cat-ngang", article_html("Trang bị cắt", [amazon1["text"]]), truncate_to=300)
    page("/lien-he", list_html("Liên hệ", [("/", "Trang chủ"), ("/bai/tam-loi", "Tạm lỗi")]))
    page("/bai/tam-loi", article_html("Máy chủ tạm lỗi", [huguenot["text"], amazon1["text"]]), fail_first=1)
    page("/private/noi-bo", article_html("Tài liệu nội bộ", [amazon1["text"]]))
    return pages


@dataclass
class Request:
    path: str
    answered: bool
    status: int = 0
    query: str = ""
    user_agent: str = ""
    started: float = 0.0
    """time.monotonic() when the request arrived."""
    host: str = ""
    if_none_match: str | None = None
    in_flight: int = 1
    """Requests being served at that moment, this one included."""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up (timeouts, size caps) is what these tests are about


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (for a site that is down)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class SiteServer:
    """``with SiteServer() as site: site.url("/")`` serves the site on 127.0.0.1 in a thread.

    ``hold_after``: once that many page responses were sent, further page requests wait
    (unanswered) until :meth:`release`; they are then dropped without an answer.
    ``pages``: serve these instead of the news site (``{path: Page}``); ``host``/``port``: where.
    """

    def __init__(self, hold_after: int | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 pages: dict[str, Page] | None = None) -> None:
        self.requests: list[Request] = []
        self.hold_after = hold_after
        self.held = 0
        self.host = host
        self.hung_up = threading.Event()
        """Set when a client closed its connection while a body was being sent."""
        self.wire: dict[str, bytes] = {}
        """The exact body bytes last sent for each path (chunk framing included)."""
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()
        self._gate = threading.Event()
        self._stopping = threading.Event()
        self._in_flight = 0
        self.server = _QuietServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.pages = pages if pages is not None else build_site(self.port)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def answered_pages(self) -> list[str]:
        """Paths of page responses sent (robots.txt and the sitemap excluded), in order."""
        with self._lock:
            return [r.path for r in self.requests if r.answered and r.path not in NOT_PAGES]

    def paths(self) -> list[str]:
        """Every path requested, answered or not, in order."""
        with self._lock:
            return [r.path for r in self.requests]

    def release(self) -> None:
        self._gate.set()

    def __enter__(self) -> "SiteServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._gate.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as real servers

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with site._lock:
                    site._in_flight += 1
                try:
                    self._serve()
                finally:
                    with site._lock:
                        site._in_flight -= 1

            def _serve(self) -> None:
                path, _, query = self.path.partition("?")
                agent = self.headers.get("User-Agent", "")
                page = site.pages.get(path) or Page(status=404, body="<p>Không tìm thấy</p>".encode())
                etag = '"' + hashlib.sha1(page.body).hexdigest()[:16] + '"' if page.etag else None
                asked = self.headers.get("If-None-Match")
                with site._lock:
                    # Decide and log in one step, so concurrent requests cannot both slip past the gate.
                    sent = sum(1 for r in site.requests if r.answered and r.path not in NOT_PAGES)
                    common = dict(query=query, user_agent=agent, started=time.monotonic(), host=self.headers.get("Host", ""),
                                  if_none_match=asked, in_flight=site._in_flight)
                    if path not in NOT_PAGES and site.hold_after is not None and sent >= site.hold_after:
                        site.held += 1
                        site.requests.append(Request(path, answered=False, **common))
                        page = None
                    else:
                        if page.fail_first and site._failures.get(path, 0) < page.fail_first:
                            site._failures[path] = site._failures.get(path, 0) + 1
                            extra = (("Retry-After", page.retry_after),) if page.retry_after else ()
                            page, etag = Page(status=503, body=b"busy", headers=extra), None
                        elif etag is not None and asked == etag:
                            page = Page(status=304, body=b"", headers=(("ETag", etag),))
                            etag = None
                        # A slow page is never answered in time: the client has hung up by then.
                        site.requests.append(Request(path, answered=not page.sleep and not page.drip,
                                                     status=page.status, **common))
                if page is None:
                    site._gate.wait(30)
                    self.close_connection = True
                    return
                if page.sleep:
                    # Sleep in steps so the server shuts down quickly after the test.
                    site._stopping.wait(page.sleep)
                body = page.wire_body() if page.truncate_to is None else page.wire_body()[: page.truncate_to]
                try:
                    self.send_response(page.status)
                    self.send_header("Content-Type", page.content_type)
                    if page.chunked:
                        self.send_header("Transfer-Encoding", "chunked")
                    else:
                        self.send_header("Content-Length", str(len(page.wire_body())))
                    if page.encoding:
                        self.send_header("Content-Encoding", page.encoding)
                    if etag:
                        self.send_header("ETag", etag)
                    for key, value in page.headers:
                        self.send_header(key, value)
                    self.end_headers()
                    self._send_body(page, body, path)
                except OSError:
                    site.hung_up.set()  # the client gave up (timeout, size cap)
                    self.close_connection = True
                if page.truncate_to is not None or page.sleep:
                    self.close_connection = True

            def _send_body(self, page: Page, body: bytes, path: str) -> None:
                if page.drip:
                    for i in range(len(body)):
                        if site._stopping.wait(page.drip):
                            return
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                    return
                if page.chunked:
                    wire = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 100]), body[i:i + 100])
                                    for i in range(0, len(body), 100)) + b"0\r\n\r\n"
                else:
                    wire = body
                site.wire[path] = wire
                self.wfile.write(wire)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler
