"""Fly model vs SGD softmax readout under class-incremental learning on synthetic odor classes."""

import numpy as np
import pytest

from flysim.adapters import (
    FlyModel,
    SGDLinearReadout,
    class_incremental,
    class_incremental_tasks,
    odor_classes,
)


@pytest.fixture(scope="module")
def tasks():
    # 10 odor classes, 100 noisy presentations each, split into 5 tasks of 2 new classes.
    data, labels = odor_classes(10, 100, 50, noise=1.0, seed=0)
    return class_incremental_tasks(data, labels, 5, seed=0)


def test_tasks_have_disjoint_classes(tasks):
    assert len(tasks) == 5
    seen = set()
    for X_train, y_train, X_test, y_test in tasks:
        classes = set(np.unique(y_train))
        assert classes == set(np.unique(y_test)) and len(classes) == 2
        assert not classes & seen
        seen |= classes
        assert X_train.shape[1] == X_test.shape[1] == 50


def test_fly_model_forgets_less_than_sgd(tasks):
    fly = class_incremental(FlyModel(50, 2000, 6, 0.05, 10, seed=0), tasks)
    rows = [("fly (2000 KCs, 6 inputs, 5% active)", fly)]
    for lr in (0.01, 0.001):
        rows.append(
            (
                f"SGD softmax readout, lr={lr}",
                class_incremental(SGDLinearReadout(50, 10, lr=lr, epochs=5, seed=0), tasks),
            )
        )
    print("\naverage accuracy over seen tasks after the last of 5 tasks; forgetting")
    for name, result in rows:
        print(
            f"{name:40s} {result.attrs['final_average_accuracy']:.3f}  "
            f"{float(result['forgetting']):.3f}"
        )
    for _, sgd in rows[1:]:
        assert fly.attrs["final_average_accuracy"] > sgd.attrs["final_average_accuracy"]
        assert float(fly["forgetting"]) < float(sgd["forgetting"])
    # Each SGD model learned every new task (so its deficit is forgetting, not underfitting).
    assert np.all(np.diagonal(rows[1][1]["accuracy"].values) > 0.9)


def test_fly_readout_is_order_invariant(tasks):
    forward = FlyModel(50, 500, 6, 0.1, 10, seed=0)
    backward = FlyModel(50, 500, 6, 0.1, 10, seed=0)
    for task in tasks:
        forward.partial_fit(task[0], task[1])
    for task in reversed(tasks):
        backward.partial_fit(task[0], task[1])
    X_test = np.concatenate([task[2] for task in tasks])
    np.testing.assert_array_equal(forward.predict(X_test), backward.predict(X_test))
    assert forward.k == 50


def test_result_layout(tasks):
    result = class_incremental(FlyModel(50, 500, 6, 0.1, 10, seed=0), tasks[:3])
    accuracy = result["accuracy"]
    assert accuracy.dims == ("after_task", "on_task") and accuracy.shape == (3, 3)
    assert np.isnan(accuracy.values[0, 1]) and not np.isnan(accuracy.values[2, 0])
    assert result.attrs["final_average_accuracy"] == pytest.approx(
        float(np.nanmean(accuracy.values[-1]))
    )


def test_bad_arguments():
    model = FlyModel(5, 50, 2, 0.1, 3, seed=0)
    with pytest.raises(ValueError, match="y"):
        model.partial_fit(np.ones((4, 5)), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="X"):
        model.partial_fit(np.ones((4, 6)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="coding_level"):
        FlyModel(5, 50, 2, 1.5, 3, seed=0)
    with pytest.raises(ValueError, match="in_degree"):
        FlyModel(5, 50, 6, 0.1, 3, seed=0)
    with pytest.raises(ValueError, match="lr"):
        SGDLinearReadout(5, 3, lr=0.0, seed=0)
    with pytest.raises(ValueError, match="tasks"):
        class_incremental(model, [])
