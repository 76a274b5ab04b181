"""Trial reliability and d'."""

import numpy as np
import pytest
import xarray as xr

from flysim.analysis import d_prime, trial_reliability


def _gaussian_classes(d_true, n_units=10, n_trials=5000, sigma=2.0, seed=0):
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=n_units)
    direction /= np.linalg.norm(direction)
    mu_a = rng.uniform(0, 5, n_units)
    mu_b = mu_a + d_true * sigma * direction
    a = mu_a + sigma * rng.normal(size=(n_trials, n_units))
    b = mu_b + sigma * rng.normal(size=(n_trials, n_units))
    dims = ("trial", "kc")
    return xr.DataArray(a, dims=dims), xr.DataArray(b, dims=dims)


@pytest.mark.parametrize("d_true", [0.5, 1.0, 2.0, 4.0])
def test_d_prime_matches_closed_form_for_gaussians(d_true):
    # Classes N(mu_a, s^2 I) and N(mu_b, s^2 I) in N units: d' = |mu_a - mu_b| / s. Stated
    # tolerance: 4 standard errors of the estimate, sqrt((2 + d'^2 / 2) / T) for T trials a
    # class (checked over 30 seeds), plus the documented axis-fitting bias
    # sqrt(d'^2 + 2 N / T) - d'. With T = 20000 that is 8% of d' = 0.5 and 3% of d' = 4.
    n_units, n_trials = 10, 20_000
    a, b = _gaussian_classes(d_true, n_units=n_units, n_trials=n_trials)
    bias = np.sqrt(d_true**2 + 2 * n_units / n_trials) - d_true
    tolerance = 4 * np.sqrt((2 + d_true**2 / 2) / n_trials) + bias
    assert abs(d_prime(a, b).item() - d_true) < tolerance


def test_d_prime_one_unit_is_the_scalar_formula():
    rng = np.random.default_rng(1)
    a = rng.normal(1.0, 1.0, 7)
    b = rng.normal(0.0, 2.0, 9)  # unequal trial counts are allowed
    expected = abs(a.mean() - b.mean()) / np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    result = d_prime(
        xr.DataArray(a[:, None], dims=("trial", "kc")),
        xr.DataArray(b[:, None], dims=("trial", "kc")),
    )
    np.testing.assert_allclose(result.item(), expected, rtol=1e-12)


def test_d_prime_is_symmetric_and_broadcasts():
    rng = np.random.default_rng(2)
    a = xr.DataArray(rng.normal(size=(3, 8, 20)), dims=("fly", "trial", "kc"))
    b = xr.DataArray(rng.normal(0.5, 1, size=(3, 6, 20)), dims=("fly", "trial", "kc"))
    forward, backward = d_prime(a, b), d_prime(b, a)
    assert forward.dims == ("fly",)
    np.testing.assert_allclose(forward.values, backward.values, rtol=1e-12)
    np.testing.assert_allclose(forward.values[1], d_prime(a[1], b[1]).item(), rtol=1e-12)


def test_d_prime_optimistic_bias_without_signal():
    # Documented: the axis is fit on the evaluated trials, so pure noise gives d' > 0,
    # about sqrt(N (1/T_a + 1/T_b)).
    rng = np.random.default_rng(3)
    a = xr.DataArray(rng.normal(size=(10, 2000)), dims=("trial", "kc"))
    b = xr.DataArray(rng.normal(size=(10, 2000)), dims=("trial", "kc"))
    assert d_prime(a, b).item() == pytest.approx(np.sqrt(2000 * 0.2), rel=0.25)


def test_d_prime_errors():
    a, b = _gaussian_classes(1.0, n_trials=5)
    with pytest.raises(ValueError, match="at least 2 trials"):
        d_prime(a.isel(trial=slice(0, 1)), b)
    labelled_a = a.assign_coords(kc=np.arange(10))
    labelled_b = b.assign_coords(kc=np.arange(1, 11))
    with pytest.raises(ValueError, match="do not align"):
        d_prime(labelled_a, labelled_b)


def test_trial_reliability():
    rng = np.random.default_rng(4)
    signal = rng.gamma(0.5, 2.0, (4, 1, 200))  # odor x 1 x kc
    noisy = signal + rng.normal(0, 0.3, (4, 6, 200))
    responses = xr.DataArray(noisy, dims=("odor", "trial", "kc"))
    result = trial_reliability(responses)
    assert result.dims == ("odor",)
    corr = np.corrcoef(noisy[2])
    expected = corr[np.triu_indices(6, k=1)].mean()
    np.testing.assert_allclose(result.values[2], expected, rtol=1e-12)
    repeated = xr.DataArray(np.repeat(signal, 5, axis=1), dims=("odor", "trial", "kc"))
    np.testing.assert_array_equal(trial_reliability(repeated).values, 1.0)
    independent = xr.DataArray(rng.normal(size=(2, 8, 2000)), dims=("odor", "trial", "kc"))
    np.testing.assert_allclose(trial_reliability(independent).values, 0.0, atol=0.02)


def test_trial_reliability_silent_trial():
    values = np.array([[1.0, 2.0, 0.0], [1.0, 2.5, 0.0], [0.0, 0.0, 0.0]])  # trial x kc
    responses = xr.DataArray(values, dims=("trial", "kc"))
    assert np.isnan(trial_reliability(responses).item())
    only_defined = np.corrcoef(values[:2])[0, 1]
    np.testing.assert_allclose(trial_reliability(responses, skipna=True).item(), only_defined)
    with pytest.raises(ValueError, match="at least 2 trials"):
        trial_reliability(responses.isel(trial=slice(0, 1)))
