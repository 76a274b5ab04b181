"""Dimensionality of a population response: the participation ratio."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np
import xarray as xr

from ._checks import apply_kernel, as_dims, labelled, require_dims

__all__ = ["participation_ratio"]


def _participation_ratio(x: np.ndarray, n_sample_dims: int) -> np.ndarray:
    """PR of ``x`` shaped (..., *sample axes, features), reducing the last 1 + n_sample_dims."""
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(*x.shape[: -1 - n_sample_dims], -1, x.shape[-1])
    centred = x - np.mean(x, axis=-2, keepdims=True)
    n_samples, n_features = centred.shape[-2:]
    transposed = np.swapaxes(centred, -1, -2)
    # C = X^T X / (n - 1) and the Gram matrix X X^T share their nonzero eigenvalues, so
    # tr C and tr C^2 = ||C||_F^2 follow from whichever is smaller; the 1/(n-1) cancels.
    gram = transposed @ centred if n_features <= n_samples else centred @ transposed
    trace = np.trace(gram, axis1=-2, axis2=-1)
    frobenius_sq = np.sum(gram * gram, axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return trace**2 / np.where(frobenius_sq > 0, frobenius_sq, np.nan)


def participation_ratio(
    responses: xr.DataArray,
    dim: Hashable = "kc",
    sample_dim: Hashable | Iterable[Hashable] = "odor",
) -> xr.DataArray:
    r"""Participation ratio: the effective number of dimensions a response occupies.

    .. math:: \mathrm{PR} = \frac{(\operatorname{tr} C)^2}{\operatorname{tr}(C^2)}
              = \frac{\left(\sum_k \lambda_k\right)^2}{\sum_k \lambda_k^2}

    where :math:`C` is the covariance, over samples, of the features along ``dim`` and
    :math:`\lambda_k` its eigenvalues (Litwin-Kumar, Harris, Axel, Sompolinsky & Abbott 2017,
    Neuron 93:1153). PR is 1 when all variance lies along one direction and equals the number
    of features when the variance is isotropic. It is at most
    ``min(n_features, n_samples - 1)``, and is biased low when samples are few relative to the
    dimension (for isotropic data, approximately ``N / (1 + N / n_samples)``).

    Computed from the smaller of the feature covariance and the sample Gram matrix (they have
    the same nonzero spectrum), without an eigendecomposition, so 2000 features x 100
    samples is cheap.

    Parameters
    ----------
    responses : xarray.DataArray
        Responses; NaN propagates.
    dim : hashable, default "kc"
        Dim of the features (units).
    sample_dim : hashable or sequence of hashables, default "odor"
        Dim(s) of the samples. Several dims (e.g. ``("odor", "trial")``) are stacked into one
        sample axis; any dim in neither ``dim`` nor ``sample_dim`` broadcasts (one PR each).

    Returns
    -------
    xarray.DataArray
        The broadcast dims; NaN where the response has no variance.
    """
    func = "participation_ratio"
    samples = as_dims(sample_dim)
    require_dims(responses, (dim, *samples), func)
    if dim in samples or len(set(samples)) != len(samples):
        raise ValueError(f"{func}: dim {dim!r} and sample_dim {samples} must be distinct")
    n_samples = int(np.prod([responses.sizes[d] for d in samples]))
    if n_samples < 2:
        raise ValueError(f"{func}: needs at least 2 samples along {samples}, got {n_samples}")
    result = apply_kernel(
        _participation_ratio,
        responses,
        input_core_dims=[[*samples, dim]],
        kwargs={"n_sample_dims": len(samples)},
    )
    return labelled(
        result,
        func,
        f"participation ratio of {dim!r} over samples {', '.join(map(str, samples))}",
        extra={"n_samples": n_samples, "n_features": int(responses.sizes[dim])},
    )
