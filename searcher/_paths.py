"""Where indexes live, and the bundled sample archive's index."""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

ENV_INDEX = "VNSEARCH_INDEX"


def data_dir() -> Path:
    """The per-user data folder (``~/.local/share/vnsearch`` on Linux; honours XDG_DATA_HOME)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("vnsearch", appauthor=False))


def default_index_path() -> Path:
    """``$VNSEARCH_INDEX`` if set, else ``<data dir>/index``."""
    env = os.environ.get(ENV_INDEX)
    return Path(env).expanduser() if env else data_dir() / "index"


def sample_archive() -> Path:
    """The bundled sample archive (JSONL, gzip), shipped as package data of ``corpus``."""
    return Path(str(resources.files("corpus").joinpath("data/sample/sample.jsonl.gz")))


def sample_index_path() -> Path:
    return data_dir() / "sample-index"


def ensure_sample_index(on_progress: Callable[[int, int], None] | None = None,
                        path: Path | None = None) -> Path:
    """Build the sample archive's index on first use (later calls reuse it); returns its path."""
    import shutil

    from corpus import VnSearchError, read_jsonl
    from index import Index

    path = path or sample_index_path()
    if Index.exists(path):
        try:
            Index.open(path)
            return path
        except VnSearchError:  # an index from an older vnsearch: rebuild it, it is only the sample
            pass
    tmp = path.with_name(path.name + ".building")
    if tmp.exists():
        shutil.rmtree(tmp)
    Index.create(tmp).add_documents(read_jsonl(sample_archive()), on_progress=on_progress)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return path
