"""Synonym replacement from WordNet: properties on sample sentences, seeding, the missing-WordNet
error, and the offline set-up's lexnames derivation.

Tests that read WordNet need it installed (``make wordnet``); outside CI they are skipped
with the how-to message when it is missing, in CI (``$CI`` set) they fail.
"""

import os
import re

import pytest
import torch

from initreg.errors import DataError
from initreg.regularize.text import (
    STOPWORDS,
    WORD_RE,
    SynonymReplacer,
    load_wordnet,
    synonym_replace,
    synonyms,
)
from initreg.tools.wordnet import HOW_TO, lexnames_text, setup_wordnet


@pytest.fixture(scope="module")
def wn():
    try:
        return load_wordnet()
    except DataError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))


def g(seed=0):
    return torch.Generator().manual_seed(seed)


SENTENCE = "The QUICK brown fox, well-known for speed, doesn't jump over 3 lazy dogs! Good movie; bad film."


def _skeleton(text):
    """Separators between words, and the words."""
    return WORD_RE.split(text), WORD_RE.findall(text)


def test_reads_wordnet_30(wn):
    assert len(wn.synsets("good")) == 27
    assert "film" in synonyms("movie", wordnet=wn)


def test_synonyms_never_the_word_or_its_base_form(wn):
    for w in ("dogs", "good", "running", "movie", "geese"):
        syn = synonyms(w, wordnet=wn)
        assert syn and syn == sorted(syn)
        assert w not in [s.lower() for s in syn]
    assert "dog" not in [s.lower() for s in synonyms("dogs", wordnet=wn)]
    assert "goose" not in [s.lower() for s in synonyms("geese", wordnet=wn)]
    assert synonyms("xyzzyq", wordnet=wn) == []


def test_p_zero_is_identity_and_p_one_replaces_every_eligible_word(wn):
    assert synonym_replace(SENTENCE, 0.0, generator=g(), wordnet=wn) == SENTENCE
    out = synonym_replace(SENTENCE, 1.0, generator=g(), wordnet=wn)
    seps, words = _skeleton(SENTENCE)
    # Punctuation, digits and spacing are kept: the output is sep0 w0' sep1 w1' ... with the same separators.
    pattern = "".join(re.escape(s) + ("(.+?)" if i < len(words) else "") for i, s in enumerate(seps))
    m = re.fullmatch(pattern, out)
    assert m, out
    for w, new in zip(words, m.groups()):
        eligible = w.lower() not in STOPWORDS and synonyms(w, wordnet=wn)
        if eligible:
            assert new.lower() != w.lower() and new.lower() in [s.lower() for s in synonyms(w, wordnet=wn)]
        else:
            assert new == w  # stopwords, "doesn't", words without synonyms stay


def test_casing_follows_the_original(wn):
    upper = synonym_replace("GOOD", 1.0, generator=g(3), wordnet=wn)
    title = synonym_replace("Good", 1.0, generator=g(3), wordnet=wn)
    lower = synonym_replace("good", 1.0, generator=g(3), wordnet=wn)
    assert upper == upper.upper() and lower == lower.lower()
    assert title[0].isupper() and title[1:] == lower[1:]
    assert upper.lower() == title.lower() == lower != "good"  # same draws, same synonym; only the casing differs


def test_seeded_and_rate_p(wn):
    a = synonym_replace(SENTENCE, 0.5, generator=g(1), wordnet=wn)
    assert a == synonym_replace(SENTENCE, 0.5, generator=g(1), wordnet=wn)
    outs = {synonym_replace(SENTENCE, 0.5, generator=g(s), wordnet=wn) for s in range(5)}
    assert len(outs) > 1
    # Each eligible word is replaced independently with probability p: 2000 words, 4 binomial standard errors.
    n, p = 2000, 0.3
    items = synonym_replace(", ".join(["good"] * n), p, generator=g(7), wordnet=wn).split(", ")
    assert len(items) == n
    share = sum(x != "good" for x in items) / n
    assert abs(share - p) < 4 * (p * (1 - p) / n) ** 0.5


def test_replacer_object_and_corpus(wn):
    sr = SynonymReplacer(p=1.0)
    assert sr.get_config() == {"name": "synonym_replace", "p": 1.0, "keep_stopwords": False, "wordnet_paths": None}
    outs = sr.augment(["good movie", "bad film"], copies=2, generator=g())
    assert len(outs) == 4 and all(o != t for o, t in zip(outs, ["good movie"] * 2 + ["bad film"] * 2))
    with pytest.raises(DataError, match=r"p must be a probability in \[0, 1\]; got p=1.5"):
        SynonymReplacer(p=1.5)


def test_missing_wordnet_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="no WordNet under corpora/wordnet in any of: .*apt-get install "
                                        "--no-install-recommends wordnet-base wordnet-sense-index"):
        load_wordnet([str(tmp_path)])
    with pytest.raises(DataError, match=r"python -m nltk.downloader wordnet"):
        SynonymReplacer(wordnet_paths=[str(tmp_path)])("good movie")


def test_setup_without_debian_files_explains(tmp_path, monkeypatch):
    import initreg.tools.wordnet as ws

    monkeypatch.setattr(ws, "_nltk_wordnet", lambda: None)  # as on a machine with no WordNet at all
    empty = tmp_path / "src"
    empty.mkdir()
    with pytest.raises(RuntimeError, match="lacks index.noun.*" + re.escape(HOW_TO[:40])):
        setup_wordnet(tmp_path / "dest", source=empty, install=False, log=lambda m: None)


def test_lexnames_derivation(tmp_path):
    import gzip

    builtin = lexnames_text(tmp_path / "missing.gz")
    lines = builtin.splitlines()
    assert len(lines) == 45 and lines[3] == "03\tnoun.Tops\t1" and lines[44] == "44\tadj.ppl\t3"
    assert all(re.fullmatch(r"\d\d\t[a-z]+\.[A-Za-z]+\t[1-4]", x) for x in lines)
    page = tmp_path / "lexnames.5WN.gz"  # a man page whose table lists two files
    page.write_bytes(gzip.compress(b".TS\n00\tadj.all\tall adjective clusters\n01\tnoun.person  \tpeople\n.TE\n"))
    assert lexnames_text(page) == "00\tadj.all\t3\n01\tnoun.person\t1\n"
