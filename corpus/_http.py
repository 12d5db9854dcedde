"""The one HTTP client: every request vnsearch makes (crawled pages, robots.txt, sitemaps, ``clean URL``).

Built on urllib3 (connection pools, timeouts, ``Retry-After`` parsing) with the limits a crawler
pointed at any site needs on top:

- redirects are never followed here: the caller checks each hop against its scope first;
- a total time limit per download, enforced while reading (a server that trickles one byte a
  second never trips a read timeout): a watchdog shuts the socket down when it expires;
- size caps on the body as received and once decompressed (gzip and deflate are decoded here in
  bounded steps, so a gzip bomb stops at the cap with memory bounded by it);
- an aborted download closes its connection at once;
- connection errors, truncated bodies, 429 and 5xx are retried with exponential backoff, never
  sooner than ``Retry-After`` (a longer wait than ``max_retry_after`` gives up, retryable);
- proxies from the environment (``http_proxy``, ``https_proxy``, ``no_proxy``).

:class:`Response` keeps the exchange as received (headers untouched, body still encoded, chunk
framing restored) for the WARC archive, and the decoded body for the cleaner.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._errors import VnSearchError

log = logging.getLogger(__name__)

MAX_PAGE_BYTES = 5 * 1024 * 1024
"""Default cap on one page, as received and once decompressed, in crawl, ``clean`` and ``index``."""
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


class FetchError(VnSearchError):
    """A request failed before a complete response was read. ``retryable`` marks transient failures
    (network, timeouts, truncation, 429/5xx): the crawler keeps such URLs pending for its next run."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class HttpLimits:
    """Limits and retry policy for every request of one client.

    >>> HttpLimits(user_agent="vnsearch/test", total_timeout=5).total_timeout
    5
    """

    user_agent: str
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    """Longest silence from the server (waiting for headers, or between two pieces of body)."""
    total_timeout: float = 60.0
    """Longest time one download may take, connecting and reading included."""
    max_bytes: int = MAX_PAGE_BYTES
    retries: int = 2
    """Extra attempts after a transient failure."""
    backoff: float = 1.0
    """Wait ``backoff * 2**n`` seconds before retry n (or what ``Retry-After`` asks, if longer)."""
    min_retry_wait: float = 0.0
    """Never retry sooner than this (the crawler passes its per-host delay)."""
    max_retry_after: float = 60.0
    """A ``Retry-After`` longer than this is not waited for: the request fails, retryable."""
    connections_per_host: int = 2
    """Kept-alive connections per host (the crawler's per-host concurrency)."""


@dataclass(frozen=True)
class Response:
    """A complete HTTP response.

    ``headers`` and ``raw_body`` are the exchange as received (Content-Encoding and
    Transfer-Encoding untouched; a chunked body keeps its chunk framing); ``body`` is the
    payload with transfer and content encodings removed.
    """

    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    raw_body: bytes = b""
    protocol: str = "HTTP/1.1"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    body_skipped: str | None = None
    """Why the body was not read (an unwanted content type), or None when it was."""

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


class BodyDecoder:
    """Removes a gzip/deflate Content-Encoding in bounded steps; raises once the output passes ``cap``.

    >>> import gzip
    >>> d = BodyDecoder("gzip", cap=100)
    >>> (d.feed(gzip.compress("Bắc Sơn".encode())) + d.finish()).decode()
    'Bắc Sơn'
    """

    def __init__(self, encoding: str | None, cap: int) -> None:
        self.encoding = (encoding or "").strip().lower()
        if self.encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported content encoding {self.encoding!r}")
        self.cap = cap
        self.size = 0
        self._z: Any = None
        self._first = True

    def feed(self, data: bytes) -> bytes:
        if self.encoding in ("", "identity"):
            return self._count(data)
        if self._z is None:
            if self.encoding == "deflate" and not _has_zlib_header(data):
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
            else:
                self._z = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header
        out: list[bytes] = []
        try:
            # max_length bounds each step, so a small bomb never expands past the cap in memory.
            piece = self._z.decompress(data, self.cap - self.size + 1)
            out.append(self._count(piece))
            while self._z.unconsumed_tail:
                piece = self._z.decompress(self._z.unconsumed_tail, self.cap - self.size + 1)
                out.append(self._count(piece))
        except zlib.error as exc:
            raise FetchError(f"corrupt {self.encoding} body ({exc})") from exc
        return b"".join(out)

    def finish(self) -> bytes:
        if self._z is None:
            return b""
        try:
            return self._count(self._z.flush())
        except zlib.error as exc:
            raise FetchError(f"corrupt {self.encoding} body ({exc})") from exc

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.cap:
            what = "once decompressed " if self.encoding not in ("", "identity") else ""
            raise FetchError(f"response too large {what}(more than {self.cap} bytes)")
        return data


