"""The one scope rule, applied before every request (pages, robots.txt, sitemaps, redirects, ``clean URL``).

A URL is in scope when it has the scheme, host and port of a seed (with ``prefix``: and its
path, dot segments and percent-encoded dots resolved, lies under the seed's folder), or its
host is one the user allowed. Anything else is never requested.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from ._errors import InputError
from ._urls import DEFAULT_PORTS, canonicalize_url


def origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a URL, with the scheme's default port filled in.

    >>> origin("https://Báo.vn/a")
    ('https', 'xn--bo-mia.vn', 443)
    """
    canon = canonicalize_url(url) or ""
    parts = urlsplit(canon)
    scheme = parts.scheme
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return scheme, parts.hostname or "", port


class Scope:
    """Which URLs a crawl (or one ``clean``) may request.

    >>> s = Scope(["http://127.0.0.1:8081/tin-tuc/"], mode="prefix")
    >>> s.reason("http://127.0.0.1:8081/tin-tuc/%2e%2e/noi-bo/x")
    'out of scope (not under http://127.0.0.1:8081/tin-tuc/)'
    >>> s.reason("http://127.0.0.1:8083/tin-tuc/a")
    'out of scope (host 127.0.0.1:8083 is not a seed host; see --allow-host)'
    >>> s.reason("http://127.0.0.1:8081/tin-tuc/a") is None
    True
    """

    def __init__(self, seeds: Iterable[str], mode: Literal["host", "prefix"] = "host",
                 allow_hosts: Iterable[str] = ()) -> None:
        if mode not in ("host", "prefix"):
            raise InputError(f"unknown scope {mode!r}", hint="Use host or prefix.")
        self.mode = mode
        self.seeds = [canonicalize_url(s) or s for s in seeds]
        self.origins = {origin(s) for s in self.seeds}
        self.prefixes = tuple(_folder(s) for s in self.seeds)
        self.allowed: set[tuple[str, int | None]] = set()
        for host in allow_hosts:
            self.allowed.add(_parse_allowed(host))

    def host_reason(self, url: str) -> str | None:
        """Why the host of ``url`` may not be requested at all (robots.txt and sitemaps use this),
        or None when it may."""
        canon = canonicalize_url(url)
        if canon is None:
            return "not an http(s) URL"
        scheme, host, port = origin(canon)
        if (scheme, host, port) in self.origins:
            return None
        if (host, port) in self.allowed or ((host, None) in self.allowed and port == DEFAULT_PORTS[scheme]):
            return None
        where = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
        if any(o[1] == host and o[2] == port for o in self.origins):
            return f"out of scope (scheme {scheme} differs from the seed's; see --allow-host)"
        return f"out of scope (host {where} is not a seed host; see --allow-host)"

    def reason(self, url: str) -> str | None:
        """Why a page URL may not be requested, or None when it may."""
        why = self.host_reason(url)
        if why is not None:
            return why
        if self.mode == "prefix":
            canon = canonicalize_url(url) or url
            scheme, host, port = origin(canon)
            on_seed_origin = (scheme, host, port) in self.origins
            if on_seed_origin and not canon.startswith(self.prefixes):
                under = " or ".join(p for p in self.prefixes if origin(p) == (scheme, host, port))
                return f"out of scope (not under {under})"
        return None

    def __contains__(self, url: str) -> bool:
        return self.reason(url) is None


def _folder(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path[: parts.path.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _parse_allowed(value: str) -> tuple[str, int | None]:
    """``example.vn`` (default ports) or ``example.vn:8080`` (that port only)."""
    value = value.strip()
    probe = canonicalize_url(value if "//" in value else f"http://{value}/")
    if probe is None:
        raise InputError(f"not a host name: {value!r}", hint="Give a host such as example.vn or 127.0.0.2:8080.")
    parts = urlsplit(probe)
    return parts.hostname or "", parts.port
