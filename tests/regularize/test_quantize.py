"""Quantization: known values of each format, round-trip error within each format's bound,
per-channel vs per-tensor scales, the straight-through gradient, QAT, sizes, int8 inference,
errors for unknown formats."""

from __future__ import annotations

import copy
import importlib.util

import pytest
import torch
from torch import nn

from initreg.errors import ConfigError
from initreg.regularize import build_regularizers
from initreg.regularize.quantize import (
    QAT,
    fake_quantize,
    finish_qat_,
    get_format,
    int8_inference,
    measure_int8,
    model_sqnr,
    prepare_qat_,
    quant_formats,
    quantize_tensor,
    quantize_weights_,
    round_fp4_e2m1,
    sqnr_db,
    weight_bytes,
)

ALL = ["fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "int8", "int4"]


def test_registry_lists_every_format():
    assert quant_formats.names() == sorted(ALL)
    assert {f: get_format(f).bits for f in ALL} == {"fp16": 16, "bf16": 16, "fp8_e4m3": 8, "fp8_e5m2": 8,
                                                    "fp4_e2m1": 4, "int8": 8, "int4": 4}


def test_known_values():
    none = {"granularity": "none"}
    # largest finite values, and saturation above them
    assert quantize_tensor(torch.tensor([448.0, 1e4]), "fp8_e4m3", **none).tolist() == [448.0, 448.0]
    assert quantize_tensor(torch.tensor([57344.0, 1e6]), "fp8_e5m2", **none).tolist() == [57344.0, 57344.0]
    assert quantize_tensor(torch.tensor([6.0, 7.0]), "fp4_e2m1", **none).tolist() == [6.0, 6.0]
    assert quantize_tensor(torch.tensor([65504.0]), "fp16").tolist() == [65504.0]
    # spacing just above 1: 2^-mantissa_bits
    for f, m in (("fp16", 10), ("bf16", 7), ("fp8_e4m3", 3), ("fp8_e5m2", 2), ("fp4_e2m1", 1)):
        up = 1 + 2.0 ** -m
        assert quantize_tensor(torch.tensor([up]), f, **none).item() == up
        assert quantize_tensor(torch.tensor([1 + 0.4 * 2.0 ** -m]), f, **none).item() == 1.0
    # the smallest e4m3 subnormal is 2^-9; e5m2's is 2^-16
    assert quantize_tensor(torch.tensor([2.0 ** -9]), "fp8_e4m3", **none).item() == 2.0 ** -9
    assert quantize_tensor(torch.tensor([2.0 ** -16]), "fp8_e5m2", **none).item() == 2.0 ** -16
    # the e2m1 grid, and ties to even
    grid = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
    assert round_fp4_e2m1(torch.tensor(grid)).tolist() == grid
    assert round_fp4_e2m1(torch.tensor([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0])).tolist() == [0, 1, 1, 2, 2, 4, 4]
    assert round_fp4_e2m1(torch.tensor([-2.6, -0.0])).tolist() == [-3.0, 0.0]
    # symmetric ints: the largest magnitude maps to ±qmax, the grid is absmax / qmax
    w = torch.tensor([[-2.0, 1.1, 0.3]])
    assert (quantize_tensor(w, "int8") * 127 / 2).round().tolist() == [[-127, 70, 19]]
    assert (quantize_tensor(w, "int4") * 7 / 2).round().tolist() == [[-7, 4, 1]]


@pytest.mark.skipif(importlib.util.find_spec("torchao") is None, reason="torchao not installed")
def test_fp4_agrees_with_torchao():
    from torchao.prototype.mx_formats.kernels import f4_unpacked_to_f32, f32_to_f4_unpacked

    x = torch.linspace(-7, 7, 2801)
    assert torch.equal(round_fp4_e2m1(x), f4_unpacked_to_f32(f32_to_f4_unpacked(x)))


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("gran", ["per_channel", "per_tensor"])
def test_round_trip_error_within_bound(f, gran):
    # bound on |x - q(x)| for values inside the range:
    #   ints: half a step, s/2 with s = absmax/qmax;
    #   floats: half an ulp, |x|·2^-(m+1) for normal numbers, plus half the subnormal spacing.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 50, generator=g) * torch.logspace(-2, 1, 16).unsqueeze(1)
    q = quantize_tensor(x, f, granularity=gran)
    fmt = get_format(f)
    amax = x.abs().amax(dim=1, keepdim=True) if gran == "per_channel" else x.abs().max()
    s = amax / fmt.qmax if fmt.scaled else torch.tensor(1.0)
    err = (x - q).abs()
    if f in ("int8", "int4"):
        bound = s / 2
    else:
        mbits = {"fp16": 10, "bf16": 7, "fp8_e4m3": 3, "fp8_e5m2": 2, "fp4_e2m1": 1}[f]
        min_normal = {"fp16": 2.0 ** -14, "bf16": 2.0 ** -126, "fp8_e4m3": 2.0 ** -6, "fp8_e5m2": 2.0 ** -14,
                      "fp4_e2m1": 1.0}[f]
        bound = x.abs() * 2.0 ** -(mbits + 1) + s * min_normal * 2.0 ** -(mbits + 1)
    assert (err <= bound * (1 + 1e-5) + 1e-12).all()
    if fmt.scaled:  # absmax maps onto the format's largest value: no overshoot
        qa = q.abs().amax(dim=1, keepdim=True) if gran == "per_channel" else q.abs().max()
        assert (qa <= amax * (1 + 1e-6)).all()
    assert torch.allclose(quantize_tensor(q, f, granularity=gran), q, rtol=1e-6, atol=0)  # idempotent


def test_per_channel_beats_per_tensor_on_uneven_rows():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 64, generator=g) * torch.logspace(-3, 0, 8).unsqueeze(1)
    for f in ("int8", "int4", "fp4_e2m1"):  # the smallest row: its own scale vs the largest row's
        pc, pt = quantize_tensor(x, f, granularity="per_channel"), quantize_tensor(x, f, granularity="per_tensor")
        assert sqnr_db(x[0], pc[0]) > sqnr_db(x[0], pt[0]) + 10
        assert sqnr_db(x, pc) >= sqnr_db(x, pt) - 0.5
    z = torch.zeros(3, 4)
    assert quantize_tensor(z, "int8").equal(z)  # an all-zero channel stays zero, no NaN
    assert quantize_tensor(torch.empty(0, 3), "int4").shape == (0, 3)


