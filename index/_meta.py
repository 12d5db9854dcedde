"""The index's own metadata file, ``vnsearch.json``: versions and analysis settings."""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from analyzers import ANALYZER_VERSION, READABLE_ANALYZER_VERSIONS

from ._errors import IndexNotFoundError
from ._schema import SCHEMA_VERSION

META_FILE = "vnsearch.json"

FORMAT_VERSION = 3
"""The on-disk format of the index folder (``docs/FORMAT.md``), recorded in ``vnsearch.json``.
Indexes written before the key existed are format 1. Raise it whenever a reader of the previous
version could not read what this one writes, and keep a small index of each version in
``tests/data/indexes/``."""

OLDEST_READABLE_FORMAT = 3
"""Indexes of an older format must be rebuilt (``vnsearch reindex``) before they are searched."""


@dataclass(frozen=True)
class IndexMeta:
    """What an index was built with. Queries must use the same analysis."""

    analyzer_version: str = ANALYZER_VERSION
    schema_version: int = SCHEMA_VERSION
    format_version: int = FORMAT_VERSION
    user_words: tuple[str, ...] = ()
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    def is_current(self) -> bool:
        return (self.analyzer_version in READABLE_ANALYZER_VERSIONS and self.schema_version == SCHEMA_VERSION
                and self.format_version == FORMAT_VERSION)


def read_meta(path: str | os.PathLike[str]) -> IndexMeta | None:
    """The metadata of the index at ``path``, or None if there is none.

    Raises :class:`IndexNotFoundError` saying what is wrong with a ``vnsearch.json`` that is
    empty, unreadable or not what vnsearch writes.
    """
    meta_path = Path(path) / META_FILE
    try:
        raw = meta_path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _damaged(meta_path, f"cannot be read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise _damaged(meta_path, "is empty")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(meta_path, f"is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise _damaged(meta_path, "is not a JSON object")
    words = data.get("user_words", ())
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise _damaged(meta_path, 'has a "user_words" that is not a list of strings')
    data["user_words"] = tuple(words)
    data.setdefault("format_version", 1)  # written before the key existed
    known = {k: data[k] for k in ("analyzer_version", "schema_version", "format_version", "user_words", "created")
             if k in data}
    return IndexMeta(**known)


def _damaged(meta_path: Path, what: str) -> IndexNotFoundError:
    return IndexNotFoundError(
        f"the index's metadata file {meta_path} {what}",
        hint="Restore it from a backup; without it the index cannot be opened safely "
             "(or delete the folder and index the documents again).")


def write_meta(path: str | os.PathLike[str], meta: IndexMeta) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    meta_path = Path(path) / META_FILE
    tmp = meta_path.with_suffix(".json.tmp")
    data = asdict(meta)
    data["user_words"] = list(meta.user_words)
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, meta_path)
