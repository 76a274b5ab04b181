"""Learning in the readout: punishment depresses the approach MBONs' CS+ response and is
learned, no learning is chance, reward flips both, weights stay positive, and the protocol's
presentations (counterbalanced) are the ones the readout computes."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import pA
from readout_synthetic import active_sets, spike_dataset

from flysim import load_params, with_overrides
from flysim.readout import (
    KCSpikes,
    conditioned_choice,
    kc_spikes_of,
    learn,
    mbon_responses,
    mbon_weights,
    odor_window_steps,
)

N_PAIRS, N_REPS, N_REFERENCE = 10, 6, 4
#: The protocol, written out: phase -> (odor, trial 2r + offset, weights).
SCHEDULE = {
    "train_cs_plus": ("cs_plus", 0, "naive"),
    "train_cs_minus": ("cs_minus", 0, "learned"),
    "test_cs_plus": ("cs_plus", 1, "learned"),
    "test_cs_minus": ("cs_minus", 1, "learned"),
    "naive_cs_plus": ("cs_plus", 1, "naive"),
    "naive_cs_minus": ("cs_minus", 1, "naive"),
}


@pytest.fixture(scope="module")
def params():
    # MBONs without tonic input (mbon.I_bias 0): a plain LIF, whose silence and input-rate
    # relation these synthetic spike trains are built for
    return with_overrides(load_params("tiny"), {"network.n_mbon": 4, "mbon.I_bias": 0 * pA})


@pytest.fixture(scope="module")
def separated(params):
    """Well-separated synthetic odors (independent 10 % KC sets), two flies, and the pairs."""
    rng = np.random.default_rng(11)
    n_odors = 2 * N_PAIRS + N_REFERENCE
    sets = active_sets(rng, n_odors, params.network.n_kc, 0.1)
    names = [f"odor{k:02d}" for k in range(n_odors)]
    ds = spike_dataset(
        params, dict(zip(names, sets, strict=True)), n_trials=2 * N_REPS, seed=12, fly_seeds=[3, 8]
    )
    pairs = [(names[2 * k], names[2 * k + 1]) for k in range(N_PAIRS)]
    return ds, pairs, names[2 * N_PAIRS :]


def readout(separated, params, **overrides):
    ds, pairs, reference = separated
    return conditioned_choice(ds, pairs, reference, N_REPS, with_overrides(params, overrides))


def _by_role(result, phase, role):
    return result.mbon_response.sel(phase=phase).where(result.mbon_role == role, drop=True)


def test_punishment_depresses_the_approach_mbons_cs_plus_response(separated, params):
    result = readout(separated, params)
    approach_test = _by_role(result, "test_cs_plus", "approach")
    approach_naive = _by_role(result, "naive_cs_plus", "approach")
    drop = 1 - float(approach_test.sum() / approach_naive.sum())
    print(
        f"CS+ drop {drop:.2f} (dataset: {float(result.cs_plus_drop_mean):.2f}), accuracy "
        f"{float(result.accuracy_mean):.2f}"
    )
    assert drop > 0.5 and float(result.cs_plus_drop_mean) == pytest.approx(drop)
    per_pair = 1 - approach_test.sum(["rep", "mbon"]) / approach_naive.sum(["rep", "mbon"])
    np.testing.assert_allclose(result.cs_plus_drop, per_pair)  # a ratio of sums over reps
    # the avoidance MBONs and the CS- are untouched (separate KCs: little overlap)
    avoid = [_by_role(result, p, "avoidance") for p in ("test_cs_plus", "naive_cs_plus")]
    assert np.array_equal(avoid[0], avoid[1])
    minus = [_by_role(result, p, "approach").sum() for p in ("test_cs_minus", "naive_cs_minus")]
    assert float(minus[0] / minus[1]) == pytest.approx(1, abs=0.15)
    assert float(result.accuracy_mean) >= 0.9
    # the naive rate is the tests' with naive weights (learning lowered the learned ones)
    naive = result.mbon_response.sel(phase=["naive_cs_plus", "naive_cs_minus"])
    learned = result.mbon_response.sel(phase=["test_cs_plus", "test_cs_minus"])
    rate = naive.mean(["rep", "phase", "mbon"])
    np.testing.assert_allclose(result.mbon_naive_rate, rate)
    assert float(learned.mean()) < 0.9 * float(rate.mean())


def test_without_learning_choices_are_at_chance(separated, params):
    result = readout(separated, params, **{"learning.learning_rate": 0.0})
    learned = result.mbon_response.sel(phase=["test_cs_plus", "test_cs_minus"]).values
    naive = result.mbon_response.sel(phase=["naive_cs_plus", "naive_cs_minus"]).values
    assert np.array_equal(learned, naive)
    print(
        f"accuracy without learning {float(result.accuracy_mean):.3f}, ties "
        f"{float(result.tie_fraction_mean):.3f}"
    )
    assert abs(float(result.accuracy_mean) - 0.5) <= 0.1


def test_reward_depresses_the_avoidance_mbons_and_the_cs_plus_is_chosen(separated, params):
    result = readout(separated, params, **{"learning.protocol": "reward"})
    approach = [_by_role(result, p, "approach") for p in ("test_cs_plus", "naive_cs_plus")]
    assert np.array_equal(approach[0], approach[1])
    avoid = [_by_role(result, p, "avoidance").sum() for p in ("test_cs_plus", "naive_cs_plus")]
    assert float(avoid[0] / avoid[1]) < 0.5
    valence = result.valence
    preferred = valence.sel(phase="test_cs_plus") > valence.sel(phase="test_cs_minus")
    assert float(preferred.mean()) >= 0.9
    assert float(result.accuracy_mean) >= 0.9


def _no_spikes(n_kc: int) -> KCSpikes:
    """Reference presentations for a fixed scale (not read)."""
    return KCSpikes(np.zeros(0), np.zeros(0), np.zeros(0), 1, n_kc)


def test_weights_stay_positive_after_many_pairings(params):
    rng = np.random.default_rng(0)
    n_kc = params.network.n_kc
    weights, _ = mbon_weights(1, _no_spikes(n_kc), params, scale=5e-9)
    for _ in range(300):
        weights = learn(weights, rng.poisson(3.0, n_kc), params.learning)
    assert np.all(weights > 0)
    assert np.all(weights[:, :2] < 1e-30 * weights[:, 2:].min())  # graded, yet deep
    assert np.all(learn(weights, np.full(n_kc, 10_000), params.learning) > 0)


def test_learning_changes_only_the_reinforced_compartments(params):
    n_kc = params.network.n_kc
    weights, _ = mbon_weights(1, _no_spikes(n_kc), params, scale=5e-9)
    counts = np.arange(n_kc) % 4
    learned = learn(weights, counts, params.learning)
    factor = np.exp(-params.learning.learning_rate * (counts > 0))  # responded
    np.testing.assert_allclose(learned[:, :2], weights[:, :2] * factor[:, None], rtol=1e-15)
    assert np.array_equal(learned[:, 2:], weights[:, 2:])


def test_counterbalanced_each_odor_is_cs_plus_in_half_of_the_repetitions(separated, params):
    result = readout(separated, params)
    for pair in range(N_PAIRS):
        cs_plus = list(result.cs_plus.isel(pair=pair).values)
        a, b = result.odor_a[pair].item(), result.odor_b[pair].item()
        assert cs_plus.count(a) == cs_plus.count(b) == N_REPS // 2
        assert set(cs_plus) | set(result.cs_minus.isel(pair=pair).values) == {a, b}
    assert list(result.test_first.values) == ["cs_plus", "cs_minus"] * (N_REPS // 2)


@pytest.mark.parametrize("rep", [0, 1])
def test_each_phase_is_its_presentation_with_its_weights(separated, params, rep):
    """Recompute every phase of a repetition from the building blocks: the CS+ alternates,
    training uses trial 2r, the tests 2r + 1, learning follows the training CS+ only."""
    ds, pairs, reference = separated
    result = readout(separated, params)
    spikes = kc_spikes_of(ds, params)
    counts = spikes.window_counts(*odor_window_steps(params))
    names = [str(o) for o in ds.odor.values]
    fly, pair = 1, 2
    ref = spikes.index(fly, [[names.index(o)] for o in reference], np.arange(2 * N_REPS))
    naive, _ = mbon_weights(int(ds.fly[fly]), spikes.select(ref.ravel()), params)
    a, b = pairs[pair]
    plus, minus = (a, b) if rep % 2 == 0 else (b, a)
    odor = {"cs_plus": names.index(plus), "cs_minus": names.index(minus)}
    trained = counts[spikes.index(fly, odor["cs_plus"], 2 * rep)]
    weights = {"naive": naive, "learned": learn(naive, trained, params.learning)}
    assert list(result.phase.values) == list(SCHEDULE)
    for phase, (which, offset, weight) in SCHEDULE.items():
        presentation = spikes.index(fly, odor[which], 2 * rep + offset)
        expected = mbon_responses(spikes.select([presentation]), weights[weight], params)[0]
        got = result.mbon_response.isel(fly=fly, pair=pair, rep=rep).sel(phase=phase).values
        np.testing.assert_array_equal(got, expected, err_msg=phase)
