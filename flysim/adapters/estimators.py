"""scikit-learn estimators around the adapters (optional: needs the ``sklearn`` extra).

``from flysim.adapters.estimators import FlyHashTransformer``; ``import flysim.adapters`` never
imports scikit-learn. Install it with ``pip install "flysim[sklearn]"``.

Each class is a thin scikit-learn estimator: ``__init__`` only stores its arguments, ``fit``
validates X (and y) and builds the core object of :mod:`flysim.adapters` with the input size
taken from X, and every other method delegates to that object, so the algorithm is the core's
and only the conventions are scikit-learn's (fitted attributes end in ``_``, arbitrary class
labels, 1-D ``decision_function`` for two classes, ``get_params``/``set_params``/``clone``).

- :class:`FlyHashTransformer`: :class:`~flysim.adapters.FlyHash` (fitted as ``hasher_``);
  ``fit``, ``transform``.
- :class:`FlyModelClassifier`: :class:`~flysim.adapters.FlyModel`, the fly model for continual
  learning (``model_``); ``fit``, ``partial_fit``, ``predict``, ``decision_function``.
- :class:`FlyCLClassifier`: :class:`~flysim.adapters.FlyCL`, Fly-CL (``model_``); the same.

``in_degree=None`` (the default) means ``min(6, n_features)``: six inputs per KC as in the fly
(Caron et al. 2013), fewer when X has fewer columns. The fly's code is made for many inputs: on
a handful of features (binary KCs that all sample nearly the same inputs) it carries little, so
the classifiers declare scikit-learn's ``poor_score`` tag (the estimator checks' 2-feature blobs
are not separated to their 0.83 accuracy). Every invalid parameter is reported by the core
object, at ``fit``, as one ValueError naming it.
"""

from __future__ import annotations

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
    from sklearn.utils.multiclass import check_classification_targets, unique_labels
    from sklearn.utils.validation import check_is_fitted
except ImportError as error:  # the optional extra is missing
    raise ImportError(
        'flysim.adapters.estimators needs scikit-learn: pip install "flysim[sklearn]"'
    ) from error

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6 has it as a method

    def validate_data(estimator, /, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)


from .continual import FlyModel
from .flyhash import FlyHash
from .ridge import DEFAULT_LAMBDAS, FlyCL

__all__ = ["FlyCLClassifier", "FlyHashTransformer", "FlyModelClassifier"]

#: Inputs per KC when ``in_degree=None`` and X has at least this many columns (Caron et al. 2013).
FLY_IN_DEGREE = 6


def _in_degree(in_degree, n_features: int):
    """The in-degree to build with: ``min(6, n_features)`` for None, else ``in_degree`` as given."""
    return min(FLY_IN_DEGREE, n_features) if in_degree is None else in_degree


def _listed(labels) -> str:
    """``a, b, c``: labels in a message that stays on one line (numpy wraps long arrays)."""
    return ", ".join(map(str, labels))


