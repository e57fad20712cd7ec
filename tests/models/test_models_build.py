"""The model registry, `build_model` and the `LowRankLinear` bottleneck."""

import pytest
import torch
from torch import nn

from initreg.errors import ConfigError
from initreg.models import LowRankLinear, build_model, models, models_table


def test_registry_and_table_list_the_issue_models_with_parameters():
    assert {"linear", "mlp", "cnn", "low_rank"} <= set(models.names())
    rows = {r["name"]: r for r in models_table()}
    assert "depth=2" in rows["mlp"]["parameters"] and "activation='relu'" in rows["mlp"]["parameters"]
    assert "rank=4" in rows["low_rank"]["parameters"]
    assert "input_shape" not in rows["mlp"]["parameters"]  # supplied by the data, not the user
    assert all(r["description"] for r in rows.values())


@pytest.mark.parametrize(
    ("cfg", "shape", "n_out"),
    [
        ({"name": "linear"}, (64,), 10),
        ({"name": "linear"}, (1, 8, 8), 10),  # flattens
        ({"name": "mlp", "depth": 3, "width": 16}, (20,), 4),
        ({"name": "mlp", "depth": 0}, (20,), 4),
        ({"name": "mlp", "widths": [8, 6], "activation": "tanh", "norm": "layer", "dropout": 0.5}, (5,), 2),
        ({"name": "mlp", "depth": 1, "width": 8, "bottleneck": 2}, (12,), 3),
        ({"name": "low_rank", "rank": 3}, (30,), 7),
        ({"name": "cnn", "channels": [4, 8], "hidden": 16}, (1, 8, 8), 10),
        ({"name": "cnn", "channels": [4], "hidden": 8, "norm": "batch"}, (1, 40), 10),  # 1-D, MNIST-1D
        ({"name": "cnn", "channels": [4], "hidden": 8, "norm": "instance"}, (3, 6, 6), 5),
    ],
)
def test_models_map_a_batch_to_the_output_width(cfg, shape, n_out):
    m = build_model(cfg, shape, n_out, seed=0)
    assert m(torch.randn(4, *shape)).shape == (4, n_out)


def test_mlp_layer_order_and_no_dropout_on_output():
    m = build_model({"name": "mlp", "depth": 2, "width": 8, "norm": "batch", "dropout": 0.1, "activation": "tanh"},
                    (5,), 3, seed=0)
    kinds = [type(x).__name__ for x in m]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "Tanh", "Dropout",
                     "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear"]


def test_mlp_bottleneck_is_a_low_rank_first_layer():
    m = build_model({"name": "mlp", "depth": 2, "width": 32, "bottleneck": 4}, (50,), 10, seed=0)
    first = m[1]
    assert isinstance(first, LowRankLinear) and first.rank == 4
    assert torch.linalg.matrix_rank(first.effective_weight().detach()).item() == 4


def test_build_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(5)
    state = torch.get_rng_state()
    a = build_model({"name": "mlp", "depth": 1, "width": 8}, (4,), 2, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    b = build_model({"name": "mlp", "depth": 1, "width": 8}, (4,), 2, seed=3)
    c = build_model({"name": "mlp", "depth": 1, "width": 8}, (4,), 2, seed=4)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a[1].weight, c[1].weight)


def test_build_errors_name_field_value_and_allowed():
    with pytest.raises(ConfigError, match=r"unknown model 'mpl' \(did you mean 'mlp'\?\)"):
        build_model({"name": "mpl"}, (4,), 2)
    with pytest.raises(ConfigError, match=r"model 'mlp': unknown key\(s\) 'depht'; valid keys: depth, width"):
        build_model({"name": "mlp", "depht": 2}, (4,), 2)
    with pytest.raises(ConfigError, match=r"dropout: Input should be less than 1 \(got 1.0\)"):
        build_model({"name": "mlp", "dropout": 1.0}, (4,), 2)
    with pytest.raises(ConfigError, match=r"width: Input should be greater than or equal to 1 \(got 0\)"):
        build_model({"name": "mlp", "width": 0}, (4,), 2)
    with pytest.raises(ConfigError, match=r"unknown activation 'relux'"):
        build_model({"name": "mlp", "activation": "relux"}, (4,), 2)
    with pytest.raises(ConfigError, match=r"norm: Input should be 'none', 'batch', 'layer' or 'instance'"):
        build_model({"name": "mlp", "norm": "group"}, (4,), 2)
    with pytest.raises(ConfigError, match="norm='instance' needs spatial axes"):
        build_model({"name": "mlp", "norm": "instance"}, (4,), 2)
    with pytest.raises(ConfigError, match=r"cnn needs inputs shaped \(C, L\) or \(C, H, W\); got input shape \(64,\). Set data.flatten: false"):
        build_model({"name": "cnn"}, (64,), 10)


class TestLowRankLinear:
    def test_product_has_rank_k_and_k_times_m_plus_n_parameters(self):
        torch.manual_seed(0)
        layer = LowRankLinear(100, 50, rank=4, bias=False)
        assert torch.linalg.matrix_rank(layer.effective_weight().detach()).item() == 4
        assert sum(p.numel() for p in layer.parameters()) == 4 * (100 + 50)
        assert layer.num_full_parameters() == 100 * 50

    def test_is_one_linear_map(self):
        torch.manual_seed(0)
        layer = LowRankLinear(10, 6, rank=3)
        x = torch.randn(7, 10)
        ref = nn.functional.linear(x, layer.effective_weight(), layer.up.bias)
        torch.testing.assert_close(layer(x), ref)

    def test_gradients_match_autograd_of_the_product(self):
        torch.manual_seed(1)
        layer = LowRankLinear(5, 4, rank=2, bias=False)
        x = torch.randn(3, 5)
        layer(x).pow(2).sum().backward()
        a = layer.down.weight.detach().clone().requires_grad_()
        b = layer.up.weight.detach().clone().requires_grad_()
        (x @ (b @ a).T).pow(2).sum().backward()
        torch.testing.assert_close(layer.down.weight.grad, a.grad)
        torch.testing.assert_close(layer.up.weight.grad, b.grad)

    def test_rank_larger_than_dims_is_still_capped_by_them(self):
        layer = LowRankLinear(3, 2, rank=8)
        assert torch.linalg.matrix_rank(layer.effective_weight().detach()).item() <= 2

    @pytest.mark.parametrize("bad", [{"rank": 0}, {"rank": 2.5}, {"in_features": -1}])
    def test_rejects_bad_sizes(self, bad):
        kw = {"in_features": 4, "out_features": 3, "rank": 2} | bad
        name = next(iter(bad))
        with pytest.raises(ConfigError, match=f"LowRankLinear: {name} must be a positive integer; got {name}="):
            LowRankLinear(**kw)

    def test_repr(self):
        assert "rank=2" in repr(LowRankLinear(4, 3, 2))
