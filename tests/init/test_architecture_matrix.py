"""`initialize(model, "auto")`, `Probe` and `initreg probe --module` on real third-party
architectures built from tiny configs (no weights downloaded): Hugging Face GPT-2, BERT and
ViT, ``nn.TransformerEncoder``, a ResNet-style net (residual adds, BatchNorm) and a conv net
with functional activations."""

from __future__ import annotations

import json
import math
import textwrap
import warnings

import pytest
import torch
import torch.nn.functional as F
import transformers
from torch import nn

from initreg.cli import main
from initreg.init import initialize
from initreg.init.gain import gain as activation_gain
from initreg.init.initialize import is_hf_conv1d, is_weighted, layer_weight
from initreg.probe import Probe, weight_layers


class _Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + x)


class ResNetStyle(nn.Module):
    def __init__(self, classes: int = 3):
        super().__init__()
        self.stem, self.bn, self.relu = nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        self.blocks = nn.Sequential(_Block(16), _Block(16))
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(16, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.blocks(self.relu(self.bn(self.stem(x))))), 1))


class FunctionalConv(nn.Module):
    def __init__(self, classes: int = 3):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 16, 3), nn.Conv2d(16, 32, 3)
        self.fc1, self.fc2 = nn.Linear(32 * 5 * 5, 64), nn.Linear(64, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = torch.tanh(self.c2(x)).flatten(1)
        return self.fc2(F.relu(self.fc1(x)))


class Encoder(nn.Module):
    def __init__(self, classes: int = 3):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        layer = nn.TransformerEncoderLayer(32, 2, 64, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm, self.head = nn.LayerNorm(32), nn.Linear(32, classes)

    def forward(self, x):
        return self.head(self.norm(self.enc(self.emb(x))).mean(1))


def _gpt2():
    cfg = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100, n_positions=32,
                                  bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(cfg)


def _bert():
    cfg = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=32, num_labels=3)
    return transformers.BertForSequenceClassification(cfg)


def _vit():
    cfg = transformers.ViTConfig(image_size=16, patch_size=4, hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=2, intermediate_size=64, num_labels=3)
    return transformers.ViTForImageClassification(cfg)


def _tokens(g):
    return torch.randint(0, 100, (8, 12), generator=g)


def _images(g):
    return torch.randn(8, 3, 16, 16, generator=g)


def _loss(out, y):  # a Hugging Face ModelOutput or a tensor of logits
    logits = out.logits if hasattr(out, "logits") else out
    if logits.ndim == 3:  # a language model: next-token loss on its own input is enough for a pass
        return logits.float().logsumexp(-1).mean()
    return F.cross_entropy(logits, y)


# name -> (model factory, input batch from a generator)
ARCHS = {
    "gpt2": (_gpt2, _tokens),
    "bert": (_bert, _tokens),
    "vit": (_vit, _images),
    "transformer_encoder": (Encoder, _tokens),
    "resnet_style": (ResNetStyle, _images),
    "functional_conv": (FunctionalConv, _images),
}


def _build(arch: str) -> nn.Module:
    torch.manual_seed(0)
    return ARCHS[arch][0]()


def _init(model):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = initialize(model, "auto", generator=torch.Generator().manual_seed(1))
    return rep, [str(w.message) for w in caught]


@pytest.mark.parametrize("arch", list(ARCHS))
def test_auto_init_reports_every_layer_honestly(arch):
    model = _build(arch)
    norms_before = {n: (m.weight.detach().clone(), m.bias.detach().clone()) for n, m in model.named_modules()
                    if isinstance(m, nn.LayerNorm)}
    rep, warned = _init(model)
    modules = dict(model.named_modules())
    by_name = {r.name: r for r in rep}
    # every Linear/Conv (HF's Conv1D too) and every embedding is a row; every other >= 2-D parameter
    # is named as skipped: nothing is left out unsaid
    assert sorted(by_name) == sorted(n for n, m in modules.items() if is_weighted(m) or isinstance(m, nn.Embedding))
    covered = {id(modules[n].weight) for n in by_name} | {id(modules[n].weight) for n in rep.skipped if n in modules}
    covered |= {id(p) for n, p in model.named_parameters() if n in rep.skipped}
    assert [n for n, p in model.named_parameters() if p.ndim >= 2 and id(p) not in covered] == []
    assert not set(rep.skipped) & set(by_name)
    for r in rep:
        m = modules[r.name]
        if isinstance(m, nn.Embedding):  # auto: N(0, 1) (fan_in 1), or the init of the layer it is tied to
            assert r.fan_in == 1 and torch.isfinite(m.weight).all()
            if r.resolved_by.startswith("tied to "):
                assert m.weight is modules[r.resolved_by.removeprefix("tied to ")].weight
            else:
                assert r.resolved_by == "embedding" and r.std == pytest.approx(1.0, rel=0.12)
            continue
        w = layer_weight(m)
        assert torch.isfinite(w).all() and tuple(w.shape) == tuple(r.shape)
        # the report's std is the weight's, and it is the auto scheme's g/sqrt(fan_in) for the activation it names
        assert r.std == pytest.approx(float(w.detach().std()), rel=1e-6)
        act = "identity" if r.activation == "?" else r.activation
        expected = activation_gain(act, mode="forward") / math.sqrt(r.fan_in)
        assert r.gain == pytest.approx(activation_gain(act, mode="forward"), rel=1e-6)
        assert r.std == pytest.approx(expected, rel=0.3 if w.numel() < 500 else 0.12), r
        # how the activation was found, or why not: never a bare guess
        assert r.resolved_by in ("fx", "sequential", "traced") or r.resolved_by.startswith(("module order (unverified", "unresolved: "))
        if r.activation == "?":
            assert r.resolved_by.startswith("unresolved: ")
            assert any(u.startswith(r.name + " (") for u in rep.unresolved)
        if r.resolved_by.startswith("module order"):  # a guess is marked and warned about
            assert any("guessed from module order" in m and r.name in m for m in warned)
    if rep.unresolved:
        assert any("could not find the activation" in m for m in warned)
    for n, (w0, b0) in norms_before.items():  # layer norms are left as they were: weight 1, bias 0
        assert torch.equal(modules[n].weight, w0) and torch.equal(modules[n].bias, b0)
        assert torch.all(w0 == 1) and torch.all(b0 == 0)
    text = str(rep)
    assert all(r.name in text for r in rep) and all(s in text for s in rep.skipped)


def test_what_each_architecture_resolves():
    """Per architecture: what the trace found, and the reasons it gives where it could not."""
    rep, _ = _init(_build("functional_conv"))  # F.relu / torch.tanh in forward: found through the graph
    assert [(r.name, r.activation, r.resolved_by) for r in rep] == [
        ("c1", "relu", "fx"), ("c2", "tanh", "fx"), ("fc1", "relu", "fx"), ("fc2", "identity", "fx")]
    rep, _ = _init(_build("resnet_style"))  # a residual add is followed to the ReLU after it (He et al. 2016)
    got = {r.name: (r.activation, r.resolved_by) for r in rep}
    assert got["stem"] == ("relu", "fx") and got["blocks.0.conv1"] == ("relu", "fx") and got["fc"] == ("identity", "fx")
    assert got["blocks.0.conv2"] == ("relu", "fx") and not rep.unresolved
    rep, _ = _init(_build("transformer_encoder"))
    got = {r.name: r.resolved_by for r in rep}
    assert got["head"] == "fx" and got["emb"] == "embedding"
    assert got["enc.layers.0.linear1"] == "unresolved: inside enc (TransformerEncoder), which the trace records as one op"
    assert "enc.layers.0.self_attn.in_proj_weight" in rep.skipped
    # Hugging Face models do not trace symbolically: one forward pass on their dummy inputs (or data=) is traced
    rep, warned = _init(_build("gpt2"))
    got = {r.name: (r.kind, r.activation, r.resolved_by, r.fan_in, r.fan_out) for r in rep}
    assert got["transformer.h.0.attn.c_attn"] == ("Conv1D", "identity", "traced", 32, 96)  # q, k, v: attention is linear
    assert got["transformer.h.0.mlp.c_fc"] == ("Conv1D", "gelu_tanh", "traced", 32, 128)  # NewGELUActivation
    assert got["transformer.h.0.mlp.c_proj"][1:3] == ("identity", "traced")  # through the residual stream to lm_head
    assert got["transformer.wte"][2] == "tied to lm_head" and got["transformer.wpe"][2] == "embedding"
    assert not rep.unresolved and not rep.skipped and not warned
    c_fc = _build("gpt2").transformer.h[0].mlp.c_fc
    assert is_hf_conv1d(c_fc) and c_fc.weight.shape == (32, 128)  # stored (in, out): fan_in is its first dim
    rep, _ = _init(_build("bert"))
    got = {r.name: (r.activation, r.resolved_by) for r in rep}
    assert got["bert.encoder.layer.0.intermediate.dense"] == ("gelu", "traced")  # HF's GELUActivation
    assert got["bert.pooler.dense"] == ("tanh", "traced") and got["classifier"] == ("identity", "traced")
    assert not rep.unresolved
    vit = _build("vit")  # ViT's dummy_inputs are token ids, which it cannot take: module order, and it says so
    rep, warned = _init(vit)
    assert all(r.resolved_by.startswith("module order (unverified: fx failed") for r in rep if r.kind != "Embedding")
    assert any("guessed from module order" in m for m in warned)
    rep = initialize(vit, "auto", data={"pixel_values": _images(torch.Generator().manual_seed(0))}, warn=False)
    got = {r.name: (r.activation, r.resolved_by) for r in rep}
    assert got["vit.layers.0.mlp.fc1"] == ("gelu", "traced") and not rep.unresolved


def test_traced_forward_leaves_the_model_as_it_was():
    model = _build("resnet_style").train()
    bn_before = model.bn.running_mean.clone()
    initialize(model, "auto", method="auto", data=_images(torch.Generator().manual_seed(0)), warn=False)
    rep = initialize(model, "auto", data=_images(torch.Generator().manual_seed(0)), warn=False)
    assert model.training and torch.equal(model.bn.running_mean, bn_before)  # eval, no_grad pass: no statistics moved
    assert all(not hasattr(m, "_initreg_trace_args") for m in model.modules())
    assert {r.resolved_by for r in rep} == {"fx"}  # fx traces it: the runtime trace is only the fallback


@pytest.mark.parametrize("arch", list(ARCHS))
def test_probe_forward_backward(arch):
    model = _build(arch)
    initialize(model, "auto", generator=torch.Generator().manual_seed(1), warn=False)
    g = torch.Generator().manual_seed(2)
    x, y = ARCHS[arch][1](g), torch.randint(0, 3, (8,), generator=g)
    with Probe(model) as p:
        _loss(model(x), y).backward()
    rep = p.report()
    seen = {s.name.split("#")[0] for s in rep.layers}
    assert seen and seen <= {n for n, _ in weight_layers(model)}
    for s in rep.layers:
        assert math.isfinite(s.std) and s.std > 0 and math.isfinite(s.rms)
        assert s.grad_rms is not None and math.isfinite(s.grad_rms)
    unseen = rep.meta.get("not_called", [])
    assert sorted(unseen) == sorted({n for n, _ in weight_layers(model)} - seen)
    if arch == "transformer_encoder":  # MultiheadAttention calls F.linear with out_proj.weight, not out_proj
        assert unseen == ["enc.layers.0.self_attn.out_proj", "enc.layers.1.self_attn.out_proj"]
        assert "not measured" in str(rep) and all(n in str(rep) for n in unseen)
    else:
        assert unseen == [] and "not measured" not in str(rep)


def test_probe_cli_on_a_user_factory(tmp_path, monkeypatch, capsys):
    (tmp_path / "matrix_models.py").write_text(textwrap.dedent("""
        import torch
        from torch import nn
        import torch.nn.functional as F

        class Net(nn.Module):
            def __init__(self, n_in, n_out):
                super().__init__()
                self.fc1, self.fc2, self.out = nn.Linear(n_in, 64), nn.Linear(64, 64), nn.Linear(64, n_out)
                self.norm = nn.LayerNorm(64)

            def forward(self, x):
                h = F.relu(self.fc1(x))
                h = self.norm(h + F.relu(self.fc2(h)))  # a residual add and a layer norm
                return self.out(h)

        def build(input_shape, num_outputs):
            return Net(input_shape[0], num_outputs)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    rc = main(["probe", "--module", "matrix_models:build", "--data", "digits", "--init", "auto", "--no-figure",
               "--json", str(tmp_path / "p.json")])
    out = capsys.readouterr().out
    assert rc == 0 and "verdict:" in out
    d = json.loads((tmp_path / "p.json").read_text())
    assert [layer["name"] for layer in d["layers"]] == ["fc1", "fc2", "out"]
    assert all(math.isfinite(layer["std"]) for layer in d["layers"])
