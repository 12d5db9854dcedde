"""One page from a file or a URL (``vnsearch clean``, :func:`fetch_url`), under the crawler's rules:
the same HTTP client and caps, and the same scope (a redirect may not leave the page's own
scheme, host and port), so a page gets the same verdict whichever way it arrives.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import InputError
from ._http import MAX_PAGE_BYTES, REDIRECT_STATUSES, FetchError, HttpClient, HttpLimits, Response
from ._scope import Scope
from ._urls import canonicalize_url

if TYPE_CHECKING:
    from ._clean import CleanedPage

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


def fetch_page(url: str, *, user_agent: str | None = None, timeout: float = 20.0, total_timeout: float = 60.0,
               max_bytes: int = MAX_PAGE_BYTES, max_redirects: int = 5,
               allow_hosts: Iterable[str] = ()) -> Response:
    """GET one page (HTTP 200, an HTML or text type), following redirects within its own scope.

    Raises :class:`InputError` with the reason for a redirect out of scope, an HTTP error, a
    timeout, a page over ``max_bytes`` (as received or decompressed) or another content type.
    """
    from ._crawl import DEFAULT_USER_AGENT

    start = canonicalize_url(url)
    if start is None:
        raise InputError(f"not an http(s) URL: {url!r}", hint="Give a URL such as https://example.vn/bai-viet")
    scope = Scope([start], "host", allow_hosts)
    limits = HttpLimits(user_agent=user_agent or DEFAULT_USER_AGENT, connect_timeout=min(10.0, timeout),
                        read_timeout=timeout, total_timeout=total_timeout, max_bytes=max_bytes,
                        retries=1, backoff=0.5)
    current = start
    with HttpClient(limits) as client:
        for _ in range(max_redirects + 1):
            why = scope.host_reason(current)
            if why is not None:
                raise InputError(f"{url}: redirects to {current}, {why}; not requested",
                                 hint="Pass the final address, or allow its host.")
            try:
                resp = client.get(current, accept_types=PAGE_TYPES)
            except FetchError as exc:
                raise InputError(f"{current}: {exc}", hint="Check the address and your connection.") from exc
            location = resp.header("Location")
            if resp.status in REDIRECT_STATUSES and location:
                current = canonicalize_url(location, current) or current
                continue
            if resp.status != 200:
                raise InputError(f"{current}: HTTP {resp.status} {resp.reason}".strip())
            if resp.body_skipped:
                raise InputError(f"{current}: {resp.body_skipped}")
            return resp
    raise InputError(f"{url}: more than {max_redirects} redirects")


def clean_source(source: str | os.PathLike[str], *, max_bytes: int = MAX_PAGE_BYTES, user_agent: str | None = None,
                 timeout: float = 20.0, allow_hosts: Iterable[str] = ()) -> CleanedPage:
    """What the cleaner keeps of a page: a saved file (``.txt`` is plain text, anything else HTML)
    or an http(s) URL (fetched by :func:`fetch_page`).

    Raises :class:`InputError` for an unreadable file, a page over ``max_bytes`` or a failed fetch.
    """
    from ._clean import clean_html, clean_plain_text
    from ._encoding import charset_from_content_type, decode_bytes

    text = str(source)
    if text.startswith(("http://", "https://")):
        resp = fetch_page(text, max_bytes=max_bytes, user_agent=user_agent, timeout=timeout,
                          allow_hosts=allow_hosts)
        content_type = resp.header("Content-Type")
        if resp.content_type == "text/plain":
            return clean_plain_text(decode_bytes(resp.body, charset_from_content_type(content_type)))
        return clean_html(resp.body, url=resp.url, content_type=content_type)
    path = Path(source)
    from ._readers import OFFICE_SUFFIXES

    if path.suffix.lower() in OFFICE_SUFFIXES:
        return _clean_office(path, max_bytes)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{path}: response too large ({size} bytes > {max_bytes}); skipped",
                             hint="Pages over the cap are skipped by crawl and index too.")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", hint="Check the path.") from exc
    if path.suffix.lower() == ".txt":
        return clean_plain_text(decode_bytes(data))
    return clean_html(data, url=None)


def _clean_office(path: Path, max_bytes: int) -> CleanedPage:
    """A PDF or Word file as the import reads it (:func:`read_file`): its text, title and date,
    or the reason it gives no document (a scanned PDF, a damaged file) as an ``InputError``."""
    from ._clean import CleanedPage
    from ._readers import read_file

    reasons: list[str] = []
    docs = list(read_file(path, on_skip=lambda _where, why: reasons.append(why), max_bytes=max_bytes))
    if not docs:
        raise InputError(f"{path}: {reasons[0] if reasons else 'no text'}; skipped")
    doc = docs[0]
    paragraphs = tuple(p for p in doc.text.split("\n\n") if p.strip())
    return CleanedPage(title=doc.title, text=doc.text, paragraphs=paragraphs, date=doc.date, author=doc.author)
