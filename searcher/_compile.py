"""Turn parsed query nodes into Whoosh queries, through the same analysis as documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from whoosh import query as wq

from analyzers import Analysis, VietnameseAnalyzer, fold, has_accents
from index import syllable_pairs

from ._errors import QuerySyntaxError
from ._query import Bool, DateRange, Node, Phrase, Prefix, Text, _is_filter
from ._synonyms import Synonyms

# Relative weights of the layers. A whole-word match outranks a syllable match, which outranks
# a match found only once accents are folded away; titles count more than body text. Another
# form of an abbreviation typed in the query (UBND for Ủy ban nhân dân) counts less than the form typed.
WEIGHTS = {"title": 2.0, "text": 1.0, "syl": 0.5, "fold": 0.3, "pair": 0.5, "restored": 0.5, "synonym": 0.5}
FILTER_FIELDS = {"source", "url", "id"}
ACCENTS = ("auto", "exact", "any")
"""``auto``: words typed with accents match those accents, words typed without match any;
``exact``: every word matches as typed; ``any``: accents never restrict a match."""
MATCHES = ("any", "all")
EXACT_FIELDS = ("title", "text", "syl", "author")
"""Fields that decide which documents a query typed with accents matches: those whose terms
carry the accents as written, and ``author`` (bylines are indexed folded only; the cleaner cuts
them from the text, so a name typed with accents must still find its byline)."""


@dataclass
class Compiled:
    """A Whoosh query plus what snippets need to highlight (folded syllables, ``=syllable`` for
    accents that must match as typed, ``prefix*``)."""

    query: wq.Query
    terms: set[str] = field(default_factory=set)


class QueryCompiler:
    """``restore`` maps an unaccented text to its most likely accented spelling (or None)."""

    def __init__(self, analyzer: VietnameseAnalyzer, weights: dict[str, float] | None = None,
                 restore: Callable[[str], str | None] | None = None,
                 doc_frequency: Callable[[str, str], int] | None = None, doc_count: int = 0,
                 accents: str = "auto", match: str = "any", synonyms: Synonyms | None = None) -> None:
        if accents not in ACCENTS:
            raise QuerySyntaxError(f"unknown accent mode {accents!r}", hint="Use auto, exact or any.")
        if match not in MATCHES:
            raise QuerySyntaxError(f"unknown match mode {match!r}", hint="Use any or all.")
        self.analyzer = analyzer
        self.accents = accents
        self.match_all = match == "all"
        self.synonyms = synonyms
        self.restore = restore
        self.doc_frequency = doc_frequency
        self.doc_count = doc_count
        self.weights = dict(WEIGHTS, **(weights or {}))
        self.highlight: set[str] = set()

    def compile(self, node: Node) -> Compiled:
        q = self._node(node)
        return Compiled(q, self.highlight)

    def exact(self, text: str) -> bool:
        """Whether ``text`` matches only its own accents (see :data:`ACCENTS`)."""
        return self.accents == "exact" or self.accents == "auto" and has_accents(text)

    def _node(self, node: Node) -> wq.Query:
        if isinstance(node, Text):
            return self._required(node) if self.match_all and not _is_filter(node) else self._text(node)
        if isinstance(node, Phrase):
            return self._phrase(node)
        if isinstance(node, Prefix):
            return self._prefix(node)
        if isinstance(node, DateRange):
            return _date_range(node)
        return self._bool(node)

    def _bool(self, node: Bool) -> wq.Query:
        # "a AND b", "+a": every word of a required part must be there, not just one syllable.
        must = [self._required(n) if isinstance(n, Text) else self._node(n) for n in node.must]
        # (Filters typed among plain words arrive in ``must``: the parser puts them there, so
        # "source:a OR source:b" stays an OR.)
        should = [self._node(n) for n in node.should]
        must_not = [self._node(n) for n in node.must_not]
        if must:
            q: wq.Query = narrow(must[0], *must[1:], scored=True)
            if should:
                ranked = wq.Or(should) if len(should) > 1 else should[0]
                # Beside filters alone the words must still match ("kinh tế source:a.vn");
                # beside required words they only rank ("+kinh tế" and "bất bình đẳng").
                only_filters = all(_is_filter(n) for n in node.must)
                q = narrow(q, ranked, scored=True) if only_filters else maybe(q, ranked)
        elif should:
            q = wq.Or(should) if len(should) > 1 else should[0]
        else:
            q = wq.Every()
        if must_not:
            q = wq.AndNot(q, wq.Or(must_not) if len(must_not) > 1 else must_not[0])
        return q

    def _analyze(self, text: str) -> Analysis:
        return self.analyzer.analyze(text)

    def _text(self, node: Text) -> wq.Query:
        if node.field in FILTER_FIELDS:
            return wq.Term(node.field, node.text)
        if node.field == "author":
            return self._phrase(Phrase(node.text, 0, "author"))
        exact = self.exact(node.text)
        if node.field is None and self.restore is not None and not exact and not has_accents(node.text):
            return self._unaccented(node)
        analysis = self._analyze(node.text)
        words = [t.text for t in analysis.words]
        syllables = [t.text for t in analysis.syllables]
        # Stop words carry no topic; drop them unless nothing else is left.
        content = [w for w in words if not self.analyzer.is_stopword(w)] or words
        content_syl = {s for w in content for s in w.split("_")}
        syllables = [s for s in syllables if s in content_syl] or syllables
        self._mark(syllables, exact)
        w = self.weights
        clauses: list[wq.Query] = []
        word_fields = ("title",) if node.field == "title" else ("title", "text")
        for word in dict.fromkeys(content):
            for f in word_fields:
                clauses.append(wq.Term(f, word, boost=w[f]))
        if node.field != "title":
            long_query = len(set(syllables)) > 4
            for s in dict.fromkeys(syllables):
                if long_query and self._common("syl", s):
                    continue
                clauses.extend(self._syllable(s))
                if not long_query:
                    # Bylines are cut from the text by the cleaner; a name search still finds them.
                    clauses.append(wq.Term("author", fold(s), boost=w["fold"]))
            # Adjacent syllables found next to each other: proximity evidence, whatever the segmentation.
            clauses.extend(self._pairs(analysis.terms("folded")))
        # Other forms of abbreviations: with the accents typed when exact, so they decide too.
        synonyms = self._synonym_clauses(analysis.terms("syllables"), exact) if node.field is None else []
        if not exact:
            return wq.Or(clauses + synonyms) if clauses or synonyms else wq.NullQuery
        # Typed with accents: only the accents typed decide which documents match; the folded
        # layers still rank the documents that do.
        matching = [c for c in clauses if c.field() in EXACT_FIELDS] + synonyms
        ranking = [c for c in clauses if c.field() not in EXACT_FIELDS]
        if not matching:
            return wq.NullQuery
        if not ranking:
            return wq.Or(matching)
        # The documents the accented terms match, scored by every layer (so the ranking among
        # them is the ranking of accents="any").
        return maybe(wq.Or(matching) if len(matching) > 1 else matching[0], wq.Or(ranking))

    def _mark(self, syllables: list[str], exact: bool) -> None:
        """Highlight these syllables in snippets: with their accents (``=`` + syllable) when
        only those accents match, else every spelling (the folded syllable)."""
        self.highlight.update(("=" + s) if exact else fold(s) for s in syllables)

    def _synonym_clauses(self, syllables: list[str], exact: bool) -> list[wq.Query]:
        """Other forms of the abbreviations and full forms found among ``syllables``."""
        if self.synonyms is None:
            return []
        out = []
        for occ in self.synonyms.find(syllables, folded=not exact):
            for variant in occ.variants:
                self._mark(list(variant), exact)
                # A phrase scores about the sum of its syllables: per syllable, so that a long
                # full form found for an abbreviation does not outrank the abbreviation typed.
                out.append(self._form(list(variant), exact, self.weights["synonym"] / len(variant)))
        return out

    def _form(self, syllables: list[str], exact: bool, boost: float = 1.0) -> wq.Query:
        """Consecutive syllables, with their accents (``syl``) or without (``fold``)."""
        if exact:
            return _phrase_or_term("syl", syllables, 1, boost=boost)
        return _phrase_or_term("fold", [fold(s) for s in syllables], 1, boost=boost)

    def _required(self, node: Text) -> wq.Query:
        """``node`` ranked as usual, matching only documents that hold each of its content words
        (as consecutive syllables, so a different segmentation of the document still matches)."""
        ranked = self._text(node)
        if node.field is not None and node.field != "title" or isinstance(ranked, type(wq.NullQuery)):
            return ranked
        analysis = self.analyzer.analyze(node.text)
        exact = self.exact(node.text)
        if node.field == "title":
            needs = [wq.Term("title", w) for w in analysis.terms("words")
                     if not self.analyzer.is_stopword(w)] or [wq.Term("title", w) for w in analysis.terms("words")]
        else:
            needs = self._needs(analysis, exact)
        if not needs:
            return ranked
        return narrow(ranked, wq.And(needs) if len(needs) > 1 else needs[0])

    def _needs(self, analysis: Analysis, exact: bool) -> list[wq.Query]:
        """One condition per content word of ``analysis`` (its syllables, consecutive); a word
        inside an abbreviation or full form may be any form of it instead."""
        syllables = analysis.terms("syllables")
        starts = {t.start: t.pos for t in analysis.syllables}
        ends = {t.end: t.pos + 1 for t in analysis.syllables}
        units: list[tuple[int, int]] = []  # syllable ranges of the words
        for w in analysis.words:
            a, b = starts.get(w.start), ends.get(w.end)
            if a is not None and b is not None and a < b:
                units.append((a, b))
        content = [(a, b) for a, b in units if not self.analyzer.is_stopword("_".join(syllables[a:b]))] or units
        occurrences = self.synonyms.find(syllables, folded=not exact) if self.synonyms is not None else []
        needs: list[wq.Query] = []
        used: set[int] = set()
        for a, b in content:
            occ = next((i for i, o in enumerate(occurrences) if o.start < b and a < o.end), None)
            if occ is None:
                needs.append(self._form(syllables[a:b], exact))
            elif occ not in used:
                used.add(occ)
                o = occurrences[occ]
                forms = [self._form(syllables[o.start:o.end], exact)]
                forms += [self._form(list(v), exact) for v in o.variants]
                needs.append(wq.Or(forms))
        return needs

    def _unaccented(self, node: Text) -> wq.Query:
        """A query typed without accents: folded syllables and their pairs decide, and the
        accents restored from the index's vocabulary add the word-level evidence."""
        analysis = self._analyze(node.text)
        folded = [t.text for t in analysis.folded]
        # Stop words typed without accents ("cua" for "của") carry no topic either.
        content = [f for f in folded if f not in self.analyzer.folded_stopwords] or folded
        if len(set(content)) > 4:
            content = [f for f in content if not self._common("fold", f)] or content
        self.highlight.update(folded)
        w = self.weights
        clauses: list[wq.Query] = [wq.Term("fold", f, boost=w["syl"] + w["fold"]) for f in dict.fromkeys(content)]
        clauses.extend(self._pairs(folded))
        clauses.extend(self._synonym_clauses(folded, exact=False))
        restored = self.restore(node.text) if self.restore else None
        if restored and has_accents(restored):
            sub = QueryCompiler(self.analyzer, self.weights, doc_frequency=self.doc_frequency,
                                doc_count=self.doc_count, accents="any")
            q = sub._text(Text(restored))
            if not isinstance(q, type(wq.NullQuery)):
                clauses.append(wq.Or([c for c in q.subqueries if c.fieldname in ("title", "text", "syl")],
                                    boost=w["restored"]))
        return wq.Or(clauses)

    def _common(self, fieldname: str, term: str) -> bool:
        """In more than a fifth of the documents: in a long query such a syllable's clauses add
        almost nothing to BM25 (low IDF) but walk long posting lists; its word clauses stay."""
        if self.doc_frequency is None or not self.doc_count:
            return False
        return self.doc_frequency(fieldname, term) > 0.2 * self.doc_count

    def _syllable(self, s: str) -> list[wq.Query]:
        """An accented syllable, and its folded form for text written without accents. Where the
        index has no other spelling of it, both posting lists are the same list with the same
        field lengths, so one term with both boosts scores exactly the same, at half the cost."""
        w = self.weights
        df = self.doc_frequency
        folded = fold(s)
        if df is not None and folded != s and df("syl", s) == df("fold", folded):
            return [wq.Term("syl", s, boost=w["syl"] + w["fold"])]
        return [wq.Term("syl", s, boost=w["syl"]), wq.Term("fold", folded, boost=w["fold"])]

    def _pairs(self, folded: list[str]) -> list[wq.Query]:
        return [wq.Term("pairs", p, boost=self.weights["pair"]) for p in dict.fromkeys(syllable_pairs(folded))]

    def _phrase(self, node: Phrase) -> wq.Query:
        if node.field in FILTER_FIELDS:
            # source:"a.vn", url:"https://…": exact values, not text.
            return wq.Term(node.field, node.text)
        analysis = self._analyze(node.text)
        syllables = [t.text for t in analysis.syllables]
        if not syllables:
            return wq.NullQuery
        folded = [fold(s) for s in syllables]
        exact = self.exact(node.text)
        if node.field == "author":
            self._mark(syllables, False)
            return _phrase_or_term("author", folded, node.slop)
        self._mark(syllables, exact)
        q = self._phrase_forms(syllables, node.slop, exact)
        if self.synonyms is not None:
            # "UBND tỉnh" also finds "Ủy ban nhân dân tỉnh": the phrase with one form replaced.
            alts = []
            for occ in self.synonyms.find(syllables, folded=not exact)[:4]:
                for v in occ.variants[:4]:
                    alt = syllables[:occ.start] + list(v) + syllables[occ.end:]
                    self._mark(list(v), exact)
                    alts.append(self._phrase_forms(alt, node.slop, exact, self.weights["synonym"]))
            if alts:
                q = wq.Or([q, *alts])
        if node.field == "title":
            # Titles have word-level terms only: require the title words, rank by the phrase.
            words = [t.text for t in analysis.words]
            q = narrow(q, wq.And([wq.Term("title", x) for x in words]), scored=True)
        return q

    def _phrase_forms(self, syllables: list[str], slop: int, exact: bool, boost: float = 1.0) -> wq.Query:
        """A phrase with its accents (exact: only those match, the folded phrase adds to the
        score) or without them (any accents match, as written ranks first when typed so)."""
        folded = [fold(s) for s in syllables]
        accented = _phrase_or_term("syl", syllables, slop, boost=2.0 * boost)
        loose = _phrase_or_term("fold", folded, slop, boost=boost)
        if exact:
            # Every document of the accented phrase holds the folded one at the same positions
            # (a text's folded syllable i is its syllable i folded), so within those documents
            # the folded phrase needs no positions checked: its words match, and score as it does.
            implied = wq.And([wq.Term("fold", t) for t in folded], boost=boost) if len(folded) > 1 else loose
            return maybe(accented, implied)
        return loose if folded == syllables else wq.Or([accented, loose])

    def _prefix(self, node: Prefix) -> wq.Query:
        stem = self.analyzer.analyze(node.text).syllables
        text = stem[-1].text if stem else node.text.lower()
        self.highlight.add(fold(text) + "*")
        if node.field in FILTER_FIELDS:
            return wq.Prefix(node.field, node.text)
        if node.field == "title":
            return wq.Prefix("title", text)
        return wq.Or([wq.Prefix("syl", text, boost=2.0), wq.Prefix("fold", fold(text))])


