"""Pairs of similar images from scikit-learn's digits, the ML counterpart of similar odor pairs.

scikit-learn ships its 8 x 8 handwritten digits (1797 images, 64 pixels of 0-16, 10 classes;
``sklearn.datasets.load_digits``) with the package, so no download is needed; it is behind the
optional ``sklearn`` extra (``pip install "flysim[sklearn]"``) and imported only when called.

:func:`similar_image_pairs` picks, like ``flysim.odors.similar_pairs`` for odors, pairs of
stimuli whose input patterns correlate at about a given similarity (Pearson over pixels): here
two images of *different* digits that look alike (a 3 and an 8 written close together), plus
reference images for a readout's normalisation.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._checks import check_int

__all__ = ["load_digit_images", "similar_image_pairs"]


def load_digit_images() -> tuple[np.ndarray, np.ndarray]:
    """``(images (1797, 64) float, labels (1797,) int)`` of ``sklearn.datasets.load_digits``.

    Raises
    ------
    ImportError
        If scikit-learn (the ``sklearn`` extra) is not installed.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(
            'the digits data set needs scikit-learn: pip install "flysim[sklearn]"'
        ) from error
    digits = load_digits()
    return np.asarray(digits.data, dtype=np.float64), np.asarray(digits.target, dtype=np.int64)


def similar_image_pairs(
    n_pairs: int,
    similarity: float = 0.8,
    *,
    n_reference: int = 2,
    seed: int = 0,
    tolerance: float = 0.01,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> tuple[xr.DataArray, list[tuple[str, str]], list[str]]:
    """``n_pairs`` pairs of images of different digits with pixel correlation ~ ``similarity``.

    Algorithm: every pair of images of different labels whose Pearson correlation over pixels
    lies within ``tolerance`` of ``similarity`` is a candidate; candidates are drawn in a random
    order (``seed``) and kept if they share no image with a pair already kept. ``n_reference``
    further images (in no pair) are drawn at random as reference stimuli.

    Parameters
    ----------
    n_pairs, n_reference : int
    similarity, tolerance : float
    seed : int
    images, labels : numpy.ndarray, optional
        The data set (default :func:`load_digit_images`).

    Returns
    -------
    stimuli : xarray.DataArray
        ``(odor, pixel)``: the pairs' images (``pair000_a``, ``pair000_b``, ...), then the
        references (``reference000``, ...); coordinates ``digit(odor)``, ``image(odor)`` and
        attrs ``input_similarity`` (each pair's realised correlation).
    pairs : list of (str, str)
    reference : list of str
    """
    n_pairs = check_int(n_pairs, "n_pairs", minimum=1)
    n_reference = check_int(n_reference, "n_reference", minimum=0)
    if images is None:
        images, labels = load_digit_images()
    chosen = _pick_pairs(images, labels, n_pairs, similarity, tolerance, seed)
    rng = np.random.default_rng([seed, 1])
    others = np.setdiff1d(np.arange(len(images)), np.ravel(chosen))
    reference = rng.choice(others, n_reference, replace=False)
    order = np.concatenate([np.ravel(chosen), reference]).astype(np.int64)
    names = [f"pair{p:03d}_{side}" for p in range(n_pairs) for side in "ab"]
    names += [f"reference{r:03d}" for r in range(n_reference)]
    realised = [float(np.corrcoef(images[a], images[b])[0, 1]) for a, b in chosen]
    stimuli = xr.DataArray(
        images[order],
        dims=("odor", "pixel"),
        coords={"odor": names, "digit": ("odor", labels[order]), "image": ("odor", order)},
        attrs={"input_similarity": realised, "source": "sklearn.datasets.load_digits"},
    )
    pairs = [(names[2 * p], names[2 * p + 1]) for p in range(n_pairs)]
    return stimuli, pairs, names[2 * n_pairs :]


def _pick_pairs(images, labels, n_pairs, similarity, tolerance, seed) -> np.ndarray:
    """Image index pairs ``(n_pairs, 2)``, disjoint, of different labels, correlation within
    ``tolerance`` of ``similarity``, in the random order of ``seed``."""
    correlation = np.corrcoef(images)
    first, second = np.triu_indices(len(images), 1)
    near = (labels[first] != labels[second]) & (
        np.abs(correlation[first, second] - similarity) <= tolerance
    )
    candidates = np.stack([first[near], second[near]], axis=1)
    candidates = candidates[np.random.default_rng([seed, 0]).permutation(len(candidates))]
    used: set[int] = set()
    kept = []
    for a, b in candidates:
        if a not in used and b not in used:
            kept.append((a, b))
            used.update((a, b))
            if len(kept) == n_pairs:
                return np.array(kept)
    raise ValueError(
        f"only {len(kept)} disjoint pairs of different digits correlate within {tolerance} of "
        f"{similarity}; ask for fewer or widen the tolerance"
    )
