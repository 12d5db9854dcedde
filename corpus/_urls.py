"""URLs and links: the one canonical spelling of a URL, and the links (and robots directives) of a page."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only say where a click came from; they make one page look like many.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid", "_ga", "_gl",
    "ref_src", "zarsrc", "gidzl",
})
TRACKING_PREFIXES = ("utm_",)


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
    path = quote(_remove_dot_segments(unquote(parts.path)), safe="/:@!$&'()*+,;=~-._") or "/"
    query_pairs = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    query = urlencode(sorted(query_pairs), quote_via=quote)
    return urlunsplit((scheme, netloc, path, query, ""))


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 on a decoded path, so ``/a/%2e%2e/b`` and ``/a/../b`` are ``/b``
    (the URL checked against a scope is then the URL requested).

    >>> _remove_dot_segments("/tin-tuc/../other/./x")
    '/other/x'
    """
    segments = path.split("/")
    if not path.startswith("/") or not any(s in (".", "..") for s in segments):
        return path
    out: list[str] = []
    for seg in segments[1:]:
        if seg == "..":
            if out:
                out.pop()
        elif seg != ".":
            out.append(seg)
    return "/" + "/".join(out) + ("/" if segments[-1] in (".", "..") and out else "")


def url_host(url: str) -> str:
    """The host of a URL, lower-case, without port."""
    return (urlsplit(url).hostname or "").lower()


ROBOTS_META_NAMES = frozenset({"robots", "vnsearch"})
"""``<meta name=...>`` values whose robots directives this crawler obeys."""


class _PageScanner(HTMLParser):
    """Collects links, ``<base href>`` and robots meta directives.

    Whether a page is an article or a list is not decided here: that is the cleaner's one
    verdict (:attr:`CleanedPage.is_article`), shared by every way a page arrives."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.base: str | None = None
        self.nofollow = False
        self.noindex = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "a":
            if a.get("href") and "nofollow" not in a.get("rel", "").lower():
                self.hrefs.append(a["href"])
        elif tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"]
        elif tag == "meta" and a.get("name", "").lower() in ROBOTS_META_NAMES:
            directives = {d.strip() for d in a.get("content", "").lower().split(",")}
            self.nofollow = self.nofollow or bool(directives & {"nofollow", "none"})
            self.noindex = self.noindex or bool(directives & {"noindex", "none"})


@dataclass(frozen=True)
class PageLinks:
    """Links found in a page (absolute, canonical) and its robots meta directives."""

    links: tuple[str, ...]
    noindex: bool = False
    """The page asks not to be indexed (``<meta name="robots" content="noindex">``)."""
    nofollow: bool = False
    """The page asks that its links are not followed (``links`` still lists them)."""


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
    for href in scanner.hrefs:
        if href.startswith(("javascript:", "mailto:", "tel:", "#")):
            continue
        canon = canonicalize_url(href, base)
        if canon is not None:
            seen.setdefault(canon, None)
    return PageLinks(links=tuple(seen), noindex=scanner.noindex, nofollow=scanner.nofollow)
