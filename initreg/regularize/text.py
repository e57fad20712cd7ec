"""Text augmentation: random synonym replacement from WordNet (read with NLTK's reader).

Paper: J. Wei, K. Zou, "EDA: Easy Data Augmentation Techniques for Boosting Performance on
Text Classification Tasks", EMNLP 2019 (synonym replacement is its first operation);
WordNet: G. A. Miller, "WordNet: A Lexical Database for English", CACM 1995.

Rule: each word that has a synonym is replaced, independently with probability ``p``, by
one of its synonyms drawn uniformly. A word's synonyms are the lemma names of all its
WordNet synsets (any part of speech, looked up through WordNet's morphology, so "dogs"
finds "dog"), underscores read as spaces, minus the word itself and its base forms
(never "the same word"). Words are runs of letters, with inner apostrophes or hyphens
("don't", "well-known"); everything else — punctuation, digits, spaces — is kept as it is.
Casing follows the original word: ``UPPER`` → ``UPPER``, ``Title`` → capitalized first letter,
``lower`` → WordNet's own spelling (lower case but for proper nouns). Common function words ("the", "is", "a"...: `STOPWORDS`) are left alone by
default, as EDA does: WordNet lists "a" as a vitamin and "is" as a form of "exist".

WordNet is looked up on ``nltk.data.path`` (NLTK's own ``wordnet`` data if installed; offline,
``make wordnet`` / ``python -m initreg.tools.wordnet`` puts Debian's WordNet
there); when none is found the error says how to get one.

>>> import torch
>>> sr = SynonymReplacer(p=1.0)                                      # doctest: +SKIP
>>> sr("The movie was good!", generator=torch.Generator().manual_seed(0))  # doctest: +SKIP
'The film was beneficial!'
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import torch

from ..errors import DataError
from ..tools.wordnet import HOW_TO

__all__ = ["load_wordnet", "synonyms", "synonym_replace", "SynonymReplacer", "STOPWORDS", "WORD_RE"]

WORD_RE = re.compile(r"[A-Za-z]+(?:['\-][A-Za-z]+)*")
STOPWORDS = frozenset("""
a an the and or but if then else of at by for with about against between into through during before after
above below to from up down in out on off over under again further once here there when where why how all any
both each few more most other some such no nor not only own same so than too very can will just should now
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself
it its itself they them their theirs themselves what which who whom this that these those am is are was were be
been being have has had having do does did doing would could might must shall may
""".split())


def _fast_reader_class(base):
    """NLTK's reader, 6× faster to load from a plain folder of (ASCII) WordNet 3.0 files.

    Two changes, same synsets: files are opened as plain text files rather than through
    NLTK's seekable stream reader (its per-line Python overhead dominates the load), and the
    WordNet-3.0-to-itself sense mapping (used only by the multilingual OMW functions, which
    need OMW data we do not load) is skipped instead of reading ``index.sense`` twice.
    """

    class _FastWordNetReader(base):
        def map_wn(self, version="wordnet"):
            return None

        def open(self, fileid):
            return open(os.path.join(str(self._root), fileid), encoding="utf8")  # noqa: SIM115 - NLTK closes it

    return _FastWordNetReader


@lru_cache(maxsize=8)
def _reader(paths: tuple[str, ...] | None):
    from ..utils.optional import require

    nltk = require("nltk", extra="text", feature="synonym replacement")
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    search = list(paths) if paths is not None else None
    try:
        root = nltk.data.find("corpora/wordnet", paths=search)
    except LookupError:
        where = ", ".join(search if search is not None else nltk.data.path)
        raise DataError(f"no WordNet under corpora/wordnet in any of: {where}. {HOW_TO}") from None
    if search is not None:  # NLTK's path sandbox reads only folders on nltk.data.path
        for p in search:
            if p not in nltk.data.path:
                nltk.data.path.append(p)
    cls = _fast_reader_class(WordNetCorpusReader) if os.path.isdir(str(root)) else WordNetCorpusReader
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The multilingual functions")
        try:
            return cls(root, None)
        except (OSError, LookupError) as e:
            raise DataError(f"WordNet in {root} is incomplete or unreadable ({e}). {HOW_TO}") from None


def load_wordnet(paths: Sequence[str] | None = None):
    """NLTK's WordNet reader, from ``paths`` (folders holding ``corpora/wordnet``) or ``nltk.data.path``.

    Raises `initreg.errors.DataError` saying how to get WordNet when none is found. Cached.
    """
    return _reader(tuple(str(p) for p in paths) if paths is not None else None)


def _base_forms(wn, word: str) -> set[str]:
    forms = {word}
    for pos in ("n", "v", "a", "r"):
        b = wn.morphy(word, pos)
        if b:
            forms.add(b.lower())
    return forms


def synonyms(word: str, *, wordnet=None) -> list[str]:
    """Sorted synonyms of ``word`` (lower-case lookup), never the word itself or its base forms.

    >>> "film" in synonyms("movie")  # doctest: +SKIP
    True
    """
    return list(_synonyms(word.lower(), wordnet if wordnet is not None else load_wordnet()))


def _synonyms(w: str, wn) -> tuple[str, ...]:
    cache = wn.__dict__.setdefault("_initreg_synonyms", {})  # per reader, so another WordNet never mixes in
    if w not in cache:
        same = _base_forms(wn, w)
        names = {lem.replace("_", " ") for s in wn.synsets(w) for lem in s.lemma_names()}
        cache[w] = tuple(sorted(n for n in names if n.lower() not in same))
    return cache[w]


def _match_case(src: str, repl: str) -> str:
    if src.isupper() and len(src) > 1:
        return repl.upper()
    if src[:1].isupper():
        return repl[:1].upper() + repl[1:]
    return repl  # as WordNet spells it (proper nouns keep their capitals)


def synonym_replace(text: str, p: float = 0.1, *, generator: torch.Generator | None = None, wordnet=None,
                    stopwords: frozenset[str] | set[str] = STOPWORDS) -> str:
    """Replace each word that has a synonym, with probability ``p``, by a random synonym.

    Draws one uniform number per eligible word (and one index per replaced word) from
    ``generator``, so a seeded generator gives the same output every time.
    """
    if not 0.0 <= p <= 1.0:
        raise DataError(f"p must be a probability in [0, 1]; got p={p}")
    wn = wordnet if wordnet is not None else load_wordnet()
    out, last = [], 0
    for m in WORD_RE.finditer(text):
        word = m.group(0)
        low = word.lower()
        cands = () if low in stopwords else _synonyms(low, wn)
        if cands and float(torch.rand((), generator=generator)) < p:
            pick = cands[int(torch.randint(len(cands), (1,), generator=generator))]
            out.append(text[last:m.start()])
            out.append(_match_case(word, pick))
            last = m.end()
    out.append(text[last:])
    return "".join(out)


class SynonymReplacer:
    """A configurable synonym-replacement transform: ``SynonymReplacer(p)(text, generator=g)``.

    Args:
        p: probability of replacing each word that has a synonym.
        keep_stopwords: also replace function words (off by default).
        wordnet_paths: folders holding ``corpora/wordnet`` (default: ``nltk.data.path``).
    """

    def __init__(self, p: float = 0.1, keep_stopwords: bool = False, wordnet_paths: list[str] | None = None):
        if not 0.0 <= p <= 1.0:
            raise DataError(f"p must be a probability in [0, 1]; got p={p}")
        self.p, self.keep_stopwords, self.wordnet_paths = p, keep_stopwords, wordnet_paths

    def get_config(self) -> dict[str, Any]:
        return {"name": "synonym_replace", "p": self.p, "keep_stopwords": self.keep_stopwords,
                "wordnet_paths": self.wordnet_paths}

    def __call__(self, text: str, *, generator: torch.Generator | None = None) -> str:
        return synonym_replace(text, self.p, generator=generator, wordnet=load_wordnet(self.wordnet_paths),
                               stopwords=frozenset() if self.keep_stopwords else STOPWORDS)

    def augment(self, texts: Sequence[str], copies: int = 1, *, generator: torch.Generator | None = None) -> list[str]:
        """``copies`` augmented versions of each text, in order (text 1 × copies, text 2 × copies, …)."""
        return [self(t, generator=generator) for t in texts for _ in range(copies)]
