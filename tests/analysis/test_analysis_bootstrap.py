"""The two-way (flies x pairs) bootstrap: coverage, determinism, dims, NaN rule."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import flysim.analysis as fa
from flysim.analysis.bootstrap import BootstrapInterval

TRUE_MEAN = 0.7


def _datasets(n, n_fly, n_pair, fly_sd, pair_sd, noise_sd, seed=0):
    """``n`` synthetic experiments: true mean + fly effect + pair effect + cell noise."""
    rng = np.random.default_rng(seed)
    values = (
        TRUE_MEAN
        + fly_sd * rng.standard_normal((n, n_fly, 1))
        + pair_sd * rng.standard_normal((n, 1, n_pair))
        + noise_sd * rng.standard_normal((n, n_fly, n_pair))
    )
    return xr.DataArray(values, dims=("dataset", "fly", "pair"), attrs={"units": "1"})


def _one_way_t_covers(values):
    """Whether the t interval over flies of the pair means (the old tables) covers the mean."""
    per_fly = values.mean("pair")
    n = per_fly.sizes["fly"]
    half = stats.t.ppf(0.975, n - 1) * per_fly.std("fly", ddof=1) / np.sqrt(n)
    return abs(per_fly.mean("fly") - TRUE_MEAN) < half


def _covers(interval):
    return (interval.low < TRUE_MEAN) & (interval.high > TRUE_MEAN)


def test_two_way_interval_covers_the_true_mean_and_a_fly_only_one_does_not():
    # Pair effects larger than fly effects, as between the odor panels of the LI x SFA runs.
    values = _datasets(1000, n_fly=10, n_pair=15, fly_sd=0.05, pair_sd=0.1, noise_sd=0.05)
    interval = fa.two_way_bootstrap(values, n_resamples=1000)
    two_way = float(_covers(interval).mean())
    one_way = float(_one_way_t_covers(values).mean())
    assert 0.90 <= two_way <= 0.98, two_way
    assert one_way < 0.85 and two_way - one_way > 0.1, (two_way, one_way)


def test_without_pair_effects_both_intervals_cover():
    values = _datasets(600, n_fly=10, n_pair=15, fly_sd=0.05, pair_sd=0.0, noise_sd=0.05, seed=1)
    two_way = float(_covers(fa.two_way_bootstrap(values, n_resamples=1000)).mean())
    assert 0.90 <= two_way <= 0.99
    assert float(_one_way_t_covers(values).mean()) >= 0.9


def test_pairs_are_resampled():
    """All the spread is between pairs: an interval of fly resamples alone would be a point."""
    values = xr.DataArray(np.tile([0.2, 0.5, 0.9, 0.4], (5, 1)), dims=("fly", "pair"))
    interval = fa.two_way_bootstrap(values, n_resamples=500)
    assert float(interval.estimate) == pytest.approx(0.5)
    assert float(interval.high - interval.low) > 0.2
    flies_only = fa.two_way_bootstrap(values.T, dims=("pair", "fly"), n_resamples=500)
    assert float(flies_only.high - flies_only.low) > 0.2  # the order of dims does not matter


def test_flies_are_resampled():
    values = xr.DataArray(np.tile([[0.2], [0.5], [0.9], [0.4]], (1, 6)), dims=("fly", "pair"))
    interval = fa.two_way_bootstrap(values, n_resamples=500)
    assert float(interval.high - interval.low) > 0.2


def test_a_paired_difference_is_bootstrapped_as_the_difference():
    rng = np.random.default_rng(2)
    base = xr.DataArray(rng.random((6, 8)), dims=("fly", "pair"))
    shifted = base + 0.05 + 0.001 * rng.standard_normal((6, 8))
    interval = fa.two_way_bootstrap(shifted - base)
    assert 0.045 < float(interval.low) < float(interval.high) < 0.055  # pairing removes spread


def test_same_seed_same_result_other_seed_other_result():
    values = _datasets(3, n_fly=5, n_pair=6, fly_sd=0.1, pair_sd=0.1, noise_sd=0.1)
    first = fa.two_way_bootstrap(values, seed=7)
    again = fa.two_way_bootstrap(values, seed=7)
    other = fa.two_way_bootstrap(values, seed=8)
    for a, b in zip(first, again, strict=True):
        xr.testing.assert_identical(a, b)
    assert not np.array_equal(first.low.values, other.low.values)
    np.testing.assert_array_equal(first.estimate.values, other.estimate.values)


def test_dims_and_coords_are_kept():
    rng = np.random.default_rng(3)
    values = xr.DataArray(
        rng.random((4, 2, 5, 3)),
        dims=("condition", "noise", "fly", "pair"),
        coords={"condition": ["none", "LI", "SFA", "LI+SFA"], "noise": [10.0, 40.0]},
    )
    interval = fa.two_way_bootstrap(values, n_resamples=200)
    assert isinstance(interval, BootstrapInterval)
    for part in interval:
        assert part.dims == ("condition", "noise")
        assert list(part.condition.values) == ["none", "LI", "SFA", "LI+SFA"]
    assert (interval.low <= interval.estimate).all() and (interval.estimate <= interval.high).all()
    np.testing.assert_allclose(interval.estimate, values.mean(["fly", "pair"]))
    means = fa.two_way_resample_means(values, n_resamples=200)
    assert means.dims == ("condition", "noise", "resample") and means.sizes["resample"] == 200
    # the interval is the percentiles of these resample means (same seed, same draws)
    np.testing.assert_allclose(
        interval.low, means.quantile(0.025, "resample").drop_vars("quantile")
    )


def test_nan_cells_are_left_out():
    values = xr.DataArray(
        [[0.6, 0.8, np.nan], [0.7, np.nan, 0.9], [0.5, 0.8, 0.7]], dims=("fly", "pair")
    )
    interval = fa.two_way_bootstrap(values, n_resamples=500)
    assert float(interval.estimate) == pytest.approx(np.nanmean(values))
    assert np.isfinite(interval.low) and np.isfinite(interval.high)
    # a cell's value no longer matters once it is NaN
    changed = values.copy()
    changed[0, 2] = changed[1, 1] = np.nan
    assert float(fa.two_way_bootstrap(changed, n_resamples=500).low) == float(interval.low)


def test_a_slice_with_no_values_gives_nan():
    values = xr.DataArray(np.ones((2, 3, 4)), dims=("condition", "fly", "pair"))
    values[0] = np.nan
    interval = fa.two_way_bootstrap(values, n_resamples=100)
    for part in interval:
        assert np.isnan(part[0]) and part[1] == 1.0


def test_bad_arguments_are_clear_errors():
    values = xr.DataArray(np.ones((3, 4)), dims=("fly", "pair"))
    with pytest.raises(ValueError, match="dims must name two different dims"):
        fa.two_way_bootstrap(values, dims=("fly", "fly"))
    with pytest.raises(ValueError, match="dim 'pair' not found"):
        fa.two_way_bootstrap(values.rename(pair="odor"))
    with pytest.raises(ValueError, match="level must be in"):
        fa.two_way_bootstrap(values, level=95)
    with pytest.raises(ValueError, match="n_resamples must be at least 1"):
        fa.two_way_bootstrap(values, n_resamples=0)
    with pytest.raises(TypeError, match="xarray.DataArray"):
        fa.two_way_bootstrap(values.values)
