"""Which segmentation model vnsearch uses: pyvi 0.1.1's files, identified by their sha256.

pyvi is pinned exactly in ``pyproject.toml``, and the files are checked when they are read, so
the model cannot change under an index unnoticed: :data:`MODEL_ID` is part of the analyzer
version that every index records (``ANALYZER_VERSION``), so a vnsearch that ships another
model reports older indexes as needing ``vnsearch reindex``, as any other analysis change does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os

from ._errors import ModelError

MODEL_SHA256 = {
    # pyvi's pickled sklearn_crfsuite.CRF; the crfsuite model the segmenter parses is inside it.
    "pyvi3.pkl": "6cdd73aee04b6a4ad7320ca85d27d931a7ef870cfdd41beb148e86bdb8aca134",
    # pyvi's bigram and trigram lists (the CRF's n-gram features).
    "words.txt": "517743d27e71d43343e4b8e9e89015cdc68d84ebe1d48106449e501d918ece4a",
}
MODEL_ID = "pyvi-0.1.1-" + hashlib.sha256("".join(sorted(MODEL_SHA256.values())).encode()).hexdigest()[:12]

_REINSTALL = "Install the pyvi version vnsearch pins: pip install --force-reinstall vnsearch"


def read_model_files() -> dict[str, bytes]:
    """The bytes of pyvi's model files (the keys of :data:`MODEL_SHA256`), each checked.

    Raises :class:`ModelError` if pyvi is missing or a file's sha256 is not the expected one.
    """
    spec = importlib.util.find_spec("pyvi")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("pyvi is not installed: it holds the Vietnamese word segmentation model", hint=_REINSTALL)
    folder = os.path.join(next(iter(spec.submodule_search_locations)), "models")
    data = {}
    for name, expected in MODEL_SHA256.items():
        path = os.path.join(folder, name)
        try:
            with open(path, "rb") as fin:
                data[name] = fin.read()
        except OSError as exc:
            raise ModelError(f"cannot read pyvi's model file {path}: {exc.strerror or exc}", hint=_REINSTALL) from exc
        if hashlib.sha256(data[name]).hexdigest() != expected:
            raise ModelError(f"pyvi's model file {path} is not the one this vnsearch was tested with "
                             "(its sha256 differs)", hint=_REINSTALL)
    return data
