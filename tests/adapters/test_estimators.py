"""The scikit-learn estimators: scikit-learn's own checks, pipelines and grid searches on digits,
parameters, and outputs identical to the core objects they wrap. (That ``import flysim.adapters``
does not import scikit-learn is tested in test_adapters_imports.py.)"""

import inspect
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler, StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402  (a dependency of scikit-learn)

from flysim.adapters import FlyCL, FlyHash, FlyModel  # noqa: E402
from flysim.adapters.estimators import (  # noqa: E402
    FlyCLClassifier,
    FlyHashTransformer,
    FlyModelClassifier,
)

#: Small sizes keep scikit-learn's ~160 checks to a few seconds.
SMALL = [
    FlyHashTransformer(n_kc=200, k=10),
    FlyModelClassifier(n_kc=200),
    FlyCLClassifier(n_expansion=100),
]

SMALL_CLASSIFIERS = {type(estimator): estimator for estimator in SMALL[1:]}

#: Each estimator's core class and the core parameters that come from the data, not from it.
CORES = {
    FlyHashTransformer: (FlyHash, {"n_in"}),
    FlyModelClassifier: (FlyModel, {"n_in", "n_classes"}),
    FlyCLClassifier: (FlyCL, {"n_in", "n_classes"}),
}


@pytest.fixture(autouse=True, scope="module")
def single_blas_thread():
    """Small matrices: one BLAS thread avoids OpenMP spin-waiting on a busy 2-core machine."""
    with threadpool_limits(1):
        yield


