"""The readout's weights: homeostatic normalisation across coding levels, distinct MBONs."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import Hz, pA
from readout_synthetic import active_sets, spike_dataset

from flysim import load_params, with_overrides
from flysim.readout import (
    conditioned_choice,
    homeostatic_scale,
    kc_spikes_of,
    mbon_responses,
    mbon_weights,
    weight_factors,
)


@pytest.fixture(scope="module")
def params():
    # MBONs without tonic input (mbon.I_bias 0): a plain LIF, whose silence and input-rate
    # relation these synthetic spike trains are built for
    return with_overrides(load_params("tiny"), {"network.n_mbon": 4, "mbon.I_bias": 0 * pA})


def condition(params, fraction: float, seed: int):
    """A 'circuit condition' coding each odor with ``fraction`` of the KCs: 2 pairs and 3
    reference odors, 4 trials each."""
    names = ["a0", "b0", "a1", "b1", "ref0", "ref1", "ref2"]
    sets = active_sets(np.random.default_rng(seed), len(names), params.network.n_kc, fraction)
    ds = spike_dataset(params, dict(zip(names, sets, strict=True)), n_trials=4, seed=seed)
    return ds, [("a0", "b0"), ("a1", "b1")], ["ref0", "ref1", "ref2"]


def test_homeostatic_scale_sets_the_mean_naive_rate_on_the_reference(params):
    ds, _, reference = condition(params, 0.1, 4)
    spikes = kc_spikes_of(ds, params)
    odors = [str(o) for o in ds.odor.values]
    ref = spikes.select(
        spikes.index(0, [[odors.index(o)] for o in reference], np.arange(4)).ravel()
    )
    factors = weight_factors(5, params.network.n_kc, 4, 0.5)
    scale = homeostatic_scale(factors, ref, params)
    rates = mbon_responses(ref, factors * scale, params).mean(axis=0)
    below = mbon_responses(ref, factors * scale * 0.99, params).mean(axis=0)
    target = float(params.learning.mbon_rate)
    print(f"reference rates {rates} Hz at the scale, {below} Hz 1 % below; target {target}")
    assert np.all(rates >= target) and np.all(rates < 1.1 * target)
    assert np.all(below < target)  # the smallest scale that reaches it (to 1 %)
    weak = with_overrides(params, {"learning.mbon_rate": 2000 * Hz})  # beyond the refractory limit
    with pytest.warns(UserWarning, match="stay below learning.mbon_rate"):
        capped = homeostatic_scale(factors, ref, weak)
    assert np.all(capped == capped.max())  # the largest scale for all


def test_naive_rates_do_not_depend_on_the_coding_level(params):
    sparse, dense = condition(params, 0.08, 1), condition(params, 0.30, 2)
    homeostatic = [conditioned_choice(*c, 2, params) for c in (sparse, dense)]
    rates = [float(r.mbon_naive_rate_mean) for r in homeostatic]
    # without normalisation: the sparse condition's scales for both
    fixed = float(homeostatic[0].weight_scale.mean()) * 1e-9
    unscaled = [
        float(conditioned_choice(*c, 2, params, scale=fixed).mbon_naive_rate_mean)
        for c in (sparse, dense)
    ]
    print(
        f"naive MBON rate 8 % / 30 % coding: homeostatic {rates[0]:.1f} / {rates[1]:.1f} Hz, "
        f"fixed scale {unscaled[0]:.1f} / {unscaled[1]:.1f} Hz"
    )
    assert rates[1] == pytest.approx(rates[0], rel=0.25)
    assert unscaled[1] > 2 * unscaled[0]
    assert homeostatic[1].attrs["normalisation"] == "homeostatic"


def test_mbons_of_one_valence_have_their_own_weights(params):
    ds, pairs, reference = condition(params, 0.1, 3)
    spikes = kc_spikes_of(ds, params)
    counts = spikes
    weights, _ = mbon_weights(7, counts, params)
    same = mbon_weights(7, counts, params)[0]
    assert np.array_equal(weights, same)  # keyed by the fly's seed only
    assert not np.allclose(weights, mbon_weights(8, counts, params)[0])
    for a, b in [(0, 1), (2, 3)]:  # approach, avoidance
        assert abs(np.corrcoef(weights[:, a], weights[:, b])[0, 1]) < 0.3
    responses = mbon_responses(spikes, weights, params)
    assert np.any(responses[:, 0] != responses[:, 1])
    flat = with_overrides(params, {"learning.weight_sd": 0.0})
    identical, _ = mbon_weights(7, counts, flat)
    assert np.array_equal(identical[:, 0], identical[:, 1])
    assert np.array_equal(*mbon_responses(spikes, identical, flat)[:, :2].T)


def test_weight_factors_have_mean_one_and_do_not_depend_on_the_number_of_mbons():
    four, six = weight_factors(3, 2000, 4, 0.5), weight_factors(3, 2000, 6, 0.5)
    assert np.array_equal(four, six[:, :4])
    assert four.mean() == pytest.approx(1, abs=0.03)
    assert np.std(np.log(four)) == pytest.approx(0.5, abs=0.02)