def _has_zlib_header(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and ((data[0] << 8) | data[1]) % 31 == 0


def decompress_capped(data: bytes, encoding: str, cap: int) -> bytes:
    """``data`` decoded from ``gzip``/``deflate``, raising :class:`FetchError` past ``cap`` bytes."""
    decoder = BodyDecoder(encoding, cap)
    return decoder.feed(data) + decoder.finish()


class HttpClient:
    """GET requests under :class:`HttpLimits`. Thread-safe; ``close()`` (or ``with``) frees the pools.

    >>> with HttpClient(HttpLimits(user_agent="vnsearch/test")) as client:
    ...     client.limits.max_bytes
    5242880
    """

    def __init__(self, limits: HttpLimits) -> None:
        import urllib3

        self.limits = limits
        self._urllib3 = urllib3
        self._pools: dict[str | None, Any] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.clear()
            self._pools.clear()

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str, *, accept_types: Iterable[str] | None = None, max_bytes: int | None = None,
            headers: Iterable[tuple[str, str]] = (), retries: int | None = None,
            retry_wait: float | None = None) -> Response:
        """GET ``url`` without following redirects, retrying transient failures.

        The body is read only for 2xx answers of an accepted content type (``accept_types`` None
        accepts any) and only up to ``max_bytes`` (default ``limits.max_bytes``), as received and
        once decompressed. A 429/5xx answer still there after the retries is returned as it is.
        Retries wait at least ``retry_wait`` (default ``limits.min_retry_wait``) seconds.
        Raises :class:`FetchError` on network failures, timeouts, oversize or truncated bodies.
        """
        retries = self.limits.retries if retries is None else retries
        accept = None if accept_types is None else frozenset(accept_types)
        cap = max_bytes or self.limits.max_bytes
        min_wait = self.limits.min_retry_wait if retry_wait is None else retry_wait
        attempt = 0
        while True:
            wait: float | None = None
            try:
                resp = self._attempt(url, accept, cap, list(headers))
            except FetchError as exc:
                if not exc.retryable or attempt >= retries:
                    raise
                log.info("retrying %s after %s", url, exc)
            else:
                if resp.status not in RETRY_STATUSES or attempt >= retries:
                    return resp
                wait = retry_after(resp)
                if wait is not None and wait > self.limits.max_retry_after:
                    raise FetchError(f"HTTP {resp.status}: asked to retry after {wait:g} s",
                                     retryable=True, status=resp.status)
                log.info("retrying %s after HTTP %d", url, resp.status)
            time.sleep(max(wait or 0.0, self.limits.backoff * 2 ** attempt, min_wait))
            attempt += 1

    # -- one attempt ------------------------------------------------------------------------

    def _pool_for(self, url: str) -> Any:
        import urllib.request

        scheme = urlsplit(url).scheme
        host = urlsplit(url).hostname or ""
        proxy = urllib.request.getproxies().get(scheme)
        if proxy and urllib.request.proxy_bypass(host):
            proxy = None
        with self._lock:
            pool = self._pools.get(proxy)
            if pool is None:
                u3 = self._urllib3
                size = self.limits.connections_per_host
                pool = (u3.ProxyManager(proxy, num_pools=20, maxsize=size) if proxy
                        else u3.PoolManager(num_pools=20, maxsize=size))
                self._pools[proxy] = pool
            return pool

    def _attempt(self, url: str, accept: frozenset[str] | None, cap: int,
                 extra: list[tuple[str, str]]) -> Response:
        u3 = self._urllib3
        exc_mod = u3.exceptions
        limits = self.limits
        parts = urlsplit(url)
        request_headers = [
            ("Host", parts.netloc.rsplit("@", 1)[-1]),
            ("User-Agent", limits.user_agent),
            ("Accept", "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"),
            ("Accept-Encoding", "gzip, deflate"),
            *extra,
        ]
        started = time.monotonic()
        try:
            r = self._pool_for(url).urlopen(
                "GET", url, headers=dict(request_headers), redirect=False, retries=False,
                preload_content=False, decode_content=False, assert_same_host=False,
                timeout=u3.Timeout(connect=limits.connect_timeout, read=limits.read_timeout))
        except exc_mod.NewConnectionError as exc:  # a subclass of ConnectTimeoutError, but a refusal
            raise FetchError(f"connection failed ({_why(exc)})", retryable=True) from exc
        except exc_mod.ConnectTimeoutError as exc:
            raise FetchError(f"timed out connecting (more than {limits.connect_timeout:g} s)",
                             retryable=True) from exc
        except exc_mod.ReadTimeoutError as exc:
            raise FetchError(f"timed out (no answer within {limits.read_timeout:g} s)", retryable=True) from exc
        except exc_mod.SSLError as exc:
            raise FetchError(f"TLS error ({exc})") from exc
        except (exc_mod.LocationValueError, exc_mod.LocationParseError, exc_mod.URLSchemeUnknown) as exc:
            raise FetchError(f"bad URL ({exc})") from exc
        except (exc_mod.HTTPError, OSError) as exc:
            raise FetchError(f"connection failed ({_why(exc)})", retryable=True) from exc
        headers = [(str(k), str(v)) for k, v in r.headers.iteritems()]
        result = Response(url=url, status=r.status, reason=r.reason or "", headers=headers,
                          protocol="HTTP/1.0" if r.version == 10 else "HTTP/1.1",
                          request_headers=request_headers)
        complete = False
        try:
            if not 200 <= r.status < 300:
                return result  # redirects and errors: the headers are all the caller needs
            if accept is not None and result.content_type and result.content_type not in accept:
                return _with_body(result, b"", b"", skipped=f"unsupported content type {result.content_type}")
            declared = r.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise FetchError(f"response too large ({int(declared)} bytes > {cap})")
            raw, body = self._read_body(r, result, cap, started)
            complete = True
            return _with_body(result, raw, body)
        finally:
            # A body left unread (an error page, an aborted download) closes its connection,
            # so the server's slot is freed now rather than when the crawl ends.
            if not complete:
                r.close()
            r.release_conn()

    def _read_body(self, r: Any, result: Response, cap: int, started: float) -> tuple[bytes, bytes]:
        exc_mod = self._urllib3.exceptions
        limits = self.limits
        remaining = limits.total_timeout - (time.monotonic() - started)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            try:
                r.shutdown()  # wakes the reading thread at once
            except Exception:  # already released or closed: nothing left to stop
                pass

        timer = threading.Timer(max(0.0, remaining), expire)
        timer.daemon = True
        timer.start()
        decoder = BodyDecoder(result.header("Content-Encoding"), cap)
        chunked = "chunked" in (result.header("Transfer-Encoding") or "").lower()
        raw: list[bytes] = []
        body: list[bytes] = []
        size = 0
        try:
            for piece in r.stream(_CHUNK, decode_content=False):
                if expired.is_set():
                    break
                size += len(piece)
                if size > cap:
                    raise FetchError(f"response too large (more than {cap} bytes)")
                body.append(decoder.feed(piece))
                # Chunk framing is restored so the archived exchange matches its headers.
                raw.append(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if not expired.is_set():
                body.append(decoder.finish())
        except (exc_mod.ReadTimeoutError, TimeoutError) as exc:
            if not expired.is_set():
                raise FetchError("timed out while reading the body", retryable=True) from exc
        except (exc_mod.IncompleteRead, exc_mod.ProtocolError) as exc:
            if not expired.is_set():
                raise FetchError(f"truncated response ({_why(exc)})", retryable=True) from exc
        except (exc_mod.HTTPError, OSError) as exc:
            if not expired.is_set():
                raise FetchError(f"connection failed while reading the body ({_why(exc)})",
                                 retryable=True) from exc
        finally:
            timer.cancel()
        if expired.is_set():
            raise FetchError(f"download took longer than {limits.total_timeout:g} s", retryable=True)
        if chunked:
            raw.append(b"0\r\n\r\n")
        return b"".join(raw), b"".join(body)


def _why(exc: BaseException) -> str:
    """The innermost reason of a urllib3 error, which wraps the socket error in one or two layers."""
    while exc.args and isinstance(exc.args[-1], BaseException):
        exc = exc.args[-1]
    text = str(getattr(exc, "reason", None) or exc)
    # urllib3 prefixes the connection's repr: "HTTPConnection(host=..., port=...): Failed to ..."
    return text.split("): ", 1)[-1] if text.startswith(("HTTPConnection(", "HTTPSConnection(")) else text


def retry_after(resp: Response) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (seconds or an HTTP date), or None."""
    from urllib3.util.retry import Retry

    value = resp.header("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, Retry().parse_retry_after(value))
    except Exception:  # urllib3 raises InvalidHeader on a value it cannot read
        return None


def _with_body(resp: Response, raw: bytes, body: bytes, skipped: str | None = None) -> Response:
    return Response(url=resp.url, status=resp.status, reason=resp.reason, headers=resp.headers, body=body,
                    raw_body=raw, protocol=resp.protocol, request_headers=resp.request_headers,
                    body_skipped=skipped)
