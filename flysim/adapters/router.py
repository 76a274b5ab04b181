"""FlyLoRA's implicit router in numpy: a frozen sparse projection whose top-k picks the ranks.

FlyLoRA (Zou, Zang, Xu et al., NeurIPS 2025) replaces LoRA's trainable down-projection with a
frozen sparse random matrix A (r x n; p = n / (r / k) nonzeros per row, values N(0, 1/r^2)) and
uses the top-k of ``A x`` to choose which k of the r rank-one "experts" (columns of the trainable
up-projection B) are active: routing and down-projection are the same operation, as the PN -> KC
projection followed by APL winner-take-all is in the fly. Rank usage is balanced without an
auxiliary loss (DeepSeek's aux-loss-free balancing, Wang et al. 2024): a bias, added only when
selecting, is nudged up for under-used ranks and down for over-used ones, a homeostatic rule
reminiscent of spike-frequency adaptation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import check_finite, check_int, check_nonnegative
from .projection import sparse_projection, topk_mask

__all__ = ["FlyLoRARouter", "Route", "flylora_projection", "selection_counts"]

_SELECT_BY = ("magnitude", "signed")


def flylora_projection(n_in: int, rank: int = 32, k: int = 8, *, seed) -> np.ndarray:
    """FlyLoRA's frozen down-projection A, dense array of shape (rank, n_in).

    Every row has exactly ``p = max(1, round(n_in * k / rank))`` nonzeros (p / n = k / r, the
    paper's sparsity ratio), at distinct random columns, with values drawn from N(0, 1/rank^2).

    Parameters
    ----------
    n_in : int
        Input features of the adapted layer.
    rank : int
        LoRA rank r (number of rank-one experts); default 32 as in the paper.
    k : int
        Active ranks per input, ``1 <= k <= rank``; default 8.
    seed : int or numpy.random.SeedSequence
    """
    n_in = check_int(n_in, "n_in", minimum=1)
    rank = check_int(rank, "rank", minimum=1)
    k = check_int(k, "k", minimum=1)
    if k > rank:
        raise ValueError(f"k must be <= rank ({rank}), got {k}")
    p = min(n_in, max(1, round(n_in * k / rank)))
    a = sparse_projection(n_in, rank, p, weights="gaussian", seed=seed).toarray()
    return a / rank


def selection_counts(indices, rank: int) -> np.ndarray:
    """How many times each rank was selected: ``bincount`` of ``indices`` with length ``rank``."""
    rank = check_int(rank, "rank", minimum=1)
    indices = np.asarray(indices)
    if not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"indices must be integers, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= rank):
        raise ValueError(f"indices must lie in [0, rank={rank})")
    return np.bincount(indices.ravel(), minlength=rank)


class Route(NamedTuple):
    """Result of :meth:`FlyLoRARouter.route` for a batch of inputs.

    indices : (n_samples, k) int, selected ranks in increasing order
    mask : (n_samples, rank) bool, True on selected ranks
    values : (n_samples, rank) float, ``A x`` on selected ranks and 0 elsewhere (no bias)
    """

    indices: np.ndarray
    mask: np.ndarray
    values: np.ndarray


class FlyLoRARouter:
    """Implicit rank router of FlyLoRA with aux-loss-free load balancing.

    Algorithm: ``y = A x`` with A from :func:`flylora_projection`; the selection score is
    ``|y| + bias`` (``select_by="magnitude"``) or ``y + bias`` (``"signed"``); the k ranks with
    the largest scores win (ties to the lower rank); the routed output is ``y`` masked to the
    winners, so the bias changes *which* ranks are used but never the values passed on.
    :meth:`update_bias` applies ``bias += balance_rate * sign(mean(counts) - counts)``.

    The authors' code adds the bias before taking the magnitude (``|y + bias|``), so a positive
    bias can demote a rank whose ``y`` is negative; adding it to the magnitude, as here, makes a
    positive bias always promote the rank, which is what the balancing rule intends.

    Parameters
    ----------
    n_in : int
        Input dimension.
    rank : int
        Number of ranks r (default 32).
    k : int
        Ranks selected per input (default 8).
    seed : int or numpy.random.SeedSequence
        Seed of A.
    balance_rate : float
        Bias step u (default 1e-3); 0 disables balancing.
    select_by : {"magnitude", "signed"}
    """

    def __init__(self, n_in, rank=32, k=8, *, seed, balance_rate=1e-3, select_by="magnitude"):
        self.projection = flylora_projection(n_in, rank, k, seed=seed)
        self.rank, self.n_in = self.projection.shape
        self.k = int(k)
        self.balance_rate = check_nonnegative(balance_rate, "balance_rate")
        if select_by not in _SELECT_BY:
            raise ValueError(f"select_by must be one of {_SELECT_BY}, got {select_by!r}")
        self.select_by = select_by
        self.bias = np.zeros(self.rank)

    def route(self, x) -> Route:
        """Select the top-k ranks for each input of ``x`` (shape (n_in,) or (n_samples, n_in))."""
        x = check_finite(x, "x")
        single = x.ndim == 1
        x2 = np.atleast_2d(x)
        if x2.ndim != 2 or x2.shape[1] != self.n_in:
            raise ValueError(
                f"x must have shape (n_in,) or (n_samples, n_in) with n_in={self.n_in}"
            )
        y = x2.astype(np.float64) @ self.projection.T
        score = (np.abs(y) if self.select_by == "magnitude" else y) + self.bias
        mask = topk_mask(score, self.k, axis=1)
        indices = np.nonzero(mask)[1].reshape(-1, self.k)
        values = np.where(mask, y, 0.0)
        if single:
            return Route(indices[0], mask[0], values[0])
        return Route(indices, mask, values)

    def update_bias(self, counts) -> np.ndarray:
        """Aux-loss-free balancing step from per-rank selection counts; returns the new bias."""
        counts = check_finite(counts, "counts")
        if counts.shape != (self.rank,):
            raise ValueError(f"counts must have shape ({self.rank},), got {counts.shape}")
        self.bias = self.bias + self.balance_rate * np.sign(counts.mean() - counts)
        return self.bias
