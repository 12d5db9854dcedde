"""A thin adapter that makes the Vietnamese pipeline a Whoosh analyzer.

Whoosh pickles a field's analyzer into the index's table of contents, so this module's path
(``analyzers.whoosh_adapter.VietnameseTokenizer``) is part of the index format: keep it stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from whoosh.analysis import Token, Tokenizer

from ._pipeline import VietnameseAnalyzer

LAYERS = ("words", "syllables", "folded")


class VietnameseTokenizer(Tokenizer):
    """Yields one layer of :class:`analyzers.VietnameseAnalyzer`'s tokens as Whoosh tokens.

    Honours Whoosh's token contract (``positions``, ``chars``, ``start_pos``, ``start_char``,
    ``mode``), so Whoosh phrase queries and highlighters work on fields that use it.
    A list of strings is taken as already analysed (Whoosh passes such values through).
    """

    def __init__(self, layer: str = "words", analyzer: VietnameseAnalyzer | None = None) -> None:
        if layer not in LAYERS:
            raise ValueError(f"layer must be one of {LAYERS}, not {layer!r}")
        self.layer = layer
        self.analyzer = analyzer or VietnameseAnalyzer()

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, VietnameseTokenizer) and self.layer == other.layer
                and self.analyzer.user_words == other.analyzer.user_words)

    def __hash__(self) -> int:
        return hash((self.layer, self.analyzer.user_words))

    def __call__(self, value: str, positions: bool = False, chars: bool = False,  # type: ignore[override]
                 keeporiginal: bool = False, removestops: bool = True, start_pos: int = 0,
                 start_char: int = 0, tokenize: bool = True, mode: str = "", **kwargs: Any) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            items: Iterable[tuple[str, int, int, int]] = [(value, 0, 0, len(value))]
        else:
            items = ((tok.text, tok.pos, tok.start, tok.end)
                     for tok in getattr(self.analyzer.analyze(value), self.layer))
        for text, pos, start, end in items:
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = text
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


def whoosh_analyzer(layer: str = "words", *, user_words: Iterable[str] = ()) -> VietnameseTokenizer:
    """A Whoosh analyzer for one layer; compose Whoosh filters onto it with ``|``."""
    return VietnameseTokenizer(layer, VietnameseAnalyzer(user_words=user_words))