@parametrize_with_checks(SMALL)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    """600 training and 400 test images of scikit-learn's digits (8 x 8, shipped, no download)."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, train_size=600, test_size=400, random_state=0, stratify=y)


@pytest.mark.parametrize(
    "pipeline, grid, best",
    [
        (
            make_pipeline(
                MinMaxScaler(), FlyHashTransformer(n_kc=400, k=40), LogisticRegression(tol=1e-2)
            ),
            {"flyhashtransformer__k": [4, 40]},
            40,
        ),
        (
            make_pipeline(MinMaxScaler(), FlyModelClassifier(n_kc=400)),
            {"flymodelclassifier__coding_level": [0.01, 0.1]},
            0.1,
        ),
        (
            make_pipeline(StandardScaler(), FlyCLClassifier(n_expansion=300)),
            {"flyclclassifier__coding_level": [0.01, 0.1]},
            0.1,
        ),
    ],
    ids=["FlyHashTransformer", "FlyModelClassifier", "FlyCLClassifier"],
)
def test_pipeline_and_grid_search_on_digits(digits, pipeline, grid, best):
    X_train, X_test, y_train, y_test = digits
    search = GridSearchCV(pipeline, grid, cv=3).fit(X_train, y_train)
    (name,) = grid
    scores = search.cv_results_["mean_test_score"]
    print(f"\n{name}: CV accuracy {dict(zip(grid[name], scores, strict=True))}")
    # A sparser code (shorter hash, fewer active KCs) carries less: the search must see it.
    assert search.best_params_ == {name: best}
    assert search.score(X_test, y_test) > 0.8  # chance is 0.1


@pytest.mark.parametrize("estimator", SMALL, ids=lambda e: type(e).__name__)
def test_parameters_are_the_core_objects(estimator):
    core, from_data = CORES[type(estimator)]
    core_parameters = set(inspect.signature(core).parameters) - from_data
    assert set(estimator.get_params()) == core_parameters


@pytest.mark.parametrize("estimator", SMALL, ids=lambda e: type(e).__name__)
def test_get_set_params_and_clone(estimator, digits):
    X, _, y, _ = digits
    params = estimator.get_params()
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == params
    assert copy.set_params(seed=5) is copy
    assert copy.get_params() == {**params, "seed": 5} and estimator.get_params() == params
    fitted = clone(estimator).fit(X, y)
    assert not hasattr(clone(fitted), "n_features_in_")  # a clone is unfitted
    refitted = fitted.set_params(seed=5).fit(X, y)
    assert not np.array_equal(_output(refitted, X), _output(clone(estimator).fit(X, y), X))


def _output(estimator, X):
    method = "transform" if hasattr(estimator, "transform") else "decision_function"
    return getattr(estimator, method)(X)


HASH_SETTINGS = [
    {},
    {"n_kc": 150, "in_degree": 3, "k": 7, "seed": 4, "weights": "gaussian"},
    {"centre": False, "tag": "values", "seed": 2},
]


@pytest.mark.parametrize("settings", HASH_SETTINGS)
def test_transformer_output_is_flyhash(digits, settings):
    X = digits[0]
    defaults = FlyHashTransformer().get_params()
    core_settings = {**defaults, **settings, "in_degree": settings.get("in_degree", 6)}
    core = FlyHash(X.shape[1], **core_settings)
    np.testing.assert_array_equal(
        FlyHashTransformer(**settings).fit(X).transform(X), core.encode(X)
    )


CLASSIFIER_SETTINGS = [
    (FlyModelClassifier, FlyModel, {"n_kc": 300}),
    (
        FlyModelClassifier,
        FlyModel,
        {"n_kc": 300, "in_degree": 3, "coding_level": 0.2, "seed": 4, "weights": "gaussian"},
    ),
    (FlyModelClassifier, FlyModel, {"n_kc": 300, "normalise": "count"}),
    (FlyCLClassifier, FlyCL, {"n_expansion": 200}),
    (
        FlyCLClassifier,
        FlyCL,
        {"n_expansion": 200, "in_degree": 3, "coding_level": 0.2, "seed": 4, "weights": "gaussian"},
    ),
    (FlyCLClassifier, FlyCL, {"n_expansion": 200, "lam": 3.0}),
    (FlyCLClassifier, FlyCL, {"n_expansion": 200, "lambdas": [0.01, 100.0]}),
]


def _labelled(y):
    """The digit labels as strings: the estimator must hand the core object their positions."""
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    return names[y]


@pytest.mark.parametrize("wrapper, core, settings", CLASSIFIER_SETTINGS)
def test_classifier_output_is_the_core_objects(digits, wrapper, core, settings):
    X_train, X_test, y_train, _ = digits
    labels = _labelled(y_train)
    classes = np.unique(labels)  # sorted names: "eight", "five", ...
    estimator = wrapper(**settings).fit(X_train, labels)
    core_settings = {**estimator.get_params(), "in_degree": settings.get("in_degree", 6)}
    if core is FlyCL and core_settings["lambdas"] is None:
        del core_settings["lambdas"]  # the core's default grid
    model = core(X_train.shape[1], n_classes=classes.size, **core_settings)
    model.partial_fit(X_train, np.searchsorted(classes, labels))
    np.testing.assert_array_equal(estimator.classes_, classes)
    np.testing.assert_array_equal(
        estimator.decision_function(X_test), model.decision_function(X_test)
    )
    np.testing.assert_array_equal(estimator.predict(X_test), classes[model.predict(X_test)])


@pytest.mark.parametrize("wrapper", [FlyModelClassifier, FlyCLClassifier])
def test_two_classes_give_one_score_per_sample(digits, wrapper):
    X_train, X_test, y_train, _ = digits
    pair = np.isin(y_train, (3, 8))
    estimator = clone(SMALL_CLASSIFIERS[wrapper]).fit(X_train[pair], _labelled(y_train[pair]))
    scores = estimator.decision_function(X_test)
    full = estimator.model_.decision_function(X_test)
    np.testing.assert_array_equal(scores, full[:, 1] - full[:, 0])  # > 0: classes_[1], "three"
    np.testing.assert_array_equal(estimator.predict(X_test), estimator.classes_[(scores > 0) * 1])


@pytest.mark.parametrize("wrapper", [FlyModelClassifier, FlyCLClassifier])
def test_partial_fit_in_chunks_equals_fit(digits, wrapper):
    X_train, X_test, y_train, _ = digits
    labels = _labelled(y_train)
    whole = clone(SMALL_CLASSIFIERS[wrapper]).fit(X_train, labels)
    streamed = clone(SMALL_CLASSIFIERS[wrapper])
    # Class-incremental: the first chunk has only some classes; all are announced up front.
    order = np.argsort(y_train, kind="stable")
    for chunk in np.array_split(order, 3):
        streamed.partial_fit(X_train[chunk], labels[chunk], classes=np.unique(labels))
    np.testing.assert_allclose(
        streamed.decision_function(X_test), whole.decision_function(X_test), rtol=1e-9, atol=1e-9
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda X, y: FlyHashTransformer(k=0).fit(X), "k must be >= 1, got 0"),
        (lambda X, y: FlyHashTransformer(n_kc=10, k=20).fit(X), r"k must be <= n_kc \(10\)"),
        (lambda X, y: FlyHashTransformer(in_degree=65).fit(X), r"in_degree must be <= n_in \(64\)"),
        (lambda X, y: FlyHashTransformer(tag="ones").fit(X), "tag must be 'binary' or 'values'"),
        (lambda X, y: FlyModelClassifier(coding_level=2).fit(X, y), r"coding_level must be in"),
        (lambda X, y: FlyModelClassifier(normalise="max").fit(X, y), "normalise must be one of"),
        (lambda X, y: FlyCLClassifier(lam=-1).fit(X, y), "lam must be a finite real number >= 0"),
        (lambda X, y: FlyCLClassifier(lambdas=[]).fit(X, y), "lambdas must be a non-empty"),
        (
            lambda X, y: FlyModelClassifier().partial_fit(X, y),
            "classes must be given on the first call to partial_fit",
        ),
        (
            lambda X, y: FlyModelClassifier().partial_fit(X, y, classes=[0, 1]),
            r"y has labels not in classes_ \[0, 1\]: 2, 3, 4, 5, 6, 7, 8, 9$",
        ),
        (
            lambda X, y: (
                FlyCLClassifier()
                .partial_fit(X, y, classes=range(10))
                .partial_fit(X, y, classes=range(11))
            ),
            r"classes \[0, 1, .*, 10\] differ from the first call's \[0, 1, .*, 9\]$",
        ),
        (
            lambda X, y: FlyCLClassifier(n_expansion=50).fit(X, y).predict(X[:, :10]),
            "X has 10 features, but FlyCLClassifier is expecting 64 features",
        ),
        (lambda X, y: FlyModelClassifier().fit(X, y + 0.5), "Unknown label type"),
    ],
)
def test_errors_are_one_line_naming_the_problem(digits, make, message):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match=message) as error:
        make(X, y)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("estimator", SMALL, ids=lambda e: type(e).__name__)
def test_unfitted_estimators_say_so(estimator, digits):
    method = "transform" if hasattr(estimator, "transform") else "predict"
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(estimator, method)(digits[1])


def test_missing_sklearn_names_the_extra():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"  # as if scikit-learn were not installed
        "try:\n    import flysim.adapters.estimators\n"
        "except ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == (
        'flysim.adapters.estimators needs scikit-learn: pip install "flysim[sklearn]"'
    ), result.stderr
