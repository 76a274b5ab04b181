"""Streaming ridge regression with GCV-chosen regularisation, and the Fly-CL classifier.

Fly-CL (Zou, Zang, Xu & Ji, ICLR 2026) turns a frozen pretrained backbone into a continual learner
with the fly's recipe: features -> sparse random projection to ~10,000 units with a fixed number of
inputs each -> top-k (coding level) -> ridge regression onto one-hot targets, whose sufficient
statistics are accumulated task after task, with the ridge penalty chosen by generalised
cross-validation (GCV) and the normal equations solved by Cholesky. The sparse expansion
decorrelates the features (it resolves the multicollinearity of the similarity-matching stage),
and the streaming statistics make the result independent of how the data were chunked.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ._checks import check_fraction, check_int, check_labels, check_matrix, check_nonnegative
from .projection import kwta, sparse_projection

__all__ = ["StreamingRidge", "FlyCL"]

DEFAULT_LAMBDAS = np.logspace(-4, 4, 33)


class StreamingRidge:
    """Ridge regression from accumulated sufficient statistics (samples as rows).

    Algorithm: :meth:`partial_fit` accumulates ``G = H^T H``, ``C = H^T Y``, ``||Y||_F^2`` and the
    sample count ``n``; these determine the ridge solution ``W(l) = (G + l I)^{-1} C`` exactly, so
    any chunking of the data gives the batch answer. No intercept is fitted (append a constant
    column to ``H`` for one).

    GCV (Golub, Heath & Wahba 1979): ``GCV(l) = n RSS(l) / (n - df(l))^2`` with
    ``df(l) = tr H (G + l I)^{-1} H^T = sum_i e_i / (e_i + l)`` over the eigenvalues ``e_i`` of G.
    With ``G = V diag(e) V^T`` and ``q_i = ||(V^T C)_i||^2``, the residual sum of squares needs no
    stored samples: ``RSS(l) = ||Y||^2 - sum_i q_i (e_i + 2 l) / (e_i + l)^2``, evaluated as
    ``RSS(0) + sum_i q_i l^2 / (e_i (e_i + l)^2)`` over the nonzero eigenvalues (``RSS(0) =
    ||Y||^2 - sum_i q_i / e_i``, exactly 0 when H has full row rank) and ``n - df(l)`` as
    ``(n - rank) + sum_i l / (e_i + l)``, which avoids cancellation at small l. For several
    outputs RSS is summed over them (one shared l). The chosen l minimises GCV on a grid.

    Parameters
    ----------
    n_features : int
        Columns of H.
    n_outputs : int
        Columns of Y.

    Notes
    -----
    Memory is ``8 n_features^2`` bytes for G (0.8 GB at Fly-CL's 10,000 units) and choosing l
    costs one symmetric eigendecomposition, O(n_features^3).
    """

    def __init__(self, n_features, n_outputs):
        self.n_features = check_int(n_features, "n_features", minimum=1)
        self.n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
        self.gram = np.zeros((self.n_features, self.n_features))
        self.cross = np.zeros((self.n_features, self.n_outputs))
        self.target_sum_of_squares = 0.0
        self.n_samples = 0

    def partial_fit(self, H, Y) -> StreamingRidge:
        """Add a chunk: ``H`` (n, n_features), ``Y`` (n, n_outputs), or (n,) for one output."""
        H = check_matrix(H, "H", self.n_features)
        Y = np.asarray(Y)
        if Y.ndim == 1 and self.n_outputs == 1:
            Y = Y[:, None]
        Y = check_matrix(Y, "Y", self.n_outputs)
        if Y.shape[0] != H.shape[0]:
            raise ValueError(f"Y must have {H.shape[0]} rows like H, got {Y.shape[0]}")
        self.gram += H.T @ H
        self.cross += H.T @ Y
        self.target_sum_of_squares += float(np.sum(Y * Y))
        self.n_samples += H.shape[0]
        return self

    def _check_fitted(self):
        if self.n_samples == 0:
            raise ValueError("StreamingRidge has no samples: call partial_fit first")

    def gcv(self, lambdas=DEFAULT_LAMBDAS) -> np.ndarray:
        """GCV score for each lambda (inf where ``df >= n``), from the accumulated statistics."""
        self._check_fitted()
        lambdas = _check_lambdas(lambdas)
        eigenvalues, eigenvectors = scipy.linalg.eigh(self.gram)
        q = np.sum((eigenvectors.T @ self.cross) ** 2, axis=1)
        # Eigenvalues below rounding level are exact zeros of G (its null space, where q = 0).
        tolerance = max(eigenvalues.max(), 0.0) * self.n_features * np.finfo(float).eps
        positive = eigenvalues > tolerance
        e, q = eigenvalues[positive][None, :], q[positive][None, :]
        rank, n = int(positive.sum()), self.n_samples
        # RSS(l) = RSS(0) + sum q l^2 / (e (e + l)^2); RSS(0) = 0 when H has full row rank.
        least_squares_rss = (
            0.0 if rank >= n else max(self.target_sum_of_squares - np.sum(q / e), 0.0)
        )
        lam = lambdas[:, None]
        rss = least_squares_rss + np.sum(q * lam**2 / (e * (e + lam) ** 2), axis=1)
        # n - df = (n - rank) + sum l / (e + l), free of cancellation when df -> n.
        residual_df = (n - rank) + np.sum(lam / (e + lam), axis=1)
        with np.errstate(divide="ignore"):
            return np.where(residual_df > 0, n * rss / residual_df**2, np.inf)

    def choose_lambda(self, lambdas=DEFAULT_LAMBDAS) -> float:
        """Lambda of the grid with the smallest GCV (the smaller lambda on exact ties)."""
        lambdas = _check_lambdas(lambdas)
        scores = self.gcv(lambdas)
        if not np.any(np.isfinite(scores)):
            raise ValueError("lambdas: GCV is infinite for every value (df >= n); use larger ones")
        return float(lambdas[np.argmin(scores)])

    def solve(self, lam=None, lambdas=DEFAULT_LAMBDAS) -> np.ndarray:
        """Ridge weights ``W`` (n_features, n_outputs) solving ``(G + lam I) W = C`` by Cholesky.

        If ``lam`` is None it is chosen by :meth:`choose_lambda` over ``lambdas``.
        """
        self._check_fitted()
        if lam is None:
            lam = self.choose_lambda(lambdas)
        lam = check_nonnegative(lam, "lam")
        system = self.gram + lam * np.eye(self.n_features)
        try:
            factor = scipy.linalg.cho_factor(system, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"lam={lam} leaves G + lam I singular (too few samples?); use lam > 0"
            ) from None
        return scipy.linalg.cho_solve(factor, self.cross, check_finite=False)


def _check_lambdas(lambdas) -> np.ndarray:
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
    if lambdas.ndim != 1 or lambdas.size == 0:
        raise ValueError(f"lambdas must be a non-empty 1-D sequence, got shape {lambdas.shape}")
    if not np.all(np.isfinite(lambdas)) or np.any(lambdas <= 0):
        raise ValueError("lambdas must be finite and > 0")
    return lambdas


class FlyCL:
    """Fly-CL classifier: sparse expansion + top-k + streaming ridge (Zou et al., ICLR 2026).

    Algorithm: frozen features ``x`` -> ``h = kWTA_k(M x)`` kept as a binary code, with ``M`` an
    (n_expansion, n_in) sparse random matrix with ``in_degree`` inputs per unit and
    ``k = max(1, round(coding_level * n_expansion))`` -> :class:`StreamingRidge` from ``h`` to
    one-hot labels. :meth:`partial_fit` only accumulates statistics (one pass, any chunking, tasks
    in any order give the same model); the ridge solution, with lambda chosen by GCV unless ``lam``
    is given, is recomputed lazily at the next prediction. Unlike :class:`~flysim.adapters.FlyHash`
    no input centring is applied: pretrained features are not firing rates.

    Parameters
    ----------
    n_in : int
        Feature dimension of the frozen backbone.
    n_expansion : int
        Number of expansion units (10,000 in Fly-CL; memory grows as its square, see
        :class:`StreamingRidge`).
    in_degree : int
        Inputs per expansion unit.
    coding_level : float
        Fraction of active units, in (0, 1].
    n_classes : int
        Number of classes (one-hot ridge targets).
    seed : int or numpy.random.SeedSequence
        Seed of the projection.
    weights : {"binary", "gaussian"}
        Nonzero values of the projection.
    lam : float, optional
        Fixed ridge penalty; default None chooses it by GCV over ``lambdas``.
    lambdas : array_like
        GCV grid.
    """

    def __init__(
        self,
        n_in,
        n_expansion=10000,
        *,
        in_degree,
        coding_level,
        n_classes,
        seed,
        weights="binary",
        lam=None,
        lambdas=DEFAULT_LAMBDAS,
    ):
        self.n_in = check_int(n_in, "n_in", minimum=1)
        self.n_expansion = check_int(n_expansion, "n_expansion", minimum=1)
        self.coding_level = check_fraction(coding_level, "coding_level")
        self.k = max(1, round(self.coding_level * self.n_expansion))
        self.n_classes = check_int(n_classes, "n_classes", minimum=1)
        self.lam = None if lam is None else check_nonnegative(lam, "lam")
        self.lambdas = _check_lambdas(lambdas)
        self.projection = sparse_projection(
            self.n_in, self.n_expansion, in_degree, weights=weights, seed=seed
        )
        self.ridge = StreamingRidge(self.n_expansion, self.n_classes)
        self._weights = None
        self.lambda_ = None

    def encode(self, X) -> np.ndarray:
        """Binary expansion codes, shape (n_samples, n_expansion), ``k`` ones per row."""
        X = check_matrix(X, "X", self.n_in)
        return kwta(np.asarray(self.projection @ X.T).T, self.k, axis=1, binary=True)

    def partial_fit(self, X, y) -> FlyCL:
        """Accumulate ridge statistics of the codes of ``X`` against one-hot labels ``y``."""
        X = check_matrix(X, "X", self.n_in)
        y = check_labels(y, "y", X.shape[0], self.n_classes)
        self.ridge.partial_fit(self.encode(X), np.eye(self.n_classes)[y])
        self._weights = None
        return self

    def decision_function(self, X) -> np.ndarray:
        """Ridge outputs, shape (n_samples, n_classes)."""
        if self._weights is None:
            self.lambda_ = (
                self.lam if self.lam is not None else self.ridge.choose_lambda(self.lambdas)
            )
            self._weights = self.ridge.solve(self.lambda_)
        return self.encode(X) @ self._weights

    def predict(self, X) -> np.ndarray:
        """Class with the largest ridge output."""
        return np.argmax(self.decision_function(X), axis=1)
