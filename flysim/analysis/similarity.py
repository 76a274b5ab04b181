"""Similarity between response patterns: Pearson, cosine and Jaccard.

A *pattern* is the vector of responses along ``dim`` (e.g. the ``kc`` population response to
one odor). These are the measures used to show decorrelation of odor representations by the
mushroom body (e.g. Lin et al. 2014, Nat Neurosci); :mod:`flysim.analysis.separation`
compares them before and after a transformation.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import xarray as xr

from ._checks import aligned, apply_kernel, labelled, require_dims

__all__ = ["METRICS", "paired_similarity", "pairwise_similarity"]

METRICS = ("pearson", "cosine", "jaccard")


def _check_metric(metric: str, func: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"{func}: metric must be one of {METRICS}, got {metric!r}")


def _rescaled(x: np.ndarray) -> np.ndarray:
    """Rows divided by their largest magnitude (zero rows left as they are).

    Pearson and cosine similarity do not change when a pattern is scaled by a positive number;
    rescaling keeps the products below from overflowing or underflowing.
    """
    scale = np.max(np.abs(x), axis=-1, keepdims=True)
    return x / np.where(scale > 0, scale, 1.0)


def similarity_matrix(x: np.ndarray, metric: str, threshold: float = 0.0) -> np.ndarray:
    """Similarity of every pair of rows: ``x`` is (..., n, d), the result (..., n, n).

    Plain numpy kernel behind :func:`pairwise_similarity` (also used by other analysis modules).
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "jaccard":
            active = (x > threshold).astype(np.float64)
            intersection = active @ np.swapaxes(active, -1, -2)
            size = np.sum(active, axis=-1)
            union = size[..., :, None] + size[..., None, :] - intersection
            result = intersection / np.where(union > 0, union, np.nan)
            # NaN responses have no defined active set.
            missing = np.any(np.isnan(x), axis=-1)
            return np.where(missing[..., :, None] | missing[..., None, :], np.nan, result)
        if metric == "pearson":
            centred = _rescaled(x - np.mean(x, axis=-1, keepdims=True))
            # Detect constant patterns exactly: their centred values need not round to 0.
            undefined = np.max(x, axis=-1) == np.min(x, axis=-1)
        else:
            centred = _rescaled(x)
            undefined = ~np.any(x != 0, axis=-1)
        gram = centred @ np.swapaxes(centred, -1, -2)
        # Exactly symmetric whatever order the matrix product summed in.
        gram = (gram + np.swapaxes(gram, -1, -2)) / 2
        norm_sq = np.diagonal(gram, axis1=-2, axis2=-1)
        result = gram / np.sqrt(norm_sq[..., :, None] * norm_sq[..., None, :])
        result = np.clip(result, -1.0, 1.0)
        result[undefined[..., :, None] | undefined[..., None, :]] = np.nan
        # The Gram matrix may put identical patterns at 1 - 1 ulp; make them exactly 1. Only
        # pairs already within rounding of 1 can be identical, so only those are compared.
        candidates = np.nonzero(result > 1.0 - 1e-9)
        *batch, row, col = candidates
        identical = np.all(x[(*batch, row)] == x[(*batch, col)], axis=-1)
        result[tuple(index[identical] for index in candidates)] = 1.0
        return result


