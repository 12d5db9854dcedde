"""The query language: parse a query string into a small tree of plain nodes.

Consecutive bare words form one :class:`Text` node, so they are analysed together and the
segmenter sees ``tài liệu`` as one word, as it would in a document (Whoosh's stock parser
splits on spaces first and loses multi-syllable words).

Syntax: words, ``"exact phrase"``, ``"phrase"~N``, ``AND``/``OR``/``NOT``, ``-word``, ``+word``,
parentheses, ``field:value`` and ``field:"phrase"`` for title/author/source/url, ``date:A..B``,
and ``prefix*``.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from corpus import clean_text

from ._errors import QuerySyntaxError

FIELDS = ("title", "text", "author", "source", "url", "date", "id")
RAW_FIELDS = ("source", "url", "id")
"""Fields matched exactly: their value runs to the next space, colons and slashes included."""


@dataclass(frozen=True)
class Text:
    """Free words, ranked as a bag (stop words dropped)."""
    text: str
    field: str | None = None


@dataclass(frozen=True)
class Phrase:
    text: str
    slop: int = 1
    field: str | None = None


@dataclass(frozen=True)
class Prefix:
    text: str
    field: str | None = None


@dataclass(frozen=True)
class DateRange:
    start: str | None
    end: str | None


@dataclass(frozen=True)
class Bool:
    """``must`` all match, ``should`` rank (at least one must match when there is no ``must``),
    ``must_not`` exclude."""
    must: tuple["Node", ...] = ()
    should: tuple["Node", ...] = ()
    must_not: tuple["Node", ...] = ()


Node = Text | Phrase | Prefix | DateRange | Bool

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<phrase>[-+]?"[^"]*"(?:~\d+)?)
  | (?P<quote>")
  | (?P<raw>(?:source|url|id):[^\s"]+)
  | (?P<field>[A-Za-z_]+):(?=\S)
  | (?P<word>[^\s()"]+)
""", re.VERBOSE)

_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")


@dataclass
class _Tok:
    kind: str
    value: str
    pos: int


