"""Sparse random projections (PN -> KC wiring) and k-winners-take-all.

These two operations are the fly's recipe shared by every adapter in this package: each Kenyon cell
(KC) samples a small, fixed number of projection-neuron (PN) inputs at random (Caron et al. 2013,
Nature: ~6-7 claws per KC, glomeruli chosen nearly at random), and the giant APL neuron's feedback
inhibition leaves only the most strongly driven KCs active (Lin et al. 2014, Nat Neurosci), which
machine-learning papers abstract as k-winners-take-all (Dasgupta, Stevens & Navlakha 2017, Science).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from ._checks import check_finite, check_int

__all__ = ["sparse_projection", "kwta", "topk_mask"]

_WEIGHTS = ("binary", "gaussian")


def sparse_projection(
    n_in: int,
    n_out: int,
    in_degree: int,
    *,
    weights: str = "binary",
    groups=None,
    seed,
) -> scipy.sparse.csr_matrix:
    """Random sparse connectivity with a fixed in-degree per output unit.

    Algorithm: for every output row, ``in_degree`` distinct inputs are drawn uniformly at random
    without replacement (the rows are independent). With ``groups``, each row first draws
    ``in_degree`` distinct groups uniformly at random and then one input uniformly within each
    chosen group, so that no row receives two inputs of the same group; this models a KC whose
    claws sample distinct glomeruli although each glomerulus has ~3 sister PNs. Nonzero values are
    1 (``weights="binary"``, the FlyHash matrix of Dasgupta et al. 2017) or independent standard
    normal draws (``weights="gaussian"``; rescale as needed, e.g. FlyLoRA's A uses N(0, 1/r^2)).

    Parameters
    ----------
    n_in, n_out : int
        Number of inputs (columns) and outputs (rows).
    in_degree : int
        Exact number of nonzeros in every row, ``1 <= in_degree <= n_in`` (and ``<=`` the number of
        distinct groups when ``groups`` is given).
    weights : {"binary", "gaussian"}
        Values of the nonzeros.
    groups : array_like of int, shape (n_in,), optional
        Group label of each input (for example the glomerulus of each PN).
    seed : int or numpy.random.SeedSequence
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_out, n_in)
        Float64 matrix with exactly ``in_degree`` stored entries per row, column indices sorted.

    Raises
    ------
    ValueError
        If a size is not a positive integer, ``in_degree`` exceeds ``n_in`` or the number of groups,
        ``weights`` is unknown, or ``groups`` has the wrong length.
    """
    n_in = check_int(n_in, "n_in", minimum=1)
    n_out = check_int(n_out, "n_out", minimum=1)
    in_degree = check_int(in_degree, "in_degree", minimum=1)
    if in_degree > n_in:
        raise ValueError(f"in_degree must be <= n_in ({n_in}), got {in_degree}")
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be one of {_WEIGHTS}, got {weights!r}")
    rng = np.random.default_rng(seed)

    if groups is None:
        # Rank i.i.d. uniform keys per row; the in_degree smallest form a uniform random subset.
        keys = rng.random((n_out, n_in))
        columns = np.argpartition(keys, in_degree - 1, axis=1)[:, :in_degree]
    else:
        columns = _sample_from_distinct_groups(groups, n_in, n_out, in_degree, rng)

    columns = np.sort(columns, axis=1)
    if weights == "binary":
        values = np.ones(n_out * in_degree)
    else:
        values = rng.standard_normal(n_out * in_degree)
    indptr = np.arange(0, n_out * in_degree + 1, in_degree)
    return scipy.sparse.csr_matrix(
        (values, columns.ravel().astype(np.int64), indptr), shape=(n_out, n_in)
    )


def _sample_from_distinct_groups(groups, n_in, n_out, in_degree, rng):
    groups = np.asarray(groups)
    if groups.shape != (n_in,):
        raise ValueError(f"groups must have shape (n_in,) = ({n_in},), got {groups.shape}")
    labels, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    n_groups = labels.size
    if in_degree > n_groups:
        raise ValueError(
            f"in_degree must be <= the number of distinct groups ({n_groups}), got {in_degree}"
        )
    members = np.argsort(inverse, kind="stable")  # input indices ordered by group
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    keys = rng.random((n_out, n_groups))
    chosen = np.argpartition(keys, in_degree - 1, axis=1)[:, :in_degree]
    offsets = np.floor(rng.random(chosen.shape) * sizes[chosen]).astype(np.int64)
    return members[starts[chosen] + offsets]


def topk_mask(x, k: int, axis: int = -1) -> np.ndarray:
    """Boolean mask of the ``k`` largest entries along ``axis``, ties broken by lower index.

    Algorithm: the k-th largest value ``t`` is found with ``np.partition`` (linear time); all
    entries ``> t`` are kept, and the remaining slots are filled with the entries equal to ``t`` in
    order of increasing index. Exactly ``k`` entries are therefore kept in every slice, whatever
    the ties, and the result does not depend on the sorting algorithm.

    Parameters
    ----------
    x : array_like of real numbers
        Finite input.
    k : int
        Number of winners per slice, ``1 <= k <= x.shape[axis]``.
    axis : int
        Axis along which the winners compete (default: last axis, one sample per row).

    Returns
    -------
    numpy.ndarray of bool, same shape as ``x``
    """
    x = check_finite(x, "x")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension, got a scalar")
    axis = check_int(axis, "axis")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(
            f"axis must be in [-{x.ndim}, {x.ndim}) for x with {x.ndim} dims, got {axis}"
        )
    axis = axis % x.ndim
    n = x.shape[axis]
    k = check_int(k, "k", minimum=1)
    if k > n:
        raise ValueError(f"k must be <= the size of x along axis {axis} ({n}), got {k}")
    moved = np.moveaxis(x, axis, -1)
    threshold = np.partition(moved, n - k, axis=-1)[..., n - k : n - k + 1]
    above = moved > threshold
    n_free = k - above.sum(axis=-1, keepdims=True)
    equal = moved == threshold
    keep = above | (equal & (np.cumsum(equal, axis=-1) <= n_free))
    return np.moveaxis(keep, -1, axis)


def kwta(x, k: int, axis: int = -1, binary: bool = False) -> np.ndarray:
    """k-winners-take-all: keep exactly the ``k`` largest entries per sample, zero the rest.

    The abstraction of APL feedback inhibition used by FlyHash (Dasgupta et al. 2017) and the fly
    models of continual learning (Zou, Zang & Ji 2025; Fly-CL, Zou et al. 2026). Ties at the k-th
    value are broken deterministically in favour of the lower index (see :func:`topk_mask`).

    Parameters
    ----------
    x : array_like of real numbers
        Finite input, e.g. KC drive with shape (n_samples, n_kc).
    k : int
        Number of winners per sample, ``1 <= k <= x.shape[axis]``.
    axis : int
        Axis along which units compete.
    binary : bool
        If True return 1.0 for winners and 0.0 elsewhere (a binary hash); otherwise return the
        winners' values and 0.0 elsewhere.

    Returns
    -------
    numpy.ndarray of float, same shape as ``x``
    """
    x = check_finite(x, "x")
    mask = topk_mask(x, k, axis=axis)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
    if binary:
        return mask.astype(dtype)
    return np.where(mask, x, 0).astype(dtype, copy=False)
