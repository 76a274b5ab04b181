"""Ties and silent tests are decided by a coin and counted."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from brian2 import Hz, pA
from readout_synthetic import active_sets, spike_dataset

from flysim import load_params, with_overrides
from flysim.readout import choose, conditioned_choice

N_REPS = 10


@pytest.fixture(scope="module")
def params():
    # MBONs without tonic input (mbon.I_bias 0): a plain LIF, whose silence and input-rate
    # relation these synthetic spike trains are built for
    return with_overrides(load_params("tiny"), {"network.n_mbon": 4, "mbon.I_bias": 0 * pA})


def with_twin(ds: xr.Dataset, odor: str, twin: str) -> xr.Dataset:
    """``ds`` with the odor ``twin``: the same KC spikes as ``odor`` in every trial."""
    names = list(ds.odor.values)
    copy = ds["kc_spike_odor"].values == names.index(odor)
    spikes = {
        name: ("spike_kc", np.concatenate([ds[name].values, ds[name].values[copy]]))
        for name in ("kc_spike_time", "kc_spike_index", "kc_spike_trial", "kc_spike_fly")
    }
    odors = np.concatenate([ds["kc_spike_odor"].values, np.full(copy.sum(), len(names))])
    spikes["kc_spike_odor"] = ("spike_kc", odors)
    coords = {name: ds[name].values for name in ("fly", "trial", "kc")}
    twin_ds = xr.Dataset(spikes, coords=coords | {"odor": names + [twin]}, attrs=ds.attrs)
    return twin_ds if "fly" in ds.dims else twin_ds.squeeze("fly", drop=False)


@pytest.fixture(scope="module")
def twins(params):
    sets = active_sets(np.random.default_rng(4), 5, params.network.n_kc, 0.1)
    names = ["a", "b", "ref0", "ref1", "ref2"]
    ds = spike_dataset(
        params, dict(zip(names, sets, strict=True)), n_trials=2 * N_REPS, fly_seeds=[1, 2, 3]
    )
    return with_twin(with_twin(ds, "a", "a_twin"), "b", "b_twin")


def test_identical_test_responses_are_ties_decided_by_a_coin(twins, params):
    pairs, reference = [("a", "a_twin"), ("b", "b_twin")], ["ref0", "ref1", "ref2"]
    # no MBON silenced: mild learning, MBONs well above threshold
    params = with_overrides(params, {"learning.learning_rate": 0.5, "learning.mbon_rate": 40 * Hz})
    result = conditioned_choice(twins, pairs, reference, N_REPS, params)
    assert float(result.tie_fraction_mean) == 1.0 and bool(result.tie.all())
    assert float(result.silent_fraction_mean) == 0.0
    print(f"accuracy on ties {float(result.accuracy_mean):.2f}")
    assert 0.3 <= float(result.accuracy_mean) <= 0.7  # a coin: 60 tests
    assert 0 < int(result.choice.sum()) < result.choice.size
    again = conditioned_choice(twins, pairs, reference, N_REPS, params)
    assert np.array_equal(result.choice, again.choice)  # the coins are keyed


def test_tests_without_kc_input_are_silent_ties(params):
    sets = active_sets(np.random.default_rng(5), 2, params.network.n_kc, 0.1)
    odors = {"a": None, "b": None, "ref0": sets[0], "ref1": sets[1]}
    ds = spike_dataset(params, odors, n_trials=4, seed=3)
    result = conditioned_choice(ds, [("a", "b")], ["ref0", "ref1"], 2, params)
    assert float(result.silent_fraction_mean) == 1.0
    assert float(result.tie_fraction_mean) == 1.0
    assert float(result.mbon_naive_rate_mean) == 0.0
    assert np.isnan(float(result.cs_plus_drop_mean))


def test_a_test_is_silent_when_one_mbon_is_silenced(params):
    """Deep learning silences the approach MBONs' CS+ response (the same KCs respond in every
    trial); the avoidance MBONs still fire: the test counts as silent."""
    sets = active_sets(np.random.default_rng(6), 4, params.network.n_kc, 0.1)
    ds = spike_dataset(
        params, dict(zip(["a", "b", "r0", "r1"], sets, strict=True)), n_trials=4, reliability=1.0
    )
    deep = with_overrides(params, {"learning.learning_rate": 20.0})
    result = conditioned_choice(ds, [("a", "b")], ["r0", "r1"], 2, deep)
    avoid = result.mbon_response.sel(phase="test_cs_plus").where(
        result.mbon_role == "avoidance", drop=True
    )
    assert bool((avoid > 0).all())
    assert float(result.silent_fraction_mean) == 1.0
    assert float(result.accuracy_mean) == 1.0 and float(result.tie_fraction_mean) == 0.0


def test_choose():
    plus, minus = np.array([1.0, 2.0, 3.0]), np.array([2.0, 1.0, 3.0])
    coins = np.array([False, False, True])
    choice, tie = choose(plus, minus, "punishment", coins)
    assert list(choice) == [1, 0, 1] and list(tie) == [False, False, True]
    choice, tie = choose(plus, minus, "reward", ~coins)
    assert list(choice) == [0, 1, 0]
