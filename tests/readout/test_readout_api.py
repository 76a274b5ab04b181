"""The readout's building blocks and errors: spikes, chunking, records, the Dataset."""

from __future__ import annotations

import numpy as np
import pytest
from readout_synthetic import active_sets, spike_dataset

from flysim import load_params, with_overrides
from flysim.params import ParameterError
from flysim.readout import (
    KCSpikes,
    conditioned_choice,
    kc_spikes_of,
    mbon_responses,
    mbon_spike_counts,
    mbon_spikes,
    mbon_weights,
    odor_window_steps,
)


@pytest.fixture(scope="module")
def params():
    return with_overrides(load_params("tiny"), {"network.n_mbon": 2})


@pytest.fixture(scope="module")
def small(params):
    sets = active_sets(np.random.default_rng(2), 4, params.network.n_kc, 0.1)
    ds = spike_dataset(params, dict(zip(["a", "b", "r0", "r1"], sets, strict=True)), n_trials=4)
    return ds, [("a", "b")], ["r0", "r1"]


def test_select_gathers_presentations_in_order_with_repeats():
    spikes = KCSpikes([2, 0, 2, 1], [5, 6, 7, 8], [1, 2, 3, 4], n_presentations=3, n_kc=5)
    chosen = spikes.select([2, 0, 2])
    assert list(chosen.presentation) == [0, 0, 1, 2, 2]
    assert list(chosen.step) == [5, 7, 6, 5, 7] and list(chosen.kc) == [1, 3, 2, 1, 3]
    counts = spikes.window_counts(6, 8)
    assert counts.tolist() == [[0, 0, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 1, 0]]


def test_odor_window_is_baseline_to_odor_offset(params):
    """[300 ms, 800 ms) at dt = 0.1 ms: steps 3000..7999; spikes on the edges."""
    assert float(params.protocol.baseline) == pytest.approx(0.3)
    assert float(params.protocol.odor_duration) == pytest.approx(0.5)
    assert odor_window_steps(params) == (3000, 8000)
    spikes = KCSpikes.from_times(
        [0, 0, 0, 0], [0.2999, 0.3, 0.7999, 0.8], [0, 1, 2, 3], 1, 4, float(params.network.dt)
    )
    assert spikes.window_counts(*odor_window_steps(params)).tolist() == [[0, 1, 1, 0]]


def test_chunks_records_and_rates_agree(small, params):
    ds, _, reference = small
    spikes = kc_spikes_of(ds, params)
    weights, _ = mbon_weights(0, spikes, params)
    counts = mbon_spike_counts(spikes, weights, params)
    one_by_one = mbon_spike_counts(spikes, weights, params, chunk_bytes=1)
    assert np.array_equal(counts, one_by_one) and counts.sum() > 0
    rates = mbon_responses(spikes, weights, params)
    np.testing.assert_allclose(rates, counts / float(params.protocol.odor_duration))
    recorded = mbon_spikes(spikes, weights, params)
    start, stop = odor_window_steps(params)
    inside = recorded["step"] >= start
    assert recorded["step"].max() < stop
    again = np.zeros_like(counts)
    np.add.at(again, (recorded["presentation"][inside], recorded["mbon"][inside]), 1)
    assert np.array_equal(again, counts)


def test_weight_sets_per_presentation(small, params):
    ds, _, _ = small
    spikes = kc_spikes_of(ds, params)
    weights, _ = mbon_weights(0, spikes, params)
    sets = np.stack([weights, 0 * weights])
    index = np.arange(spikes.n_presentations) % 2
    counts = mbon_spike_counts(spikes, sets, params, weight_index=index)
    assert np.all(counts[1::2] == 0)
    assert np.array_equal(counts[::2], mbon_spike_counts(spikes, weights, params)[::2])


def one_fly(ds, position: int):
    """Fly ``position`` of ``ds`` as simulate returns a single fly (no fly dim)."""
    mine = ds["kc_spike_fly"].values == position
    one = ds.isel(fly=position, spike_kc=np.nonzero(mine)[0])
    return one.assign(kc_spike_fly=0 * one["kc_spike_fly"])


def test_dataset_has_units_names_and_a_fly_dim_when_given_one(params):
    sets = active_sets(np.random.default_rng(3), 4, params.network.n_kc, 0.1)
    odors = dict(zip(["a", "b", "r0", "r1"], sets, strict=True))
    ds = spike_dataset(params, odors, n_trials=4, fly_seeds=[5, 6])
    result = conditioned_choice(ds, [("a", "b")], ["r0", "r1"], 2, params)
    assert result.choice.dims == ("fly", "pair", "rep")
    assert list(result.fly.values) == [5, 6]
    for name, variable in result.data_vars.items():
        assert variable.attrs.get("units") and variable.attrs.get("long_name"), name
    one = conditioned_choice(one_fly(ds, 1), [("a", "b")], ["r0", "r1"], 2, params)
    assert "fly" not in one.dims and int(one.fly) == 6
    assert np.array_equal(one.mbon_response, result.mbon_response.isel(fly=1))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"network.n_mbon": 3}, "even"),
        ({"mbon.neuron": "sfa_lif"}, "lif"),
        ({"network.dt": 0.07e-3}, "grid"),
        ({"protocol.baseline": 0.2}, "odor window"),
    ],
)
def test_bad_params(small, params, overrides, message):
    ds, pairs, reference = small
    from brian2 import second

    overrides = {k: v * second if isinstance(v, float) else v for k, v in overrides.items()}
    with pytest.raises(ParameterError, match=message):
        conditioned_choice(ds, pairs, reference, 2, with_overrides(params, overrides))


@pytest.mark.parametrize(
    ("pairs", "reference", "n_reps", "message"),
    [
        ([("a", "x")], ["r0"], 2, "not in the Dataset"),
        ([("a", "b")], ["a"], 2, "must not be test odors"),
        ([("a", "b")], [], 2, "reference"),
        ([("a", "a")], ["r0"], 2, "two different odors"),
        ([("a", "b")], ["r0"], 3, "6 trials"),
    ],
)
def test_bad_requests(small, params, pairs, reference, n_reps, message):
    ds = small[0]
    with pytest.raises(ValueError, match=message):
        conditioned_choice(ds, pairs, reference, n_reps, params)


def test_needs_recorded_spikes_of_its_flies(small, params):
    ds, pairs, reference = small
    with pytest.raises(ValueError, match="record_spikes"):
        conditioned_choice(ds.drop_vars("kc_spike_time"), pairs, reference, 2, params)
    sets = active_sets(np.random.default_rng(3), 4, params.network.n_kc, 0.1)
    odors = dict(zip(["a", "b", "r0", "r1"], sets, strict=True))
    two = spike_dataset(params, odors, n_trials=4, fly_seeds=[5, 6])
    with pytest.raises(ValueError, match="fly position 1"):
        conditioned_choice(two.isel(fly=0), [("a", "b")], ["r0", "r1"], 2, params)
