"""KC -> MBON weights: drawn per fly, scaled homeostatically, depressed by learning."""

from __future__ import annotations

import warnings

import numpy as np

from ..inputs.wiring import depressed_mbons, mbon_roles, weight_factors
from ..params import CircuitParams, LearningParams
from .mbon import mbon_responses
from .spikes import KCSpikes

__all__ = [
    "mbon_roles",
    "depressed_mbons",
    "weight_factors",
    "homeostatic_scale",
    "mbon_weights",
    "learn",
]

#: Weights never go below this (siemens): exp() underflows to 0 only after ~700 e-folds of
#: depression, far beyond any protocol, and a weight must stay > 0 (graded, never zero).
_SMALLEST_WEIGHT = np.finfo(float).tiny


#: The homeostatic scale is searched between these (siemens per KC spike; a KC -> MBON synapse
#: of a few nS), on a geometric grid of ``_GRID`` points refined ``_ROUNDS`` times around the
#: crossing (final step 0.3 %).
_SCALE_RANGE = (1e-11, 1e-7)
_GRID, _ROUNDS = 16, 3


def homeostatic_scale(factors: np.ndarray, reference: KCSpikes, params: CircuitParams):
    """Each MBON's weight scale (siemens) at which its mean naive rate over the reference
    presentations is ``learning.mbon_rate``: the smallest scale on a refined geometric grid
    whose rate reaches the target (rates are stepwise in the scale; all MBONs and grid points
    are integrated at once). An MBON that cannot reach it (KCs that hardly respond, e.g. under
    strong noise) keeps the largest scale, with a warning; its naive rate shows the shortfall.

    Parameters
    ----------
    factors : array, (n_kc, n_mbon)
        The weight factors ``u``.
    reference : KCSpikes
        The KC spikes of the reference presentations (odors other than the test pairs).
    params : CircuitParams
        ``learning.mbon_rate`` and what :func:`mbon_responses` reads.
    """
    target = float(params.learning.mbon_rate)
    if reference.n_presentations == 0 or len(reference.kc) == 0:
        raise ValueError("the homeostatic scale needs KC spikes of reference presentations")
    n_kc, n_mbon = factors.shape
    lo, hi = (np.full(n_mbon, bound) for bound in _SCALE_RANGE)
    steps = np.linspace(0.0, 1.0, _GRID)
    for round_ in range(_ROUNDS):
        grid = lo[:, None] * (hi / lo)[:, None] ** steps  # (n_mbon, _GRID)
        weights = (factors[:, :, None] * grid[None]).reshape(n_kc, n_mbon * _GRID)
        rate = mbon_responses(reference, weights, params).mean(0).reshape(n_mbon, _GRID)
        reached = rate >= target
        if round_ == 0 and not reached[:, -1].all():
            # e.g. noise that silences the KCs: the largest scale, and the naive rate says so
            short = np.flatnonzero(~reached[:, -1])
            warnings.warn(
                f"MBONs {short.tolist()} stay below learning.mbon_rate ({target:g} Hz) on the "
                f"reference odors even at {_SCALE_RANGE[1]:g} S per KC spike (at most "
                f"{rate[short, -1].max():.1f} Hz): the KCs respond too little; they keep that "
                "scale",
                stacklevel=2,
            )
            reached[short, -1] = True
        first = reached.argmax(axis=1)
        hi = grid[np.arange(n_mbon), first]
        lo = grid[np.arange(n_mbon), np.maximum(first - 1, 0)]
    return hi


def mbon_weights(fly_seed: int, reference: KCSpikes, params: CircuitParams, *, scale=None):
    """A fly's naive KC -> MBON weights ``w[k, m] = scale[m] * u[k, m]`` (siemens) and the
    scales ``(n_mbon,)``.

    ``scale`` None: homeostatic (:func:`homeostatic_scale` on ``reference``, the reference
    presentations' KC spikes); a number (siemens): that scale for every MBON, without
    normalisation.
    """
    n_mbon = params.network.n_mbon
    mbon_roles(n_mbon)
    factors = weight_factors(fly_seed, reference.n_kc, n_mbon, params.learning.weight_sd)
    if scale is None:
        scales = homeostatic_scale(factors, reference, params)
    else:
        scales = np.full(n_mbon, float(scale))
    return factors * scales, scales


def learn(weights: np.ndarray, counts, learning: LearningParams) -> np.ndarray:
    """Weights after one reinforced presentation per row of ``counts``:
    ``w[k, m] * exp(-learning_rate * [n_k > 0])`` at the MBONs the DANs of ``learning.protocol``
    depress, unchanged elsewhere: a KC is eligible if it responded (>= 1 spike in the odor
    window, the definition of responding used everywhere), however many spikes it fired.

    Parameters
    ----------
    weights : array, (..., n_kc, n_mbon)
        Weights before (siemens).
    counts : array, (..., n_kc)
        The KC spike counts in the odor window of the reinforced presentation(s); leading
        dims broadcast with ``weights``'.
    learning : LearningParams

    Returns
    -------
    numpy.ndarray, the broadcast shape ``(..., n_kc, n_mbon)``
    """
    weights = np.asarray(weights, dtype=float)
    depressed = depressed_mbons(weights.shape[-1], learning.protocol)
    responded = np.asarray(counts) > 0  # eligibility: the KC responded (>= 1 spike)
    factor = np.exp(-learning.learning_rate * responded)[..., None]
    learned = weights * np.where(depressed, factor, 1.0)
    return np.where(depressed, np.maximum(learned, _SMALLEST_WEIGHT), learned)
