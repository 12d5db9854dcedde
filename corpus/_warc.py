"""WARC archives: read captured pages back as Documents, and append fetched responses to one.

The crawler keeps every page it fetched in a WARC file so the archive can be re-cleaned and
re-indexed later without fetching again. Records are written one gzip member each and flushed
at once, so a crawl killed mid-write loses at most the record being written; readers stop at a
truncated tail instead of failing, and :class:`WarcWriter` cuts such a tail off before appending.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ._document import Document, normalize_date, title_from_text
from ._encoding import charset_from_content_type, sniff_declared_charset
from ._errors import InputError
from ._http import MAX_PAGE_BYTES
from ._legacy_vn import MIN_VIETNAMESE_SHARE, vietnamese_share
from ._readers import SkipCallback, _skip  # the one skip helper: log it, tell the caller
from ._robots import header_directives
from ._urls import canonicalize_url, scan_page

log = logging.getLogger(__name__)


HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain"})


@dataclass(frozen=True)
class ArchivedResponse:
    """One complete ``response`` record: the captured HTTP response."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    date: str | None
    """The capture date (``WARC-Date``), ISO ``YYYY-MM-DD``."""
    offset: int
    captured: str | None = None
    """The whole ``WARC-Date`` (``2026-12-01T15:08:37Z``)."""

    def header(self, name: str) -> str | None:
        """The first HTTP header called ``name`` (case-insensitive)."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def content_type(self) -> str:
        for key, value in self.headers:
            if key.lower() == "content-type":
                return value.split(";")[0].strip().lower()
        return ""


@dataclass(frozen=True)
class PageResult:
    """What one captured page gives: a document, or the reason it gives none, and its links."""

    document: Document | None
    reason: str | None
    links: tuple[str, ...] = ()
    is_list: bool = False
    """The cleaner's verdict (:attr:`CleanedPage.is_article` False): a list or index page."""
    language: str | None = None


