"""Format 1's codec class, as the tables of contents of format 1 and 2 indexes name it.

Nothing writes formats 1 and 2 any more. An index of those formats is refused for searching and
upgraded by ``vnsearch reindex``, which reads its stored documents through Whoosh's own W3
reader; unpickling its table of contents needs this class at this import path. The format 3
code (:mod:`index.format`) does not import this module.
"""

from __future__ import annotations

from whoosh.codec.whoosh3 import W3Codec


class VnCodec(W3Codec):  # type: ignore[misc]
    """Whoosh's W3 codec (format 1 wrote short posting lists inline; W3's reader reads them)."""
