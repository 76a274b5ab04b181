"""The numpy readout against brian2: recorded KC spikes of the tiny circuit replayed back to back
into brian2 MBONs (runtime device, numpy target) with the learning rule applied between
presentations give the same MBON spikes, rates and choices."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from flysim import Noise, simulate, with_overrides
from flysim.readout import (
    conditioned_choice,
    kc_spikes_of,
    mbon_spikes,
    mbon_weights,
    odor_window_steps,
)

N_REPS = 3
PAIRS = [("odor000", "odor001"), ("odor002", "odor003")]
REFERENCE = ["odor004", "odor005"]
#: Presentations of one repetition, back to back, as (readout phase, weights): the training
#: CS+ with the naive weights, learning, the training CS- and the two tests (CS+ first in even
#: repetitions) with the learned weights, then the tests again with the naive weights.
SEQUENCE_EVEN = ["train_cs_plus", "train_cs_minus", "test_cs_plus", "test_cs_minus"]
SEQUENCE_ODD = ["train_cs_plus", "train_cs_minus", "test_cs_minus", "test_cs_plus"]
NAIVE_TAIL = ["naive_cs_plus", "naive_cs_minus"]


@pytest.fixture(scope="module")
def recorded(tiny, tiny_panel):
    """KC spikes of the tiny circuit (6 odors x 2 N_REPS trials) and the readout's params."""
    ds = simulate(
        tiny, tiny_panel, n_trials=2 * N_REPS, noise=Noise(seed=1), seed=4, record_spikes=True
    )
    params = with_overrides(tiny, {"network.n_mbon": 4, "learning.learning_rate": 0.3})
    return ds, params


@contextlib.contextmanager
def brian2_numpy_runtime():
    """brian2's runtime device with the numpy target; device and preferences put back after."""
    import brian2
    from brian2.devices.device import reset_device

    saved = dict(brian2.prefs.prefs)
    brian2.set_device("runtime")
    brian2.prefs.codegen.target = "numpy"
    try:
        yield
    finally:
        reset_device()
        brian2.prefs.prefs.update(saved)


def _mbon_group(params, size: int):
    """MBONs as flysim's circuit defines them: the neuron model's file, plus the circuit's
    excitatory conductance (brian2's own refractoriness here)."""
    from brian2 import NeuronGroup

    from flysim.model.neurons import get_model, model_values

    model = get_model(params.mbon.neuron)
    values = model_values(model, params, params.mbon)
    values |= {
        "E_exc": params.mbon.E_exc,
        "tau_exc": params.mbon.tau_exc,
        "I_bias": params.mbon.I_bias,
    }
    group = NeuronGroup(
        size,
        model.equations
        + "\nI_syn = g_exc*(E_exc - v) + I_bias : amp\ndg_exc/dt = -g_exc/tau_exc : siemens",
        threshold=model.threshold,
        reset=model.reset,
        refractory=model.refractory,
        method=model.method,
        namespace=values,
        dt=params.network.dt,
    )
    group.v = values["E_L"]
    return group