# Whoosh's AndMaybe matcher loses its optional part's score when an enclosing matcher skips it
# (AndMaybeMatcher.skip_to moves the optional side to the target, not to where the required side
# landed). The evaluator (searcher/_fast.py) is exact either way; these helpers keep every
# AndMaybe above the intersections, so Whoosh's own matchers give the same scores (the
# comparison in tests/test_fast.py) and each term is still read once.


def _split(q: wq.Query) -> tuple[wq.Query, list[wq.Query]]:
    """``q`` as its required part and the optional parts that only add to its score."""
    if type(q) is wq.AndMaybe:
        required, optional = _split(q.a)
        return required, optional + [q.b]
    return q, []


def _rejoin(required: wq.Query, optional: list[wq.Query]) -> wq.Query:
    for part in optional:
        required = wq.AndMaybe(required, part)
    return required


def maybe(q: wq.Query, optional: wq.Query) -> wq.Query:
    """``q``'s documents, ``optional``'s score added where it matches too."""
    required, parts = _split(q)
    return _rejoin(required, parts + [optional])


def narrow(q: wq.Query, *conditions: wq.Query, scored: bool = False) -> wq.Query:
    """``q``'s documents that match every condition: scored by all (``scored``, an And) or by
    ``q`` alone (a Require)."""
    required, optional = _split(q)
    parts = [_split(c) for c in conditions]
    if scored:
        inner: wq.Query = wq.And([required, *[r for r, _o in parts]])
        return _rejoin(inner, optional + [o for _r, opts in parts for o in opts])
    cond = wq.And([r for r, _o in parts]) if len(parts) > 1 else parts[0][0]
    return _rejoin(wq.Require(required, cond), optional)


