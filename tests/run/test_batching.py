"""A trial's spikes do not depend on how requests are batched (issue #18): every random stream
is keyed by (fly, odor, trial) and the neuron, not by the batch a slot lands in."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import pA

from flysim import Noise, simulate
from flysim.learning import conditioning
from flysim.odors import similar_pairs, synthetic_panel

#: Every stream of a plain trial: Poisson ORN input, input-pattern noise, KC current noise.
NOISE = Noise(kc_current_sigma=5 * pA, seed=3)


def _spikes(ds, odor, trial, fly=None):
    """(KC index, time) of one trial's spikes, sorted."""
    pick = (ds.kc_spike_odor == odor) & (ds.kc_spike_trial == trial)
    if fly is not None:
        pick &= ds.kc_spike_fly == fly
    pairs = np.column_stack([ds.kc_spike_index[pick], ds.kc_spike_time[pick]])
    return pairs[np.lexsort(pairs.T[::-1])]


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel(5, n_glomeruli=20, seed=0)


def test_a_trial_gives_the_same_spikes_at_any_batch_size_and_in_a_larger_request(tiny, panel):
    small = panel.select(panel.names[:2])
    runs = {
        size: simulate(tiny, small, n_trials=2, noise=NOISE, batch_size=size, record_spikes=True)
        for size in (4, 16)
    }
    # more odors, more trials and another fly: every trial lands in another slot and batch
    large = simulate(
        tiny, panel, n_trials=3, noise=NOISE, seed=[0, 4], batch_size=16, record_spikes=True
    )
    assert int(runs[4].kc_spike_count.sum()) > 0
    for odor in range(2):
        for trial in range(2):
            reference = _spikes(runs[4], odor, trial)
            assert np.array_equal(_spikes(runs[16], odor, trial), reference)
            assert np.array_equal(_spikes(large, odor, trial, fly=0), reference)
    for name in ("kc_spike_count", "pn_spike_count", "mbon_rate", "apl_activity"):
        same = large[name].sel(fly=0).isel(odor=[0, 1], trial=[0, 1]).values
        assert np.array_equal(runs[4][name].values, same), name
        assert np.array_equal(runs[16][name].values, runs[4][name].values), name


def test_different_trials_and_flies_draw_different_noise(tiny, panel):
    ds = simulate(tiny, panel.select(panel.names[:1]), n_trials=2, noise=NOISE, seed=[0, 1])
    pn = ds.pn_spike_count.values  # the same odor: PN input differs only by its Poisson draws
    assert not np.array_equal(pn[0, 0, 0], pn[0, 0, 1])  # trials of one fly
    assert not np.array_equal(pn[0, 0, 0], pn[1, 0, 0])  # the same trial of two flies


def test_conditioning_is_independent_of_batching_and_controls_share_the_noise(tiny):
    pairs = similar_pairs(2, 0.8, n_glomeruli=20, seed=0)
    common = dict(n_trials=2, noise=NOISE, kc_counts=True)
    small = conditioning(tiny, pairs.select(pairs.names[:2]), batch_size=4, **common)
    large = conditioning(tiny, pairs, batch_size=16, **common)
    for name in ("mbon_response", "kc_spike_count", "pn_spike_count", "kc_mbon_weight_change"):
        assert np.array_equal(small[name].values, large[name].isel(pair=[0]).values), name
    # trained and mock-trained copies of a (fly, pair, repetition) see the same noise; learning
    # does not act on KCs, so their KC spikes are identical
    counts = large.kc_spike_count
    assert int(counts.sum()) > 0
    assert np.array_equal(counts.sel(group="trained"), counts.sel(group="control"))
