"""FlyLoRA's implicit router: frozen sparse A, top-k selection, selection-only bias, balancing."""

import numpy as np
import pytest

from flysim.adapters import FlyLoRARouter, flylora_projection, selection_counts


def test_projection_shape_sparsity_and_scale():
    a = flylora_projection(1024, rank=32, k=8, seed=0)
    assert a.shape == (32, 1024)
    assert np.all((a != 0).sum(axis=1) == 1024 // 4)  # p = n / (r / k) = 256
    # Nonzeros ~ N(0, 1/r^2): sd 1/32 within 5% on 8192 draws (sampling sd of sd ~ 0.8%).
    assert np.std(a[a != 0]) == pytest.approx(1 / 32, rel=0.05)
    assert np.all((flylora_projection(10, 32, 8, seed=0) != 0).sum(axis=1) == 2)  # round(2.5)


@pytest.mark.parametrize("select_by", ["magnitude", "signed"])
def test_route_picks_the_top_k(select_by):
    router = FlyLoRARouter(64, rank=16, k=4, seed=1, select_by=select_by)
    router.bias = np.random.default_rng(2).normal(0, 0.05, 16)
    x = np.random.default_rng(3).standard_normal((50, 64))
    route = router.route(x)
    y = x @ router.projection.T
    score = (np.abs(y) if select_by == "magnitude" else y) + router.bias
    expected = np.sort(np.argsort(-score, axis=1)[:, :4], axis=1)
    assert np.array_equal(route.indices, expected)
    assert np.all(route.mask.sum(axis=1) == 4)
    # The bias only selects: output values are A x (unbiased) on the winners, zero elsewhere.
    assert np.allclose(route.values, np.where(route.mask, y, 0.0), rtol=0, atol=0)
    single = router.route(x[0])
    assert np.array_equal(single.indices, route.indices[0])


def test_bias_changes_selection_but_not_values():
    router = FlyLoRARouter(64, rank=16, k=4, seed=1)
    x = np.random.default_rng(3).standard_normal((20, 64))
    router.bias[:] = 0.0
    router.bias[[0, 1]] = 100.0  # force ranks 0 and 1
    route = router.route(x)
    assert np.all(route.mask[:, [0, 1]])
    y = x @ router.projection.T
    assert np.array_equal(route.values[:, :2], y[:, :2])


def _skewed_stream(balance_rate, n_batches=1500, n_in=256, batch=32):
    router = FlyLoRARouter(n_in, rank=32, k=8, seed=0, balance_rate=balance_rate)
    rng = np.random.default_rng(1)
    mean = 2.0 * rng.standard_normal(n_in)  # a fixed offset makes a few ranks win every time
    variances = []
    for step in range(n_batches):
        x = mean + rng.standard_normal((batch, n_in))
        counts = selection_counts(router.route(x).indices, router.rank)
        router.update_bias(counts)
        if step >= n_batches // 2:
            variances.append(counts.var())
    return float(np.mean(variances))


def test_balancing_bias_lowers_count_variance():
    unbalanced = _skewed_stream(0.0)
    balanced = _skewed_stream(1e-3)
    print(f"\nvariance of per-rank counts per batch: u=0 {unbalanced:.2f}, u=1e-3 {balanced:.2f}")
    # Perfect balance of 32 x 8 picks over 32 ranks is 8 per rank; skew gives variance >> 8.
    assert balanced < 0.25 * unbalanced


def test_update_bias_rule():
    router = FlyLoRARouter(16, rank=4, k=2, seed=0, balance_rate=0.5)
    bias = router.update_bias(np.array([4, 2, 1, 1]))  # mean 2
    assert np.array_equal(bias, [-0.5, 0.0, 0.5, 0.5])


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(n_in=16, rank=4, k=5), "k"),
        (dict(n_in=16, rank=4, k=2, select_by="abs"), "select_by"),
        (dict(n_in=16, rank=4, k=2, balance_rate=-1.0), "balance_rate"),
        (dict(n_in=0, rank=4, k=2), "n_in"),
    ],
)
def test_router_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        FlyLoRARouter(seed=0, **kwargs)


def test_route_bad_inputs():
    router = FlyLoRARouter(16, rank=4, k=2, seed=0)
    with pytest.raises(ValueError, match="x"):
        router.route(np.ones((3, 15)))
    with pytest.raises(ValueError, match="x"):
        router.route(np.full((3, 16), np.nan))
    with pytest.raises(ValueError, match="counts"):
        router.update_bias(np.ones(5))
