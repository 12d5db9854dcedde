"""One HTTP GET, done carefully, and the small readers of what comes back.

Uses only the standard library (``http.client``) so every limit the crawler needs is under our
control: separate connect and read timeouts, a size cap checked before and while reading, no
automatic redirects (the crawler follows them itself, to check scope, robots.txt and loops).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from ._encoding import charset_from_content_type
from ._errors import VnSearchError

DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say where a click came from; they make one page look like many.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid", "_ga", "_gl",
    "ref_src", "zarsrc", "gidzl",
})
TRACKING_PREFIXES = ("utm_",)


class FetchError(VnSearchError):
    """A request failed before a complete response was read. ``retryable`` marks transient failures."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Response:
    """A complete HTTP response as received (body undecoded; transfer encoding already removed)."""

    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    protocol: str = "HTTP/1.1"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    body_skipped: str | None = None
    """Why the body was not read (unwanted content type), or None when it was."""

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first header called ``name`` (case-insensitive)."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return default

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``text/html``); empty when missing."""
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header declares, if any."""
        return charset_from_content_type(self.header("Content-Type"))


def canonicalize_url(url: str, base: str | None = None) -> str | None:
    """The one spelling of a URL used for duplicate detection and as a document id.

    Lower-cases scheme and host, drops the fragment, default ports, tracking parameters
    (``utm_*``, ``fbclid``...) and sorts the query. Returns None for URLs that are not http(s).

    >>> canonicalize_url("HTTP://Báo.VN:80/a b?utm_source=x&b=2&a=1#top")
    'http://xn--bo-mia.vn/a%20b?a=1&b=2'
    """
    url = url.strip()
    if base is not None:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    # Re-quote so that "%C3%A1", "á" and "%c3%a1" are one URL; keep reserved characters as they are.
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~-._") or "/"
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    query = urlencode(sorted(query_pairs), quote_via=quote)
    return urlunsplit((scheme, netloc, path, query, ""))


def url_host(url: str) -> str:
    """The host of a URL, lower-case, without port."""
    return (urlsplit(url).hostname or "").lower()


class _PageScanner(HTMLParser):
    """Collects links and how much of the visible text sits inside links (list pages are mostly links)."""

    _SKIP = {"script", "style", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base: str | None = None
        self.nofollow = False
        self.text_chars = 0
        self.link_chars = 0
        self._in_link = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "a":
            self._in_link += 1
            if a.get("href") and "nofollow" not in a.get("rel", "").lower():
                self.hrefs.append(a["href"])
        elif tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"]
        elif tag == "meta" and a.get("name", "").lower() == "robots":
            self.nofollow = self.nofollow or "nofollow" in a.get("content", "").lower()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag == "a" and self._in_link:
            self._in_link -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        n = len(data.strip())
        self.text_chars += n
        if self._in_link:
            self.link_chars += n


@dataclass(frozen=True)
class PageLinks:
    """Links found in a page (absolute, canonical) and the share of its text that is link text."""

    links: tuple[str, ...]
    link_density: float


def scan_page(html: str, url: str) -> PageLinks:
    """Absolute canonical http(s) links of a page, in order, without duplicates."""
    scanner = _PageScanner()
    try:
        scanner.feed(html)
        scanner.close()
    except Exception:  # html.parser rarely raises, but a crawl must not die on one odd page
        pass
    base = urljoin(url, scanner.base) if scanner.base else url
    seen: dict[str, None] = {}
    if not scanner.nofollow:
        for href in scanner.hrefs:
            if href.startswith(("javascript:", "mailto:", "tel:", "#")):
                continue
            canon = canonicalize_url(href, base)
            if canon is not None:
                seen.setdefault(canon, None)
    density = scanner.link_chars / scanner.text_chars if scanner.text_chars else 1.0
    return PageLinks(links=tuple(seen), link_density=density)


@dataclass(frozen=True)
class FetchLimits:
    """Limits for one request."""

    user_agent: str
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 5 * 1024 * 1024
    accept_types: tuple[str, ...] = ("text/html", "application/xhtml+xml", "text/plain")


def fetch(url: str, limits: FetchLimits, *, accept_any_type: bool = False) -> Response:
    """GET ``url`` once, without following redirects.

    The body is read only for accepted content types (or any type with ``accept_any_type``,
    used for robots.txt and sitemaps) and only up to ``limits.max_bytes``.
    Raises :class:`FetchError` on network failures, timeouts, oversize or truncated bodies.
    """
    parts = urlsplit(url)
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    host = parts.hostname or ""
    request_headers = [
        ("Host", parts.netloc.rsplit("@", 1)[-1]),
        ("User-Agent", limits.user_agent),
        ("Accept", "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Connection", "close"),
    ]
    started = time.monotonic()
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, parts.port, timeout=limits.connect_timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=limits.connect_timeout)
    try:
        try:
            conn.connect()
        except (socket.timeout, TimeoutError) as exc:
            raise FetchError(f"timed out connecting (more than {limits.connect_timeout:g} s)",
                             retryable=True) from exc
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise FetchError(f"TLS error ({exc})") from exc
        except OSError as exc:
            raise FetchError(f"connection failed ({exc})", retryable=True) from exc
        try:
            assert conn.sock is not None
            conn.sock.settimeout(limits.read_timeout)
            conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            for key, value in request_headers:
                conn.putheader(key, value)
            conn.endheaders()
            resp = conn.getresponse()
        except (socket.timeout, TimeoutError) as exc:
            raise FetchError(f"timed out (no answer within {limits.read_timeout:g} s)", retryable=True) from exc
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise FetchError(f"TLS error ({exc})") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"connection failed ({exc})", retryable=True) from exc
        headers = [(k, v) for k, v in resp.getheaders()]
        protocol = "HTTP/1.0" if resp.version == 10 else "HTTP/1.1"
        result = Response(url=url, status=resp.status, reason=resp.reason or "", headers=headers,
                          protocol=protocol, request_headers=request_headers)
        ctype = result.content_type
        if not (200 <= resp.status < 300):
            return result  # redirects and errors: the headers are all we need
        if not accept_any_type and ctype and ctype not in limits.accept_types:
            return _replace_body(result, b"", skipped=f"unsupported content type {ctype}")
        declared = resp.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > limits.max_bytes:
            raise FetchError(f"response too large ({int(declared)} bytes > {limits.max_bytes})")
        body = _read_capped(resp, limits, started)
        body = _decode_content_encoding(body, result.header("Content-Encoding"), limits.max_bytes)
        return _replace_body(result, body)
    finally:
        conn.close()


