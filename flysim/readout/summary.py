"""From MBON responses to choices and diagnostics, as an xarray Dataset."""

from __future__ import annotations

import json
import warnings

import numpy as np
import xarray as xr

from ..inputs.wiring import valence
from ..params import CircuitParams
from .phases import PHASE_ODOR, PHASE_WEIGHTS, PHASES, cs_plus_is_first, phase_trial_offsets
from .weights import depressed_mbons, mbon_roles

__all__ = ["readout_dataset", "valence", "choose", "TIE_STREAM"]

#: Keys the tie-breaking coins apart from the fly's other random streams.
TIE_STREAM = 0x71E5


def tie_coins(seeds, n_pairs: int, n_reps: int) -> np.ndarray:
    """A fair coin per (fly, pair, repetition), from a generator keyed by (fly seed, pair,
    repetition) only: True means the tie counts as correct."""
    coins = np.empty((len(seeds), n_pairs, n_reps), dtype=bool)
    for fly, pair, rep in np.ndindex(coins.shape):
        coin = np.random.default_rng([int(seeds[fly]), pair, rep, TIE_STREAM]).random()
        coins[fly, pair, rep] = coin < 0.5
    return coins


def choose(valence_plus, valence_minus, protocol: str, coins) -> tuple[np.ndarray, np.ndarray]:
    """(choice: 1 correct, 0 wrong; tie) of each test. Punishment: correct if the CS- has the
    higher valence; reward: if the CS+ has; a tie takes its coin."""
    preferred, other = (
        (valence_minus, valence_plus) if protocol == "punishment" else (valence_plus, valence_minus)
    )
    tie = preferred == other
    correct = np.where(tie, coins, preferred > other)
    return correct.astype(np.int8), tie


def _ratio_drop(learned, naive, axis) -> np.ndarray:
    """1 - sum(learned) / sum(naive) over ``axis`` (NaN where the naive sum is 0)."""
    total_naive = np.sum(naive, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total_naive > 0, 1 - np.sum(learned, axis=axis) / total_naive, np.nan)


def _dprime(plus: np.ndarray, minus: np.ndarray) -> np.ndarray:
    """Over the last axis (repetitions): (mean plus - mean minus) / the pooled SD (ddof 1),
    NaN values ignored; NaN with fewer than two values on a side or a pooled SD of 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN or single-value slices
        spread = np.sqrt((np.nanvar(plus, -1, ddof=1) + np.nanvar(minus, -1, ddof=1)) / 2)
        difference = np.nanmean(plus, -1) - np.nanmean(minus, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, difference / spread, np.nan)


def _per_test(responses: np.ndarray, seeds, params: CircuitParams) -> dict:
    """Per (fly, pair, rep): valences, choice, tie, silence and the diagnostics' parts."""
    phase = {name: k for k, name in enumerate(PHASES)}
    values = valence(responses)
    n_pairs, n_reps = responses.shape[1:3]
    choice, tie = choose(
        values[..., phase["test_cs_plus"]],
        values[..., phase["test_cs_minus"]],
        params.learning.protocol,
        tie_coins(seeds, n_pairs, n_reps),
    )
    depressed = depressed_mbons(responses.shape[-1], params.learning.protocol)
    tests = responses[..., [phase["test_cs_plus"], phase["test_cs_minus"]], :]
    naive_tests = responses[..., [phase["naive_cs_plus"], phase["naive_cs_minus"]], :]
    return {
        "valence": values,
        "choice": choice,
        "tie": tie,
        "silent": (tests == 0).any(axis=(-2, -1)),
        "naive_rate": naive_tests.mean(axis=(-2, -1)),
        "plus_learned": responses[..., phase["test_cs_plus"], depressed].mean(-1),
        "plus_naive": responses[..., phase["naive_cs_plus"], depressed].mean(-1),
        "minus_learned": responses[..., phase["test_cs_minus"], depressed].mean(-1),
    }