def _paired_kernel(a: np.ndarray, b: np.ndarray, metric: str, threshold: float) -> np.ndarray:
    """Similarity of matched patterns: ``a`` and ``b`` are (..., d), the result (...)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "jaccard":
            active_a, active_b = a > threshold, b > threshold
            intersection = np.sum(active_a & active_b, axis=-1).astype(np.float64)
            union = np.sum(active_a | active_b, axis=-1).astype(np.float64)
            result = intersection / np.where(union > 0, union, np.nan)
            missing = np.any(np.isnan(a) | np.isnan(b), axis=-1)
            return np.where(missing, np.nan, result)
        if metric == "pearson":
            a_c = _rescaled(a - np.mean(a, axis=-1, keepdims=True))
            b_c = _rescaled(b - np.mean(b, axis=-1, keepdims=True))
            undefined = (np.max(a, axis=-1) == np.min(a, axis=-1)) | (
                np.max(b, axis=-1) == np.min(b, axis=-1)
            )
        else:
            a_c, b_c = _rescaled(a), _rescaled(b)
            undefined = ~np.any(a != 0, axis=-1) | ~np.any(b != 0, axis=-1)
        dot = np.sum(a_c * b_c, axis=-1)
        norm = np.sqrt(np.sum(a_c * a_c, axis=-1) * np.sum(b_c * b_c, axis=-1))
        result = np.clip(dot / norm, -1.0, 1.0)
        result = np.where(undefined, np.nan, result)
        identical = np.all(a == b, axis=-1)
        return np.where(identical & np.isfinite(result), 1.0, result)


def pairwise_similarity(
    responses: xr.DataArray,
    dim: Hashable = "kc",
    over: Hashable = "odor",
    metric: str = "pearson",
    threshold: float = 0.0,
) -> xr.DataArray:
    r"""Similarity of every pair of entries along ``over``, computed across ``dim``.

    For patterns :math:`x, y` of length :math:`N` along ``dim``:

    * ``"pearson"``: :math:`\frac{\sum_i (x_i-\bar x)(y_i-\bar y)}
      {\sqrt{\sum_i (x_i-\bar x)^2 \sum_i (y_i-\bar y)^2}}`; NaN if either pattern is
      constant (e.g. a silent population), since its variance is zero.
    * ``"cosine"``: :math:`\frac{\sum_i x_i y_i}{\sqrt{\sum_i x_i^2 \sum_i y_i^2}}`; NaN if
      either pattern is all zero.
    * ``"jaccard"``: :math:`|A \cap B| / |A \cup B|` of the active sets
      :math:`A = \{i : x_i > \theta\}`, :math:`B = \{i : y_i > \theta\}` (Jaccard 1912,
      New Phytol 11:37); NaN if both sets are empty.

    Identical patterns have similarity exactly 1 under every metric (where defined).

    Parameters
    ----------
    responses : xarray.DataArray
        Responses with dims ``dim`` and ``over``; any other dims broadcast.
    dim : hashable, default "kc"
        Dim along which a pattern is read (the units).
    over : hashable, default "odor"
        Dim whose entries are compared pairwise (the stimuli).
    metric : {"pearson", "cosine", "jaccard"}, default "pearson"
    threshold : float, default 0.0
        Jaccard only: a unit is active if its response is strictly greater than this.

    Returns
    -------
    xarray.DataArray
        Dims (*other dims, ``over``, ``over + "_other"``), symmetric in the last two, 1 on the
        diagonal (where defined). The ``over`` coordinate is copied to ``over + "_other"``.
    """
    func = "pairwise_similarity"
    require_dims(responses, (dim, over), func)
    _check_metric(metric, func)
    if dim == over:
        raise ValueError(f"{func}: dim and over must differ, both are {dim!r}")
    other = f"{over}_other"
    if other in responses.dims:
        raise ValueError(f"{func}: responses already has a dim named {other!r}")
    result = apply_kernel(
        similarity_matrix,
        responses,
        input_core_dims=[[over, dim]],
        output_core_dims=[[over, other]],
        output_sizes={other: responses.sizes[over]},
        kwargs={"metric": metric, "threshold": float(threshold)},
    )
    if over in responses.indexes:
        result = result.assign_coords({other: responses[over].values})
    extra = {"metric": metric, "dim": str(dim)}
    if metric == "jaccard":
        extra["threshold"] = float(threshold)
    return labelled(result, "similarity", f"{metric} similarity across {dim!r}", extra=extra)


def paired_similarity(
    a: xr.DataArray,
    b: xr.DataArray,
    dim: Hashable = "kc",
    metric: str = "pearson",
    threshold: float = 0.0,
) -> xr.DataArray:
    r"""Similarity of matched patterns of two arrays (e.g. a response and its noisy repeat).

    Every entry of ``a`` is compared with the entry of ``b`` at the same coordinates on all
    dims other than ``dim``.

    For patterns :math:`x, y` of length :math:`N` along ``dim``:

    * ``"pearson"``: :math:`\frac{\sum_i (x_i-\bar x)(y_i-\bar y)}
      {\sqrt{\sum_i (x_i-\bar x)^2 \sum_i (y_i-\bar y)^2}}`; NaN if either pattern is
      constant (e.g. a silent population), since its variance is zero.
    * ``"cosine"``: :math:`\frac{\sum_i x_i y_i}{\sqrt{\sum_i x_i^2 \sum_i y_i^2}}`; NaN if
      either pattern is all zero.
    * ``"jaccard"``: :math:`|A \cap B| / |A \cup B|` of the active sets
      :math:`A = \{i : x_i > \theta\}`, :math:`B = \{i : y_i > \theta\}` (Jaccard 1912,
      New Phytol 11:37); NaN if both sets are empty.

    Identical patterns have similarity exactly 1 under every metric (where defined).

    Parameters
    ----------
    a, b : xarray.DataArray
        Responses sharing ``dim``; coordinates must match exactly, dims present in only one of
        them broadcast.
    dim : hashable, default "kc"
        Dim along which a pattern is read.
    metric : {"pearson", "cosine", "jaccard"}, default "pearson"
    threshold : float, default 0.0
        Jaccard only: activity threshold.

    Returns
    -------
    xarray.DataArray
        The broadcast dims of ``a`` and ``b`` without ``dim``.
    """
    func = "paired_similarity"
    require_dims(a, dim, func, "a")
    require_dims(b, dim, func, "b")
    _check_metric(metric, func)
    a, b = aligned(a, b, func, ("a", "b"))
    result = apply_kernel(
        _paired_kernel,
        a,
        b,
        input_core_dims=[[dim], [dim]],
        kwargs={"metric": metric, "threshold": float(threshold)},
    )
    extra = {"metric": metric, "dim": str(dim)}
    if metric == "jaccard":
        extra["threshold"] = float(threshold)
    return labelled(result, "similarity", f"{metric} similarity across {dim!r}", extra=extra)