def _read_capped(resp: http.client.HTTPResponse, limits: FetchLimits, started: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = resp.read(64 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchError(f"response too large (more than {limits.max_bytes} bytes)")
            if time.monotonic() - started > limits.total_timeout:
                # A server trickling bytes would never trip the read timeout.
                raise FetchError(f"download took longer than {limits.total_timeout:g} s", retryable=True)
            chunks.append(chunk)
        if resp.length:
            # http.client returns a short body quietly when the server closes early.
            raise FetchError(f"truncated response (connection closed after {size} bytes,"
                             f" {resp.length} more expected)", retryable=True)
    except http.client.IncompleteRead as exc:
        raise FetchError(f"truncated response (connection closed after {size + len(exc.partial)} bytes,"
                         f" {exc.expected} more expected)", retryable=True) from exc
    except (socket.timeout, TimeoutError) as exc:
        raise FetchError("timed out while reading the body", retryable=True) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"connection failed while reading the body ({exc})", retryable=True) from exc
    return b"".join(chunks)


def _decode_content_encoding(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    encoding = (encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"unsupported content encoding {encoding!r}")
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
    try:
        d = zlib.decompressobj(wbits)
        # max_length guards against a small compressed bomb expanding without bound.
        out = d.decompress(body, max_bytes + 1)
    except zlib.error:
        if encoding == "deflate":  # some servers send raw deflate without the zlib header
            try:
                d = zlib.decompressobj(-zlib.MAX_WBITS)
                out = d.decompress(body, max_bytes + 1)
            except zlib.error as exc:
                raise FetchError(f"corrupt {encoding} body ({exc})") from exc
        else:
            raise FetchError(f"corrupt {encoding} body") from None
    if len(out) > max_bytes:
        raise FetchError(f"response too large once decompressed (more than {max_bytes} bytes)")
    return out


def _replace_body(resp: Response, body: bytes, skipped: str | None = None) -> Response:
    # The archive stores the body as decoded here, so the stored headers must not claim otherwise.
    headers = [(k, v) for k, v in resp.headers
               if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")]
    headers.append(("Content-Length", str(len(body))))
    return Response(url=resp.url, status=resp.status, reason=resp.reason, headers=headers, body=body,
                    protocol=resp.protocol, request_headers=resp.request_headers, body_skipped=skipped)