def test_sqnr_ranks_formats_by_bits():
    x = torch.randn(64, 256, generator=torch.Generator().manual_seed(0))
    order = ["fp16", "bf16", "int8", "fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "int4"]
    vals = [sqnr_db(x, quantize_tensor(x, f)) for f in order]
    assert vals == sorted(vals, reverse=True)
    # int8 on a Gaussian: step s = 3.5σ/127 or so -> noise s²/12; about 6 dB per bit
    assert 35 < vals[2] < 45
    assert sqnr_db(x, x) == float("inf")


def test_fake_quantize_straight_through_gradient():
    x = torch.randn(4, 9, requires_grad=True)
    up = torch.randn(4, 9)
    y = fake_quantize(x, "int4")
    assert torch.equal(y.detach(), quantize_tensor(x.detach(), "int4"))
    (y * up).sum().backward()
    assert torch.equal(x.grad, up)  # identity in the backward pass
    x2 = x.detach().clone().requires_grad_(True)
    (quantize_tensor(x2, "int4") * up).sum().backward()
    assert x2.grad.abs().max() < x.grad.abs().max()  # without STE the rounding kills (most of) the gradient


def test_weight_quantization_and_size():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(100, 64), nn.ReLU(), nn.Linear(64, 10))
    b0 = m[0].bias.detach().clone()
    q = quantize_weights_(copy.deepcopy(m), "int4")
    assert torch.equal(q[0].bias, b0)  # biases stay fp32
    assert q[0].weight.unique().numel() <= 64 * 15
    fp32 = weight_bytes(m)
    assert fp32 == 4 * sum(p.numel() for p in m.parameters())
    w = 100 * 64 + 64 * 10
    assert weight_bytes(m, "int4") == w // 2 + 4 * (64 + 10) + 4 * (64 + 10)  # packed weights + scales + biases
    assert weight_bytes(m, "fp16") == 2 * w + 4 * 74
    assert model_sqnr(m, "fp16") > model_sqnr(m, "int8") > model_sqnr(m, "int4")


def test_qat_trains_through_fake_quant_and_leaves_quantized_weights():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(m.parameters(), lr=0.1)  # built before QAT: the parameters are kept
    prepare_qat_(m, "int4")
    x, y = torch.randn(64, 8), torch.randint(0, 3, (64,))
    w_before = m[0].parametrizations.weight.original.detach().clone()
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    assert not torch.equal(w_before, m[0].parametrizations.weight.original)
    assert torch.equal(m[0].weight, quantize_tensor(m[0].parametrizations.weight.original, "int4"))
    finish_qat_(m)
    assert isinstance(m[0].weight, nn.Parameter)
    assert torch.equal(quantize_tensor(m[0].weight.detach(), "int4"), m[0].weight.detach())