class FlyHashTransformer(TransformerMixin, BaseEstimator):
    """FlyHash as a scikit-learn transformer: X -> the k-winner KC tags of :class:`FlyHash`.

    ``fit`` builds ``FlyHash(n_in=X.shape[1], ...)`` (it learns nothing from the values of X:
    the projection is random, fixed by ``seed``); ``transform`` returns its ``encode``.

    Parameters
    ----------
    n_kc : int
        Expansion size (number of KCs).
    in_degree : int, optional
        Inputs per KC; None: ``min(6, n_features)``.
    k : int
        Hash length: winning KCs per sample, ``k <= n_kc``.
    seed : int
        Seed of the projection.
    weights : {"binary", "gaussian"}
    centre : bool
        Subtract each sample's mean first.
    tag : {"binary", "values"}
        Winners coded as 1 or as their drive.

    Attributes
    ----------
    hasher_ : FlyHash
    n_features_in_ : int
    """

    def __init__(
        self, n_kc=2000, in_degree=None, k=100, seed=0, weights="binary", centre=True, tag="binary"
    ):
        self.n_kc = n_kc
        self.in_degree = in_degree
        self.k = k
        self.seed = seed
        self.weights = weights
        self.centre = centre
        self.tag = tag

    def fit(self, X, y=None):
        """Build the hash for the columns of ``X`` (y is ignored)."""
        X = validate_data(self, X, dtype=np.float64)
        n_features = X.shape[1]
        self.hasher_ = FlyHash(
            n_features,
            self.n_kc,
            _in_degree(self.in_degree, n_features),
            self.k,
            self.seed,
            weights=self.weights,
            centre=self.centre,
            tag=self.tag,
        )
        return self

    def transform(self, X):
        """Tags, shape (n_samples, n_kc), exactly ``k`` nonzeros per row."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.hasher_.encode(X)


class _FlyClassifier(ClassifierMixin, BaseEstimator):
    """What both classifiers share: labels <-> 0..C-1, fit/partial_fit/predict on ``model_``.

    Subclasses define ``_build(n_features, n_classes)``, the core object with ``partial_fit(X,
    y)`` on integer labels, ``decision_function`` and ``predict``.
    """

    def fit(self, X, y):
        """Build a fresh core object for X's columns and y's classes, and train it on (X, y)."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        self.model_ = self._build(X.shape[1], self.classes_.size)
        self.model_.partial_fit(X, encoded)
        return self

    def partial_fit(self, X, y, classes=None):
        """Train on one more chunk; ``classes`` (every label of the stream) on the first call."""
        first_call = not hasattr(self, "model_")
        if first_call and classes is None:
            raise ValueError("classes must be given on the first call to partial_fit")
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first_call)
        check_classification_targets(y)
        if classes is not None:
            classes = unique_labels(classes)
            if not first_call and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes [{_listed(classes)}] differ from the first call's "
                    f"[{_listed(self.classes_)}]"
                )
        if first_call:
            self.model_ = self._build(X.shape[1], classes.size)
            self.classes_ = classes
        self.model_.partial_fit(X, self._encode(y))
        return self

    def _encode(self, y) -> np.ndarray:
        """Positions of the labels ``y`` in ``classes_`` (ValueError naming unknown ones)."""
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y has labels not in classes_ [{_listed(self.classes_)}]: {_listed(unknown)}"
            )
        return np.searchsorted(self.classes_, y)

    def decision_function(self, X):
        """The core's scores, (n_samples, n_classes); for two classes 1-D: class 1 minus class 0.

        The 1-D form is scikit-learn's convention (> 0 predicts ``classes_[1]``).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        scores = self.model_.decision_function(X)
        return scores[:, 1] - scores[:, 0] if self.classes_.size == 2 else scores

    def predict(self, X):
        """The class with the largest score (the core's ``predict``), as an original label."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.classes_[self.model_.predict(X)]

    def __sklearn_tags__(self):
        # scikit-learn >= 1.6. Few-feature data (the checks' 2-D blobs) defeat the fly's code.
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _more_tags(self):  # the same for scikit-learn < 1.6, whose checks ignore it in one place
        reason = "2-feature blobs defeat the fly's code: not every class is predicted (poor_score)"
        return {"poor_score": True, "_xfail_checks": {"check_classifiers_classes": reason}}


class FlyModelClassifier(_FlyClassifier):
    """The fly model for continual learning (:class:`~flysim.adapters.FlyModel`) as a classifier.

    ``fit`` builds ``FlyModel(n_in=X.shape[1], n_classes=len(classes_), ...)`` and trains it;
    ``partial_fit`` accumulates more samples onto the same readout (class-incremental learning:
    a class's readout only sees its own samples). Labels may be any sortable values; the core
    object sees their positions in ``classes_``.

    Parameters
    ----------
    n_kc : int
        Number of expansion units (KCs).
    in_degree : int, optional
        Inputs per KC; None: ``min(6, n_features)``.
    coding_level : float
        Fraction of KCs active per sample, in (0, 1].
    seed : int
        Seed of the projection.
    weights : {"binary", "gaussian"}
    normalise : {"l2", "count", "none"}
        Per-class normalisation of the readout.

    Attributes
    ----------
    model_ : FlyModel
    classes_ : numpy.ndarray
        The labels, sorted; ``model_``'s class ``i`` is ``classes_[i]``.
    n_features_in_ : int
    """

    def __init__(
        self,
        n_kc=2000,
        in_degree=None,
        coding_level=0.05,
        seed=0,
        weights="binary",
        normalise="l2",
    ):
        self.n_kc = n_kc
        self.in_degree = in_degree
        self.coding_level = coding_level
        self.seed = seed
        self.weights = weights
        self.normalise = normalise

    def _build(self, n_features: int, n_classes: int) -> FlyModel:
        return FlyModel(
            n_features,
            self.n_kc,
            _in_degree(self.in_degree, n_features),
            self.coding_level,
            n_classes,
            self.seed,
            weights=self.weights,
            normalise=self.normalise,
        )


class FlyCLClassifier(_FlyClassifier):
    """Fly-CL (:class:`~flysim.adapters.FlyCL`: sparse expansion + top-k + streaming ridge).

    ``fit`` builds ``FlyCL(n_in=X.shape[1], n_classes=len(classes_), ...)`` and accumulates
    (X, y); ``partial_fit`` adds more chunks (any chunking gives the same model); the ridge
    solution, lambda by GCV unless ``lam`` is given, is solved at the first prediction.

    Parameters
    ----------
    n_expansion : int
        Number of expansion units. Default 1000, not Fly-CL's 10,000: the ridge statistics take
        ``8 n_expansion^2`` bytes (0.8 GB at 10,000) and GCV an O(n_expansion^3)
        eigendecomposition per fit, which grid searches repeat.
    in_degree : int, optional
        Inputs per expansion unit; None: ``min(6, n_features)``.
    coding_level : float
        Fraction of active units, in (0, 1].
    seed : int
        Seed of the projection.
    weights : {"binary", "gaussian"}
    lam : float, optional
        Fixed ridge penalty; None chooses it by GCV over ``lambdas``.
    lambdas : array_like, optional
        GCV grid; None: :data:`flysim.adapters.ridge.DEFAULT_LAMBDAS`.

    Attributes
    ----------
    model_ : FlyCL
    classes_ : numpy.ndarray
    n_features_in_ : int
    """

    def __init__(
        self,
        n_expansion=1000,
        in_degree=None,
        coding_level=0.05,
        seed=0,
        weights="binary",
        lam=None,
        lambdas=None,
    ):
        self.n_expansion = n_expansion
        self.in_degree = in_degree
        self.coding_level = coding_level
        self.seed = seed
        self.weights = weights
        self.lam = lam
        self.lambdas = lambdas

    def _build(self, n_features: int, n_classes: int) -> FlyCL:
        return FlyCL(
            n_features,
            self.n_expansion,
            in_degree=_in_degree(self.in_degree, n_features),
            coding_level=self.coding_level,
            n_classes=n_classes,
            seed=self.seed,
            weights=self.weights,
            lam=self.lam,
            lambdas=DEFAULT_LAMBDAS if self.lambdas is None else self.lambdas,
        )
