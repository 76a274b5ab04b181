"""FlyHash vs dense LSH (Dasgupta, Stevens & Navlakha 2017) and the MAP metric itself."""

import numpy as np
import pytest

from flysim.adapters import (
    DenseLSH,
    FlyHash,
    clustered_data,
    equalise_means,
    flyhash_benchmark,
    mean_average_precision,
    true_neighbours,
)


def test_flyhash_tags_are_binary_with_k_ones():
    data, _ = clustered_data(200, 50, 10, 0.3, seed=0)
    tags = FlyHash(50, 2000, 6, 16, seed=0).encode(data)
    assert tags.shape == (200, 2000)
    assert set(np.unique(tags)) == {0.0, 1.0}
    assert np.all(tags.sum(axis=1) == 16)
    assert DenseLSH(50, 16, seed=0).encode(data).shape == (200, 16)


def test_map_is_one_for_exact_codes_and_low_for_noise():
    data, _ = clustered_data(500, 20, 10, 0.3, seed=1)
    queries = np.arange(0, 500, 10)
    truth = true_neighbours(data, queries, fraction=0.02)
    assert truth.shape == (50, 10)
    assert not np.any(truth == queries[:, None])  # the query is never its own neighbour
    exact = mean_average_precision(data[queries], data, truth, query_index=queries)
    assert exact == pytest.approx(1.0)
    noise = np.random.default_rng(0).standard_normal((500, 20))
    chance = mean_average_precision(noise[queries], noise, truth, query_index=queries)
    assert chance < 0.1


def test_map_hand_example():
    # One query, database of 4; true neighbours {1, 3}; code ranking 1, 2, 3 -> AP = (1 + 2/3) / 2
    # over the first R = 2 retrieved: items 1 (hit), 2 (miss) -> AP = (1/1) / 2 = 0.5.
    database = np.array([[0.0], [1.0], [2.0], [3.0]])
    query = np.array([[0.9]])
    value = mean_average_precision(query, database, np.array([[1, 3]]), tie_break="index")
    assert value == pytest.approx(0.5)


def test_map_bad_arguments():
    codes = np.zeros((5, 3))
    with pytest.raises(ValueError, match="true_neighbours"):
        mean_average_precision(codes[:2], codes, np.array([[0, 9], [1, 2]]))
    with pytest.raises(ValueError, match="query_codes"):
        mean_average_precision(np.zeros((2, 4)), codes, np.array([[0], [1]]))
    with pytest.raises(ValueError, match="k"):
        FlyHash(10, 20, 3, 21, seed=0)
    with pytest.raises(ValueError, match="in_degree"):
        FlyHash(10, 20, 11, 2, seed=0)


def test_flyhash_beats_dense_lsh_at_equal_hash_length():
    # 2000 non-negative 50-d vectors in 100 lognormal clusters; true neighbours = top 2%.
    # The paper's protocol (authors' code): equal input means, m = 20k KCs, winners keep drive.
    data, _ = clustered_data(2000, 50, 100, 0.3, seed=0)
    result = flyhash_benchmark(data, hash_lengths=(2, 4, 8, 16, 32), seeds=(0, 1, 2))
    table = result["mean_average_precision"]
    print("\nMAP (mean over 3 seeds), paper protocol: m = 20k, winners' drive, equal means")
    print(table.mean("seed").to_pandas().round(3).to_string())
    assert bool((table.sel(algorithm="fly") > table.sel(algorithm="lsh")).all())
    assert bool((table.sel(algorithm="fly").diff("hash_length") > 0).all())  # longer hash, better


def test_flyhash_fixed_expansion_binary_tags_reported():
    # The fly's own 50 -> 2000 expansion with binary tags: wins at short hashes; at 32 dense LSH
    # catches up on this data (reported in the printout, asserted only for k <= 8).
    data, _ = clustered_data(2000, 50, 100, 0.3, seed=0)
    result = flyhash_benchmark(
        data, hash_lengths=(2, 4, 8, 16, 32), n_kc=2000, tag="binary", seeds=(0, 1)
    )
    table = result["mean_average_precision"]
    print("\nMAP (mean over 2 seeds), 50 -> 2000 KCs, binary tags, equal means")
    print(table.mean("seed").to_pandas().round(3).to_string())
    short = table.sel(hash_length=[2, 4, 8])
    assert bool((short.sel(algorithm="fly") > short.sel(algorithm="lsh")).all())


def test_equalise_means():
    X = np.array([[1.0, 3.0], [-2.0, 2.0], [0.0, 0.0]])
    out = equalise_means(X, mean=10.0)
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.mean(axis=1), [10.0, 10.0, 10.0])
    np.testing.assert_array_equal(X, [[1.0, 3.0], [-2.0, 2.0], [0.0, 0.0]])  # not mutated
