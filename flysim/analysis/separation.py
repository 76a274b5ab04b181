"""Pattern separation: how a transformation changes the similarity of stimulus pairs.

Inputs are similarity matrices from :func:`flysim.analysis.pairwise_similarity` (dims ``X``
and ``X_other``), e.g. of PN responses (input) and of KC responses (output) to the same
odors. Decorrelation means output similarity below input similarity (Cayco-Gajic, Clopath &
Silver 2017, Nat Commun; for the mushroom body Lin et al. 2014, Nat Neurosci).
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import xarray as xr

from ._checks import aligned, check_dataarray, coords_on, labelled, require_dims

__all__ = ["separation_curve", "separation_index"]


def _pair_dims(
    input_similarity: xr.DataArray, output_similarity: xr.DataArray, over: Hashable | None, func
) -> tuple[Hashable, Hashable]:
    """The (over, over + "_other") dims of two similarity matrices."""
    named = (("input_similarity", input_similarity), ("output_similarity", output_similarity))
    for arg, da in named:
        check_dataarray(da, func, arg)
    if over is None:
        found = [d for d in output_similarity.dims if f"{d}_other" in output_similarity.dims]
        if len(found) != 1:
            raise ValueError(
                f"{func}: cannot tell the pair dims (want exactly one pair 'X', 'X_other'); "
                f"dims present: {tuple(output_similarity.dims)}; pass over="
            )
        over = found[0]
    pair = (over, f"{over}_other")
    for arg, da in named:
        require_dims(da, pair, func, arg)
        if da.sizes[pair[0]] != da.sizes[pair[1]]:
            raise ValueError(f"{func}: {arg} is not square over {pair}: {dict(da.sizes)}")
    return pair


def _pairs(
    input_similarity: xr.DataArray, output_similarity: xr.DataArray, over, func
) -> tuple[np.ndarray, np.ndarray, tuple[Hashable, ...], dict]:
    """Aligned and broadcast similarities of each pair once: arrays (batch, n_pairs)."""
    pair = _pair_dims(input_similarity, output_similarity, over, func)
    inp, out = xr.broadcast(
        *aligned(
            input_similarity, output_similarity, func, ("input_similarity", "output_similarity")
        )
    )
    rest = tuple(d for d in out.dims if d not in pair)
    coords = coords_on(out, rest)
    n = out.sizes[pair[0]]
    row, col = np.triu_indices(n, k=1)
    shape = tuple(out.sizes[d] for d in rest)
    flat = []
    for da in (inp, out):
        values = np.asarray(da.transpose(*rest, *pair).values, dtype=np.float64)
        flat.append(values[..., row, col].reshape(int(np.prod(shape)), row.size))
    return flat[0], flat[1], rest, {"shape": shape, "coords": coords}


def separation_curve(
    input_similarity: xr.DataArray,
    output_similarity: xr.DataArray,
    bins: int | np.ndarray = 10,
    over: Hashable | None = None,
) -> xr.DataArray:
    """Mean output similarity as a function of input similarity (a pattern-separation curve).

    Every pair of stimuli (off-diagonal, each pair once) is binned by its input similarity;
    the result is the mean output similarity of the pairs in each bin. Points below the
    diagonal mean decorrelation (Cayco-Gajic, Clopath & Silver 2017, Nat Commun; for the
    mushroom body Lin et al. 2014, Nat Neurosci). Pairs with NaN in either similarity are left
    out.

    Parameters
    ----------
    input_similarity, output_similarity : xarray.DataArray
        Matrices from :func:`pairwise_similarity` (dims ``over`` and ``over + "_other"``),
        e.g. of PN and of KC responses to the same odors. Other dims broadcast.
    bins : int or array of edges, default 10
        Number of equal-width bins over the range of the finite input similarities, or the
        bin edges (increasing). As in ``numpy.histogram`` the last bin includes its right edge
        and values outside the edges are ignored.
    over : hashable, optional
        Name of the pair dim; found automatically when there is exactly one ``X``/``X_other``.

    Returns
    -------
    xarray.DataArray
        Dims (*other dims, ``"input_similarity"``) with the bin centres as coordinate and
        coordinates ``bin_lower``, ``bin_upper``, ``count`` (pairs per bin) and ``sem``
        (standard error of the mean, ``std(ddof=1) / sqrt(count)``). Empty bins are NaN; ``sem``
        is NaN for bins with fewer than 2 pairs.
    """
    func = "separation_curve"
    inp, out, rest, meta = _pairs(input_similarity, output_similarity, over, func)
    valid = np.isfinite(inp) & np.isfinite(out)
    edges = _bin_edges(bins, inp, valid, func)
    index, valid = _bin_index(inp, edges, valid)
    count, mean, sem = _binned_mean_and_sem(index, out, valid, edges.size - 1)
    return _curve_dataarray(mean, count, sem, edges, rest, meta)


def _bin_edges(bins: int | np.ndarray, inp: np.ndarray, valid: np.ndarray, func: str) -> np.ndarray:
    """Bin edges: given, or ``bins`` equal widths over the range of the valid ``inp``.

    With no valid value the range is (0, 1); a zero-width range is widened to +-0.5 around
    its single value, so every bin has a positive width.
    """
    if np.ndim(bins) == 0:
        n_bins = int(bins)
        if n_bins < 1:
            raise ValueError(f"{func}: bins must be >= 1, got {bins}")
        finite = inp[valid]
        low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        if low == high:
            low, high = low - 0.5, high + 0.5
        return np.linspace(low, high, n_bins + 1)
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"{func}: bin edges must be a 1-d increasing array of >= 2 values")
    return edges


def _bin_index(
    inp: np.ndarray, edges: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bin of each input similarity and the pairs still valid (finite and inside the edges).

    As in ``numpy.histogram``, the last bin includes its right edge.
    """
    n_bins = edges.size - 1
    index = np.searchsorted(edges, inp, side="right") - 1
    index[inp == edges[-1]] = n_bins - 1
    return index, valid & (index >= 0) & (index < n_bins)


