"""Sparse projection (exact in-degree, distinct groups) and k-winners-take-all (exactly k, ties)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flysim.adapters import kwta, sparse_projection, topk_mask


@settings(max_examples=30, deadline=None)
@given(
    n_in=st.integers(1, 60),
    n_out=st.integers(1, 80),
    data=st.data(),
    weights=st.sampled_from(["binary", "gaussian"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_in_degree_is_exact_and_inputs_distinct(n_in, n_out, data, weights, seed):
    in_degree = data.draw(st.integers(1, n_in))
    matrix = sparse_projection(n_in, n_out, in_degree, weights=weights, seed=seed)
    assert matrix.shape == (n_out, n_in)
    assert np.all(np.diff(matrix.indptr) == in_degree)
    for row in range(n_out):
        columns = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
        assert np.unique(columns).size == in_degree  # without replacement
    if weights == "binary":
        assert np.all(matrix.data == 1.0)
    assert np.all((matrix != 0).sum(axis=1) == in_degree)


def test_distinct_groups_are_respected():
    # 50 glomeruli with 1-5 sister PNs each: no KC may sample two PNs of one glomerulus.
    rng = np.random.default_rng(3)
    groups = rng.permutation(np.repeat(np.arange(50), rng.integers(1, 6, size=50)))
    matrix = sparse_projection(groups.size, 2000, 7, groups=groups, seed=1)
    assert np.all(np.diff(matrix.indptr) == 7)
    rows = groups[matrix.indices].reshape(2000, 7)
    assert all(np.unique(row).size == 7 for row in rows)
    # Without the constraint, same-group pairs do occur with these sizes (the check can fail).
    free = sparse_projection(groups.size, 2000, 7, seed=1)
    free_rows = groups[free.indices].reshape(2000, 7)
    assert any(np.unique(row).size < 7 for row in free_rows)


def test_sampling_is_uniform_over_inputs():
    matrix = sparse_projection(50, 20000, 6, seed=0)
    counts = np.bincount(matrix.indices, minlength=50)
    expected = 20000 * 6 / 50
    # Binomial sd ~ sqrt(2400) ~ 49; 5 sd bounds.
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_projection_is_reproducible_and_seed_dependent():
    a = sparse_projection(50, 100, 6, weights="gaussian", seed=7)
    b = sparse_projection(50, 100, 6, weights="gaussian", seed=7)
    c = sparse_projection(50, 100, 6, weights="gaussian", seed=8)
    assert (a != b).nnz == 0
    assert (a != c).nnz > 0


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(n_in=5, n_out=3, in_degree=6), "in_degree"),
        (dict(n_in=5, n_out=3, in_degree=0), "in_degree"),
        (dict(n_in=0, n_out=3, in_degree=1), "n_in"),
        (dict(n_in=5, n_out=3, in_degree=2, weights="uniform"), "weights"),
        (dict(n_in=5, n_out=3, in_degree=2, groups=[0, 1, 2]), "groups"),
        (dict(n_in=4, n_out=3, in_degree=3, groups=[0, 0, 1, 1]), "in_degree"),
    ],
)
def test_projection_bad_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        sparse_projection(seed=0, **kwargs)


@settings(max_examples=50, deadline=None)
@given(
    x=st.lists(st.lists(st.integers(-3, 3), min_size=8, max_size=8), min_size=1, max_size=6),
    k=st.integers(1, 8),
)
def test_kwta_keeps_exactly_k_with_ties(x, k):
    # Small integer ranges force many ties at the k-th value.
    x = np.array(x, dtype=float)
    mask = topk_mask(x, k)
    assert np.all(mask.sum(axis=1) == k)
    for row, keep in zip(x, mask, strict=True):
        # Every kept value >= every dropped value ...
        if not keep.all():
            assert row[keep].min() >= row[~keep].max()
        # ... and it equals the stable-sort reference (ties to the lower index).
        reference = np.zeros(row.size, dtype=bool)
        reference[np.argsort(-row, kind="stable")[:k]] = True
        assert np.array_equal(keep, reference)
    values = kwta(x, k)
    assert np.array_equal(values, np.where(mask, x, 0.0))
    assert np.array_equal(kwta(x, k, binary=True), mask.astype(float))


def test_kwta_ties_go_to_lower_index_and_axis_works():
    x = np.array([[1.0, 3.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    assert np.array_equal(kwta(x, 2, binary=True), [[0, 1, 1, 0, 0], [1, 1, 0, 0, 0]])
    assert np.array_equal(kwta(x.T, 2, axis=0), kwta(x, 2).T)
    batch = np.random.default_rng(0).standard_normal((3, 4, 10))
    assert np.all(topk_mask(batch, 3, axis=1).sum(axis=1) == 3)


@pytest.mark.parametrize(
    "x, k, word",
    [
        (np.ones((2, 3)), 4, "k"),
        (np.ones((2, 3)), 0, "k"),
        (np.array([[1.0, np.nan]]), 1, "x"),
        (np.array([[1.0, np.inf]]), 1, "x"),
        (np.float64(1.0), 1, "x"),
    ],
)
def test_kwta_bad_arguments(x, k, word):
    with pytest.raises(ValueError, match=word):
        kwta(x, k)
