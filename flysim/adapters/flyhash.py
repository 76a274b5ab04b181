"""FlyHash versus dense locality-sensitive hashing, scored by nearest-neighbour retrieval.

Dasgupta, Stevens & Navlakha 2017 (Science 358:793, "A neural algorithm for a fundamental computing
problem") read the fly's olfactory circuit as a similarity-preserving hash: give every input the
same mean (the PNs' divisive normalization), expand it with a sparse binary random projection
(each of m = 20k KCs samples ~6 inputs), and keep the top k KCs (APL winner-take-all). At equal
hash length k it retrieved nearest neighbours better than classical LSH, a dense Gaussian random
projection to k dimensions. Retrieval quality is the mean average precision (MAP) of the
code-space ranking against the true nearest neighbours (the top 2% in input space).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._checks import check_fraction, check_int, check_matrix
from .projection import kwta, sparse_projection

__all__ = [
    "FlyHash",
    "DenseLSH",
    "equalise_means",
    "true_neighbours",
    "mean_average_precision",
    "flyhash_benchmark",
]


def equalise_means(X, mean: float = 100.0) -> np.ndarray:
    """The authors' preprocessing: shift each column to be >= 0, then scale each row to ``mean``.

    Every input then has the same mean "firing rate" (PN divisive normalization; Dasgupta et al.
    2017). Rows that are all zero after the shift stay zero.
    """
    X = check_matrix(X, "X")
    X = X - np.minimum(X.min(axis=0, keepdims=True), 0.0)
    row_mean = X.mean(axis=1, keepdims=True)
    return np.divide(X * mean, row_mean, out=np.zeros_like(X), where=row_mean > 0)


def _centre(X: np.ndarray) -> np.ndarray:
    """Subtract each row's mean (the paper's first step: every odor gets the same mean)."""
    return X - X.mean(axis=1, keepdims=True)


class FlyHash:
    """The fly's hash: centring, sparse binary expansion, top-k winner-take-all.

    Algorithm (Dasgupta et al. 2017): ``x -> x - mean(x)``; ``h = M x`` with ``M`` an
    (n_kc, n_in) binary matrix with exactly ``in_degree`` ones per row (:func:`sparse_projection`);
    the ``k`` largest entries of ``h`` win (ties to the lower index), all others are 0.
    The hash length is ``k``, the number of active KCs, not ``n_kc``.

    With binary weights and a fixed in-degree the centring shifts every KC's drive by the same
    amount and so leaves the winners unchanged; it is kept for fidelity and matters for
    ``weights="gaussian"``. ``tag="binary"`` (the paper's text) sets winners to 1;
    ``tag="values"`` (the authors' code) keeps the winners' drive.

    Parameters
    ----------
    n_in : int
        Input dimension (PNs or glomeruli).
    n_kc : int
        Expansion size (number of KCs).
    in_degree : int
        Inputs per KC (~6-7 in the fly, Caron et al. 2013).
    k : int
        Hash length: number of winning KCs, ``k <= n_kc``.
    seed : int or numpy.random.SeedSequence
        Seed of the projection.
    weights : {"binary", "gaussian"}
        Nonzero values of the projection.
    centre : bool
        Subtract each input vector's mean first.
    tag : {"binary", "values"}
        Winners coded as 1 or as their drive.
    """

    def __init__(
        self, n_in, n_kc, in_degree, k, seed, *, weights="binary", centre=True, tag="binary"
    ):
        if tag not in ("binary", "values"):
            raise ValueError(f"tag must be 'binary' or 'values', got {tag!r}")
        self.tag = tag
        self.n_in = check_int(n_in, "n_in", minimum=1)
        self.n_kc = check_int(n_kc, "n_kc", minimum=1)
        self.k = check_int(k, "k", minimum=1)
        if self.k > self.n_kc:
            raise ValueError(f"k must be <= n_kc ({self.n_kc}), got {self.k}")
        self.in_degree = check_int(in_degree, "in_degree", minimum=1)
        self.centre = bool(centre)
        self.projection = sparse_projection(
            self.n_in, self.n_kc, self.in_degree, weights=weights, seed=seed
        )

    @property
    def hash_length(self) -> int:
        """Number of active KCs in a tag."""
        return self.k

    def encode(self, X) -> np.ndarray:
        """Tags, shape (n_samples, n_kc), exactly ``k`` winners per row (1 or their drive)."""
        X = check_matrix(X, "X", self.n_in)
        if self.centre:
            X = _centre(X)
        drive = np.asarray(self.projection @ X.T).T
        return kwta(drive, self.k, axis=1, binary=self.tag == "binary")


class DenseLSH:
    """Classical LSH baseline: dense Gaussian random projection to ``k`` dimensions.

    Algorithm (the LSH of Dasgupta et al. 2017, after Charikar 2002 and Datar et al. 2004):
    ``x -> P (x - mean(x))`` with ``P`` a (k, n_in) matrix of i.i.d. standard normal entries.
    The code keeps the ``k`` real projections (no binarisation), as in the paper's comparison.

    Parameters
    ----------
    n_in : int
        Input dimension.
    k : int
        Hash length (number of projections).
    seed : int or numpy.random.SeedSequence
        Seed of the projection; codes of different ``k`` with one seed share their leading rows.
    centre : bool
        Subtract each input vector's mean first (same preprocessing as :class:`FlyHash`).
    """

    def __init__(self, n_in, k, seed, *, centre=True):
        self.n_in = check_int(n_in, "n_in", minimum=1)
        self.k = check_int(k, "k", minimum=1)
        self.centre = bool(centre)
        self.projection = np.random.default_rng(seed).standard_normal((self.k, self.n_in))

    @property
    def hash_length(self) -> int:
        """Number of projections in a code."""
        return self.k

    def encode(self, X) -> np.ndarray:
        """Real-valued codes, shape (n_samples, k)."""
        X = check_matrix(X, "X", self.n_in)
        if self.centre:
            X = _centre(X)
        return X @ self.projection.T


def _squared_distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between rows (exact for 0/1 codes in float64)."""
    d = (A * A).sum(axis=1)[:, None] + (B * B).sum(axis=1)[None, :] - 2.0 * (A @ B.T)
    return np.maximum(d, 0.0)


def true_neighbours(data, query_index, fraction: float = 0.02) -> np.ndarray:
    """Indices of each query's nearest neighbours in input space (Euclidean).

    The query itself is excluded; ``max(1, int(fraction * n_samples))`` neighbours are returned per
    query (2% as in Dasgupta et al. 2017), ordered by distance, exact ties to the lower index.

    Parameters
    ----------
    data : array_like, shape (n_samples, n_dims)
    query_index : array_like of int, shape (n_queries,)
        Rows of ``data`` used as queries.
    fraction : float
        Fraction of the data set counted as true neighbours, in (0, 1].

    Returns
    -------
    numpy.ndarray of int, shape (n_queries, n_neighbours)
    """
    data = check_matrix(data, "data")
    query_index = _check_query_index(query_index, data.shape[0])
    fraction = check_fraction(fraction, "fraction")
    n_neighbours = max(1, int(fraction * data.shape[0]))
    if n_neighbours > data.shape[0] - 1:
        raise ValueError(f"fraction leaves no database item besides the query: {fraction}")
    distances = _squared_distances(data[query_index], data)
    distances[np.arange(query_index.size), query_index] = np.inf
    order = np.argsort(distances, axis=1, kind="stable")
    return order[:, :n_neighbours]


def _check_query_index(query_index, n_samples: int) -> np.ndarray:
    index = np.asarray(query_index)
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(
            f"query_index must be a 1-D integer array, got {index.dtype} {index.shape}"
        )
    if index.size and (index.min() < 0 or index.max() >= n_samples):
        raise ValueError(
            f"query_index must lie in [0, {n_samples}), got {index.min()}..{index.max()}"
        )
    return index


def mean_average_precision(
    query_codes,
    database_codes,
    true_neighbours,
    *,
    query_index=None,
    tie_break: str = "random",
    seed=0,
) -> float:
    """Mean average precision of nearest-neighbour retrieval in code space.

    Algorithm: for each query, database items are ranked by Euclidean distance between codes (the
    query itself excluded when ``query_index`` is given), and the first R items are retrieved, R
    being the number of true neighbours. Average precision is ``(1/R) * sum_i rel_i * P@i`` over
    ranks i <= R (``rel_i`` = 1 if the i-th item is a true neighbour, ``P@i`` the precision of the
    first i); MAP is its mean over queries (as in Dasgupta et al. 2017, whose code normalised by
    the number of hits instead of R, which rewards retrieving few neighbours). Binary tags produce
    many exactly tied distances; ties are ordered at random (``tie_break="random"``, an unbiased
    estimate of the expected AP over tie orders) or by database index (``"index"``).

    Parameters
    ----------
    query_codes : array_like, shape (n_queries, code_dim)
    database_codes : array_like, shape (n_database, code_dim)
    true_neighbours : array_like of int, shape (n_queries, R)
        Database indices of each query's true neighbours (see :func:`true_neighbours`).
    query_index : array_like of int, shape (n_queries,), optional
        Position of each query in the database, excluded from its own ranking.
    tie_break : {"random", "index"}
    seed : int or numpy.random.SeedSequence
        Seed of the random tie-breaking order.

    Returns
    -------
    float in [0, 1]
    """
    database_codes = check_matrix(database_codes, "database_codes")
    query_codes = check_matrix(query_codes, "query_codes", database_codes.shape[1])
    n_queries, n_database = query_codes.shape[0], database_codes.shape[0]
    truth = np.asarray(true_neighbours)
    if truth.ndim != 2 or truth.shape[0] != n_queries or not np.issubdtype(truth.dtype, np.integer):
        raise ValueError(
            f"true_neighbours must be an integer array of shape ({n_queries}, R), got "
            f"{truth.dtype} {truth.shape}"
        )
    if truth.size and (truth.min() < 0 or truth.max() >= n_database):
        raise ValueError(f"true_neighbours must index the database [0, {n_database})")
    if tie_break not in ("random", "index"):
        raise ValueError(f"tie_break must be 'random' or 'index', got {tie_break!r}")
    n_relevant = truth.shape[1]
    if n_relevant < 1:
        raise ValueError("true_neighbours must list at least one neighbour per query")

    distances = _squared_distances(query_codes, database_codes)
    if query_index is not None:
        query_index = _check_query_index(query_index, n_database)
        if query_index.size != n_queries:
            raise ValueError(f"query_index must have {n_queries} entries, got {query_index.size}")
        distances[np.arange(n_queries), query_index] = np.inf
    if tie_break == "random":
        secondary = np.random.default_rng(seed).random(distances.shape)
    else:
        secondary = np.broadcast_to(np.arange(n_database, dtype=float), distances.shape)
    order = np.lexsort((secondary, distances), axis=1)[:, :n_relevant]

    relevant = np.zeros((n_queries, n_database), dtype=bool)
    relevant[np.arange(n_queries)[:, None], truth] = True
    hits = np.take_along_axis(relevant, order, axis=1)
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, n_relevant + 1)
    average_precision = (precision_at * hits).sum(axis=1) / n_relevant
    return float(average_precision.mean())


def flyhash_benchmark(
    data,
    hash_lengths=(2, 4, 8, 16, 32),
    *,
    n_kc: int | None = None,
    in_degree: int = 6,
    tag: str = "values",
    equal_means: bool = True,
    n_queries: int = 100,
    fraction: float = 0.02,
    seeds=(0, 1, 2),
) -> xr.Dataset:
    """MAP of FlyHash and DenseLSH against hash length (Dasgupta et al. 2017, Fig. 2-3).

    The defaults are the paper's protocol as in the authors' code: inputs get equal means
    (:func:`equalise_means`, no centring), the fly expands to ``m = 20 k`` KCs and keeps the ``k``
    winners' drive. For each seed: ``n_queries`` rows are drawn as queries, their true
    neighbours are the top ``fraction`` of the (preprocessed) data set in input space, and every
    row is hashed by a FlyHash and by a DenseLSH of each hash length; the whole data set is the
    database (each query excluded from its own ranking).

    Parameters
    ----------
    data : array_like, shape (n_samples, n_dims)
        Finite input vectors (for the fly: non-negative glomerular responses).
    hash_lengths : sequence of int
        Hash lengths k compared (active KCs for the fly, projections for LSH).
    n_kc : int, optional
        Number of KCs; default ``20 * k`` for hash length ``k`` (the paper's expansion). An int
        fixes it for every k (e.g. 2000 for the fly's 50 -> 2000 expansion).
    in_degree : int
        Inputs per KC (default 6: Caron et al. 2013; Dasgupta et al. 2017).
    tag : {"values", "binary"}
        Fly winners coded by their drive (authors' code) or as 1 (paper's text).
    equal_means : bool
        Preprocess with :func:`equalise_means` (else centre each row for both algorithms).
    n_queries : int
        Queries per seed.
    fraction : float
        Fraction of the data counted as true neighbours (default 2%).
    seeds : sequence of int
        One repetition (queries, projections, tie-breaking) per seed.

    Returns
    -------
    xarray.Dataset
        Variable ``mean_average_precision`` with dims (algorithm, hash_length, seed), algorithms
        ``"fly"`` and ``"lsh"``; the settings are in ``attrs``.
    """
    data, hash_lengths, n_kc, n_queries, seeds = _checked_benchmark_args(
        data, hash_lengths, n_kc, n_queries, seeds
    )
    n_samples, n_dims = data.shape
    if equal_means:
        data = equalise_means(data)
    centre = not equal_means  # equal means make centring a constant shift: the authors skip it
    result = np.empty((2, len(hash_lengths), len(seeds)))
    for s, seed in enumerate(seeds):
        result[:, :, s] = _map_per_hash_length(
            data,
            hash_lengths,
            seed,
            n_kc=n_kc,
            in_degree=in_degree,
            tag=tag,
            centre=centre,
            n_queries=n_queries,
            fraction=fraction,
        )
    settings = {
        "n_samples": n_samples,
        "n_dims": n_dims,
        "n_kc": "20 * hash_length" if n_kc is None else n_kc,
        "in_degree": in_degree,
        "tag": tag,
        "equal_means": int(equal_means),
        "n_queries": n_queries,
        "fraction": fraction,
    }
    return _benchmark_dataset(result, hash_lengths, seeds, settings)


def _checked_benchmark_args(
    data, hash_lengths, n_kc: int | None, n_queries: int, seeds
) -> tuple[np.ndarray, list[int], int | None, int, list[int]]:
    """The arguments of :func:`flyhash_benchmark` validated: a finite matrix and ints.

    Raises ValueError naming the first bad argument (empty lists, a hash length above
    ``n_kc``, more queries than samples, negative seeds).
    """
    data = check_matrix(data, "data")
    n_samples = data.shape[0]
    hash_lengths = [check_int(k, "hash_lengths", minimum=1) for k in hash_lengths]
    if not hash_lengths:
        raise ValueError("hash_lengths must not be empty")
    if n_kc is not None:
        n_kc = check_int(n_kc, "n_kc", minimum=1)
        if max(hash_lengths) > n_kc:
            raise ValueError(f"hash_lengths must be <= n_kc ({n_kc}), got {max(hash_lengths)}")
    n_queries = check_int(n_queries, "n_queries", minimum=1)
    if n_queries > n_samples:
        raise ValueError(
            f"n_queries must be <= the number of samples ({n_samples}), got {n_queries}"
        )
    seeds = [check_int(s, "seeds", minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must not be empty")
    return data, hash_lengths, n_kc, n_queries, seeds


def _map_per_hash_length(
    data: np.ndarray,
    hash_lengths: list[int],
    seed: int,
    *,
    n_kc: int | None,
    in_degree: int,
    tag: str,
    centre: bool,
    n_queries: int,
    fraction: float,
) -> np.ndarray:
    """One repetition of the benchmark: MAP of FlyHash (row 0) and DenseLSH (row 1) per k.

    ``seed`` is split into independent streams for the queries, the fly's projection, the LSH
    projection and the tie-breaking; every hash length reuses the same streams, so the
    queries and their true neighbours are shared by all hash lengths and both algorithms.
    """
    query_seed, fly_seed, lsh_seed, tie_seed = np.random.SeedSequence(seed).spawn(4)
    n_samples, n_dims = data.shape
    queries = np.random.default_rng(query_seed).choice(n_samples, n_queries, replace=False)
    truth = true_neighbours(data, queries, fraction)
    result = np.empty((2, len(hash_lengths)))
    for h, k in enumerate(hash_lengths):
        m = 20 * k if n_kc is None else n_kc
        fly = FlyHash(n_dims, m, in_degree, k, fly_seed, centre=centre, tag=tag)
        lsh = DenseLSH(n_dims, k, lsh_seed, centre=centre)
        for a, model in enumerate((fly, lsh)):
            codes = model.encode(data)
            result[a, h] = mean_average_precision(
                codes[queries], codes, truth, query_index=queries, seed=tie_seed
            )
    return result


def _benchmark_dataset(
    result: np.ndarray, hash_lengths: list[int], seeds: list[int], settings: dict
) -> xr.Dataset:
    """MAP (algorithm, hash_length, seed) as a Dataset; the settings and the source in attrs."""
    return xr.Dataset(
        {"mean_average_precision": (("algorithm", "hash_length", "seed"), result)},
        coords={"algorithm": ["fly", "lsh"], "hash_length": hash_lengths, "seed": seeds},
        attrs={**settings, "source": "Dasgupta, Stevens & Navlakha 2017, Science 358:793"},
    )
