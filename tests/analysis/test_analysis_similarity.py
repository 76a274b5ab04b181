"""Similarity metrics, separation curve and separation index."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flysim.analysis import (
    paired_similarity,
    pairwise_similarity,
    separation_curve,
    separation_index,
)

METRICS = ["pearson", "cosine", "jaccard"]


def _responses(seed=0, n_odors=6, n_kc=300, extra=None):
    rng = np.random.default_rng(seed)
    shape = (*(extra or {}).values(), n_odors, n_kc)
    values = rng.gamma(0.3, 2.0, shape) * (rng.random(shape) < 0.2)
    dims = (*(extra or {}), "odor", "kc")
    return xr.DataArray(values, dims=dims, coords={"odor": [f"odor{i}" for i in range(n_odors)]})


@pytest.mark.parametrize("metric", METRICS)
def test_identical_patterns_have_similarity_exactly_one(metric):
    # 17 odors: with this size the BLAS product gives some identical pairs 1 - 1 ulp, so
    # this fails unless identical patterns are made exactly 1.
    responses = _responses(n_odors=17, extra={"trial": 3})
    # Odors 4 and 16 are exact copies of odors 1 and 0; the diagonal compares each pattern
    # with itself.
    responses = responses.copy()
    responses[:, 4] = responses[:, 1].values
    responses[:, 16] = responses[:, 0].values
    sim = pairwise_similarity(responses, dim="kc", over="odor", metric=metric)
    assert sim.dims == ("trial", "odor", "odor_other")
    for i, j in [(1, 4), (0, 16)]:
        assert np.all(sim.isel(odor=i, odor_other=j).values == 1.0)
        assert np.all(sim.isel(odor=j, odor_other=i).values == 1.0)
        paired = paired_similarity(responses.isel(odor=i), responses.isel(odor=j), metric=metric)
        assert np.all(paired.values == 1.0)
    assert np.all(np.diagonal(sim.values, axis1=-2, axis2=-1) == 1.0)


@pytest.mark.parametrize("scale", [1e-200, 1.0, 1e200])
def test_identical_patterns_at_extreme_scales(scale):
    pattern = np.array([0.0, 1.0, 2.0, 0.0, 5.0]) * scale
    responses = xr.DataArray(np.stack([pattern, pattern]), dims=("odor", "kc"))
    for metric in METRICS:
        assert np.all(pairwise_similarity(responses, metric=metric).values == 1.0)


def test_known_values():
    x = np.array([1.0, 0.0, 1.0, 0.0])
    y = np.array([1.0, 1.0, 0.0, 0.0])
    responses = xr.DataArray(np.stack([x, y]), dims=("odor", "kc"))
    expected = {
        "pearson": np.corrcoef(x, y)[0, 1],  # 0
        "cosine": 0.5,
        "jaccard": 1 / 3,
    }
    for metric, value in expected.items():
        sim = pairwise_similarity(responses, metric=metric)
        np.testing.assert_allclose(sim.values[0, 1], value, atol=1e-15)
        a, b = responses.isel(odor=0), responses.isel(odor=1)
        np.testing.assert_allclose(paired_similarity(a, b, metric=metric).item(), value, atol=1e-15)


def test_pearson_matches_numpy_on_random_data():
    responses = _responses(seed=3)
    sim = pairwise_similarity(responses, metric="pearson")
    np.testing.assert_allclose(sim.values, np.corrcoef(responses.values), rtol=1e-12, atol=1e-14)


def test_jaccard_threshold():
    responses = xr.DataArray([[0.5, 2.0, 3.0], [2.0, 0.5, 3.0]], dims=("odor", "kc"))
    assert pairwise_similarity(responses, metric="jaccard").values[0, 1] == 1.0
    assert pairwise_similarity(responses, metric="jaccard", threshold=1.0).values[0, 1] == 1 / 3


def test_undefined_cases_are_nan():
    responses = xr.DataArray(
        [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 0.0]], dims=("odor", "kc")
    )
    pearson = pairwise_similarity(responses, metric="pearson").values
    assert np.isnan(pearson[0]).all() and np.isnan(pearson[1]).all()  # constant patterns
    cosine = pairwise_similarity(responses, metric="cosine").values
    assert np.isnan(cosine[1]).all() and np.isfinite(cosine[0, 2])  # zero pattern only
    jaccard = pairwise_similarity(responses, metric="jaccard").values
    assert np.isnan(jaccard[1, 1]) and jaccard[1, 2] == 0.0  # both sets empty -> NaN


def test_coordinates_and_attrs():
    sim = pairwise_similarity(_responses(), metric="cosine")
    assert list(sim["odor_other"].values) == list(sim["odor"].values)
    assert sim.attrs["metric"] == "cosine" and sim.attrs["units"] == "1"


def test_bad_arguments():
    responses = _responses()
    with pytest.raises(ValueError, match="metric must be one of"):
        pairwise_similarity(responses, metric="euclid")
    with pytest.raises(ValueError, match="must differ"):
        pairwise_similarity(responses, dim="kc", over="kc")
    with pytest.raises(ValueError, match="do not align"):  # different sizes
        paired_similarity(responses.isel(kc=slice(0, 10)), responses.isel(kc=slice(0, 15)))
    labelled = responses.assign_coords(kc=np.arange(responses.sizes["kc"]))
    with pytest.raises(ValueError, match="do not align"):  # same size, different units
        paired_similarity(labelled.isel(kc=slice(0, 10)), labelled.isel(kc=slice(5, 15)))


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 6), st.integers(2, 12)),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    ),
    st.sampled_from(METRICS),
)
def test_similarity_is_symmetric_and_bounded(values, metric):
    sim = pairwise_similarity(xr.DataArray(values, dims=("odor", "kc")), metric=metric).values
    np.testing.assert_array_equal(sim, sim.T)  # exactly, NaN included
    finite = sim[np.isfinite(sim)]
    low = 0.0 if metric == "jaccard" else -1.0
    assert np.all((finite >= low) & (finite <= 1.0))


def _decorrelation_case(seed=0, n_odors=12, n_pn=50):
    """PN-like inputs sharing a strong common component, and the inputs with it removed."""
    rng = np.random.default_rng(seed)
    common = rng.uniform(0, 1, n_pn)
    inputs = 3.0 * common + rng.uniform(0, 1, (n_odors, n_pn))
    decorrelated = inputs - inputs.mean(axis=0)  # subtract the mean response across odors
    to_da = lambda v: xr.DataArray(v, dims=("odor", "pn"))  # noqa: E731
    return to_da(inputs), to_da(decorrelated)


@pytest.mark.parametrize("metric", ["pearson", "cosine"])
def test_separation_index_detects_decorrelation(metric):
    inputs, outputs = _decorrelation_case()
    in_sim = pairwise_similarity(inputs, dim="pn", metric=metric)
    out_sim = pairwise_similarity(outputs, dim="pn", metric=metric)
    index = separation_index(in_sim, out_sim)
    assert index.dims == () and index.attrs["n_pairs"] == 12 * 11 // 2
    assert index.item() > 0.5
    assert separation_index(in_sim, in_sim).item() == 0.0  # identity: exactly 0
    assert separation_index(out_sim, in_sim).item() == pytest.approx(-index.item())


def test_separation_index_by_hand_and_broadcast():
    in_sim = xr.DataArray(
        [[1.0, 0.8, 0.6], [0.8, 1.0, 0.4], [0.6, 0.4, 1.0]], dims=("odor", "odor_other")
    )
    out_sim = xr.DataArray(
        [[[1.0, 0.5, 0.6], [0.5, 1.0, 0.1], [0.6, 0.1, 1.0]]] * 2,
        dims=("condition", "odor", "odor_other"),
        coords={"condition": ["apl_on", "apl_off"]},
    )
    out_sim[1] = in_sim.values
    index = separation_index(in_sim, out_sim)
    assert index.dims == ("condition",)
    np.testing.assert_allclose(index.values, [(0.3 + 0.0 + 0.3) / 3, 0.0], atol=1e-15)


def test_separation_curve():
    inputs, outputs = _decorrelation_case(seed=1, n_odors=30)
    in_sim = pairwise_similarity(inputs, dim="pn")
    out_sim = pairwise_similarity(outputs, dim="pn")
    curve = separation_curve(in_sim, out_sim, bins=5)
    assert curve.dims == ("input_similarity",)
    assert curve["count"].sum().item() == 30 * 29 // 2
    row, col = np.triu_indices(30, k=1)
    x, y = in_sim.values[row, col], out_sim.values[row, col]
    edges = np.concatenate([curve["bin_lower"].values, curve["bin_upper"].values[-1:]])
    counts, _ = np.histogram(x, edges)
    np.testing.assert_array_equal(curve["count"].values, counts)
    sums, _ = np.histogram(x, edges, weights=y)
    np.testing.assert_allclose(curve.values, sums / counts, rtol=1e-12)
    last = (x >= edges[-2]) & (x <= edges[-1])
    sem = y[last].std(ddof=1) / np.sqrt(last.sum()) if last.sum() > 1 else np.nan
    np.testing.assert_allclose(curve["sem"].values[-1], sem, rtol=1e-10)
    # Decorrelation: output similarity below the diagonal wherever there are pairs.
    filled = curve["count"] > 0
    assert np.all(curve.values[filled] < curve["input_similarity"].values[filled])


def test_separation_curve_explicit_edges_and_empty_bins():
    in_sim = xr.DataArray([[1.0, 0.9], [0.9, 1.0]], dims=("odor", "odor_other"))
    out_sim = xr.DataArray([[1.0, 0.2], [0.2, 1.0]], dims=("odor", "odor_other"))
    curve = separation_curve(in_sim, out_sim, bins=[0.0, 0.5, 1.0])
    np.testing.assert_array_equal(curve["count"].values, [0, 1])
    assert np.isnan(curve.values[0]) and curve.values[1] == 0.2
    assert np.isnan(curve["sem"].values).all()
    with pytest.raises(ValueError, match="increasing"):
        separation_curve(in_sim, out_sim, bins=[1.0, 0.0])


def test_pair_dims_must_be_identifiable():
    sim = xr.DataArray(np.eye(3), dims=("a", "b"))
    with pytest.raises(ValueError, match="pair dims"):
        separation_index(sim, sim)
    with pytest.raises(ValueError, match="'odor' not found"):
        separation_index(sim, sim, over="odor")


def test_separation_functions_do_not_mutate_their_inputs():
    inputs, outputs = _decorrelation_case(seed=2)
    in_sim = pairwise_similarity(inputs, dim="pn")
    out_sim = pairwise_similarity(outputs, dim="pn")
    in_copy, out_copy = in_sim.copy(deep=True), out_sim.copy(deep=True)
    separation_curve(in_sim, out_sim, bins=4).values[...] = 0
    separation_index(in_sim, out_sim).values[...] = 0
    xr.testing.assert_identical(in_sim, in_copy)
    xr.testing.assert_identical(out_sim, out_copy)
