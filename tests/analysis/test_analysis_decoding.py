"""Cross-validated ridge decoder."""

import numpy as np
import pytest
import xarray as xr

from flysim.analysis import decoding_accuracy
from flysim.analysis.decoding import ridge_classify, stratified_folds


def _classes(separation, n_odors=6, n_trials=10, n_kc=100, seed=0, extra=None):
    """Odor-specific sparse mean patterns plus unit Gaussian noise on every trial."""
    rng = np.random.default_rng(seed)
    extra = extra or {}
    means = separation * (rng.random((n_odors, n_kc)) < 0.1)
    shape = (*extra.values(), n_odors, n_trials, n_kc)
    values = means[:, None, :] + rng.normal(size=shape)
    return xr.DataArray(values, dims=(*extra, "odor", "trial", "kc"))


def test_well_separated_classes_are_decoded():
    responses = _classes(separation=3.0)
    accuracy = decoding_accuracy(responses)
    assert accuracy.item() >= 0.95
    assert accuracy.attrs["chance"] == pytest.approx(1 / 6)
    assert accuracy.attrs["n_folds"] == 5


def test_shuffled_labels_give_chance():
    responses = _classes(separation=3.0)
    accuracies = [
        decoding_accuracy(responses, shuffle_labels=True, seed=s).item() for s in range(8)
    ]
    assert abs(np.mean(accuracies) - 1 / 6) < 0.1
    assert decoding_accuracy(responses, shuffle_labels=True, seed=0).attrs["shuffle_labels"] == 1


def test_accuracy_grows_with_separation():
    accuracies = [decoding_accuracy(_classes(s, seed=1)).item() for s in (0.0, 0.7, 3.0)]
    assert accuracies[0] < 0.4 < accuracies[2]
    assert accuracies[0] < accuracies[1] < accuracies[2]


def test_folds_and_reproducibility():
    responses = _classes(separation=1.0)
    accuracy, folds = decoding_accuracy(responses, n_folds=4, return_folds=True)
    assert folds.dims == ("fold",) and folds.sizes["fold"] == 4
    np.testing.assert_allclose(accuracy.item(), folds.mean().item(), rtol=1e-15)
    again = decoding_accuracy(responses, n_folds=4)
    assert again.item() == accuracy.item()
    # A global seed does not change anything: only `seed` does.
    np.random.seed(123)
    assert decoding_accuracy(responses, n_folds=4).item() == accuracy.item()


def test_stratified_folds_hold_every_label():
    labels = np.repeat(np.arange(4), 7)
    folds = stratified_folds(labels, 3, np.random.default_rng(0))
    for fold in range(3):
        counts = np.bincount(labels[folds == fold], minlength=4)
        assert np.all((counts >= 2) & (counts <= 3))


def test_standardisation_uses_the_training_fold_only():
    # Training data lies near 0; a test sample far off shifts nothing in the fit, so the
    # prediction only depends on the training statistics.
    rng = np.random.default_rng(0)
    train_x = np.concatenate([rng.normal(-1, 0.1, (10, 3)), rng.normal(1, 0.1, (10, 3))])
    train_y = np.repeat([0, 1], 10)
    test_x = np.array([[-0.9, -1.1, -1.0], [50.0, 50.0, 50.0]])
    one = ridge_classify(train_x, train_y, test_x, 2, 1.0)
    two = ridge_classify(train_x, train_y, test_x[:1], 2, 1.0)
    np.testing.assert_array_equal(one, [0, 1])
    assert two[0] == one[0]


def test_primal_and_dual_solutions_agree():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 8))
    y = rng.integers(0, 3, 30)
    test = rng.normal(size=(10, 8))
    narrow = ridge_classify(x, y, test, 3, 2.0)  # 8 features < 30 samples: primal
    # Duplicate the features: same fit up to scale in the dual form (16 features > 12 samples).
    wide_x, wide_test = np.hstack([x[:12], x[:12]]), np.hstack([test, test])
    dual = ridge_classify(wide_x, y[:12], wide_test, 3, 2.0)
    primal = ridge_classify(x[:12], y[:12], test, 3, 1.0)  # ridge halves when features double
    np.testing.assert_array_equal(dual, primal)
    assert narrow.shape == (10,)


def test_extra_dims_broadcast():
    responses = xr.concat(
        [_classes(3.0, seed=2), _classes(0.0, seed=3)],
        dim=xr.DataArray(["clean", "pure_noise"], dims="noise", name="noise"),
    )
    accuracy = decoding_accuracy(responses)
    assert accuracy.dims == ("noise",)
    assert list(accuracy["noise"].values) == ["clean", "pure_noise"]
    assert accuracy.sel(noise="clean").item() >= 0.95
    assert accuracy.sel(noise="clean").item() == decoding_accuracy(responses[0]).item()


def test_non_finite_slice_gives_nan():
    responses = _classes(3.0, extra={"fly": 2}).copy()
    responses[1, 0, 0, 0] = np.nan
    accuracy = decoding_accuracy(responses)
    assert np.isfinite(accuracy.values[0]) and np.isnan(accuracy.values[1])


def test_errors():
    responses = _classes(3.0, n_trials=4)
    with pytest.raises(ValueError, match="fewer than n_folds"):
        decoding_accuracy(responses, n_folds=5)
    with pytest.raises(ValueError, match="at least 2 labels"):
        decoding_accuracy(responses.isel(odor=slice(0, 1)), n_folds=2)
    with pytest.raises(ValueError, match="ridge must be > 0"):
        decoding_accuracy(responses, n_folds=2, ridge=0.0)
    with pytest.raises(ValueError, match="n_folds must be"):
        decoding_accuracy(responses, n_folds=1)


def test_works_on_adapter_style_codes():
    codes = _classes(3.0).rename(odor="class", trial="sample", kc="unit")
    accuracy = decoding_accuracy(codes, label_dim="class", trial_dim="sample", feature_dim="unit")
    assert accuracy.item() >= 0.95
