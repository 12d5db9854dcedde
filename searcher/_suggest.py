"""'Did you mean': corrections drawn from the index's own vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from analyzers import VietnameseAnalyzer, accented_variants, fold, has_accents


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_VI_LETTERS = _LETTERS + "đàáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"


def _edits1(word: str, accented: bool) -> set[str]:
    """Spellings one deletion, transposition, substitution or insertion away from ``word``."""
    letters = _VI_LETTERS if accented else _LETTERS
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in letters}
    out |= {a + c + b for a, b in splits for c in letters}
    out.discard(word)
    return out


class Suggester:
    """Restores accents and fixes one-letter typos using the words the index holds.

    Accents are restored word by word: the longest run of query syllables whose folded form is
    the folded form of an indexed word (``bac son`` -> ``bắc_sơn``) wins, the most frequent
    spelling first. A syllable the index does not know is replaced by the most frequent known
    syllable one edit away.
    """

    def __init__(self, reader: Any, analyzer: VietnameseAnalyzer,
                 doc_frequency: Callable[[str, str], int] | None = None) -> None:
        self.reader = reader
        self.analyzer = analyzer
        # The searcher passes its evaluator's lookup, which shares a query's term entries
        # with the query's own evaluation.
        self._df = doc_frequency or reader.doc_frequency
        self._variants: dict[str, list[tuple[str, int]]] = {}
        self._words: dict[str, tuple[int, str] | None] = {}
        # An unaccented query is restored while it is compiled and suggested after it is run:
        # the same text twice, so keep the answer (bounded, one searcher's worth of queries).
        self._suggested: dict[str, str | None] = {}

    def _word_df(self, word: str) -> int:
        return int(self._df("text", word) + self._df("title", word))

    def _syllable_variants(self, folded: str) -> list[str]:
        """The accented spellings of a folded syllable that the index holds, most frequent first.

        Spellings are generated (a few dozen at most) and looked up, so nothing scans the
        vocabulary: a first unaccented query on a large index stays fast."""
        found = self._variants.get(folded)
        if found is None:
            scored = [(self._df("syl", v), v) for v in accented_variants(folded)]
            found = [(v, df) for df, v in sorted(scored, key=lambda x: (-x[0], x[1])) if df > 0][:6]
            self._variants[folded] = found
        return [v for v, _df in found]

    def _folded_word(self, key: str) -> tuple[int, str] | None:
        """The most frequent indexed word whose folded form is ``key`` (``bac_son``), with its
        document frequency, or None."""
        if key not in self._words:
            from itertools import islice, product

            parts = key.split("_")
            # Adjacent syllables of every document are indexed as folded pairs: with one pair
            # missing, no spelling of the word is in the index (one lookup, not up to 216).
            if any(self._df("pairs", f"{a}_{b}") == 0 for a, b in zip(parts, parts[1:])):
                self._words[key] = None
                return None
            for f in parts:
                self._syllable_variants(f)
            choices = [self._variants[f] for f in parts]
            # A word is in at most as many titles, and as many texts, as its rarest syllable:
            # try spellings from the largest such bound down and stop once no bound can beat
            # the best found. Ties go to the earlier spelling in product order, as when every
            # spelling was looked up.
            combos = [(2 * min(df for _v, df in combo), i, combo)
                      for i, combo in enumerate(islice(product(*choices), 216))]
            combos.sort(key=lambda c: (-c[0], c[1]))
            best: tuple[int, str] | None = None
            best_i = -1
            for bound, i, combo in combos:
                if best is not None and bound < best[0]:
                    break
                word = "_".join(v for v, _df in combo)
                df = self._word_df(word)
                if df and (best is None or df > best[0] or df == best[0] and i < best_i):
                    best, best_i = (df, word), i
            self._words[key] = best
        return self._words[key]

    def _known(self, syllable: str) -> bool:
        """Indexed as typed: accented syllables in ``syl``, unaccented ones in ``fold``."""
        if has_accents(syllable):
            return self._df("syl", syllable) > 0
        return self._df("fold", syllable) > 0

    def _candidates(self, syllable: str) -> list[str]:
        """The syllable itself if the index knows it, else known syllables one edit away."""
        if self._known(syllable) or not syllable.isalpha():
            return [syllable]
        field = "syl" if has_accents(syllable) else "fold"
        # Candidates are generated and looked up rather than found with terms_within(), which
        # walks the whole vocabulary (seconds on a large index).
        scored = ((self._df(field, c), c) for c in _edits1(syllable, field == "syl"))
        ranked = [c for df, c in sorted(scored, key=lambda x: (-x[0], x[1])) if df > 0][:6]
        return ranked or [syllable]

    def _may_change(self, syllable: str, restore: bool) -> bool:
        """Unknown to the index (a typo?), or typed without accents that it could carry."""
        if not self._known(syllable):
            return True
        return (restore and not has_accents(syllable) and syllable.isalpha()
                and len(accented_variants(syllable)) > 1)

    def _word_freq(self, syllables: tuple[str, ...]) -> int:
        """How many documents hold these syllables as one word (accented or, folded, restored)."""
        word = "_".join(syllables)
        if all(has_accents(x) or self._known(x) and self._df("syl", x) for x in syllables):
            exact = self._word_df(word)
            if exact:
                return exact
        found = self._folded_word(fold(word))
        return found[0] if found else 0

    def suggest(self, query: str) -> str | None:
        """A better spelling of ``query``, or None when the index knows nothing better."""
        if query not in self._suggested:
            if len(self._suggested) >= 1024:
                self._suggested.clear()
            self._suggested[query] = self._suggest(query)
        return self._suggested[query]

    def _suggest(self, query: str) -> str | None:
        from itertools import product

        typed = [t.text for t in self.analyzer.analyze(query).syllables]
        if not typed:
            return None
        # Only syllables typed without accents or unknown to the index can change; a query
        # without either costs a few lookups, not a search through word combinations.
        # In a query typed with accents, a syllable without marks is most likely meant so:
        # Vietnamese writes the level tone unmarked ("giành danh hiệu", "Phan Bội Châu").
        restore = not any(has_accents(x) for x in typed)
        open_ = [self._may_change(x, restore) for x in typed]
        if not any(open_):
            return None
        cands = [self._candidates(x) if o else [x] for x, o in zip(typed, open_)]
        out: list[str] = []
        i = 0
        while i < len(typed):
            for n in (3, 2):
                if i + n > len(typed) or not any(open_[i:i + n]):
                    continue
                best = max(((self._word_freq(c), c) for c in product(*cands[i:i + n])), default=(0, ()))
                if best[0] > 0:
                    found = self._folded_word(fold("_".join(best[1])))
                    # Unaccented parts take the index's most frequent accented spelling.
                    restored = found[1].split("_") if found else list(best[1])
                    out.extend(b if has_accents(b) else r for b, r in zip(best[1], restored))
                    i += n
                    break
            else:
                single = cands[i][0]
                if open_[i] and not has_accents(single):
                    found = self._folded_word(fold(single))
                    single = found[1] if found else single
                out.append(single)
                i += 1
        suggestion = " ".join(out)
        return suggestion if suggestion != " ".join(typed) else None