def iter_responses(path: str | os.PathLike[str], on_skip: SkipCallback | None = None,
                   max_bytes: int = MAX_PAGE_BYTES) -> Iterator[ArchivedResponse]:
    """Every complete ``response`` record of a ``.warc``/``.warc.gz`` file, in order.

    Reading stops at a truncated or corrupt record (reported through ``on_skip``): everything
    before it is still returned, which is what a crawl killed mid-write leaves behind.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    path = Path(path)
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    with fh:
        records = ArchiveIterator(fh, arc2warc=True)
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except (ArchiveLoadFailed, EOFError, zlib.error, ValueError, OSError) as exc:
                _skip(on_skip, f"{path}@{fh.tell()}", f"truncated or corrupt WARC record ({exc}); reading stops")
                return
            if record.rec_type != "response":
                if record.rec_type == "revisit":
                    _skip(on_skip, f"{path}@{fh.tell()}", "revisit record (no payload stored)")
                continue
            uri = record.rec_headers.get_header("WARC-Target-URI") or ""
            try:
                # Transfer and content encodings are removed here, in bounded reads (a bomb stops at the cap).
                body = record.content_stream().read(max_bytes + 1)
                if len(body) > max_bytes:
                    # Read the rest of the record through, undecoded and unkept: the check
                    # below then tells a record that is merely too large from a cut one.
                    while record.raw_stream.read(1 << 20):
                        pass
            except (EOFError, zlib.error, ValueError, OSError) as exc:
                _skip(on_skip, f"{path}@{fh.tell()} {uri}",
                      f"truncated or corrupt WARC record ({exc}); reading stops")
                return
            if getattr(record.raw_stream, "limit", 0) > 0:
                # warcio hands out a short payload silently when the file ends inside a record.
                _skip(on_skip, f"{path}@{fh.tell()} {uri}",
                      "truncated WARC record (file ends inside it); reading stops")
                return
            # Only now: asking for the offset earlier makes warcio skip the payload unread.
            offset = records.get_record_offset()
            where = f"{path}@{offset}"
            if len(body) > max_bytes:
                _skip(on_skip, f"{where} {uri}", f"response too large (more than {max_bytes} bytes)")
                continue
            if record.http_headers is None:
                _skip(on_skip, f"{where} {uri}", "response record without HTTP headers")
                continue
            try:
                status = int(record.http_headers.get_statuscode() or 0)
            except ValueError:
                status = 0
            yield ArchivedResponse(
                url=uri, status=status, headers=list(record.http_headers.headers), body=body,
                date=normalize_date(record.rec_headers.get_header("WARC-Date")),
                offset=offset, captured=record.rec_headers.get_header("WARC-Date"),
            )


class DocumentFilter:
    """The rule, shared by the crawler and WARC ingest, for which cleaned pages become documents:
    Vietnamese text only (unless ``require_vietnamese`` is off) and one document per distinct text."""

    def __init__(self, require_vietnamese: bool = True, min_vietnamese_share: float = MIN_VIETNAMESE_SHARE) -> None:
        self.require_vietnamese = require_vietnamese
        self.min_vietnamese_share = min_vietnamese_share
        self._first_url: dict[str, str] = {}

    def reject(self, doc: Document, result: "PageResult", url: str) -> str | None:
        """Why ``doc`` (cleaned from ``url``) is not indexed, or None to index it."""
        if self.require_vietnamese:
            if result.language and result.language != "vi":
                return f"not Vietnamese (language {result.language})"
            share = vietnamese_share(doc.title + "\n" + doc.text)
            if share < self.min_vietnamese_share:
                return f"not Vietnamese ({share:.0%} of words with Vietnamese letters)"
        digest = hashlib.sha1(doc.text.encode("utf-8")).hexdigest()
        first = self._first_url.setdefault(digest, url)
        return f"duplicate content of {first}" if first != url else None


def read_warc(path: str | os.PathLike[str], on_skip: SkipCallback | None = None, *,
              max_bytes: int = MAX_PAGE_BYTES) -> Iterator[Document]:
    """Documents from the HTML (and plain-text) pages captured in a WARC file.

    The document id and url are the canonical ``WARC-Target-URI``; ``source`` is its host;
    ``date`` is the page's own publication date, or else the capture date. Pages that are not
    articles, not HTML/text, not HTTP 200 or cannot be decoded are skipped through ``on_skip``,
    and so are pages the crawler would not have indexed (see :class:`DocumentFilter`).
    """
    accept = DocumentFilter()
    for resp in iter_responses(path, on_skip, max_bytes):
        where = resp.url or f"{path}@{resp.offset}"
        if resp.status != 200:
            _skip(on_skip, where, f"HTTP status {resp.status}")
            continue
        result = analyze_page(resp.url, resp.headers, resp.body, capture_date=resp.date)
        if result.document is None:
            _skip(on_skip, where, result.reason or "no document")
            continue
        reason = accept.reject(result.document, result, where)
        if reason is not None:
            _skip(on_skip, where, reason)
            continue
        yield result.document


def analyze_page(url: str, headers: list[tuple[str, str]], body: bytes,
                 capture_date: str | None = None, *, obey_robots: bool = True) -> PageResult:
    """Clean one captured page into a :class:`Document` and collect its links.

    Shared by :func:`read_warc` and the crawler so that re-reading a crawl's archive gives the
    documents the crawl gave.
    """
    from ._clean import clean_html
    from ._encoding import charset_from_content_type, decode_bytes, sniff_declared_charset

    canon = canonicalize_url(url) or url
    ctype_header = next((v for k, v in headers if k.lower() == "content-type"), "")
    ctype = ctype_header.split(";")[0].strip().lower()
    if ctype and ctype not in HTML_TYPES | TEXT_TYPES:
        return PageResult(None, f"unsupported content type {ctype}")
    if b"\x00" in body[:2048]:
        return PageResult(None, "binary content (NUL bytes)")
    if not body.strip():
        return PageResult(None, "empty response")
    if len(body) > MAX_PAGE_BYTES:
        return PageResult(None, f"response too large (more than {MAX_PAGE_BYTES} bytes)")
    declared = charset_from_content_type(ctype_header) or sniff_declared_charset(body)
    try:
        text = decode_bytes(body, declared=declared)
    except InputError as exc:
        return PageResult(None, f"undecodable ({exc})")
    host = urlsplit(canon).hostname or None
    looks_html = ctype in HTML_TYPES or (not ctype and text.lstrip()[:1] == "<")
    if not looks_html:
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if not lines:
            return PageResult(None, "no text found")
        doc = Document(id=canon, title=title_from_text(text), text=text, url=canon, source=host, date=capture_date)
        return PageResult(doc, None)
    links = scan_page(text, canon)
    directives = header_directives(headers, "vnsearch") if obey_robots else set()
    followed = () if obey_robots and (links.nofollow or "nofollow" in directives) else links.links
    if obey_robots and (links.noindex or "noindex" in directives):
        where = "X-Robots-Tag header" if "noindex" in directives else "robots meta tag"
        return PageResult(None, f"noindex ({where})", followed)
    try:
        page = clean_html(text, url=canon)
    except InputError as exc:
        return PageResult(None, f"cannot clean ({exc})", followed)
    if not page.is_article:
        # The cleaner's verdict alone, as for `vnsearch clean` and folder import.
        return PageResult(None, f"not an article ({page.reason or 'list or index page'})", followed,
                          is_list=True, language=page.language)
    if not page.text.strip():
        return PageResult(None, "no text found in the page", followed, language=page.language)
    doc = Document(id=canon, title=page.title or canon, text=page.text, url=canon,
                   source=host, date=page.date or capture_date, author=page.author)
    return PageResult(doc, None, followed, language=page.language)


def repair_warc(path: str | os.PathLike[str]) -> int:
    """Cut a truncated last gzip member off a ``.warc.gz`` written by :class:`WarcWriter`.

    Returns the number of bytes removed. Only whole gzip members are kept, so a record that
    was being written when the process died disappears instead of corrupting what follows it.
    """
    path = Path(path)
    if not path.exists():
        return 0
    good_end = 0
    consumed = 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with open(path, "rb") as fh:
        corrupt = False
        while not corrupt:
            chunk = fh.read(1024 * 1024)
            if not chunk:
                break
            data, base = chunk, consumed  # base: file offset of data[0]
            consumed += len(chunk)
            while data:
                try:
                    d.decompress(data)
                except zlib.error:
                    corrupt = True
                    break
                if not d.eof:
                    break
                rest = d.unused_data
                good_end = base + len(data) - len(rest)
                data, base = rest, good_end
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    size = path.stat().st_size
    removed = size - good_end
    if removed > 0:
        log.warning("%s: removing %d bytes of truncated record at the end", path, removed)
        with open(path, "r+b") as fh:
            fh.truncate(good_end)
    return removed


class WarcWriter:
    """Appends fetched HTTP responses to a gzipped WARC file, one flushed record at a time.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "crawl.warc.gz"
    >>> with WarcWriter(path) as w:
    ...     w.write_response("http://127.0.0.1/bai-1", 200, "OK",
    ...                      [("Content-Type", "text/plain; charset=utf-8")], "Bắc Sơn".encode())
    >>> [r.body.decode() for r in iter_responses(path)]
    ['Bắc Sơn']
    """

    def __init__(self, path: str | os.PathLike[str], *, software: str = "vnsearch") -> None:
        from warcio.warcwriter import WARCWriter

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.repaired_bytes = repair_warc(self.path)
        is_new = not self.path.exists() or self.path.stat().st_size == 0
        self._fh = open(self.path, "ab")
        self._buffer = io.BytesIO()
        # warcio writes into a buffer; the file gets each record in one write() so a kill leaves
        # either the whole record or a gzip fragment that repair_warc() removes.
        self._writer = WARCWriter(self._buffer, gzip=True)
        if is_new:
            info = self._writer.create_warcinfo_record(self.path.name, {
                "software": software, "format": "WARC File Format 1.0",
            })
            self._write([info])

    def write_response(self, url: str, status: int, reason: str, headers: list[tuple[str, str]],
                       body: bytes, *, protocol: str = "HTTP/1.1",
                       request_headers: list[tuple[str, str]] | None = None) -> None:
        """Append a ``response`` record (and its ``request`` record when ``request_headers`` given).

        ``headers`` and ``body`` are the exchange as received (:attr:`Response.raw_body`): a body
        still gzipped or chunked keeps the headers that say so, and readers decode it.
        """
        from warcio.statusandheaders import StatusAndHeaders

        scheme, sep, rest = url.partition(":")
        # warcio parses HTTP headers back only for URIs starting with a lower-case "http".
        url = scheme.lower() + sep + rest
        http_headers = StatusAndHeaders(f"{status} {reason}".strip(), list(headers), protocol=protocol)
        response = self._writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                   length=len(body), http_headers=http_headers)
        records = [response]
        if request_headers is not None:
            parts = urlsplit(url)
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            req_headers = StatusAndHeaders(f"GET {target} {protocol}", list(request_headers),
                                           is_http_request=True)
            request = self._writer.create_warc_record(
                url, "request", payload=io.BytesIO(b""), length=0, http_headers=req_headers,
                warc_headers_dict={"WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")})
            records.append(request)
        self._write(records)

    def _write(self, records: list) -> None:
        self._buffer.seek(0)
        self._buffer.truncate()
        for record in records:
            self._writer.write_record(record)
        self._fh.write(self._buffer.getvalue())
        # flush() hands the bytes to the OS, which keeps them through a kill -9; fsync would only
        # add protection against power loss, at a disk round-trip per page.
        self._fh.flush()

    def close(self) -> None:
        """Close the file. Safe to call twice."""
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> "WarcWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
