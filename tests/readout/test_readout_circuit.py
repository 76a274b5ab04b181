"""The numpy readout against the in-circuit plastic network (``flysim.learning.conditioning``):
the KC spikes the plastic network produced, fed to the readout with the same weights, give the
same MBON rates and the same choices.

The plastic network runs the four presentations back to back, so its MBONs carry their state
from one presentation into the next one's baseline; the readout starts each presentation from
rest. After a baseline of silence the two differ by far less than a spike, which is what "the
same" is allowed to mean here: rates within 1 %, identical choices."""

from __future__ import annotations

import numpy as np
import pytest

from flysim import Noise
from flysim.inputs.wiring import weight_factors
from flysim.model.structure import structure_of
from flysim.odors import similar_pairs
from flysim.readout import KCSpikes, learn, mbon_responses, odor_window_steps, valence
from flysim.run.conditioning import PHASES, Conditioning
from flysim.run.pipeline import prepare_run, run_slots


class _RecordingKCs(Conditioning):
    """Conditioning that also keeps every slot's KC spikes."""

    def __init__(self, *args):
        super().__init__(*args)
        self.outputs = self.outputs + ["kc_spikes.i", "kc_spikes.t"]
        self.kc_spikes = {}

    def collect(self, result, batch):
        super().collect(result, batch)
        for k, item in enumerate(batch):
            n_kc = self.prepared.structure.n_kc
            self.kc_spikes[item] = result.spikes_of_slot("kc_spikes", n_kc, k)


@pytest.fixture(scope="module")
def plastic(tiny):
    """Two pairs x 3 repetitions of one fly, trained and mock-trained, in the plastic network
    with KC spikes recorded; MBON scales of a few nS so the MBONs fire tens of Hz."""
    params = tiny
    odors = similar_pairs(2, 0.6, n_glomeruli=tiny.network.n_glomeruli, seed=3)
    noise, flies = Noise(seed=2), [7]
    prepared = prepare_run(
        params,
        odors,
        noise,
        flies,
        lambda p: structure_of(
            p,
            batch=12,
            duration=len(PHASES) * p.protocol.duration,
            plastic=True,
            presentations=len(PHASES),
            record_spikes=True,
        ),
    )
    scale = np.full((1, prepared.structure.n_mbon), 0.2 * float(params.weights.kc_mbon))
    scale[0, 1::2] *= 1.3  # MBONs of unequal scale: a per-MBON scale must reach each MBON
    protocol = _RecordingKCs(prepared, odors, [(0, 1), (2, 3)], 3, False, scale)
    items = [((0, p, t), g) for g in (0, 1) for p in range(2) for t in range(3)]
    run_slots(prepared, items, protocol)
    return prepared, protocol


def _presentations(times, index, present: float, dt: float, n_kc: int) -> KCSpikes:
    """A slot's KC spikes as its four presentations, times from each presentation's start."""
    phase = np.minimum((times // present).astype(int), len(PHASES) - 1)
    return KCSpikes.from_times(phase, times - phase * present, index, len(PHASES), n_kc, dt)


def test_numpy_readout_equals_the_plastic_network(plastic):
    prepared, protocol = plastic
    params, s = prepared.params, prepared.structure
    factors = weight_factors(prepared.fly_seeds[0], s.n_kc, s.n_mbon, params.learning.weight_sd)
    naive = factors * protocol.mbon_scale[0]
    start, stop = odor_window_steps(params)
    circuit_rates, readout_rates, chose = [], [], []
    for ((fly, pair, trial), group), (index, times) in protocol.kc_spikes.items():
        spikes = _presentations(times, index, protocol.present, float(params.network.dt), s.n_kc)
        weights = naive
        if group == 0:  # trained: learning after the CS+ presentation, from its KC counts
            weights = learn(naive, spikes.window_counts(start, stop)[0], params.learning)
        rates = mbon_responses(
            spikes, np.stack([naive, weights]), params, weight_index=np.array([0, 1, 1, 1])
        )
        circuit = protocol.response[fly, pair, group, trial]
        readout_rates.append(rates)
        circuit_rates.append(circuit)
        v = valence(rates), valence(circuit)
        chose.append([np.sign(x[3] - x[2]) for x in v])  # CS- over CS+ (punishment)
    readout_rates, circuit_rates = np.array(readout_rates), np.array(circuit_rates)
    assert circuit_rates.mean() > 5, "the MBONs must respond for the comparison to mean much"
    trained = np.array([item[1] == 0 for item in protocol.kc_spikes])
    learned = circuit_rates[trained][:, 2].mean() / circuit_rates[~trained][:, 2].mean()
    assert learned < 0.9, "learning must change the CS+ test for the comparison to mean much"
    total_difference = np.abs(readout_rates - circuit_rates).sum() / circuit_rates.sum()
    print(
        f"MBON rates: circuit mean {circuit_rates.mean():.2f} Hz, readout "
        f"{readout_rates.mean():.2f} Hz, relative difference {total_difference:.4f}; "
        f"CS+ test after learning / mock {learned:.2f}"
    )
    assert total_difference < 0.01
    np.testing.assert_allclose(
        readout_rates.sum(axis=(0, 1)), circuit_rates.sum(axis=(0, 1)), rtol=0.01
    )
    chose = np.array(chose)
    assert np.array_equal(chose[:, 0], chose[:, 1])
