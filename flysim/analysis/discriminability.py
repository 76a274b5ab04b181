"""Trial-to-trial reliability of a response and discriminability of two stimuli (d')."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import xarray as xr

from ._checks import aligned, apply_kernel, check_dataarray, labelled, require_dims, require_size
from .similarity import similarity_matrix

__all__ = ["d_prime", "trial_reliability"]


def _mean_off_diagonal(x: np.ndarray, skipna: bool) -> np.ndarray:
    """Mean inter-trial Pearson correlation of ``x`` shaped (..., trials, units)."""
    corr = similarity_matrix(x, "pearson")
    row, col = np.triu_indices(x.shape[-2], k=1)
    pairs = corr[..., row, col]
    if not skipna:
        return np.mean(pairs, axis=-1)
    valid = np.isfinite(pairs)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid, pairs, 0.0).sum(axis=-1) / np.where(
            valid.any(axis=-1), valid.sum(axis=-1), np.nan
        )


def trial_reliability(
    responses: xr.DataArray,
    dim: Hashable = "kc",
    trial_dim: Hashable = "trial",
    skipna: bool = False,
) -> xr.DataArray:
    r"""Mean pairwise Pearson correlation between repeated trials of the same stimulus.

    .. math:: R = \frac{2}{T(T-1)} \sum_{s<t} \rho(r^{(s)}, r^{(t)})

    where :math:`r^{(t)}` is the pattern across ``dim`` on trial :math:`t` of :math:`T` and
    :math:`\rho` the Pearson correlation (see :mod:`flysim.analysis.similarity`). A standard
    measure of trial-to-trial reliability (no single canonical source). 1 = identical
    patterns on every trial; 0 = no shared structure.

    Parameters
    ----------
    responses : xarray.DataArray
        Responses with ``dim`` and ``trial_dim``; every other dim (``odor``, ``fly``, ...)
        broadcasts.
    dim : hashable, default "kc"
        Dim of the units.
    trial_dim : hashable, default "trial"
        Dim of the repeats (at least 2).
    skipna : bool, default False
        The correlation with a constant trial (e.g. all units silent) is undefined. By default
        such a trial makes the result NaN; with ``skipna=True`` the undefined pairs are left
        out, which biases the result upward when silent trials are frequent.

    Returns
    -------
    xarray.DataArray
        The broadcast dims; values in [-1, 1].
    """
    func = "trial_reliability"
    require_dims(responses, (dim, trial_dim), func)
    require_size(responses, trial_dim, 2, func, "trials")
    if dim == trial_dim:
        raise ValueError(f"{func}: dim and trial_dim must differ, both are {dim!r}")
    result = apply_kernel(
        _mean_off_diagonal,
        responses,
        input_core_dims=[[trial_dim, dim]],
        kwargs={"skipna": bool(skipna)},
    )
    return labelled(
        result,
        func,
        f"mean inter-trial Pearson correlation across {dim!r}",
        extra={"n_trials": int(responses.sizes[trial_dim])},
    )


def _d_prime(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """d' of ``a`` (..., trials_a, units) against ``b`` (..., trials_b, units)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    axis = np.mean(a, axis=-2) - np.mean(b, axis=-2)
    project_a = np.einsum("...tu,...u->...t", a, axis)
    project_b = np.einsum("...tu,...u->...t", b, axis)
    spread = np.sqrt((np.var(project_a, axis=-1, ddof=1) + np.var(project_b, axis=-1, ddof=1)) / 2)
    separation = np.abs(np.mean(project_a, axis=-1) - np.mean(project_b, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return separation / spread


def d_prime(
    responses_a: xr.DataArray,
    responses_b: xr.DataArray,
    dim: Hashable = "kc",
    trial_dim: Hashable = "trial",
) -> xr.DataArray:
    r"""Discriminability d' of two stimuli along the axis joining their mean responses.

    Each trial's pattern across ``dim`` is projected on :math:`w = \bar r_a - \bar r_b`
    (the difference of the class means over trials), :math:`p = r \cdot w`, and

    .. math:: d' = \frac{|\bar p_a - \bar p_b|}{\sqrt{(\sigma_a^2 + \sigma_b^2) / 2}}

    with :math:`\sigma^2` the variance (``ddof=1``) of the projections of each class: the
    signal-detection d' (Green & Swets 1966) with the averaged-variance denominator
    (Simpson & Fitter 1973), applied to a population by projection on the mean-difference axis.
    For Gaussian classes with a shared isotropic covariance :math:`\sigma^2 I` it estimates
    :math:`\|\mu_a - \mu_b\| / \sigma`.

    The axis is estimated from the same trials it is evaluated on, so d' is biased upward:
    for isotropic noise the expected value is about :math:`\sqrt{d'^2 + N (1/T_a + 1/T_b)}`
    with :math:`N` units and :math:`T` trials per class, which matters for many units and few
    trials (e.g. 2000 KCs, 10 trials: an apparent d' of ~20 with no signal at all).
    For an unbiased comparison use held-out trials or :func:`flysim.analysis.decoding_accuracy`.

    Parameters
    ----------
    responses_a, responses_b : xarray.DataArray
        Responses to the two stimuli. The trial counts may differ; all other coordinates must
        match (dims present in only one broadcast).
    dim : hashable, default "kc"
        Dim of the units.
    trial_dim : hashable, default "trial"
        Dim of the repeats (at least 2 in each).

    Returns
    -------
    xarray.DataArray
        The broadcast dims; ``inf`` if the projections have no variance but the means differ,
        NaN if the class means are equal and there is no variance.
    """
    func = "d_prime"
    for arg, da in (("responses_a", responses_a), ("responses_b", responses_b)):
        check_dataarray(da, func, arg)
        require_dims(da, (dim, trial_dim), func, arg)
        require_size(da, trial_dim, 2, func, "trials")
    if dim == trial_dim:
        raise ValueError(f"{func}: dim and trial_dim must differ, both are {dim!r}")
    responses_a, responses_b = aligned(
        responses_a, responses_b, func, ("responses_a", "responses_b"), exclude=[trial_dim]
    )
    result = apply_kernel(
        _d_prime,
        responses_a,
        responses_b,
        input_core_dims=[[trial_dim, dim], [trial_dim, dim]],
        exclude_dims=[trial_dim],
    )
    return labelled(result, func, f"d' along the mean-difference axis across {dim!r}")
