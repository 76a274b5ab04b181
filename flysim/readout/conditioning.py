"""Differential conditioning read out from stored KC responses: training, tests and choices.

Per odor pair (a, b) and repetition r, from the fly's naive weights: the CS+ (a for even r, b
for odd r) is trained with its trial 2r (reinforced: the weights learn), the CS- with its trial
2r (not reinforced), then both are tested with their trials 2r + 1, with the learned weights
(the phases ``test_*``) and, as a diagnostic, with the naive weights (``naive_*``). With
``pairings = k`` the CS+ is paired on k trials in a row, each a learning step, and every trial
number above is counted in blocks of k + 1 (:func:`~flysim.readout.phases.phase_trial_offsets`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..params import CircuitParams
from .mbon import mbon_model, mbon_responses
from .phases import PHASE_ODOR, PHASE_WEIGHTS, PHASES, cs_plus_is_first, phase_trial_offsets
from .spikes import KCSpikes, kc_spikes_of
from .summary import readout_dataset
from .weights import learn, mbon_roles, mbon_weights

__all__ = ["conditioned_choice"]


def _odor_indices(names: list[str], pairs, reference) -> tuple[np.ndarray, np.ndarray]:
    """(pairs as odor indices ``(n_pairs, 2)``, reference odor indices)."""
    index = {name: k for k, name in enumerate(names)}
    pairs = [tuple(pair) for pair in pairs]
    reference = list(reference)
    missing = [o for o in [*sum(pairs, ()), *reference] if o not in index]
    if missing:
        raise ValueError(f"odors {sorted(set(missing))} are not in the Dataset")
    if not pairs or any(len(pair) != 2 or pair[0] == pair[1] for pair in pairs):
        raise ValueError("pairs must be one or more pairs of two different odors")
    if not reference:
        raise ValueError("the homeostatic scale needs reference odors")
    overlap = set(sum(pairs, ())) & set(reference)
    if overlap:
        raise ValueError(f"reference odors must not be test odors: {sorted(overlap)}")
    pair_index = np.array([[index[a], index[b]] for a, b in pairs])
    return pair_index, np.array([index[o] for o in reference])


def _cs_odors(pair_index, n_reps: int) -> dict:
    """The CS+ and CS- odor index of every (pair, repetition)."""
    first = cs_plus_is_first(n_reps)
    a, b = pair_index[:, 0, None], pair_index[:, 1, None]  # (pairs, 1)
    return {"cs_plus": np.where(first, a, b), "cs_minus": np.where(first, b, a)}


def _phase_presentations(
    spikes: KCSpikes, fly: int, pair_index, n_reps: int, pairings: int
) -> np.ndarray:
    """Presentation index of every (pair, repetition, phase) of one fly."""
    odors = _cs_odors(pair_index, n_reps)
    block = (pairings + 1) * np.arange(n_reps)
    offsets = phase_trial_offsets(pairings)
    return np.stack(
        [
            spikes.index(fly, odors[odor], block + offset)
            for odor, offset in zip(PHASE_ODOR, offsets, strict=True)
        ],
        axis=-1,
    )


def _paired_presentations(
    spikes: KCSpikes, fly: int, pair_index, n_reps: int, pairings: int
) -> np.ndarray:
    """Presentation index of every reinforced CS+ trial, ``(pairs, reps, pairings)``."""
    cs_plus = _cs_odors(pair_index, n_reps)["cs_plus"][..., None]
    block = (pairings + 1) * np.arange(n_reps)[:, None]
    return spikes.index(fly, cs_plus, block + np.arange(pairings))


def _test_overlaps(counts: np.ndarray, presentations: np.ndarray, paired) -> np.ndarray:
    """Fraction of each test presentation's responding KCs that also responded in some
    reinforced CS+ presentation of the repetition (the KCs learning depressed), ``(pairs,
    reps, 2)`` for (test CS+, test CS-); NaN where the test presentation had no responding KC."""
    trained = (counts[paired] > 0).any(axis=-2)
    overlaps = []
    for phase in ("test_cs_plus", "test_cs_minus"):
        tested = counts[presentations[..., PHASES.index(phase)]] > 0
        n_tested = tested.sum(-1)
        shared = (tested & trained).sum(-1)
        overlaps.append(np.where(n_tested > 0, shared / np.maximum(n_tested, 1), np.nan))
    return np.stack(overlaps, axis=-1)


def _fly_readout(spikes, counts, fly, seed, pair_index, reference, design, params, scale):
    """One fly's MBON responses ``(pairs, reps, phases, n_mbon)`` (Hz), weight scales and
    training/test overlaps (:func:`_test_overlaps`); ``design`` is (repetitions, pairings)."""
    n_kc = spikes.n_kc
    ref = spikes.index(fly, reference[:, None], np.arange(spikes.layout[2]))
    naive, scales = mbon_weights(seed, spikes.select(ref.ravel()), params, scale=scale)
    presentations = _phase_presentations(spikes, fly, pair_index, *design)
    paired = _paired_presentations(spikes, fly, pair_index, *design)
    learned = naive
    for k in range(design[1]):  # one learning step per pairing; one weight set per (pair, rep)
        learned = learn(learned, counts[paired[..., k].ravel()].reshape(-1, n_kc), params.learning)
    weight_sets = np.concatenate([naive[None], learned])
    units = np.arange(len(learned)).reshape(presentations.shape[:2])
    uses_learned = np.array([w == "learned" for w in PHASE_WEIGHTS])
    weight_index = np.where(uses_learned, 1 + units[..., None], 0)
    responses = mbon_responses(
        spikes.select(presentations.ravel()),
        weight_sets,
        params,
        weight_index=weight_index.ravel(),
    )
    overlaps = _test_overlaps(counts, presentations, paired)
    return responses.reshape(presentations.shape + (-1,)), scales, overlaps


def _check_request(spikes: KCSpikes, n_reps: int, pairings, params: CircuitParams) -> None:
    """Errors before any work: the MBONs, their model, and enough trials per odor."""
    mbon_roles(params.network.n_mbon)
    mbon_model(params)  # checks the neuron model before any work
    if n_reps < 1:
        raise ValueError(f"n_reps must be >= 1, got {n_reps}")
    if isinstance(pairings, bool) or not isinstance(pairings, (int, np.integer)) or pairings < 1:
        raise ValueError(f"pairings must be a whole number >= 1, got {pairings!r}")
    needed = (pairings + 1) * n_reps
    if spikes.layout[2] < needed:
        raise ValueError(
            f"{n_reps} repetitions of {pairings} pairing(s) need {needed} trials per odor "
            f"({pairings} training and 1 test presentation each); the Dataset has "
            f"{spikes.layout[2]}"
        )


def conditioned_choice(
    ds: xr.Dataset,
    pairs,
    reference,
    n_reps: int,
    params: CircuitParams,
    *,
    scale=None,
    pairings: int = 1,
) -> xr.Dataset:
    """Condition the MBON readout on each odor pair and test its choice, from stored KC spikes.

    Parameters
    ----------
    ds : xarray.Dataset
        ``simulate(..., record_spikes=True)`` output (one fly or a ``fly`` dim) with at least
        ``2 * n_reps`` trials per odor; simulated with ``params``' dt and protocol.
    pairs : list of (str, str)
        The test pairs (odor names).
    reference : list of str
        Odors (other than the test odors) whose presentations (all trials) set the homeostatic
        weight scale.
    n_reps : int
        Repetitions per pair, each from the naive weights, CS+ alternating between the odors.
    params : CircuitParams
        ``network.n_mbon``, ``mbon`` (the ``lif`` model), ``learning``, ``network.dt`` and
        ``protocol``; other groups are not used.
    scale : float, optional
        A fixed weight scale (siemens) for every MBON instead of the homeostatic one (a readout
        variant without normalisation; not a parameter of ``params``).
    pairings : int
        Reinforced CS+ presentations per repetition (default 1, the single pairing of Hige et
        al. 2015), each on its own trial and each a learning step: a repetition then uses
        ``pairings + 1`` trials per odor. A readout variant; the in-circuit plastic network
        (``flysim.run.conditioning``) runs one pairing.

    Returns
    -------
    xarray.Dataset
        ``choice(fly, pair, rep)``, ``accuracy(fly, pair)``, ``mbon_naive_rate``,
        ``cs_plus_drop``, ``tie_fraction``, ``silent_fraction`` (per fly and pair, and their
        ``*_mean`` over both), ``mbon_response(fly, pair, rep, phase, mbon)``, ``valence``,
        ``tie``, ``silent``, ``weight_scale(fly, mbon)``, and the mechanism's measures
        ``overlap_cs_plus`` / ``overlap_cs_minus(fly, pair, rep)``, ``overlap_dprime`` and
        ``cs_difference(fly, pair)``; see :mod:`flysim.readout`.
    """
    spikes = kc_spikes_of(ds, params)
    _check_request(spikes, n_reps, pairings, params)
    pair_index, reference_index = _odor_indices(list(ds["odor"].values), pairs, reference)
    start, stop = mbon_model(params).window
    counts = spikes.window_counts(start, stop)
    seeds = np.atleast_1d(ds["fly"].values)
    per_fly = [
        _fly_readout(
            spikes, counts, f, seed, pair_index, reference_index, (n_reps, pairings), params, scale
        )
        for f, seed in enumerate(seeds)
    ]
    result = readout_dataset(
        responses=np.stack([r for r, _, _ in per_fly]),
        scales=np.stack([s for _, s, _ in per_fly]),
        overlaps=np.stack([o for _, _, o in per_fly]),
        seeds=seeds,
        odor_pairs=[(str(ds["odor"].values[a]), str(ds["odor"].values[b])) for a, b in pair_index],
        reference=[str(o) for o in reference],
        params=params,
        homeostatic=scale is None,
        pairings=pairings,
    )
    return result if "fly" in ds.dims else result.squeeze("fly", drop=False)
