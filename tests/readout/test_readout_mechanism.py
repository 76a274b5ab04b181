"""The readout's mechanism measures: how much of a test's KC code learning touched
(training/test overlap and its d'), and how far learning moved the MBONs apart (CS- minus CS+).

Synthetic odors with known structure give the expected values: an odor's active KC responds in
a trial (>= 1 spike) with probability ``reliability * (1 - exp(-2))`` (it is drawn active with
``reliability``, then fires Poisson(2) spikes), so a test CS+'s responding KCs responded in
training with that probability; independent 10 % sets share ~10 % of their KCs."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import pA
from readout_synthetic import active_sets, spike_dataset

from flysim import load_params, with_overrides
from flysim.readout import conditioned_choice

N_PAIRS, N_REPS, N_REFERENCE = 8, 6, 4
FRACTION = 0.1


@pytest.fixture(scope="module")
def params():
    # plain LIF MBONs (no tonic input), as the other synthetic readout tests
    return with_overrides(load_params("tiny"), {"network.n_mbon": 4, "mbon.I_bias": 0 * pA})


def _readout(params, *, same_sets=False, reliability=0.9, pairings=1, **overrides):
    """The readout on pairs of independent (or, ``same_sets``, identical) active sets, with
    ``pairings`` reinforced CS+ presentations per repetition."""
    rng = np.random.default_rng(21)
    n_odors = 2 * N_PAIRS + N_REFERENCE
    sets = active_sets(rng, n_odors, params.network.n_kc, FRACTION)
    if same_sets:
        for p in range(N_PAIRS):
            sets[2 * p + 1] = sets[2 * p]  # same KCs, independent trials
    names = [f"odor{k:02d}" for k in range(n_odors)]
    ds = spike_dataset(
        params,
        dict(zip(names, sets, strict=True)),
        n_trials=(pairings + 1) * N_REPS,
        seed=22,
        fly_seeds=[4, 9],
        reliability=reliability,
    )
    pairs = [(names[2 * p], names[2 * p + 1]) for p in range(N_PAIRS)]
    return conditioned_choice(
        ds,
        pairs,
        names[2 * N_PAIRS :],
        N_REPS,
        with_overrides(params, overrides),
        pairings=pairings,
    )


@pytest.mark.parametrize("reliability", [0.9, 0.5])
def test_overlap_is_the_fraction_of_a_test_code_that_training_touched(params, reliability):
    """Mutation: overlaps taken against the CS- training presentation -> the CS+ overlap falls
    to ~0.1 and the CS- one rises to ~reliability (fails)."""
    result = _readout(params, reliability=reliability)
    plus = float(result.overlap_cs_plus.mean())
    minus = float(result.overlap_cs_minus.mean())
    print(f"reliability {reliability}: overlap CS+ {plus:.3f}, CS- {minus:.3f}")
    responding = reliability * (1 - np.exp(-2.0))
    assert plus == pytest.approx(responding, abs=0.03)
    assert minus == pytest.approx(FRACTION * responding, abs=0.03)
    assert result.overlap_cs_plus.dims == ("fly", "pair", "rep")
    assert result.overlap_cs_plus.attrs["units"] == "1"


def test_dprime_separates_distinct_odors_and_not_identical_ones(params):
    """Mutation: the d' of the CS+ overlap against itself -> 0 for distinct odors (fails)."""
    distinct = _readout(params)
    same = _readout(params, same_sets=True)
    d_distinct = float(distinct.overlap_dprime_mean)
    d_same = float(same.overlap_dprime_mean)
    print(f"overlap d': distinct odors {d_distinct:.2f}, identical sets {d_same:.2f}")
    assert d_distinct > 5
    assert abs(d_same) < 0.5
    assert distinct.overlap_dprime.dims == ("fly", "pair")


def test_cs_difference_is_what_learning_opened_between_cs_minus_and_cs_plus(params):
    """Mutation: the sign swapped (CS+ minus CS-) or learning off -> not > 0 (fails)."""
    learned = _readout(params)
    off = _readout(params, **{"learning.learning_rate": 0.0})
    same = _readout(params, same_sets=True)
    naive = float(learned.mbon_naive_rate_mean)
    values = {
        "learned": float(learned.cs_difference_mean),
        "no learning": float(off.cs_difference_mean),
        "identical sets": float(same.cs_difference_mean),
    }
    print({k: round(v, 2) for k, v in values.items()}, f"naive rate {naive:.1f} Hz")
    assert values["learned"] > 0.3 * naive
    assert abs(values["no learning"]) < 0.1 * naive
    assert abs(values["identical sets"]) < 0.1 * naive
    assert learned.cs_difference.attrs["units"] == "Hz"


def test_a_second_pairing_reaches_the_kcs_the_first_missed(params):
    """With unreliable KCs (reliability 0.5) a test's responding KCs responded in one training
    trial with probability q = 0.5 * (1 - e^-2) and in one of two with 1 - (1 - q)^2, so a
    second pairing raises the overlap and the CS+ drop. Mutation: learning (or the overlap)
    from the first pairing only -> the second pairing changes nothing (fails)."""
    one = _readout(params, reliability=0.5)
    two = _readout(params, reliability=0.5, pairings=2)
    q = 0.5 * (1 - np.exp(-2.0))
    plus = [float(r.overlap_cs_plus.mean()) for r in (one, two)]
    minus = float(two.overlap_cs_minus.mean())
    drops = [float(r.cs_plus_drop_mean) for r in (one, two)]
    print(f"overlap CS+ {plus}, CS- (two) {minus:.3f}, CS+ drop {drops}")
    assert plus[0] == pytest.approx(q, abs=0.03)
    assert plus[1] == pytest.approx(1 - (1 - q) ** 2, abs=0.03)
    assert minus == pytest.approx(FRACTION * (1 - (1 - q) ** 2), abs=0.03)
    assert drops[1] > drops[0] + 0.1
    assert two.attrs["pairings"] == 2 and list(two.phase_trial_offset.values) == [0, 0, 2, 2, 2, 2]


@pytest.mark.parametrize(
    ("pairings", "message"),
    [(0, "pairings must be a whole number >= 1, got 0"), (2, "need 18 trials per odor")],
)
def test_a_protocol_the_trials_cannot_hold_is_refused(params, pairings, message):
    rng = np.random.default_rng(3)
    sets = active_sets(rng, 6, params.network.n_kc, FRACTION)
    names = [f"odor{k}" for k in range(6)]
    ds = spike_dataset(params, dict(zip(names, sets, strict=True)), n_trials=12, seed=1)
    with pytest.raises(ValueError, match=message) as error:
        conditioned_choice(ds, [("odor0", "odor1")], names[2:], 6, params, pairings=pairings)
    assert "\n" not in str(error.value)
