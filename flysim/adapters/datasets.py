"""Synthetic, non-negative data shaped like glomerular odor responses (no downloads).

Both generators return arrays with one sample per row and shuffled sample order, so that index
order carries no information (ties broken by index in retrieval or winner-take-all are then
unbiased).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_fraction, check_int, check_nonnegative

__all__ = ["clustered_data", "odor_classes"]


def clustered_data(
    n_samples: int,
    n_dims: int = 50,
    n_clusters: int = 20,
    spread: float = 0.3,
    *,
    seed,
) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative clustered vectors for nearest-neighbour benchmarks (FlyHash vs LSH).

    Algorithm: ``n_clusters`` centres are drawn with i.i.d. lognormal entries (log-mean 0,
    log-sd 1), a heavy-tailed, non-negative profile like glomerular responses to odors; each
    sample picks a centre uniformly at random and multiplies it entrywise by ``exp(spread * z)``,
    z standard normal (multiplicative noise keeps every entry positive). ``spread`` is thus the
    log-sd of the within-cluster variability; 0 gives exact copies of the centres.

    Parameters
    ----------
    n_samples, n_dims, n_clusters : int
        Number of samples, of dimensions (default 50, the number of glomeruli) and of clusters.
    spread : float
        Within-cluster log-standard deviation, >= 0.
    seed : int or numpy.random.SeedSequence
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    data : numpy.ndarray, shape (n_samples, n_dims)
    labels : numpy.ndarray of int, shape (n_samples,)
        Cluster of each sample.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_dims = check_int(n_dims, "n_dims", minimum=1)
    n_clusters = check_int(n_clusters, "n_clusters", minimum=1)
    spread = check_nonnegative(spread, "spread")
    rng = np.random.default_rng(seed)
    centres = rng.lognormal(0.0, 1.0, size=(n_clusters, n_dims))
    labels = rng.integers(0, n_clusters, size=n_samples)
    data = centres[labels] * np.exp(spread * rng.standard_normal((n_samples, n_dims)))
    return data, labels


def odor_classes(
    n_classes: int,
    n_per_class: int,
    n_glomeruli: int = 50,
    noise: float = 0.3,
    *,
    active_fraction: float = 0.2,
    seed,
) -> tuple[np.ndarray, np.ndarray]:
    """Odor classes: sparse lognormal glomerular prototypes plus noisy presentations.

    Algorithm: each class prototype activates a random subset of ``round(active_fraction *
    n_glomeruli)`` glomeruli with lognormal amplitudes (log-mean 0, log-sd 1) on top of a weak
    baseline (0.1, spontaneous activity), echoing receptor panels where an odor drives a minority
    of glomeruli strongly. A sample of class c is ``max(0, p_c * exp(noise * z1) + noise * m_c *
    z2)`` with z1, z2 standard normal and ``m_c`` the prototype's mean: multiplicative
    (gain/receptor) noise plus additive noise scaled to the prototype, clipped at zero rates.

    Parameters
    ----------
    n_classes, n_per_class : int
        Number of classes and of samples per class.
    n_glomeruli : int
        Input dimension (default 50 glomeruli).
    noise : float
        Noise level (>= 0) of both noise terms.
    active_fraction : float
        Fraction of glomeruli strongly activated by a prototype, in (0, 1].
    seed : int or numpy.random.SeedSequence
        Seed for ``numpy.random.default_rng``.

    Returns
    -------
    data : numpy.ndarray, shape (n_classes * n_per_class, n_glomeruli)
        Non-negative responses, rows in random order.
    labels : numpy.ndarray of int, shape (n_classes * n_per_class,)
    """
    n_classes = check_int(n_classes, "n_classes", minimum=1)
    n_per_class = check_int(n_per_class, "n_per_class", minimum=1)
    n_glomeruli = check_int(n_glomeruli, "n_glomeruli", minimum=1)
    noise = check_nonnegative(noise, "noise")
    active_fraction = check_fraction(active_fraction, "active_fraction")
    rng = np.random.default_rng(seed)
    n_active = max(1, round(active_fraction * n_glomeruli))
    prototypes = np.full((n_classes, n_glomeruli), 0.1)
    for prototype in prototypes:
        active = rng.choice(n_glomeruli, size=n_active, replace=False)
        prototype[active] += rng.lognormal(0.0, 1.0, size=n_active)
    labels = rng.permutation(np.repeat(np.arange(n_classes), n_per_class))
    base = prototypes[labels]
    scale = base.mean(axis=1, keepdims=True)
    shape = base.shape
    data = base * np.exp(noise * rng.standard_normal(shape)) + noise * scale * rng.standard_normal(
        shape
    )
    return np.maximum(data, 0.0), labels