def _binned_mean_and_sem(
    index: np.ndarray, out: np.ndarray, valid: np.ndarray, n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and standard error of the valid output similarities per (slice, bin).

    Arrays are (batch, n_bins); the mean is NaN for empty bins, the SEM for bins of < 2 pairs.
    """
    batch = index.shape[0]
    count = np.zeros((batch, n_bins))
    mean = np.full((batch, n_bins), np.nan)
    sem = np.full((batch, n_bins), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        for b in range(batch):
            idx, y = index[b, valid[b]], out[b, valid[b]]
            count[b] = np.bincount(idx, minlength=n_bins)
            mean[b] = np.bincount(idx, weights=y, minlength=n_bins) / count[b]
            squares = np.bincount(idx, weights=(y - mean[b, idx]) ** 2, minlength=n_bins)
            sem[b] = np.sqrt(squares / (count[b] - 1) / count[b])
    mean[count == 0] = np.nan
    sem[count < 2] = np.nan
    return count, mean, sem


def _curve_dataarray(
    mean: np.ndarray,
    count: np.ndarray,
    sem: np.ndarray,
    edges: np.ndarray,
    rest: tuple[Hashable, ...],
    meta: dict,
) -> xr.DataArray:
    """The binned curve as a labelled DataArray over (*rest, "input_similarity")."""
    n_bins = edges.size - 1
    dims = (*rest, "input_similarity")
    shape = (*meta["shape"], n_bins)
    centres = (edges[:-1] + edges[1:]) / 2
    result = xr.DataArray(
        mean.reshape(shape),
        dims=dims,
        coords={
            **meta["coords"],
            "input_similarity": (
                "input_similarity",
                centres,
                {"long_name": "input similarity (bin centre)", "units": "1"},
            ),
            "bin_lower": ("input_similarity", edges[:-1]),
            "bin_upper": ("input_similarity", edges[1:]),
            "count": (dims, count.reshape(shape).astype(np.int64)),
            "sem": (dims, sem.reshape(shape)),
        },
    )
    return labelled(result, "output_similarity", "mean output similarity per input-similarity bin")


def separation_index(
    input_similarity: xr.DataArray,
    output_similarity: xr.DataArray,
    over: Hashable | None = None,
) -> xr.DataArray:
    r"""Mean decorrelation over stimulus pairs: one number per broadcast slice.

    .. math:: \Delta = \frac{1}{|P|} \sum_{(i,j) \in P} \left(s^\mathrm{in}_{ij} -
              s^\mathrm{out}_{ij}\right)

    over the set :math:`P` of off-diagonal pairs (each once, :math:`i < j`) where both
    similarities are finite. Positive means the transformation decorrelates (pattern
    separation), 0 means it preserves similarity (e.g. the identity), negative means it makes
    patterns more alike. It is the mean vertical distance of the points of
    :func:`separation_curve` below the diagonal, weighted by pairs; it depends on the metric and
    on the set of stimuli, so compare values computed the same way. (A summary defined for
    flysim, in the spirit of Cayco-Gajic, Clopath & Silver 2017, Nat Commun.)

    Parameters
    ----------
    input_similarity, output_similarity : xarray.DataArray
        Matrices from :func:`pairwise_similarity`; other dims broadcast.
    over : hashable, optional
        Name of the pair dim; found automatically when there is exactly one ``X``/``X_other``.

    Returns
    -------
    xarray.DataArray
        Reduced over the pair dims; NaN where no pair is finite. ``attrs["n_pairs"]`` is the
        number of pairs per slice.
    """
    func = "separation_index"
    inp, out, rest, meta = _pairs(input_similarity, output_similarity, over, func)
    difference = inp - out
    valid = np.isfinite(difference)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(valid, difference, 0.0).sum(axis=1) / np.where(
            valid.any(axis=1), valid.sum(axis=1), np.nan
        )
    result = xr.DataArray(values.reshape(meta["shape"]), dims=rest, coords=meta["coords"])
    return labelled(
        result,
        func,
        "mean (input - output) similarity over pairs",
        extra={"n_pairs": int(inp.shape[1])},
    )
