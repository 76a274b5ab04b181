"""Cross-validated linear readout of stimulus identity (ridge classifier, numpy/scipy only)."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import scipy.linalg
import xarray as xr

from ._checks import coords_on, labelled, require_dims

__all__ = ["decoding_accuracy"]


def stratified_folds(labels: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold index of each sample: each label's samples, shuffled, dealt round-robin to folds."""
    folds = np.empty(labels.size, dtype=np.int64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        folds[members] = np.arange(members.size) % n_folds
    return folds


def ridge_classify(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, n_labels: int, ridge: float
) -> np.ndarray:
    """Predicted labels of ``test_x`` by one-vs-rest ridge regression on one-hot targets.

    Features are standardised with the training mean and standard deviation (constant
    features are left at zero); the intercept is not penalised. The linear system is solved in
    whichever of the primal (features) or dual (samples) form is smaller.
    """
    mean = train_x.mean(axis=0)
    std = train_x.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x = (train_x - mean) / std
    targets = np.eye(n_labels)[train_y]
    offset = targets.mean(axis=0)
    centred = targets - offset
    n_samples, n_features = x.shape
    if n_features <= n_samples:
        gram = x.T @ x + ridge * np.eye(n_features)
        weights = scipy.linalg.solve(gram, x.T @ centred, assume_a="pos")
    else:
        gram = x @ x.T + ridge * np.eye(n_samples)
        weights = x.T @ scipy.linalg.solve(gram, centred, assume_a="pos")
    scores = ((test_x - mean) / std) @ weights + offset
    return np.argmax(scores, axis=1)


def _fold_accuracies(
    x: np.ndarray, labels: np.ndarray, folds: np.ndarray, n_folds: int, ridge: float
) -> np.ndarray:
    """Accuracy on each held-out fold; ``x`` is (samples, features). NaN if x is not finite."""
    if not np.all(np.isfinite(x)):
        return np.full(n_folds, np.nan)
    n_labels = int(labels.max()) + 1
    accuracy = np.empty(n_folds)
    for fold in range(n_folds):
        test = folds == fold
        predicted = ridge_classify(x[~test], labels[~test], x[test], n_labels, ridge)
        accuracy[fold] = np.mean(predicted == labels[test])
    return accuracy


def decoding_accuracy(
    responses: xr.DataArray,
    label_dim: Hashable = "odor",
    trial_dim: Hashable = "trial",
    feature_dim: Hashable = "kc",
    n_folds: int = 5,
    ridge: float = 1.0,
    shuffle_labels: bool = False,
    seed: int = 0,
    return_folds: bool = False,
) -> xr.DataArray | tuple[xr.DataArray, xr.DataArray]:
    r"""Cross-validated accuracy of a linear readout of stimulus identity.

    Each (label, trial) entry is one sample whose features are the responses along
    ``feature_dim``; its class is its position along ``label_dim``. Procedure:

    1. Stratified k-fold: each label's trials are shuffled and dealt round-robin into
       ``n_folds`` folds (so every fold holds every label).
    2. On the training folds, features are standardised (z-scored with the training mean and
       standard deviation only; constant features set to 0), and a ridge regression
       :math:`W = (X^\top X + \lambda I)^{-1} X^\top (Y - \bar Y)` is fit to one-hot targets
       :math:`Y` (one-vs-rest; Hoerl & Kennard 1970; Hastie, Tibshirani & Friedman, *Elements of
       Statistical Learning* §4.2), with an unpenalised intercept :math:`\bar Y`.
    3. A held-out sample is assigned the label with the largest score :math:`xW + \bar Y`.

    The result is the mean over folds of the fraction of held-out samples classified
    correctly. Linear decoding of odor identity from KC population responses follows e.g.
    Campbell et al. 2013 (J Neurosci).

    Parameters
    ----------
    responses : xarray.DataArray
        Responses with ``label_dim``, ``trial_dim`` and ``feature_dim``. Every other dim
        (``noise``, ``fly``, ...) broadcasts: one decoder per slice, all with the same folds.
    label_dim : hashable, default "odor"
        Dim of the classes (at least 2).
    trial_dim : hashable, default "trial"
        Dim of the repeats (at least ``n_folds``).
    feature_dim : hashable, default "kc"
        Dim of the features.
    n_folds : int, default 5
        Number of folds (at least 2).
    ridge : float, default 1.0
        Ridge penalty :math:`\lambda > 0` on the standardised features.
    shuffle_labels : bool, default False
        Permute the labels across all samples before folding (a chance-level control).
    seed : int, default 0
        Seed of ``numpy.random.default_rng`` for the fold assignment and the label
        permutation (independent streams, so the folds do not change with
        ``shuffle_labels``). No global random state is touched.
    return_folds : bool, default False
        Also return the per-fold accuracies.

    Returns
    -------
    accuracy : xarray.DataArray
        The broadcast dims; attrs ``chance`` (1 / number of labels), ``n_folds``, ``ridge``,
        ``shuffle_labels`` (0/1) and ``seed``. NaN for a slice with non-finite responses.
    fold_accuracy : xarray.DataArray
        Only with ``return_folds=True``: the same with an extra dim ``fold``.
    """
    func = "decoding_accuracy"
    n_folds = _checked_n_folds(responses, label_dim, trial_dim, feature_dim, n_folds, ridge, func)
    samples, rest, batch_shape = _samples_per_slice(responses, label_dim, trial_dim, feature_dim)
    n_labels, n_trials = responses.sizes[label_dim], responses.sizes[trial_dim]
    labels, folds = _labels_and_folds(n_labels, n_trials, n_folds, shuffle_labels, seed)
    per_fold = np.stack([_fold_accuracies(x, labels, folds, n_folds, ridge) for x in samples])
    per_fold = per_fold.reshape(*batch_shape, n_folds)
    extra = {
        "chance": 1.0 / n_labels,
        "n_folds": n_folds,
        "ridge": float(ridge),
        "shuffle_labels": bool(shuffle_labels),
        "seed": int(seed),
    }
    coords = coords_on(responses, rest)
    return _labelled_accuracies(per_fold, rest, coords, extra, return_folds, func)


def _checked_n_folds(
    responses: xr.DataArray,
    label_dim: Hashable,
    trial_dim: Hashable,
    feature_dim: Hashable,
    n_folds: int,
    ridge: float,
    func: str,
) -> int:
    """Validate the arguments of :func:`decoding_accuracy`; return ``n_folds`` as an int.

    Raises a one-line ValueError (TypeError for a non-DataArray) naming the first problem.
    """
    require_dims(responses, (label_dim, trial_dim, feature_dim), func)
    if len({label_dim, trial_dim, feature_dim}) != 3:
        raise ValueError(f"{func}: label_dim, trial_dim and feature_dim must be distinct")
    n_labels, n_trials = responses.sizes[label_dim], responses.sizes[trial_dim]
    if n_labels < 2:
        raise ValueError(f"{func}: needs at least 2 labels along {label_dim!r}, got {n_labels}")
    if int(n_folds) != n_folds or n_folds < 2:
        raise ValueError(f"{func}: n_folds must be an integer >= 2, got {n_folds}")
    if n_trials < n_folds:
        raise ValueError(
            f"{func}: {n_trials} trials along {trial_dim!r} are fewer than n_folds={n_folds}"
        )
    # "not ridge > 0" (rather than "ridge <= 0") also rejects NaN.
    if not ridge > 0:
        raise ValueError(f"{func}: ridge must be > 0, got {ridge}")
    return int(n_folds)


def _samples_per_slice(
    responses: xr.DataArray, label_dim: Hashable, trial_dim: Hashable, feature_dim: Hashable
) -> tuple[np.ndarray, list[Hashable], tuple[int, ...]]:
    """The responses as float64 (slices, labels * trials, features), label-major.

    Returns the array, the broadcast dims (in the input's order) and their shape.
    """
    rest = [d for d in responses.dims if d not in (label_dim, trial_dim, feature_dim)]
    values = np.asarray(
        responses.transpose(*rest, label_dim, trial_dim, feature_dim).values, dtype=np.float64
    )
    batch_shape = values.shape[: len(rest)]
    n_samples = responses.sizes[label_dim] * responses.sizes[trial_dim]
    return values.reshape(-1, n_samples, values.shape[-1]), rest, batch_shape


def _labels_and_folds(
    n_labels: int, n_trials: int, n_folds: int, shuffle_labels: bool, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The label of each sample (optionally permuted) and its stratified fold.

    The folds and the permutation draw from two independent streams of ``seed``, so the folds
    are the same with and without ``shuffle_labels``.
    """
    labels = np.repeat(np.arange(n_labels), n_trials)
    fold_stream, label_stream = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )
    if shuffle_labels:
        labels = label_stream.permutation(labels)
    return labels, stratified_folds(labels, n_folds, fold_stream)


def _labelled_accuracies(
    per_fold: np.ndarray,
    rest: list[Hashable],
    coords: dict,
    extra: dict,
    return_folds: bool,
    func: str,
) -> xr.DataArray | tuple[xr.DataArray, xr.DataArray]:
    """The mean accuracy over folds (and, with ``return_folds``, each fold's) as DataArrays."""
    accuracy = xr.DataArray(per_fold.mean(axis=-1), dims=rest, coords=coords)
    accuracy = labelled(accuracy, func, "cross-validated decoding accuracy", extra=extra)
    if not return_folds:
        return accuracy
    fold_accuracy = xr.DataArray(
        per_fold, dims=(*rest, "fold"), coords={**coords, "fold": np.arange(per_fold.shape[-1])}
    )
    fold_accuracy = labelled(
        fold_accuracy, "fold_accuracy", "decoding accuracy per fold", extra=extra
    )
    return accuracy, fold_accuracy
