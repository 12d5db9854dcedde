"""Format 2's codec and segment classes, as the tables of contents of format 2 indexes name them.

Kept only so that a format 2 index can be opened to be rebuilt (see :mod:`index._codec`): its
stored fields, lengths and columns are Whoosh's W3 per-document files, read by Whoosh's reader.
Its postings (array blocks) are not read: searching it needs ``vnsearch reindex`` first.
"""

from __future__ import annotations

from whoosh.codec.whoosh3 import W3Segment

from ._codec import VnCodec


class BlockCodec(VnCodec):  # type: ignore[misc]
    """Format 2's codec: Whoosh's W3 for everything reindexing reads."""


class BlockSegment(W3Segment):  # type: ignore[misc]
    """Format 2's segment: a W3 segment."""
