"""Shared by the stacked-seed tests: K separate `fit` runs and one stacked `fit_seeds` run must
give the same histories, to float rounding."""

from __future__ import annotations

import math

from initreg.models import build_model


def models_for(d, mc, k, base=0):
    """``k`` models of config ``mc`` for data ``d``, seeded ``base``, ``base + 1``, …"""
    return [build_model(mc, d.input_shape, d.num_outputs, seed=base + s) for s in range(k)]


def close(a, b, rel=1e-5, abs_tol=1e-6):
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def assert_same_histories(seq, vec, rel=1e-5, abs_tol=1e-6, *, stop_reason=False):
    """Every record (but its wall-clock ``seconds``), the test metrics and how each run ended agree."""
    assert len(seq) == len(vec)
    for hs, hv in zip(seq, vec):
        ends = ("steps", "epochs", "diverged", "diverged_step") + (("stop_reason",) if stop_reason else ())
        assert [getattr(hs, a) for a in ends] == [getattr(hv, a) for a in ends]
        assert len(hs.records) == len(hv.records)
        for rs, rv in zip(hs.records, hv.records):
            assert set(rs) == set(rv)
            for key in set(rs) - {"seconds"}:
                assert close(rs[key], rv[key], rel, abs_tol), (key, rs[key], rv[key])
        assert set(hs.test or {}) == set(hv.test or {})
        for key in hs.test or {}:
            assert close(hs.test[key], hv.test[key], rel, abs_tol), (key, hs.test[key], hv.test[key])
