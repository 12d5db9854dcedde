"""Whoosh's W3 codec with two write-path fixes that matter for Vietnamese vocabularies.

Most terms of a Vietnamese index (syllable pairs, names, numbers) occur in one or a few
documents. Whoosh 2.7 means to store such short posting lists inside the term's entry
("inlining"), but the code calls a method that does not exist, so it is disabled in practice and
every term pays for a block of its own: two pickles, a zlib call and a header. This codec inlines
posting lists of up to ``inlinelimit`` postings and leaves small blocks uncompressed. The
format on disk is Whoosh's own (its reader already reads inlined postings); only the writer
changes. The class is pickled into the index's table of contents: keep its import path stable.
"""

from __future__ import annotations

from typing import Any

from whoosh.codec.whoosh3 import W3Codec, W3PostingsWriter


class _PostingsWriter(W3PostingsWriter):  # type: ignore[misc]
    _terminfo: Any  # Whoosh's W3TermInfo of the term being written (None between terms)

    def finish_postings(self) -> Any:
        terminfo = self._terminfo
        if not self.written() and len(self) <= self._inlinelimit:
            terminfo.add_block(self)
            # Formats without payloads (ID fields) buffer no values; readers and merges expect
            # one bytes value per posting, as Whoosh's block reader gives them.
            values = self._values if len(self._values) == len(self._ids) else [b""] * len(self._ids)
            terminfo.set_inlined(self._ids, self._weights, values)
            self._terminfo = None
            return terminfo
        return super().finish_postings()


class VnCodec(W3Codec):  # type: ignore[misc]
    """W3 codec that inlines short posting lists (see the module docstring)."""

    def __init__(self, blocklimit: int = 128, compression: int = 3, inlinelimit: int = 8) -> None:
        super().__init__(blocklimit=blocklimit, compression=compression, inlinelimit=inlinelimit)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> _PostingsWriter:
        return _PostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                               compression=self._compression, inlinelimit=self._inlinelimit)