def test_qat_callback_in_fit():
    from initreg.data import load_data
    from initreg.models import build_model
    from initreg.train import fit

    d = load_data({"name": "digits", "train_size": 200})
    (cb,) = build_regularizers([{"name": "qat", "format": "int4"}])
    assert isinstance(cb, QAT)
    m = build_model({"name": "mlp", "depth": 1, "width": 16}, d.input_shape, 10, seed=0)
    w0 = m[1].weight.detach().clone()
    fit(m, d, {"epochs": 2, "progress": "none"}, callbacks=[cb])
    w = m[1].weight.detach()
    assert not torch.equal(w, w0)
    assert torch.equal(quantize_tensor(w, "int4"), w)  # the saved weights are on the int4 grid


@pytest.mark.parametrize("backend", ["dynamic"] + (["torchao"] if importlib.util.find_spec("torchao") else []))
def test_int8_inference(backend):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10))
    x = torch.randn(300, 64)
    qm, used = int8_inference(m, backend=backend)
    assert used == backend
    assert torch.allclose(qm(x), m(x), atol=0.05)
    r = measure_int8(m, x, m(x).argmax(1), repeats=2, backend=backend)
    assert r["agreement"] > 0.97 and r["acc_fp32"] == 1.0
    assert 3.0 < r["size_ratio"] < 4.2  # int8 weights: ~4x smaller file, minus scales and pickling
    assert r["ms_fp32"] > 0 and r["ms_int8"] > 0


def test_errors():
    x = torch.randn(3, 3)
    with pytest.raises(ConfigError, match="unknown quantization format 'int3'.*; known: bf16, fp16, fp4_e2m1"):
        quantize_tensor(x, "int3")
    with pytest.raises(ConfigError, match="did you mean 'fp8_e4m3'"):
        quantize_tensor(x, "fp8_e4m")
    with pytest.raises(ConfigError, match="granularity must be one of per_channel, per_tensor, none; got granularity='row'"):
        quantize_tensor(x, "int8", granularity="row")
    with pytest.raises(ConfigError, match="unknown quantization format"):
        build_regularizers([{"name": "qat", "format": "int2"}])
    with pytest.raises(ConfigError, match="backend must be"):
        int8_inference(nn.Linear(2, 2), backend="tensorrt")


def test_c13_effects_per_seed():
    from initreg.lab.claims.c13_quantization import LOW, ORDER, effects

    def model(acc32, accs, flips, sqnr=None, ratio=2.0):
        fm = {f: {"acc": accs.get(f, acc32), "flip": flips.get(f, 0.0), "size_ratio": ratio,
                  "sqnr_db": (sqnr or {}).get(f, 80.0 - 8 * i)} for i, f in enumerate(ORDER)}
        return {"acc_fp32": acc32, "formats": fm}

    mlp = {**model(0.95, {"fp8_e5m2": 0.9405}, {"int8": 0.001, "fp4_e2m1": 0.006, "int4": 0.011}),
           "int8": {"acc_fp32": 0.95, "acc_int8": 0.9481, "size_ratio": 3.5}}
    conv = model(0.80, {"fp16": 0.804, "int8": 0.796}, {"int8": 0.01, "fp4_e2m1": 0.05, "int4": 0.07},
                 sqnr={"int8": 70.0, "fp8_e4m3": 50.0, "bf16": 45.0}, ratio=1.5)
    # conv: int8 above e4m3 is not judged (both 8 bits); bf16 below int8, e4m3 and e5m2: three violations
    reg = [{"fp32_train": 1.0, "fp32_test": 0.6, "qat_train": 0.9, "qat_test": 0.62}]
    e = effects([{"mlp": mlp, "conv": conv}], reg)
    assert e["mlp_keeps_accuracy"] == pytest.approx([1.0])  # e5m2 loses 1% of 95%: the worst safe format
    assert e["conv_keeps_accuracy"] == pytest.approx([0.5])  # int8's loss; fp16's gain does not offset it
    assert e["four_bit_changes_predictions"] == pytest.approx([0.5])  # MLP fp4 0.6% − MLP int8 0.1%
    assert e["more_so_for_small_conv"] == pytest.approx([100 * (0.06 - (0.006 + 0.011) / len(LOW))])
    assert e["sqnr_ranks_by_bits"] == [3.0]
    assert e["size_shrinks"] == [1.5]
    assert e["real_int8_keeps_accuracy"] == pytest.approx([100 * 0.0019 / 0.95])
    assert e["quantization_regularizes"] == pytest.approx([40.0 - 28.0])
