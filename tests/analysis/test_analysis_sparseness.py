"""Sparseness metrics: canonical values, bounds, NaN conventions."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flysim.analysis import (
    adaptation_ratio,
    fraction_active,
    lifetime_sparseness,
    population_sparseness,
    temporal_sparseness,
    treves_rolls,
)

NONNEGATIVE = st.floats(0, 1e6, allow_nan=False, allow_subnormal=False)


def _one_hot(n_odors=5, n_kc=40, value=3.7):
    values = np.zeros((n_odors, n_kc))
    values[np.arange(n_odors), np.arange(n_odors) * 3] = value
    return xr.DataArray(values, dims=("odor", "kc"))


@pytest.mark.parametrize("value", [1.0, 3.7, 1e-300, 1e300, 0.1])
def test_one_hot_is_maximally_sparse(value):
    responses = _one_hot(value=value)
    result = population_sparseness(responses, dim="kc")
    assert result.dims == ("odor",)
    assert np.all(result.values == 1.0)  # exact, by construction (see _sums)
    np.testing.assert_allclose(treves_rolls(responses, "kc").values, 1 / 40, rtol=1e-15)


@pytest.mark.parametrize("value", [1.0, 0.1, 7.3, 1e-300, 1e300])
def test_uniform_is_minimally_sparse(value):
    responses = xr.DataArray(np.full((3, 25), value), dims=("odor", "kc"))
    assert np.all(population_sparseness(responses).values == 0.0)
    assert np.all(treves_rolls(responses, "kc").values == 1.0)


def test_known_intermediate_value():
    # r = [1, 1, 0, 0]: a = (1/2)^2 / (1/2) = 1/2, S = (1 - 1/2) / (1 - 1/4) = 2/3.
    responses = xr.DataArray([1.0, 1.0, 0.0, 0.0], dims="kc")
    np.testing.assert_allclose(treves_rolls(responses, "kc").item(), 0.5, rtol=1e-15)
    np.testing.assert_allclose(population_sparseness(responses).item(), 2 / 3, rtol=1e-15)


def test_lifetime_and_temporal_use_their_own_dims():
    responses = _one_hot()
    # Each KC that responds does so to one odor only: lifetime sparseness 1.
    lifetime = lifetime_sparseness(responses)
    assert lifetime.dims == ("kc",)
    responding = responses.max("odor") > 0
    assert np.all(lifetime.where(responding, drop=True).values == 1.0)
    assert np.all(np.isnan(lifetime.where(~responding, drop=True).values))

    time = np.arange(20)
    onset = xr.DataArray(np.where(time < 2, 50.0, 0.0), dims="time")
    tonic = xr.DataArray(np.full(20, 10.0), dims="time")
    adapting = xr.DataArray(50.0 * np.exp(-time / 3.0) + 1.0, dims="time")
    values = [temporal_sparseness(r).item() for r in (onset, adapting, tonic)]
    assert values[0] > values[1] > values[2] == 0.0


def test_silent_gives_nan():
    silent = xr.DataArray(np.zeros((2, 10)), dims=("odor", "kc"))
    assert np.all(np.isnan(population_sparseness(silent).values))
    assert np.all(np.isnan(treves_rolls(silent, "kc").values))
    assert np.all(fraction_active(silent).values == 0.0)


def test_nan_propagates():
    values = np.ones((2, 4))
    values[0, 1] = np.nan
    responses = xr.DataArray(values, dims=("odor", "kc"))
    for result in (population_sparseness(responses), fraction_active(responses)):
        assert np.isnan(result.values[0]) and np.isfinite(result.values[1])


def test_single_unit_is_an_error():
    with pytest.raises(ValueError, match="at least 2"):
        population_sparseness(xr.DataArray(np.ones((3, 1)), dims=("odor", "kc")))


def test_fraction_active_threshold():
    responses = xr.DataArray([[0.0, 1.0, 2.0, 3.0]], dims=("odor", "kc"))
    assert fraction_active(responses).item() == 0.75
    assert fraction_active(responses, threshold=1.0).item() == 0.5
    assert fraction_active(responses, threshold=1.0).attrs["threshold"] == 1.0
    integer_counts = responses.astype(int)
    assert fraction_active(integer_counts).item() == 0.75


def test_adaptation_ratio():
    early = xr.DataArray([10.0, 20.0, 0.0], dims="kc")
    late = xr.DataArray([5.0, 20.0, 3.0], dims="kc")
    result = adaptation_ratio(early, late)
    np.testing.assert_array_equal(result.values[:2], [0.5, 1.0])
    assert np.isnan(result.values[2])


def test_adaptation_ratio_averages_over_a_dim_and_broadcasts():
    rng = np.random.default_rng(1)
    early = xr.DataArray(rng.uniform(1, 2, (4, 3)), dims=("kc", "time"))
    late = xr.DataArray(rng.uniform(0, 1, (2, 4, 7)), dims=("fly", "kc", "time"))
    result = adaptation_ratio(early, late, dim="time")
    assert set(result.dims) == {"fly", "kc"}
    expected = late.values.mean(-1) / early.values.mean(-1)
    np.testing.assert_allclose(result.transpose("fly", "kc").values, expected, rtol=1e-14)


def test_adaptation_ratio_rejects_mismatched_coords():
    early = xr.DataArray([1.0, 2.0], dims="kc", coords={"kc": [0, 1]})
    late = xr.DataArray([1.0, 2.0], dims="kc", coords={"kc": [1, 2]})
    with pytest.raises(ValueError, match="adaptation_ratio"):
        adaptation_ratio(early, late)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(2, 30)), elements=NONNEGATIVE))
def test_sparseness_bounds(values):
    responses = xr.DataArray(values, dims=("odor", "kc"))
    s = population_sparseness(responses).values
    a = treves_rolls(responses, "kc").values
    f = fraction_active(responses).values
    defined = values.max(axis=1) > 0
    assert np.all(np.isnan(s[~defined])) and np.all(np.isnan(a[~defined]))
    assert np.all((s[defined] >= 0) & (s[defined] <= 1))
    n = values.shape[1]
    assert np.all((a[defined] >= 1 / n - 1e-12) & (a[defined] <= 1 + 1e-12))
    assert np.all((f >= 0) & (f <= 1))


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 30), elements=NONNEGATIVE),
    st.floats(1e-3, 1e3),
)
def test_sparseness_is_scale_invariant(values, factor):
    responses = xr.DataArray(values, dims="kc")
    np.testing.assert_allclose(
        population_sparseness(responses * factor).values,
        population_sparseness(responses).values,
        rtol=1e-9,
        atol=1e-12,
    )