def _lex(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _TOKEN.finditer(query):
        kind = m.lastgroup or ""
        if kind == "ws":
            continue
        if kind == "quote":
            raise QuerySyntaxError("unbalanced quote \" in the query", query=query, position=m.start(),
                                   hint='Close the phrase with a second " or remove the quote.')
        value = m.group()
        if kind == "raw":
            # source:/url:/id: values are exact (https://a.vn/b?c=d), so they are not split at
            # ':'; closing parentheses the value does not open belong to the query.
            name, _, raw = value.partition(":")
            closing = 0
            while raw.endswith(")") and raw.count(")") > raw.count("("):
                raw = raw[:-1]
                closing += 1
            toks.append(_Tok("field", name + ":", m.start()))
            toks.append(_Tok("raw", raw, m.start() + len(name) + 1))
            end = m.start() + len(name) + 1 + len(raw)
            toks.extend(_Tok("rparen", ")", end + i) for i in range(closing))
            continue
        if kind == "word" and value in ("AND", "OR", "NOT", "&&", "||"):
            kind = {"&&": "AND", "||": "OR"}.get(value, value)
        if kind == "word" and value.endswith(":") and value[:-1].lower() in FIELDS:
            raise QuerySyntaxError(f"{value[:-1].lower()}: needs a value", query=query, position=m.start(),
                                   hint=f'Write it without a space, e.g. {value[:-1].lower()}:"..."')
        toks.append(_Tok(kind, value, m.start()))
    return toks


class _Parser:
    def __init__(self, query: str, match_all: bool = False) -> None:
        self.query = query
        self.match_all = match_all
        self.toks = _lex(query)
        self.i = 0

    def error(self, message: str, pos: int, hint: str | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, query=self.query, position=pos, hint=hint)

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _here(self) -> int:
        """Where the next token starts (the query's end after the last)."""
        tok = self.peek()
        return tok.pos if tok is not None else len(self.query)

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            raise self.error("the query is empty", 0, hint='Give some words to search for, e.g. "nông thôn mới".')
        node = self.parse_or()
        tok = self.peek()
        if tok is not None:
            raise self.error("unbalanced parenthesis ')'", tok.pos, hint="Remove it or add a matching '('.")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Bool(should=tuple(items))

    def parse_and(self) -> Node:
        must: list[Node] = []
        should: list[Node] = []
        must_not: list[Node] = []
        pending_and = False
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "rparen"):
            if tok.kind == "AND":
                self.take()
                if not (must or should or must_not) or pending_and:
                    raise self.error("AND needs something on its left", tok.pos)
                # "a AND b": a becomes required too.
                if should:
                    must.append(should.pop())
                pending_and = True
                continue
            negate = False
            required = pending_and
            single = False
            if tok.kind == "NOT":
                self.take()
                negate = True
                single = True
            elif tok.kind in ("word", "phrase") and tok.value[0] in "-+" and len(tok.value) > 1:
                negate = tok.value[0] == "-"
                required = required or tok.value[0] == "+"
                tok.value = tok.value[1:]
                tok.pos += 1
                single = True  # -word and +word take one word, as in Lucene
            nxt = self.peek()
            node = self.parse_words(None, single=True) if single and nxt is not None and nxt.kind == "word" \
                else self.parse_unary()
            if negate:
                must_not.append(node)
            elif required or self.match_all or _is_filter(node):
                # Filters typed among plain words still filter: "bắc sơn source:langson.gov.vn".
                must.append(node)
            else:
                should.append(node)
            pending_and = False
        if pending_and:
            raise self.error("AND needs something on its right", self._here())
        if not (must or should or must_not):
            raise self.error("missing search words", self._here())
        if len(must) + len(should) + len(must_not) == 1 and (should or must):
            return (should or must)[0]
        return Bool(tuple(must), tuple(should), tuple(must_not))

    def parse_unary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.error("the query ends where a word was expected", len(self.query))
        if tok.kind == "lparen":
            self.take()
            if (nxt := self.peek()) is not None and nxt.kind == "rparen":
                raise self.error("empty parentheses", nxt.pos)
            node = self.parse_or()
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise self.error("unbalanced parenthesis '('", tok.pos, hint="Add the missing ')'.")
            self.take()
            return node
        if tok.kind == "rparen":
            raise self.error("unbalanced parenthesis ')'", tok.pos, hint="Remove it or add a matching '('.")
        if tok.kind == "field":
            return self.parse_field()
        if tok.kind == "phrase":
            return self._phrase(self.take(), None)
        if tok.kind in ("NOT", "AND", "OR"):
            raise self.error(f"{tok.kind} in an unexpected place", tok.pos)
        return self.parse_words(None)

    def parse_words(self, field: str | None, single: bool = False) -> Node:
        """A run of bare words (stops at operators, parentheses, phrases, fields, -/+ words)."""
        first = self.take()
        if first.value.endswith("*"):
            return self._prefix(first, field)
        words = [first.value]
        if field is None and not single:
            while (tok := self.peek()) is not None and tok.kind == "word" and tok.value[0] not in "-+" \
                    and not tok.value.endswith("*"):
                words.append(self.take().value)
        return Text(" ".join(words), field)

    def _prefix(self, tok: _Tok, field: str | None) -> Prefix:
        stem = tok.value.rstrip("*")
        if not stem or "*" in stem:
            raise self.error("a wildcard needs letters before a single trailing '*'", tok.pos,
                             hint="Write a prefix such as kinh*.")
        return Prefix(stem, field)

    def _phrase(self, tok: _Tok, field: str | None) -> Phrase:
        m = re.match(r'^"([^"]*)"(?:~(\d+))?$', tok.value)
        assert m is not None
        text = m.group(1).strip()
        if not text:
            raise self.error("empty phrase \"\"", tok.pos)
        slop = int(m.group(2)) if m.group(2) else 1
        return Phrase(text, slop, field)

    def parse_field(self) -> Node:
        tok = self.take()
        name = tok.value[:-1].lower()
        if name not in FIELDS:
            raise self.error(f"unknown field {name!r}", tok.pos,
                             hint="Fields are: " + ", ".join(FIELDS) + ".")
        nxt = self.peek()
        if nxt is None or nxt.kind in ("rparen", "OR", "AND", "NOT"):
            raise self.error(f"{name}: needs a value", tok.pos)
        if name == "date":
            return self.parse_date(self.take())
        if nxt.kind == "raw":
            if not nxt.value:
                raise self.error(f"{name}: needs a value", tok.pos)
            return Text(self.take().value, name)
        if nxt.kind == "phrase":
            return self._phrase(self.take(), name)
        if nxt.kind == "lparen":
            raise self.error(f"{name}:( ... ) is not supported; repeat the field for each word", nxt.pos)
        return self.parse_words(name)

    def parse_date(self, tok: _Tok) -> DateRange:
        value = tok.value
        start, sep, end = value.partition("..")
        if not sep:
            start = end = value
        for part in (start, end):
            if part and not is_date(part):
                raise self.error(f"bad date {part!r}", tok.pos,
                                 hint="Write dates as YYYY, YYYY-MM or YYYY-MM-DD, ranges as date:2020-01-01..2020-06-30.")
        if not start and not end:
            raise self.error("a date range needs a start or an end", tok.pos)
        if start and end and start > end[:len(start)]:
            raise self.error(f"the date range ends ({end}) before it starts ({start})", tok.pos)
        return DateRange(start or None, end or None)