def _summaries(tests: dict, overlaps: np.ndarray) -> dict:
    """Per (fly, pair) over repetitions, and the means over flies and pairs too."""
    out = {
        "accuracy": tests["choice"].mean(-1),
        "mbon_naive_rate": tests["naive_rate"].mean(-1),
        "cs_plus_drop": _ratio_drop(tests["plus_learned"], tests["plus_naive"], -1),
        "tie_fraction": tests["tie"].mean(-1),
        "silent_fraction": tests["silent"].mean(-1),
        "cs_difference": (tests["minus_learned"] - tests["plus_learned"]).mean(-1),
        "overlap_dprime": _dprime(overlaps[..., 0], overlaps[..., 1]),
    }
    # The drop's mean is a ratio of sums (as per pair), and d' is NaN where a pair has one
    # repetition; the rest are plain means.
    means = {
        f"{name}_mean": values.mean()
        for name, values in out.items()
        if name not in ("cs_plus_drop", "overlap_dprime")
    }
    means["cs_plus_drop_mean"] = _ratio_drop(tests["plus_learned"], tests["plus_naive"], None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN everywhere with one repetition
        means["overlap_dprime_mean"] = np.nanmean(out["overlap_dprime"])
    return out | means


_ATTRS = {
    "mbon_response": ("Hz", "MBON rate in the odor window of the phase's presentation"),
    "valence": ("Hz", "mean approach-MBON rate minus mean avoidance-MBON rate"),
    "choice": ("1", "1 if the test choice was correct, 0 if not (ties by a coin)"),
    "tie": ("1", "the two test valences were equal (a coin chose)"),
    "silent": ("1", "some MBON fired no spike in the odor window of a test after learning"),
    "accuracy": ("1", "fraction of correct choices over repetitions"),
    "mbon_naive_rate": ("Hz", "mean MBON rate to the two test presentations, naive weights"),
    "cs_plus_drop": (
        "1",
        "1 - depressed MBONs' rate to the test CS+ after learning / with naive weights (ratio "
        "of sums over repetitions)",
    ),
    "tie_fraction": ("1", "fraction of tests decided by a coin"),
    "silent_fraction": ("1", "fraction of silent tests"),
    "weight_scale": ("nS", "homeostatic scale of each MBON's KC weights (mean factor 1)"),
    "overlap_cs_plus": (
        "1",
        "fraction of the test CS+'s responding KCs that responded in the CS+ training",
    ),
    "overlap_cs_minus": (
        "1",
        "fraction of the test CS-'s responding KCs that responded in the CS+ training",
    ),
    "overlap_dprime": (
        "1",
        "d' of overlap_cs_plus against overlap_cs_minus over repetitions (pooled SD)",
    ),
    "cs_difference": (
        "Hz",
        "depressed MBONs' rate to the test CS- minus to the test CS+ after learning",
    ),
}


def _variables(tests: dict, summaries: dict, responses, scales, overlaps) -> dict:
    unit = ("fly", "pair", "rep")
    data = {
        "overlap_cs_plus": (unit, overlaps[..., 0]),
        "overlap_cs_minus": (unit, overlaps[..., 1]),
        "mbon_response": (unit + ("phase", "mbon"), responses),
        "valence": (unit + ("phase",), tests["valence"]),
        "choice": (unit, tests["choice"]),
        "tie": (unit, tests["tie"]),
        "silent": (unit, tests["silent"]),
        "weight_scale": (("fly", "mbon"), scales * 1e9),
    }
    for name, values in summaries.items():
        data[name] = ((), values) if name.endswith("_mean") else (("fly", "pair"), values)
    variables = {}
    for name, (dims, values) in data.items():
        units, long_name = _ATTRS[name.removesuffix("_mean")]
        if name.endswith("_mean"):
            long_name = f"{long_name}; mean over flies and pairs"
        variables[name] = xr.Variable(dims, values, {"units": units, "long_name": long_name})
    return variables


def _coords(seeds, odor_pairs, n_reps: int, n_mbon: int, pairings: int) -> dict:
    first = cs_plus_is_first(n_reps)
    a = np.array([p[0] for p in odor_pairs])[:, None]
    b = np.array([p[1] for p in odor_pairs])[:, None]
    return {
        "fly": np.asarray(seeds),
        "pair": np.arange(len(odor_pairs)),
        "rep": np.arange(n_reps),
        "phase": list(PHASES),
        "mbon": np.arange(n_mbon),
        "odor_a": ("pair", a[:, 0]),
        "odor_b": ("pair", b[:, 0]),
        "cs_plus": (("pair", "rep"), np.where(first, a, b)),
        "cs_minus": (("pair", "rep"), np.where(first, b, a)),
        "test_first": ("rep", np.where(first, "cs_plus", "cs_minus")),
        "phase_odor": ("phase", list(PHASE_ODOR)),
        "phase_weights": ("phase", list(PHASE_WEIGHTS)),
        "phase_trial_offset": ("phase", list(phase_trial_offsets(pairings))),
        "mbon_role": ("mbon", mbon_roles(n_mbon)),
    }


def readout_dataset(
    *,
    responses,
    scales,
    overlaps,
    seeds,
    odor_pairs,
    reference,
    params: CircuitParams,
    homeostatic=True,
    pairings: int = 1,
) -> xr.Dataset:
    """The readout's Dataset from MBON responses ``(fly, pair, rep, phase, mbon)`` (Hz), weight
    scales ``(fly, mbon)`` (siemens) and training/test overlaps ``(fly, pair, rep, 2)`` (test
    CS+, test CS-), of a protocol with ``pairings`` reinforced CS+ presentations per
    repetition."""
    tests = _per_test(responses, seeds, params)
    summaries = _summaries(tests, overlaps)
    variables = _variables(tests, summaries, responses, scales, overlaps)
    coords = _coords(seeds, odor_pairs, responses.shape[2], responses.shape[-1], pairings)
    ds = xr.Dataset(variables, coords=coords)
    learning = params.learning
    ds.attrs.update(
        title="flysim MBON readout",
        protocol=learning.protocol,
        learning_rate=float(learning.learning_rate),
        weight_sd=float(learning.weight_sd),
        mbon_rate_Hz=float(learning.mbon_rate),
        normalisation="homeostatic" if homeostatic else "fixed scale",
        reference_odors=json.dumps(list(reference)),
        pairings=int(pairings),
        trial_of_phase=f"{pairings + 1} * rep + phase_trial_offset",
    )
    return ds