def _phrase_or_term(fieldname: str, terms: list[str], slop: int, boost: float = 1.0) -> wq.Query:
    if len(terms) == 1:
        return wq.Term(fieldname, terms[0], boost=boost)
    phrase = wq.Phrase(fieldname, terms, slop=max(1, slop), boost=boost)
    if fieldname not in ("syl", "fold") or slop > 1:
        return phrase
    # Adjacent syllables of a document are in its ``pairs`` field: only documents holding every
    # pair of the phrase can hold the phrase, so positions are checked there alone (the score is
    # the phrase's). A phrase does not run across the seam between a title and its text.
    pairs = [wq.Term("pairs", p) for p in dict.fromkeys(syllable_pairs([fold(t) for t in terms]))]
    if fieldname == "fold" and len(terms) == 2:
        # Two folded syllables are adjacent exactly where their pair is indexed: no positions
        # to check. Scored as the phrase is, by the sum of the two syllables' scores.
        words = wq.And([wq.Term("fold", t) for t in terms], boost=boost)
        return wq.Require(words, pairs[0])
    return wq.Require(phrase, wq.And(pairs) if len(pairs) > 1 else pairs[0])


def _date_range(node: DateRange) -> wq.Query:
    # Dates are stored as ISO strings of varying precision, so string order is date order;
    # "\uffff" makes an end such as 2020-06 include every day of that month.
    return wq.TermRange("date", node.start, (node.end + "\uffff") if node.end else None)
