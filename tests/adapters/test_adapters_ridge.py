"""Streaming ridge (closed form, brute-force GCV, chunk invariance) and the Fly-CL classifier."""

import numpy as np
import pytest
import scipy.linalg

from flysim.adapters import (
    FlyCL,
    StreamingRidge,
    class_incremental,
    class_incremental_tasks,
    odor_classes,
)

LAMBDAS = np.logspace(-4, 4, 33)


def _regression(n, p, n_outputs, seed):
    rng = np.random.default_rng(seed)
    H = rng.standard_normal((n, p))
    H[:, 1] = H[:, 0] + 0.01 * rng.standard_normal(n)  # multicollinear pair, as Fly-CL motivates
    Y = H @ rng.standard_normal((p, n_outputs)) + 2.0 * rng.standard_normal((n, n_outputs))
    return H, Y


def _brute_force_gcv(H, Y, lam):
    """GCV from explicit residuals and hat-matrix trace, with no eigendecomposition.

    The residual maker I - S, S = H (H^T H + lam I)^{-1} H^T, equals lam (H H^T + lam I)^{-1}
    (push-through identity); forming it that way avoids the cancellation in n - tr(S) when
    lam is tiny and p > n, where tr(S) -> n.
    """
    n, p = H.shape
    hat = H @ np.linalg.solve(H.T @ H + lam * np.eye(p), H.T)
    residual_maker = lam * np.linalg.inv(H @ H.T + lam * np.eye(n))
    np.testing.assert_allclose(np.eye(n) - hat, residual_maker, atol=1e-6)  # same matrix
    residuals = residual_maker @ Y
    return n * np.sum(residuals**2) / np.trace(residual_maker) ** 2


def test_fixed_lambda_matches_closed_form():
    H, Y = _regression(80, 30, 3, seed=0)
    weights = StreamingRidge(30, 3).partial_fit(H, Y).solve(lam=0.7)
    expected = scipy.linalg.solve(H.T @ H + 0.7 * np.eye(30), H.T @ Y, assume_a="pos")
    np.testing.assert_allclose(weights, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n, p", [(80, 30), (25, 40)])  # n > p and p > n
def test_gcv_matches_brute_force(n, p):
    H, Y = _regression(n, p, 2, seed=1)
    ridge = StreamingRidge(p, 2).partial_fit(H, Y)
    scores = ridge.gcv(LAMBDAS)
    brute = np.array([_brute_force_gcv(H, Y, lam) for lam in LAMBDAS])
    # Eigen-formula vs explicit hat matrix: both exact up to rounding of O(cond * eps).
    np.testing.assert_allclose(scores, brute, rtol=1e-6)
    chosen = ridge.choose_lambda(LAMBDAS)
    assert chosen == LAMBDAS[np.argmin(brute)]
    assert LAMBDAS[0] < chosen < LAMBDAS[-1]  # an interior minimum: the test can discriminate
    np.testing.assert_allclose(
        ridge.solve(), scipy.linalg.solve(H.T @ H + chosen * np.eye(p), H.T @ Y), rtol=1e-8
    )


def test_streaming_over_chunks_equals_batch():
    H, Y = _regression(200, 40, 3, seed=2)
    batch = scipy.linalg.solve(H.T @ H + 0.1 * np.eye(40), H.T @ Y)
    streaming = StreamingRidge(40, 3)
    for chunk in np.array_split(np.arange(200), [13, 50, 51, 120]):
        streaming.partial_fit(H[chunk], Y[chunk])
    assert streaming.n_samples == 200
    np.testing.assert_allclose(streaming.solve(lam=0.1), batch, rtol=1e-8)
    whole = StreamingRidge(40, 3).partial_fit(H, Y)
    assert streaming.choose_lambda() == whole.choose_lambda()
    np.testing.assert_allclose(streaming.solve(), whole.solve(), rtol=1e-8)


def test_ridge_bad_arguments():
    ridge = StreamingRidge(4, 2)
    with pytest.raises(ValueError, match="partial_fit"):
        ridge.solve()
    with pytest.raises(ValueError, match="H"):
        ridge.partial_fit(np.ones((3, 5)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="Y"):
        ridge.partial_fit(np.ones((3, 4)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="H"):
        ridge.partial_fit(np.full((3, 4), np.inf), np.ones((3, 2)))
    ridge.partial_fit(np.ones((3, 4)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="lam"):
        ridge.solve(lam=-1.0)
    with pytest.raises(ValueError, match="lambdas"):
        ridge.solve(lambdas=[0.0, 1.0])


def test_fly_cl_streams_tasks_like_a_batch_and_classifies():
    X, y = odor_classes(10, 60, 50, noise=0.8, seed=4)
    tasks = class_incremental_tasks(X, y, 5, seed=0)

    def model():
        return FlyCL(50, 500, in_degree=6, coding_level=0.05, n_classes=10, seed=0)

    result = class_incremental(model(), tasks)
    streamed = model()
    for X_train, y_train, _, _ in tasks:
        streamed.partial_fit(X_train, y_train)
    X_train = np.concatenate([task[0] for task in tasks])
    y_train = np.concatenate([task[1] for task in tasks])
    batch = model().partial_fit(X_train, y_train)
    X_test = np.concatenate([task[2] for task in tasks])
    np.testing.assert_allclose(
        streamed.decision_function(X_test), batch.decision_function(X_test), rtol=1e-8, atol=1e-10
    )
    assert streamed.lambda_ == batch.lambda_
    final = result.attrs["final_average_accuracy"]
    print(f"\nFly-CL class-incremental average accuracy after 5 tasks: {final:.3f}")
    assert final > 0.8  # chance is 0.1
