"""Participation ratio: known spectra, both computation paths, stacking, bounds."""

import time

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flysim.analysis import participation_ratio


def _eigen_pr(values):
    """Reference: PR from the covariance eigenvalues (samples x features), via an SVD.

    The squared singular values of the centred data are the covariance eigenvalues (times
    n - 1, which cancels).
    """
    centred = values - values.mean(axis=0)
    eig = np.linalg.svd(centred, compute_uv=False) ** 2
    return eig.sum() ** 2 / (eig**2).sum()


def test_isotropic_gaussian_has_pr_near_n():
    rng = np.random.default_rng(0)
    n = 20
    responses = xr.DataArray(rng.normal(size=(20_000, n)), dims=("odor", "kc"))
    pr = participation_ratio(responses).item()
    # Finite samples bias PR down by about N / n_samples = 0.1%; 5% is the requirement.
    assert abs(pr - n) / n < 0.05


def test_rank_one_data_has_pr_one():
    rng = np.random.default_rng(1)
    direction = rng.normal(size=50)
    responses = xr.DataArray(
        rng.normal(size=(300, 1)) * direction + 5.0, dims=("odor", "kc")
    )  # an offset does not count: PR uses the covariance
    assert participation_ratio(responses).item() == pytest.approx(1.0, rel=0.01)


def test_known_spectrum():
    # Independent features with variances 1, 1, 1, 1 (and 0): PR = 4.
    rng = np.random.default_rng(2)
    values = np.zeros((1000, 5))
    values[:, :4] = rng.normal(size=(1000, 4))
    values[:, :4] = (values[:, :4] - values[:, :4].mean(0)) @ np.linalg.inv(
        np.linalg.cholesky(np.cov(values[:, :4], rowvar=False)).T
    )  # exactly white sample covariance
    pr = participation_ratio(xr.DataArray(values, dims=("odor", "kc"))).item()
    np.testing.assert_allclose(pr, 4.0, rtol=1e-10)


@pytest.mark.parametrize("shape", [(100, 30), (30, 100)])
def test_gram_and_covariance_paths_agree_with_eigenvalues(shape):
    rng = np.random.default_rng(3)
    values = rng.normal(size=shape) @ np.diag(rng.uniform(0.1, 3, shape[1]))
    pr = participation_ratio(xr.DataArray(values, dims=("odor", "kc"))).item()
    np.testing.assert_allclose(pr, _eigen_pr(values), rtol=1e-10)


def test_wide_data_is_fast():
    rng = np.random.default_rng(4)
    responses = xr.DataArray(rng.poisson(0.2, (3, 100, 2000)), dims=("fly", "odor", "kc"))
    result = participation_ratio(responses)
    assert result.dims == ("fly",)
    np.testing.assert_allclose(result.values[1], _eigen_pr(responses.values[1]), rtol=1e-10)
    # 100 samples x 5000 features: the 100 x 100 Gram path takes ~3 ms here, the 5000 x 5000
    # covariance ~0.9 s, so this bound catches the slow path with a wide margin for load.
    wide = xr.DataArray(rng.poisson(0.2, (100, 5000)).astype(float), dims=("odor", "kc"))
    start = time.perf_counter()
    participation_ratio(wide)
    assert time.perf_counter() - start < 0.3


def test_sample_dims_are_stacked_or_broadcast():
    rng = np.random.default_rng(5)
    responses = xr.DataArray(
        rng.normal(size=(6, 4, 30)),
        dims=("odor", "trial", "kc"),
        coords={"trial": [10, 11, 12, 13]},
    )
    per_trial = participation_ratio(responses, sample_dim="odor")
    assert per_trial.dims == ("trial",)
    assert list(per_trial["trial"].values) == [10, 11, 12, 13]
    np.testing.assert_allclose(per_trial.values[2], _eigen_pr(responses.values[:, 2]), rtol=1e-10)
    stacked = participation_ratio(responses, sample_dim=("odor", "trial"))
    assert stacked.dims == () and stacked.attrs["n_samples"] == 24
    np.testing.assert_allclose(
        stacked.item(), _eigen_pr(responses.values.reshape(24, 30)), rtol=1e-10
    )
    # Order of the stacked dims does not matter.
    swapped = participation_ratio(responses, sample_dim=("trial", "odor"))
    np.testing.assert_allclose(swapped.item(), stacked.item(), rtol=1e-12)


def test_degenerate_inputs():
    constant = xr.DataArray(np.ones((5, 3)), dims=("odor", "kc"))
    assert np.isnan(participation_ratio(constant).item())
    with pytest.raises(ValueError, match="at least 2 samples"):
        participation_ratio(constant.isel(odor=slice(0, 1)))
    with pytest.raises(ValueError, match="distinct"):
        participation_ratio(constant, dim="kc", sample_dim="kc")


@settings(max_examples=50, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 12), st.integers(1, 12)),
        elements=st.floats(-100, 100, allow_nan=False, allow_subnormal=False),
    )
)
def test_pr_bounds(values):
    pr = participation_ratio(xr.DataArray(values, dims=("odor", "kc"))).item()
    if np.isnan(pr):
        return  # no variance at all
    n_samples, n_features = values.shape
    assert 1 - 1e-9 <= pr <= min(n_features, n_samples - 1) * (1 + 1e-9)
