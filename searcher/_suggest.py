"""'Did you mean': corrections drawn from the index's own vocabulary."""

from __future__ import annotations

from typing import Any

from analyzers import VietnameseAnalyzer, fold, has_accents


class Suggester:
    """Restores accents and fixes one-letter typos using the words the index holds.

    Accents are restored word by word: the longest run of query syllables whose folded form is
    the folded form of an indexed word (``bac son`` -> ``bắc_sơn``) wins, the most frequent
    spelling first. A syllable the index does not know is replaced by the most frequent known
    syllable one edit away.
    """

    def __init__(self, reader: Any, analyzer: VietnameseAnalyzer) -> None:
        self.reader = reader
        self.analyzer = analyzer
        self._folded_words: dict[str, tuple[int, str]] | None = None

    def _folded_map(self) -> dict[str, tuple[int, str]]:
        if self._folded_words is None:
            best: dict[str, tuple[int, str]] = {}
            for fieldname in ("title", "text"):
                if fieldname not in self.reader.schema:
                    continue
                for term, info in self.reader.iter_field(fieldname):
                    word = term.decode("utf-8") if isinstance(term, bytes) else term
                    key = fold(word)
                    freq = info.doc_frequency()
                    if key not in best or best[key][0] < freq:
                        best[key] = (freq, word)
            self._folded_words = best
        return self._folded_words

    def _known(self, syllable: str) -> bool:
        """Indexed as typed: accented syllables in ``syl``, unaccented ones in ``fold``."""
        if has_accents(syllable):
            return self.reader.doc_frequency("syl", syllable) > 0
        return self.reader.doc_frequency("fold", syllable) > 0

    def _candidates(self, syllable: str) -> list[str]:
        """The syllable itself if the index knows it, else known syllables one edit away."""
        if self._known(syllable) or not syllable.isalpha():
            return [syllable]
        field = "syl" if has_accents(syllable) else "fold"
        found = {c.decode("utf-8") if isinstance(c, bytes) else c
                 for c in self.reader.terms_within(field, syllable, 1)}
        ranked = sorted(found, key=lambda c: -self.reader.doc_frequency(field, c))[:6]
        return ranked or [syllable]

    def _word_freq(self, syllables: tuple[str, ...]) -> int:
        """How many documents hold these syllables as one word (accented or, folded, restored)."""
        word = "_".join(syllables)
        if all(has_accents(x) or self._known(x) and self.reader.doc_frequency("syl", x) for x in syllables):
            exact = self.reader.doc_frequency("text", word) + self.reader.doc_frequency("title", word)
            if exact:
                return exact
        found = self._folded_map().get(fold(word))
        return found[0] if found else 0

    def suggest(self, query: str) -> str | None:
        """A better spelling of ``query``, or None when the index knows nothing better."""
        from itertools import product

        typed = [t.text for t in self.analyzer.analyze(query).syllables]
        if not typed:
            return None
        cands = [self._candidates(x) for x in typed]
        folded_words = self._folded_map()
        out: list[str] = []
        i = 0
        while i < len(typed):
            for n in (4, 3, 2):
                if i + n > len(typed):
                    continue
                best = max(((self._word_freq(c), c) for c in product(*cands[i:i + n])), default=(0, ()))
                if best[0] > 0:
                    key = fold("_".join(best[1]))
                    # Unaccented parts take the index's most frequent accented spelling.
                    restored = folded_words[key][1].split("_") if key in folded_words else list(best[1])
                    out.extend(b if has_accents(b) else r for b, r in zip(best[1], restored))
                    i += n
                    break
            else:
                single = cands[i][0]
                if not has_accents(single):
                    single = folded_words.get(fold(single), (0, single))[1].split("_")[0]
                out.append(single)
                i += 1
        suggestion = " ".join(out)
        return suggestion if suggestion != " ".join(typed) else None
