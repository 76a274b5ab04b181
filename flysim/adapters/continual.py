"""The fly model for continual learning and a class-incremental protocol to measure forgetting.

Zou, Zang & Ji (2025) plug the mushroom-body motif into continual learning: a fixed sparse random
expansion (PN -> KC), k-winners-take-all (APL), and an associative readout (KC -> MBON) in which a
class's output only accumulates the codes of that class's samples, so learning a new class does
not overwrite the synapses of old ones (compare Shen, Dasgupta & Navlakha 2023, Neural Comput.
35:1797, "Reducing catastrophic forgetting with associative learning: a lesson from fruit flies").
The baseline is a softmax readout trained by SGD on the raw inputs, which forgets old classes when
trained task by task.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._checks import (
    check_fraction,
    check_int,
    check_labels,
    check_matrix,
    check_nonnegative,
)
from .projection import kwta, sparse_projection

__all__ = ["FlyModel", "SGDLinearReadout", "class_incremental", "class_incremental_tasks"]

_NORMALISATIONS = ("l2", "count", "none")


class FlyModel:
    """Sparse expansion + k-WTA + Hebbian associative readout (Zou, Zang & Ji 2025).

    Algorithm: ``h = kWTA_k(M (x - mean(x)))`` as a binary code, with ``M`` an (n_kc, n_in)
    sparse random matrix of fixed in-degree and ``k = max(1, round(coding_level * n_kc))``.
    Learning is Hebbian and class-local: ``W[c] += h`` for every training sample of class c
    (only the synapses from active KCs onto the sample's own output change). Prediction is
    ``argmax_c <W[c], h> / norm_c``, where the per-class normalisation keeps classes that have
    seen more samples (or were trained later) from dominating: ``"l2"`` divides by ``||W[c]||``
    (cosine similarity between the code and the class's accumulated code), ``"count"`` by the
    number of samples of the class (overlap with the class's mean code), ``"none"`` not at all.
    Classes never trained score -inf.

    Parameters
    ----------
    n_in : int
        Input dimension.
    n_kc : int
        Number of expansion units (KCs).
    in_degree : int
        Inputs per KC.
    coding_level : float
        Fraction of KCs active per sample, in (0, 1] (~0.05-0.10 in the fly).
    n_classes : int
        Number of output classes (MBON-like readout units).
    seed : int or numpy.random.SeedSequence
        Seed of the projection.
    weights : {"binary", "gaussian"}
        Nonzero values of the projection.
    normalise : {"l2", "count", "none"}
        Per-class normalisation of the readout.
    """

    def __init__(
        self,
        n_in,
        n_kc,
        in_degree,
        coding_level,
        n_classes,
        seed,
        *,
        weights="binary",
        normalise="l2",
    ):
        self.n_in = check_int(n_in, "n_in", minimum=1)
        self.n_kc = check_int(n_kc, "n_kc", minimum=1)
        self.coding_level = check_fraction(coding_level, "coding_level")
        self.k = max(1, round(self.coding_level * self.n_kc))
        self.n_classes = check_int(n_classes, "n_classes", minimum=1)
        if normalise not in _NORMALISATIONS:
            raise ValueError(f"normalise must be one of {_NORMALISATIONS}, got {normalise!r}")
        self.normalise = normalise
        self.projection = sparse_projection(
            self.n_in, self.n_kc, in_degree, weights=weights, seed=seed
        )
        self.readout = np.zeros((self.n_classes, self.n_kc))
        self.class_counts = np.zeros(self.n_classes, dtype=np.int64)

    def encode(self, X) -> np.ndarray:
        """Binary KC codes, shape (n_samples, n_kc), exactly ``k`` ones per row."""
        X = check_matrix(X, "X", self.n_in)
        drive = np.asarray(self.projection @ (X - X.mean(axis=1, keepdims=True)).T).T
        return kwta(drive, self.k, axis=1, binary=True)

    def partial_fit(self, X, y) -> FlyModel:
        """Accumulate the codes of ``X`` onto the readout rows of their labels ``y``."""
        X = check_matrix(X, "X", self.n_in)
        y = check_labels(y, "y", X.shape[0], self.n_classes)
        return self.learn_codes(self.encode(X), y)

    def learn_codes(self, codes, y) -> FlyModel:
        """The Hebbian step of :meth:`partial_fit` on given KC codes (n_samples, n_kc), e.g. an
        encoding with other mechanisms (``flysim.adapters.FlyAdapter``)."""
        codes = check_matrix(codes, "codes", self.n_kc)
        y = check_labels(y, "y", codes.shape[0], self.n_classes)
        np.add.at(self.readout, y, codes)
        self.class_counts += np.bincount(y, minlength=self.n_classes)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Normalised readout responses, shape (n_samples, n_classes)."""
        return self.code_scores(self.encode(X))

    def code_scores(self, codes) -> np.ndarray:
        """:meth:`decision_function` of given KC codes (n_samples, n_kc)."""
        codes = check_matrix(codes, "codes", self.n_kc)
        trained = self.class_counts > 0
        if self.normalise == "l2":
            norm = np.linalg.norm(self.readout, axis=1)
        elif self.normalise == "count":
            norm = self.class_counts.astype(float)
        else:
            norm = np.ones(self.n_classes)
        scores = np.full((codes.shape[0], self.n_classes), -np.inf)
        scores[:, trained] = codes @ (self.readout[trained] / norm[trained, None]).T
        return scores

    def predict(self, X) -> np.ndarray:
        """Class with the largest normalised readout response (ties to the lower class)."""
        return np.argmax(self.decision_function(X), axis=1)


class SGDLinearReadout:
    """Baseline: softmax regression on the raw inputs, trained by minibatch SGD task by task.

    Algorithm: logits ``z = W x + b`` over all ``n_classes``; each call to :meth:`partial_fit`
    runs ``epochs`` passes of minibatch SGD (shuffled by the model's own generator) on the
    cross-entropy of the given samples only. Trained on one task's classes at a time, the
    gradient pushes down the logits of the absent old classes: the classic recipe for
    catastrophic forgetting in class-incremental learning.

    Parameters
    ----------
    n_in, n_classes : int
    lr : float
        Learning rate, > 0.
    epochs : int
        Passes over the data per :meth:`partial_fit` call.
    seed : int or numpy.random.SeedSequence
        Seed of the shuffling generator (weights start at zero).
    batch_size : int
        Minibatch size.
    """

    def __init__(self, n_in, n_classes, lr=0.01, epochs=5, seed=0, *, batch_size=16):
        self.n_in = check_int(n_in, "n_in", minimum=1)
        self.n_classes = check_int(n_classes, "n_classes", minimum=1)
        self.lr = check_nonnegative(lr, "lr")
        if self.lr == 0:
            raise ValueError("lr must be > 0, got 0.0")
        self.epochs = check_int(epochs, "epochs", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self._rng = np.random.default_rng(seed)
        self.weights = np.zeros((self.n_classes, self.n_in))
        self.bias = np.zeros(self.n_classes)

    def decision_function(self, X) -> np.ndarray:
        """Logits, shape (n_samples, n_classes)."""
        X = check_matrix(X, "X", self.n_in)
        return X @ self.weights.T + self.bias

    def partial_fit(self, X, y) -> SGDLinearReadout:
        """Run ``epochs`` passes of minibatch SGD on (X, y)."""
        X = check_matrix(X, "X", self.n_in)
        y = check_labels(y, "y", X.shape[0], self.n_classes)
        targets = np.eye(self.n_classes)[y]
        for _ in range(self.epochs):
            order = self._rng.permutation(X.shape[0])
            for start in range(0, X.shape[0], self.batch_size):
                batch = order[start : start + self.batch_size]
                logits = X[batch] @ self.weights.T + self.bias
                logits -= logits.max(axis=1, keepdims=True)
                probabilities = np.exp(logits)
                probabilities /= probabilities.sum(axis=1, keepdims=True)
                error = (probabilities - targets[batch]) / batch.size
                self.weights -= self.lr * error.T @ X[batch]
                self.bias -= self.lr * error.sum(axis=0)
        return self

    def predict(self, X) -> np.ndarray:
        """Class with the largest logit."""
        return np.argmax(self.decision_function(X), axis=1)


def class_incremental_tasks(X, y, n_tasks, *, test_fraction=0.25, seed):
    """Split a labelled data set into class-incremental tasks with disjoint classes.

    The sorted class labels are cut into ``n_tasks`` consecutive groups of (nearly) equal size;
    within every class a random ``test_fraction`` of the samples (at least one) is held out.

    Returns
    -------
    list of (X_train, y_train, X_test, y_test)
    """
    X = check_matrix(X, "X")
    classes = np.unique(np.asarray(y))
    y = check_labels(y, "y", X.shape[0], int(classes.max()) + 1 if classes.size else 1)
    n_tasks = check_int(n_tasks, "n_tasks", minimum=1)
    if n_tasks > classes.size:
        raise ValueError(
            f"n_tasks must be <= the number of classes ({classes.size}), got {n_tasks}"
        )
    test_fraction = check_fraction(test_fraction, "test_fraction")
    rng = np.random.default_rng(seed)
    tasks = []
    for task_classes in np.array_split(classes, n_tasks):
        train, test = [], []
        for label in task_classes:
            members = rng.permutation(np.flatnonzero(y == label))
            n_test = max(1, round(test_fraction * members.size))
            if n_test >= members.size:
                raise ValueError(f"test_fraction leaves no training sample for class {label}")
            test.append(members[:n_test])
            train.append(members[n_test:])
        train, test = np.concatenate(train), np.concatenate(test)
        train = rng.permutation(train)
        tasks.append((X[train], y[train], X[test], y[test]))
    return tasks


def class_incremental(model, tasks) -> xr.Dataset:
    """Train ``model`` task by task and test it on every task seen so far.

    Protocol (class-incremental learning, no task identity at test time): for t = 0..T-1, call
    ``model.partial_fit(X_train_t, y_train_t)`` and then measure the accuracy of
    ``model.predict`` on the test set of every task j <= t. The model is trained in place.

    Parameters
    ----------
    model : object with ``partial_fit(X, y)`` and ``predict(X)``
    tasks : sequence of (X_train, y_train, X_test, y_test)

    Returns
    -------
    xarray.Dataset
        ``accuracy(after_task, on_task)`` (NaN for tasks not yet seen);
        ``average_accuracy(after_task)``: mean accuracy over the tasks seen so far (its last value,
        also in ``attrs["final_average_accuracy"]``, is the headline number);
        ``forgetting``: mean over tasks j < T-1 of the best accuracy ever reached on j minus the
        final accuracy on j (Chaudhry et al. 2018).
    """
    tasks = list(tasks)
    if not tasks:
        raise ValueError("tasks must contain at least one (X_train, y_train, X_test, y_test)")
    for index, task in enumerate(tasks):
        if len(task) != 4:
            raise ValueError(f"tasks[{index}] must be (X_train, y_train, X_test, y_test)")
    n_tasks = len(tasks)
    accuracy = np.full((n_tasks, n_tasks), np.nan)
    for t, (X_train, y_train, _, _) in enumerate(tasks):
        model.partial_fit(X_train, y_train)
        for j in range(t + 1):
            _, _, X_test, y_test = tasks[j]
            accuracy[t, j] = np.mean(model.predict(X_test) == np.asarray(y_test))
    average = np.array([np.nanmean(accuracy[t, : t + 1]) for t in range(n_tasks)])
    if n_tasks > 1:
        best = np.nanmax(accuracy[:-1, :-1], axis=0)
        forgetting = float(np.mean(best - accuracy[-1, :-1]))
    else:
        forgetting = 0.0
    return xr.Dataset(
        {
            "accuracy": (("after_task", "on_task"), accuracy),
            "average_accuracy": ("after_task", average),
            "forgetting": ((), forgetting),
        },
        coords={"after_task": np.arange(n_tasks), "on_task": np.arange(n_tasks)},
        attrs={"final_average_accuracy": float(average[-1]), "model": type(model).__name__},
    )