def _is_filter(node: Node) -> bool:
    """Metadata conditions: typed among plain words they narrow, they do not widen."""
    return isinstance(node, DateRange) or isinstance(node, (Text, Phrase)) and node.field in (*RAW_FIELDS, "author")


def is_date(value: str) -> bool:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` naming a real day or month.

    >>> is_date("2020-02-29"), is_date("2021-02-29"), is_date("2020-13")
    (True, False, False)
    """
    if not _DATE.match(value):
        return False
    parts = [int(x) for x in value.split("-")]
    try:
        _dt.date(parts[0], *(parts[1:] + [1] * (3 - len(parts)))) if len(parts) > 1 else None
    except ValueError:
        return False
    return True


def suggest_query(query: str, fix: Callable[[str], str | None]) -> str | None:
    """``query`` with each run of free words and each phrase replaced by ``fix(run)``, keeping
    operators, fields, dates and parentheses as typed; None when ``fix`` changes nothing.

    >>> suggest_query('bac son AND "nong thon" source:a.vn', lambda t: t.upper())
    'BAC SON AND "NONG THON" source:a.vn'
    """
    try:
        toks = _lex(query)
    except QuerySyntaxError:
        return None
    runs: list[tuple[int, int]] = []  # (start, end) character spans to fix
    after_field = False
    for tok in toks:
        if tok.kind == "word" and not after_field and not tok.value.endswith("*"):
            start = tok.pos + (1 if tok.value[0] in "-+" and len(tok.value) > 1 else 0)
            if runs and tok.value[0] not in "-+" and query[runs[-1][1]:start].isspace():
                runs[-1] = (runs[-1][0], tok.pos + len(tok.value))
            else:
                runs.append((start, tok.pos + len(tok.value)))
        elif tok.kind == "phrase" and not after_field:
            inner = tok.value.index('"') + 1
            runs.append((tok.pos + inner, tok.pos + tok.value.rindex('"')))
            runs.append((-1, -1))  # a phrase ends a run
        else:
            runs.append((-1, -1))
        after_field = tok.kind == "field"
    out, last, changed = [], 0, False
    for start, end in runs:
        if start < 0 or start >= end:
            continue
        fixed = fix(query[start:end])
        if fixed and fixed != query[start:end]:
            out += [query[last:start], fixed]
            last, changed = end, True
    return "".join(out) + query[last:] if changed else None


def parse_query(query: str, match: str = "any") -> Node:
    """Parse ``query`` into nodes; raises :class:`QuerySyntaxError` pointing at the problem.

    ``match="all"`` makes every part not joined by ``OR`` required, as if joined by ``AND``.

    >>> parse_query("tài liệu")
    Text(text='tài liệu', field=None)
    >>> parse_query('"nông thôn"~3')
    Phrase(text='nông thôn', slop=3, field=None)

    The query is cleaned first as documents are (``corpus.clean_text``: NFC, no invisible
    characters, plain spaces).
    """
    return _Parser(clean_text(query), match_all=match == "all").parse()
