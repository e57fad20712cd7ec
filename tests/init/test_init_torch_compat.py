"""`initreg.init` as a drop-in for `torch.nn.init`: the same calls (positional and keyword)
give the same tensor bit for bit under the same generator, the same errors (ValueError) and
warnings; initreg's extras are keyword-only."""

import inspect
import math
import warnings

import pytest
import torch

import initreg.init as ours
from initreg.errors import ConfigError

TORCH_FUNCTIONS = ["uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
                   "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"]

# (function, shape, positional args after the tensor, keyword args)
CASES = [
    ("uniform_", (30, 20), (), {}),
    ("uniform_", (7,), (-2.0, 3.0), {}),
    ("uniform_", (4, 5, 6), (), {"a": -0.1, "b": 0.1}),
    ("normal_", (30, 20), (), {}),
    ("normal_", (9,), (1.0, 0.5), {}),
    ("normal_", (3, 4, 5), (), {"std": 0.02}),
    ("trunc_normal_", (50, 40), (), {}),
    ("trunc_normal_", (200,), (0.0, 1.0, -0.5, 0.5), {}),
    ("trunc_normal_", (20, 30), (), {"mean": 1.0, "std": 0.1, "a": 0.9, "b": 1.5}),
    ("trunc_normal_", (1000,), (0.0, 1.0, 2.0, 3.0), {}),  # narrow interval in the tail
    ("constant_", (3, 4), (0.3,), {}),
    ("constant_", (5,), (), {"val": -2}),
    ("ones_", (3, 4), (), {}),
    ("zeros_", (2, 2, 3), (), {}),
    ("eye_", (4, 6), (), {}),
    ("eye_", (6, 4), (), {}),
    ("dirac_", (6, 3, 3), (), {}),
    ("dirac_", (6, 4, 3, 3), (2,), {}),
    ("dirac_", (9, 3, 3, 3, 3), (), {"groups": 3}),
    ("xavier_uniform_", (30, 20), (), {}),
    ("xavier_uniform_", (8, 4, 3, 3), (1.7,), {}),
    ("xavier_normal_", (30, 20), (), {}),
    ("xavier_normal_", (16, 8, 5), (), {"gain": 0.5}),
    ("kaiming_uniform_", (30, 20), (), {}),
    ("kaiming_uniform_", (30, 20), (math.sqrt(5),), {}),  # nn.Linear's own init
    ("kaiming_uniform_", (8, 4, 3, 3), (0.2, "fan_out"), {}),
    ("kaiming_uniform_", (30, 20), (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", (30, 20), (), {}),
    ("kaiming_normal_", (30, 20), (0, "fan_in", "relu"), {}),  # the call from the bug report
    ("kaiming_normal_", (30, 20), (), {"a": 0, "nonlinearity": "relu"}),
    ("kaiming_normal_", (16, 8, 5), (0.1,), {"mode": "fan_out"}),
    ("kaiming_normal_", (30, 20), (), {"nonlinearity": "tanh"}),
    ("kaiming_normal_", (30, 20), (), {"nonlinearity": "selu"}),
    ("kaiming_normal_", (30, 20), (), {"nonlinearity": "conv2d", "mode": "fan_out"}),
    ("orthogonal_", (20, 30), (), {}),
    ("orthogonal_", (30, 20), (1.5,), {}),  # differed before: computed in float64
    ("orthogonal_", (8, 4, 3, 3), (), {"gain": 2.0}),
    ("orthogonal_", (10, 10), (-1.0,), {}),
    ("sparse_", (30, 20), (0.1,), {}),
    ("sparse_", (12, 5), (), {"sparsity": 0.5, "std": 0.2}),
]


def _ids(case):
    fn, shape, args, kwargs = case
    return f"{fn}{shape}{args}{sorted(kwargs.items())}"


def _run(module, fn, shape, args, kwargs, *, seed=None, generator_positional=False, dtype=torch.float32):
    t = torch.full(shape, float("nan"), dtype=dtype)
    f = getattr(module, fn)
    takes_generator = "generator" in inspect.signature(getattr(torch.nn.init, fn)).parameters
    if seed is not None and takes_generator:
        g = torch.Generator().manual_seed(seed)
        if generator_positional:
            n_before = list(inspect.signature(getattr(torch.nn.init, fn)).parameters).index("generator") - 1
            defaults = [p.default for p in inspect.signature(getattr(torch.nn.init, fn)).parameters.values()][1:]
            full = list(args) + defaults[len(args):n_before]
            return f(t, *full, g, **kwargs)
        return f(t, *args, **kwargs, generator=g)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234 if seed is None else seed)
        return f(t, *args, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_bit_for_bit_with_torch_under_the_same_generator(case):
    fn, shape, args, kwargs = case
    for seed in (0, 7):
        a = _run(ours, fn, shape, args, kwargs, seed=seed)
        b = _run(torch.nn.init, fn, shape, args, kwargs, seed=seed)
        if fn == "sparse_":  # torch draws the zero positions from the global RNG: values agree where both are set
            both = (a != 0) & (b != 0)
            assert torch.equal(a[both], b[both]) and both.sum() > 0
            assert torch.equal((a == 0).sum(0), (b == 0).sum(0))
        else:
            assert torch.equal(a, b), (fn, seed)
    # generator=None: both draw from the global RNG (sparse_ included)
    assert torch.equal(_run(ours, fn, shape, args, kwargs), _run(torch.nn.init, fn, shape, args, kwargs))


@pytest.mark.parametrize("fn", ["uniform_", "normal_", "trunc_normal_", "xavier_normal_", "kaiming_uniform_",
                                "orthogonal_"])
def test_generator_as_a_positional_argument_and_float64(fn):
    case = next(c for c in CASES if c[0] == fn)
    _, shape, args, kwargs = case
    for dtype in (torch.float32, torch.float64):
        a = _run(ours, fn, shape, args, kwargs, seed=3, generator_positional=True, dtype=dtype)
        b = _run(torch.nn.init, fn, shape, args, kwargs, seed=3, generator_positional=True, dtype=dtype)
        assert a.dtype == dtype and torch.equal(a, b)


def test_sparse_is_reproducible_from_its_generator_alone():
    a = ours.sparse_(torch.empty(20, 6), 0.3, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(99)  # the global RNG does not matter
    b = ours.sparse_(torch.empty(20, 6), 0.3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert ((a == 0).sum(0) == math.ceil(0.3 * 20)).all()


def test_same_signature_as_torch_with_extras_keyword_only():
    for name in TORCH_FUNCTIONS:
        theirs = list(inspect.signature(getattr(torch.nn.init, name)).parameters.values())
        mine = list(inspect.signature(getattr(ours, name)).parameters.values())
        assert [p.name for p in mine[:len(theirs)]] == [p.name for p in theirs], name
        for p, q in zip(mine, theirs):
            assert p.kind == q.kind, (name, p.name)
            if q.default is not inspect.Parameter.empty:
                assert p.default == q.default, (name, p.name)
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in mine[len(theirs):]), name


def test_in_place_returns_the_tensor_and_keeps_autograd_clean():
    for fn, shape, args, kwargs in CASES:
        w = torch.nn.Parameter(torch.empty(shape))
        out = getattr(ours, fn)(w, *args, **kwargs)
        assert out is w and w.requires_grad and w.grad_fn is None, fn


def test_calculate_gain_is_torchs():
    for name in ours.TORCH_NONLINEARITIES:
        assert ours.calculate_gain(name) == torch.nn.init.calculate_gain(name)
        assert type(ours.calculate_gain(name)) is type(torch.nn.init.calculate_gain(name))
    for param in (None, 0, 0.01, 0.2, 10, 3):
        assert ours.calculate_gain("leaky_relu", param) == torch.nn.init.calculate_gain("leaky_relu", param)
    assert ours.calculate_gain("tanh") == 5 / 3 and ours.calculate_gain("selu") == 0.75
    assert ours.calculate_gain("sigmoid") == 1
    assert ours.gain("tanh") != ours.calculate_gain("tanh")  # the computed gain stays under gain()


def test_calculate_gain_errors_are_value_errors_naming_the_value():
    for bad in ("identity", "gelu", "Relu", ""):
        with pytest.raises(ValueError):
            torch.nn.init.calculate_gain(bad)
        with pytest.raises(ConfigError, match=rf"unsupported nonlinearity '{bad}'; torch's gains exist for linear.*selu"):
            ours.calculate_gain(bad)
    for bad in (True, [1], {"a": "b"}, "0.1"):
        with pytest.raises(ValueError):
            torch.nn.init.calculate_gain("leaky_relu", bad)
        with pytest.raises(ConfigError, match=r"param \(the negative slope of leaky_relu\) must be a number; got param="):
            ours.calculate_gain("leaky_relu", bad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warnings, as torch
        ours.calculate_gain("relu")


@pytest.mark.parametrize("fn,shape,args,match", [
    ("eye_", (3,), (), r"eye_: needs a 2-D tensor \(out, in\); got a tensor of shape \(3,\)"),
    ("eye_", (2, 3, 4), (), r"eye_: needs a 2-D tensor"),
    ("dirac_", (3, 3), (), r"dirac_: needs a conv weight with 3, 4 or 5 dimensions .*shape \(3, 3\)"),
    ("dirac_", (5, 2, 3), (2,), r"dim 0 of the weight \(5\) must be divisible by groups; got groups=2"),
    ("sparse_", (3, 4, 5), (0.1,), r"sparse_: needs a 2-D tensor; got a tensor of shape \(3, 4, 5\)"),
    ("sparse_", (4, 5), (1.5,), r"sparse_: sparsity must be in \[0, 1\].*got sparsity=1.5"),
    ("xavier_uniform_", (5,), (), r"at least 2 dimensions.*shape \(5,\)"),
    ("xavier_normal_", (), (), r"at least 2 dimensions.*shape \(\)"),
    ("kaiming_uniform_", (5,), (), r"at least 2 dimensions.*shape \(5,\)"),
    ("kaiming_normal_", (3, 3), (0, "fan_on"), r"kaiming_normal_: mode must be one of fan_in, fan_out, fan_avg; "
                                               r"got mode='fan_on'"),
    ("kaiming_normal_", (3, 3), (0, "fan_in", "gelu"), r"unsupported nonlinearity 'gelu'"),
    ("kaiming_normal_", (3, 3), (True,), r"param \(the negative slope of leaky_relu\) must be a number; got param=True"),
    ("orthogonal_", (5,), (), r"at least 2 dimensions.*shape \(5,\)"),
    ("normal_", (3,), (0.0, -1.0), r"normal_: std must be >= 0 and finite; got std=-1.0"),
    ("uniform_", (3,), (1.0, 0.0), r"uniform_: need a <= b; got a=1.0, b=0.0"),
    ("trunc_normal_", (3,), (0.0, 0.0), r"trunc_normal_: std must be > 0 and finite; got std=0.0"),
    ("trunc_normal_", (3,), (0.0, 1.0, 1.0, -1.0), r"trunc_normal_: need a <= b; got a=1.0, b=-1.0"),
    ("xavier_normal_", (3, 3), (float("nan"),), r"xavier_normal_: gain must be >= 0 and finite; got gain=nan"),
])
def test_errors_are_value_errors_that_name_the_argument(fn, shape, args, match):
    with pytest.raises(ConfigError, match=match):
        getattr(ours, fn)(torch.empty(shape), *args)
    # torch refuses the same calls (ValueError, RuntimeError, ZeroDivisionError), except two that it turns into
    # a tensor of NaN or of zeros and initreg refuses (documented): a NaN gain, sparsity > 1
    if "nan" not in match and "sparsity=" not in match:
        with pytest.raises((ValueError, RuntimeError, ZeroDivisionError)):
            getattr(torch.nn.init, fn)(torch.empty(shape), *args)
    assert issubclass(ConfigError, ValueError)


def test_zero_element_warning_as_torch():
    for fn in ("kaiming_uniform_", "kaiming_normal_"):
        for shape in ((0, 1), (0,), (3, 0, 2)):
            w = torch.empty(shape)
            with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
                assert getattr(ours, fn)(w) is w
            with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
                getattr(torch.nn.init, fn)(torch.empty(shape))
    for fn in ("xavier_normal_", "orthogonal_", "normal_", "uniform_"):  # torch does not warn for these
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            getattr(ours, fn)(torch.empty(0, 3))


def test_trunc_normal_warning_as_torch():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        ours.trunc_normal_(torch.empty(10), mean=5.0, std=1.0, a=-1.0, b=1.0)


def test_deprecated_names_without_underscore_warn_like_torch():
    x = torch.randn(3, 3)
    with pytest.warns(FutureWarning, match=r"`initreg.init.normal` is deprecated in favor of `initreg.init.normal_`"):
        ours.normal(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, torch.nn.init.normal_(torch.empty(3, 3), generator=torch.Generator().manual_seed(0)))
    with pytest.raises(AttributeError, match="no attribute 'ones'"):
        ours.ones  # noqa: B018 (torch has no deprecated ones either)


def test_initreg_extras():
    w = torch.empty(200, 300)
    # activation=: the gain computed for any activation; for ReLU equal to torch's exact value
    a = ours.kaiming_normal_(w.clone(), activation="relu", generator=torch.Generator().manual_seed(0))
    b = torch.nn.init.kaiming_normal_(w.clone(), nonlinearity="relu", generator=torch.Generator().manual_seed(0))
    assert torch.allclose(a, b, rtol=1e-6)
    a = ours.xavier_normal_(w.clone(), activation="tanh", generator=torch.Generator().manual_seed(0))
    b = torch.nn.init.xavier_normal_(w.clone(), ours.gain("tanh"), generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    a = ours.kaiming_normal_(w.clone(), mode="fan_out", activation="tanh", generator=torch.Generator().manual_seed(0))
    assert float(a.std()) * math.sqrt(200) == pytest.approx(ours.gain("tanh", mode="backward"), rel=0.02)
    a = ours.kaiming_uniform_(w.clone(), gain=0.5, generator=torch.Generator().manual_seed(0))
    assert float(a.abs().max()) <= 0.5 * math.sqrt(3 / 300)
    a = ours.kaiming_normal_(w.clone(), mode="fan_avg", generator=torch.Generator().manual_seed(0))
    assert float(a.std()) == pytest.approx(math.sqrt(2 / 250), rel=0.02)
    with pytest.raises(ConfigError, match=r"kaiming_normal_: a= and nonlinearity= choose torch's gain, activation=/gain= "
                                          r"set it directly: give one or the other; got a=0, nonlinearity='relu'"):
        ours.kaiming_normal_(w, nonlinearity="relu", activation="tanh")
    with pytest.raises(ConfigError, match=r"give activation= \(a computed gain\) or gain= \(a number\), not both"):
        ours.kaiming_normal_(w, activation="tanh", gain=2.0)
    with pytest.raises(ConfigError, match=r"xavier_normal_: give gain= \(a number\) or activation= .*not both; got gain=2"):
        ours.xavier_normal_(w, 2, activation="tanh")
    with pytest.raises(TypeError):  # extras are keyword-only: a 6th positional argument is refused, as by torch
        ours.kaiming_normal_(w, 0, "fan_in", "relu", None, "tanh")
