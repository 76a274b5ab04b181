"""Sparseness of a response: how few units carry it, and how concentrated it is in time.

All functions reduce over one named dim and broadcast over every other dim (``odor``,
``trial``, ``fly``, ``condition``, ...). NaN in the input propagates to the output.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import xarray as xr

from ._checks import aligned, check_dataarray, labelled, require_dims, require_size

__all__ = [
    "adaptation_ratio",
    "fraction_active",
    "lifetime_sparseness",
    "population_sparseness",
    "temporal_sparseness",
    "treves_rolls",
]


def fraction_active(
    responses: xr.DataArray, dim: Hashable = "kc", threshold: float = 0.0
) -> xr.DataArray:
    r"""Fraction of units whose response exceeds a threshold (the coding level).

    .. math:: f = \frac{1}{N} \sum_{i=1}^{N} [\, r_i > \theta \,]

    over the ``N`` entries along ``dim``. For Kenyon cells ~5-10% respond to an odor
    (Turner, Bazhenov & Laurent 2008, J Neurophysiol; Honegger, Campbell & Turner 2011,
    J Neurosci).

    Parameters
    ----------
    responses : xarray.DataArray
        Responses (spike counts, rates, activations). NaN entries give a NaN result.
    dim : hashable, default "kc"
        Dim of the units.
    threshold : float, default 0.0
        A unit is active if its response is strictly greater than this.

    Returns
    -------
    xarray.DataArray
        ``responses`` reduced over ``dim``; values in [0, 1].
    """
    require_dims(responses, dim, "fraction_active")
    active = (responses > threshold).astype(np.float64).where(responses.notnull())
    result = active.mean(dim, skipna=False)
    return labelled(
        result,
        "fraction_active",
        f"fraction of units along {dim!r} with response > threshold",
        extra={"threshold": float(threshold)},
    )


def _sums(responses: xr.DataArray, dim: Hashable) -> tuple[xr.DataArray, xr.DataArray, int]:
    """(sum r, sum r^2, N) of the responses rescaled by their largest magnitude along ``dim``.

    Rescaling leaves the sparseness unchanged, avoids overflow, and makes the canonical cases
    exact: a one-hot pattern becomes [1, 0, ...] and a uniform one [1, 1, ...], whose sums are
    integers. Where every response is zero the scale is NaN, so the result is NaN.
    """
    values = responses.astype(np.float64)
    scale = abs(values).max(dim, skipna=True)
    scaled = values / scale.where(scale > 0)
    return scaled.sum(dim, skipna=False), (scaled**2).sum(dim, skipna=False), values.sizes[dim]


def treves_rolls(responses: xr.DataArray, dim: Hashable) -> xr.DataArray:
    r"""Treves-Rolls sparseness (activity ratio) over one dim.

    .. math:: a = \frac{\left(\frac{1}{N}\sum_i r_i\right)^2}{\frac{1}{N}\sum_i r_i^2}

    over the ``N`` entries along ``dim`` (Treves & Rolls 1991, Network 2:371; Rolls & Tovee
    1995, J Neurophysiol). ``a = 1/N`` for a one-hot response and ``a = 1`` for a uniform one:
    small ``a`` means sparse. Papers often report ``1 - a``. Meant for nonnegative responses.

    Parameters
    ----------
    responses : xarray.DataArray
        Responses; NaN propagates.
    dim : hashable
        Dim to reduce over (units for population, stimuli for lifetime sparseness).

    Returns
    -------
    xarray.DataArray
        Values in [1/N, 1]; NaN where every response along ``dim`` is zero.
    """
    require_dims(responses, dim, "treves_rolls")
    total, total_sq, n = _sums(responses, dim)
    result = total**2 / (n * total_sq)
    return labelled(result, "treves_rolls", f"Treves-Rolls sparseness a over {dim!r}")


def _normalised_sparseness(
    responses: xr.DataArray, dim: Hashable, func: str, long_name: str
) -> xr.DataArray:
    require_dims(responses, dim, func)
    require_size(responses, dim, 2, func)
    total, total_sq, n = _sums(responses, dim)
    # (1 - a) / (1 - 1/N) with a = total^2 / (N total_sq), multiplied out so that one-hot and
    # uniform patterns come out as exactly 1 and 0; clipping removes rounding past the bounds.
    result = ((n * total_sq - total**2) / ((n - 1) * total_sq)).clip(0.0, 1.0)
    return labelled(result, func, long_name)


def population_sparseness(responses: xr.DataArray, dim: Hashable = "kc") -> xr.DataArray:
    r"""Population sparseness: how few units respond to one stimulus.

    .. math:: S = \frac{1 - a}{1 - 1/N}, \qquad
              a = \frac{\left(\frac{1}{N}\sum_i r_i\right)^2}{\frac{1}{N}\sum_i r_i^2}

    over the ``N`` entries along ``dim``: the Treves-Rolls ratio ``a`` (Treves & Rolls 1991)
    normalised as in Vinje & Gallant (2000, Science 287:1273) so that a one-hot response gives
    exactly 1 and a uniform one exactly 0.

    Parameters
    ----------
    responses : xarray.DataArray
        Responses, nonnegative for the bounds to hold; NaN propagates.
    dim : hashable, default "kc"
        Dim of the units (at least 2 entries).

    Returns
    -------
    xarray.DataArray
        Values in [0, 1], 1 = sparsest; NaN where every unit is silent.
    """
    return _normalised_sparseness(
        responses, dim, "population_sparseness", f"population sparseness S over {dim!r}"
    )


def lifetime_sparseness(responses: xr.DataArray, dim: Hashable = "odor") -> xr.DataArray:
    r"""Lifetime sparseness: how selective one unit is across stimuli.

    .. math:: S = \frac{1 - a}{1 - 1/N}, \qquad
              a = \frac{\left(\frac{1}{N}\sum_i r_i\right)^2}{\frac{1}{N}\sum_i r_i^2}

    over the ``N`` entries along ``dim``: the Treves-Rolls ratio ``a`` (Treves & Rolls 1991)
    normalised as in Vinje & Gallant (2000, Science 287:1273) so that a one-hot response gives
    exactly 1 and a uniform one exactly 0.

    Parameters
    ----------
    responses : xarray.DataArray
        Responses, nonnegative for the bounds to hold; NaN propagates.
    dim : hashable, default "odor"
        Dim of the stimuli (at least 2 entries).

    Returns
    -------
    xarray.DataArray
        Values in [0, 1], 1 = responds to one stimulus only; NaN for a unit silent to all.
    """
    return _normalised_sparseness(
        responses, dim, "lifetime_sparseness", f"lifetime sparseness S over {dim!r}"
    )


def temporal_sparseness(rates: xr.DataArray, dim: Hashable = "time") -> xr.DataArray:
    r"""Temporal sparseness: how concentrated one neuron's response is in time.

    .. math:: S = \frac{1 - a}{1 - 1/N}, \qquad
              a = \frac{\left(\frac{1}{N}\sum_i r_i\right)^2}{\frac{1}{N}\sum_i r_i^2}

    over the ``N`` entries along ``dim``: the Treves-Rolls ratio ``a`` (Treves & Rolls 1991)
    normalised as in Vinje & Gallant (2000, Science 287:1273) so that a one-hot response gives
    exactly 1 and a uniform one exactly 0.

    Here the entries are the time bins of one neuron's rate, so a response confined to odor
    onset scores high and a tonic one low. Spike-frequency adaptation produces temporal
    sparseness (Betkiewicz, Lindner & Nawrot 2020, eNeuro). The value depends on the bin width
    and on the window analysed; compare like with like.

    Parameters
    ----------
    rates : xarray.DataArray
        Binned rates or counts with a time dim; NaN propagates.
    dim : hashable, default "time"
        Dim of the time bins (at least 2 entries).

    Returns
    -------
    xarray.DataArray
        Values in [0, 1]; NaN for a neuron silent in every bin.
    """
    return _normalised_sparseness(
        rates, dim, "temporal_sparseness", f"temporal sparseness S over {dim!r}"
    )


def adaptation_ratio(
    early: xr.DataArray, late: xr.DataArray, dim: Hashable | None = None
) -> xr.DataArray:
    r"""Late-to-early rate ratio, a measure of spike-frequency adaptation.

    .. math:: \rho = \frac{\langle r \rangle_\mathrm{late}}{\langle r \rangle_\mathrm{early}}

    ``rho < 1`` means the response adapts (decays) during the stimulus; ``rho = 1`` means a
    tonic response. Adaptation of this kind underlies temporal sparseness in the mushroom body
    (Betkiewicz, Lindner & Nawrot 2020, eNeuro).

    Parameters
    ----------
    early, late : xarray.DataArray
        Rates in an early and a late window of the stimulus, with matching coords. Dims that
        only one of them has broadcast.
    dim : hashable, optional
        If given (e.g. ``"time"``), each input is first averaged over this dim (the bins of
        its window); the two windows may then have different lengths.

    Returns
    -------
    xarray.DataArray
        ``late / early``; NaN where the early rate is 0.
    """
    func = "adaptation_ratio"
    check_dataarray(early, func, "early")
    check_dataarray(late, func, "late")
    if dim is not None:
        require_dims(early, dim, func, "early")
        require_dims(late, dim, func, "late")
        early = early.mean(dim, skipna=False)
        late = late.mean(dim, skipna=False)
    early, late = aligned(early, late, func, ("early", "late"))
    early = early.astype(np.float64)
    result = late / early.where(early != 0)
    return labelled(result, func, "late / early mean rate")
