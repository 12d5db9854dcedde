"""Vietnamese text analysis: normalise, segment into words, fold accents, stop words.

The pipeline is engine-agnostic (:class:`VietnameseAnalyzer` gives plain tokens); the Whoosh
adapter lives in :mod:`analyzers.whoosh_adapter` and is imported only by the index stage.

>>> from analyzers import VietnameseAnalyzer
>>> VietnameseAnalyzer().analyze("tài liệu").terms("words")
['tài_liệu']
"""

from __future__ import annotations

import logging

from ._errors import ModelError
from ._normalize import accented_variants, fold, has_accents, normalize, normalize_tone_placement
from ._pipeline import ANALYZER_VERSION, READABLE_ANALYZER_VERSIONS, Analysis, Token, VietnameseAnalyzer
from ._stopwords import default_stopwords, load_stopwords

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ANALYZER_VERSION",
    "Analysis",
    "ModelError",
    "READABLE_ANALYZER_VERSIONS",
    "Token",
    "VietnameseAnalyzer",
    "accented_variants",
    "default_stopwords",
    "fold",
    "has_accents",
    "load_stopwords",
    "normalize",
    "normalize_tone_placement",
]
