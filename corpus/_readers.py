"""Turn paths given on the command line into Documents: JSONL files, folders of .txt/.html files."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ._document import Document
from ._errors import InputError

log = logging.getLogger(__name__)

SkipCallback = Callable[[str, str], None]
"""Called as ``on_skip(where, reason)`` for each input that yields no document."""

TEXT_SUFFIXES = {".txt"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
MAX_FILE_BYTES = 50 * 1024 * 1024


def _skip(on_skip: SkipCallback | None, where: str, reason: str) -> None:
    log.info("skipped %s: %s", where, reason)
    if on_skip is not None:
        on_skip(where, reason)


def read_jsonl(path: str | os.PathLike[str], on_skip: SkipCallback | None = None, *,
               workers: int = 1) -> Iterator[Document]:
    """Documents from a JSONL file: one ``{"id","title","text",...}`` object a line.

    A ``.jsonl.gz`` file is read compressed. Bad lines are skipped with their line number.
    With ``workers`` > 1 and a file of 2 MB or more, lines are parsed into documents (JSON,
    Unicode clean-up, content hash) by that many processes while this one decompresses and
    splits the file; documents and skips come in file order either way. Parsing is what a
    reimport of an unchanged corpus costs: nothing else is done for a document whose content
    hash is already indexed.
    """
    path = Path(path)
    if workers > 1 and path.stat().st_size < _PARALLEL_MIN_BYTES:
        workers = 1  # a small file: starting processes would cost more than they save
    if workers > 1:
        # Bytes go to the workers, which decode them: this process only decompresses and splits.
        opener = _open_gz_bytes if path.name.endswith(".gz") else _open_bytes
    else:
        opener = _open_gz if path.name.endswith(".gz") else _open_text
    with opener(path) as fh:
        lines = ((f"{path}:{lineno}", line) for lineno, line in enumerate(fh, 1))
        parsed = _parse_in_parallel(lines, workers) if workers > 1 else map(_parse_line, lines)
        for item in parsed:
            if isinstance(item, Document):
                yield item
            elif item is not None:
                _skip(on_skip, *item)


def _parse_line(numbered: tuple[str, str | bytes]) -> Document | tuple[str, str] | None:
    """One JSONL line as a document, ``(where, why)`` if it gives none, None if it is blank."""
    where, line = numbered
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    line = line.strip()
    if not line:
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return where, f"not valid JSON ({exc.msg})"
    if not isinstance(record, dict):
        return where, "not a JSON object"
    if not record.get("id"):
        return where, "no \"id\""
    if not (record.get("text") or record.get("title")):
        return where, "empty title and text"
    try:
        return Document.from_dict(record)
    except (TypeError, ValueError) as exc:
        return where, str(exc)


def _parse_chunk(chunk: list[tuple[str, bytes]]) -> list[Document | tuple[str, str] | None]:
    return [_parse_line(numbered) for numbered in chunk]


# Files smaller than this are parsed in this process whatever ``workers`` says.
_PARALLEL_MIN_BYTES = 2 << 20
# Lines a worker parses at a time, and chunks in flight per worker (bounds what is read ahead).
_CHUNK_LINES = 100
_AHEAD = 3


def _parse_in_parallel(lines: Iterator[tuple[str, bytes]], workers: int
                       ) -> Iterator[Document | tuple[str, str] | None]:
    from itertools import islice

    from ._workers import ordered_map

    chunks = iter(lambda: list(islice(lines, _CHUNK_LINES)), [])
    for parsed in ordered_map(_parse_chunk, chunks, workers, ahead=_AHEAD, what="a JSONL parsing process"):
        yield from parsed


def _open_gz(path: Path):
    import gzip

    return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="\n")


@contextlib.contextmanager
def _open_gz_bytes(path: Path) -> Iterator[Iterator[bytes]]:
    """The lines of a gzip file as bytes, decompressed a megabyte at a time (``gzip.open``
    decompresses in small pieces and checks the CRC in Python; zlib checks it itself)."""
    with open(path, "rb") as raw:
        yield _gz_lines(raw)


def _gz_lines(raw: Any) -> Iterator[bytes]:
    import zlib

    inflate = zlib.decompressobj(wbits=31)
    rest = b""
    while True:
        block = raw.read(1 << 20)
        if not block:
            break
        data = inflate.decompress(block)
        while inflate.eof:  # several gzip members one after the other
            tail = inflate.unused_data
            inflate = zlib.decompressobj(wbits=31)
            data += inflate.decompress(tail) if tail else b""
            if not tail:
                break
        lines = (rest + data).split(b"\n")
        rest = lines.pop()
        yield from (line + b"\n" for line in lines)
    data = inflate.flush()
    if not inflate.eof and (data or rest):
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
    rest += data
    if rest:
        yield rest


def _open_bytes(path: Path):
    return open(path, "rb")


def _open_text(path: Path):
    # Lines end at "\n" only, as in the bytes the parallel reader splits ("\r\n" is stripped).
    return open(path, encoding="utf-8", errors="replace", newline="\n")


def read_file(path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None,
              on_skip: SkipCallback | None = None, *, workers: int = 1) -> Iterator[Document]:
    """Documents from one file, chosen by its suffix (.jsonl, .txt, .html, .warc ...); JSONL is
    parsed by ``workers`` processes (see :func:`read_jsonl`)."""
    path = Path(path)
    name = path.name.lower()
    suffix = path.suffix.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        yield from read_jsonl(path, on_skip, workers=workers)
        return
    if name.endswith((".warc", ".warc.gz", ".arc", ".arc.gz")):
        from ._warc import read_warc

        yield from read_warc(path, on_skip)
        return
    if suffix not in TEXT_SUFFIXES | HTML_SUFFIXES:
        _skip(on_skip, str(path), f"unsupported file type {suffix or '(none)'!r}")
        return
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            _skip(on_skip, str(path), f"file too large ({size} bytes)")
            return
        data = path.read_bytes()
    except OSError as exc:
        _skip(on_skip, str(path), f"cannot read ({exc.strerror or exc})")
        return
    doc_id = _file_id(path, root)
    if suffix in HTML_SUFFIXES:
        doc = _html_document(data, doc_id, path, on_skip)
    else:
        doc = _text_document(data, doc_id, path, on_skip)
    if doc is not None:
        yield doc


def _file_id(path: Path, root: str | os.PathLike[str] | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _text_document(data: bytes, doc_id: str, path: Path, on_skip: SkipCallback | None) -> Document | None:
    from ._encoding import decode_bytes

    try:
        text = decode_bytes(data)
    except InputError as exc:
        _skip(on_skip, str(path), str(exc))
        return None
    if not text.strip():
        _skip(on_skip, str(path), "empty file")
        return None
    from ._clean import clean_plain_text

    page = clean_plain_text(text)
    return Document(id=doc_id, title=page.title or path.stem, text=page.text or text,
                    source=path.parent.name or None, url=path.resolve().as_uri(),
                    date=page.date, author=page.author)


def _html_document(data: bytes, doc_id: str, path: Path, on_skip: SkipCallback | None) -> Document | None:
    from ._clean import clean_html

    try:
        page = clean_html(data, url=None)
    except InputError as exc:
        _skip(on_skip, str(path), str(exc))
        return None
    if not page.is_article:
        _skip(on_skip, str(path), "not an article (list or index page)")
        return None
    if not page.text.strip():
        _skip(on_skip, str(path), "no text found in the page")
        return None
    return Document(id=doc_id, title=page.title or path.stem, text=page.text,
                    url=page.url or path.resolve().as_uri(), source=page.source or path.parent.name or None,
                    date=page.date, author=page.author)


def read_documents(paths: Iterable[str | os.PathLike[str]],
                   on_skip: SkipCallback | None = None, *, workers: int = 1) -> Iterator[Document]:
    """All documents under the given files and folders, in a stable order.

    Folders are walked recursively; files of unknown types inside folders are ignored
    silently (a folder of saved pages holds images and scripts too), while a file named
    directly with an unknown type is reported through ``on_skip``.

    JSONL files are parsed by ``workers`` processes (see :func:`read_jsonl`).

    Raises :class:`InputError` for a path that does not exist.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{path}: no such file or folder", hint="Check the path and try again.")
        if path.is_dir():
            for sub in sorted(p for p in path.rglob("*") if p.is_file()):
                if _is_readable_kind(sub):
                    yield from read_file(sub, root=path, on_skip=on_skip, workers=workers)
        else:
            yield from read_file(path, root=path.parent, on_skip=on_skip, workers=workers)


def _is_readable_kind(path: Path) -> bool:
    name = path.name.lower()
    if name.startswith("."):
        return False
    return (path.suffix.lower() in TEXT_SUFFIXES | HTML_SUFFIXES
            or name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".warc", ".warc.gz")))


def fetch_url(url: str, *, timeout: float = 20.0, max_bytes: int = 10 * 1024 * 1024,
              user_agent: str | None = None) -> tuple[bytes, str, str | None]:
    """Fetch one page (for ``vnsearch clean URL``): ``(body, final_url, content_type)``.

    Raises :class:`InputError` with the reason on HTTP errors, timeouts and oversized pages.
    """
    import urllib.error
    import urllib.request

    from ._crawl import DEFAULT_USER_AGENT

    request = urllib.request.Request(url, headers={"User-Agent": user_agent or DEFAULT_USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (http/https only, checked by caller)
            body = resp.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise InputError(f"{url}: page larger than {max_bytes} bytes")
            return body, resp.geturl(), resp.headers.get("Content-Type")
    except urllib.error.HTTPError as exc:
        raise InputError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(f"{url}: cannot fetch ({reason})", hint="Check the address and your connection.") from exc