def brian2_replay(params, spikes, sequences, weights):
    """MBON spikes of units replaying presentations back to back in brian2.

    ``sequences (units, Q)``: presentation indices into ``spikes``; ``weights (units, Q, n_kc,
    n_mbon)``: the weights during each presentation (set between ``run`` calls). Returns
    (unit, q, step within the presentation, mbon) of every MBON spike."""
    from brian2 import Network, SpikeGeneratorGroup, SpikeMonitor, Synapses, second, siemens

    n_units, n_q = sequences.shape
    n_kc, n_mbon = spikes.n_kc, weights.shape[-1]
    dt = float(params.network.dt)
    per_presentation = round(float(params.protocol.duration) / dt)
    chosen = spikes.select(sequences.ravel())
    unit, q = np.divmod(chosen.presentation, n_q)
    steps = q * per_presentation + chosen.step
    kcs = SpikeGeneratorGroup(
        n_units * n_kc, unit * n_kc + chosen.kc, steps * dt * second, dt=params.network.dt
    )
    mbon = _mbon_group(params, n_units * n_mbon)
    synapses = Synapses(kcs, mbon, "w : siemens", on_pre="g_exc_post += w", dt=params.network.dt)
    pre = np.repeat(np.arange(n_units * n_kc), n_mbon)
    synapses.connect(
        i=pre, j=(pre // n_kc) * n_mbon + np.tile(np.arange(n_mbon), len(pre) // n_mbon)
    )
    i, j = np.asarray(synapses.i[:]), np.asarray(synapses.j[:])
    monitor = SpikeMonitor(mbon)
    network = Network(kcs, mbon, synapses, monitor)
    for k in range(n_q):  # the weights change between presentations: learning
        synapses.w = weights[i // n_kc, k, i % n_kc, j % n_mbon] * siemens
        network.run(float(params.protocol.duration) * second, namespace={})
    step = np.round(np.asarray(monitor.t_[:]) / dt).astype(np.int64)
    index = np.asarray(monitor.i[:])
    return index // n_mbon, step // per_presentation, step % per_presentation, index % n_mbon


def test_kc_window_counts_are_the_circuits(recorded):
    """The readout's odor-window KC counts (from spike times) equal the circuit's counters."""
    ds, params = recorded
    spikes = kc_spikes_of(ds, params)
    counts = spikes.window_counts(*odor_window_steps(params))
    assert np.array_equal(counts, ds.kc_spike_count.values.reshape(counts.shape))
    assert counts.sum() > 0


def _schedule(ds, spikes):
    """Per unit (pair, rep): the presentations played back to back and the readout phase of
    each, written out from the protocol (not from the readout's code)."""
    odor = {str(name): k for k, name in enumerate(ds.odor.values)}
    sequences, phases = [], []
    for a, b in PAIRS:
        for r in range(N_REPS):
            plus, minus = (a, b) if r % 2 == 0 else (b, a)
            order = (SEQUENCE_EVEN if r % 2 == 0 else SEQUENCE_ODD) + NAIVE_TAIL
            trial = [2 * r if phase.startswith("train") else 2 * r + 1 for phase in order]
            odors = [odor[plus] if phase.endswith("plus") else odor[minus] for phase in order]
            sequences.append(spikes.index(0, odors, trial))
            phases.append(order)
    return np.array(sequences), phases


def _weights(ds, params, phases):
    """The weights of every presentation: naive, or learned after the unit's training CS+
    (the rule applied here from the circuit's own KC counts)."""
    counts = ds.kc_spike_count
    spikes = kc_spikes_of(ds, params)
    odors = [str(o) for o in ds.odor.values]
    reference = spikes.index(0, [[odors.index(o)] for o in REFERENCE], np.arange(ds.sizes["trial"]))
    naive, _ = mbon_weights(int(ds.fly), spikes.select(reference.ravel()), params)
    approach = np.arange(params.network.n_mbon) < params.network.n_mbon // 2
    out = []
    for u, order in enumerate(phases):
        (a, b), r = PAIRS[u // N_REPS], u % N_REPS
        trained = counts.sel(odor=a if r % 2 == 0 else b, trial=2 * r).values.astype(float)
        learned = naive * np.where(
            approach, np.exp(-params.learning.learning_rate * (trained > 0))[:, None], 1.0
        )
        out.append([naive if w.startswith(("train_cs_plus", "naive")) else learned for w in order])
    return np.array(out)


def _window_counts(unit, q, step, mbon, shape, window):
    inside = (step >= window[0]) & (step < window[1])
    counts = np.zeros(shape, dtype=np.int64)
    np.add.at(counts, (unit[inside], q[inside], mbon[inside]), 1)
    return counts


def test_numpy_readout_equals_brian2_replay(recorded):
    ds, params = recorded
    spikes = kc_spikes_of(ds, params)
    sequences, phases = _schedule(ds, spikes)
    weights = _weights(ds, params, phases)
    n_units, n_q, n_kc, n_mbon = weights.shape
    window = odor_window_steps(params)
    with brian2_numpy_runtime():
        replayed = brian2_replay(params, spikes, sequences, weights)
    numpy_spikes = mbon_spikes(
        spikes.select(sequences.ravel()),
        weights.reshape(-1, n_kc, n_mbon),
        params,
        weight_index=np.arange(n_units * n_q),
    )
    unit, q = np.divmod(numpy_spikes["presentation"], n_q)
    ours = (unit, q, numpy_spikes["step"], numpy_spikes["mbon"])
    # every MBON spike of the odor windows, at the same step: the schedule, the update order
    # and the input timing are brian2's (back-to-back presentations start from the previous
    # one's decayed state, fresh ones from rest: no spike of an odor window tells them apart)
    in_window = [
        set(zip(*(x[(s[2] >= window[0]) & (s[2] < window[1])] for x in s), strict=True))
        for s in (replayed, ours)
    ]
    assert in_window[0] == in_window[1]
    brian2_counts = _window_counts(*replayed, (n_units, n_q, n_mbon), window)
    assert brian2_counts.sum() > 100
    # the readout's own protocol: the same rates (within 1 %) and choices
    result = conditioned_choice(ds, PAIRS, REFERENCE, N_REPS, params)
    duration = float(params.protocol.odor_duration)
    for u, order in enumerate(phases):
        pair, rep = divmod(u, N_REPS)
        ours_rates = result.mbon_response.isel(pair=pair, rep=rep).sel(phase=order).values
        np.testing.assert_allclose(ours_rates, brian2_counts[u] / duration, rtol=0.01)
    _assert_same_choices(result, brian2_counts / duration, phases)


def _assert_same_choices(result, rates, phases):
    approach = result.mbon_role.values == "approach"
    valence = rates[..., approach].mean(-1) - rates[..., ~approach].mean(-1)
    for u, order in enumerate(phases):
        pair, rep = divmod(u, N_REPS)
        plus, minus = (
            valence[u, order.index("test_cs_plus")],
            valence[u, order.index("test_cs_minus")],
        )
        unit = result.isel(pair=pair, rep=rep)
        if plus == minus:
            assert bool(unit.tie)
        else:
            assert not bool(unit.tie) and int(unit.choice) == int(minus > plus)
