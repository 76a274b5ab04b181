"""The MBON readout: learning, MBON responses and choices, computed in numpy from stored KC spikes.

Learning does not act on KCs in this model, so the KC responses of every presentation are
simulated once (``simulate(..., record_spikes=True)``: each trial an independent presentation
from rest) and the readout is a model of its own on top of them, cheap enough to re-evaluate for
any learning rate, number of MBONs, normalisation or protocol without re-simulating.

The model
---------
**MBONs.** ``M = network.n_mbon`` (even, >= 2): MBONs 0..M/2-1 promote approach (punishment
DANs depress their KC synapses), M/2..M-1 avoidance (reward DANs depress theirs). Each is the
conductance-based LIF of ``params.mbon`` (model ``lif`` only)::

    dv/dt     = (g_L * (E_L - v) + g_exc * (E_exc - v)) / C      (unless refractory)
    dg_exc/dt = -g_exc / tau_exc
    threshold v > V_T and not refractory; reset v = V_reset; refractory t_ref

integrated as flysim's compiled circuit does, with brian2's exponential Euler from the values
at the start of the step (``B = -g_L/C - g_exc/C``, ``_BA = (g_L*E_L/C + g_exc*E_exc/C) / B``,
``v <- -_BA + (v + _BA) * exp(dt * B)``, ``g_exc <- g_exc * exp(-dt / tau_exc)``) and the
circuit's refractoriness (``flysim/model/refractoriness.py``): a spike at step s freezes v
until step ``s + timestep(t_ref, dt)``, brian2's whole steps of t_ref. Per step n (t = n dt), in
brian2's schedule: state update, threshold (on the updated v), the synaptic input of the KC
spikes of step n (``g_exc += w``), reset of the MBONs that spiked. Each presentation starts from
rest (v = E_L, g_exc = 0, not refractory); a KC spike at time t is in step round(t / dt). An
MBON's response is its spike count in the odor window [baseline, baseline + odor_duration)
divided by ``odor_duration`` (Hz). The post-odor period cannot change that count and is not
integrated.

**Weights.** ``w[k, m] = scale[m] * u[k, m]``, ``u = exp(sd * z - sd**2 / 2)`` (mean 1), z
standard normal from a generator keyed only by the fly's wiring seed, ``sd =
learning.weight_sd``: each MBON has its own KC weights per fly. Homeostatic scale: ``scale[m]``
is set so that MBON m's mean naive rate over the reference presentations (odors other than the
test pairs) is ``learning.mbon_rate``, whatever the circuit's coding level and the KCs' spike
timing (a rate target: an input target left naive rates 40 % apart between conditions whose
KCs fire in bursts or adapt; found on a refined geometric grid, :func:`homeostatic_scale`).

**Learning**, once per reinforced training presentation: ``w[k, m] *= exp(-learning_rate)``
for the MBONs its DANs reinforce (punishment: approach MBONs; reward: avoidance MBONs;
``learning.protocol``) and every KC that responded (>= 1 spike) in that presentation's odor
window. Eligibility is responding, not the spike count: with a count, a KC without SFA (~10
spikes per response) lost nearly all its weight while an adapting one (~2 spikes) kept most, so
the CS+ drop differed 4-fold between conditions of the same coding level. Graded, never zero.

**Conditioning**, per odor pair (a, b) and repetition r (0..n_reps-1), each repetition from
the naive weights: CS+ = a for even r, b for odd r; train the CS+ (reinforced) with its trial
2r, the CS- (not reinforced) with its trial 2r, then test both with the learned weights on their
trials 2r + 1 (test order CS+ first for even r; presentations are independent, so it changes
nothing). An odor's valence at test is the mean approach rate minus the mean avoidance rate;
punishment: correct if valence(CS-) > valence(CS+); reward: if valence(CS+) > valence(CS-). A tie
is decided by a coin from a generator keyed by (fly seed, pair, repetition) and counted.
``conditioned_choice(..., pairings=k)`` pairs the CS+ on k trials in a row (one learning step
each), counting trials in blocks of k + 1 per repetition (k = 1: the single pairing above).

**Diagnostics** per (fly, pair, repetition), aggregated per (fly, pair) and over both: the naive
MBON rate (mean over all MBONs of the responses to the two test presentations with naive
weights), the CS+ drop (1 - depressed MBONs' mean rate to the test CS+ after learning / the
same with naive weights; a ratio of sums over repetitions), ties, and silent tests (some MBON
fired no spike in the odor window of a test presentation after learning).

**Mechanism** per (fly, pair, repetition) and per (fly, pair): the overlap of each test
presentation's responding KCs with those of the CS+ training presentation (the KCs learning
depressed; ``overlap_cs_plus`` should be high, ``overlap_cs_minus`` low), its d' over the
repetitions (``overlap_dprime``: the difference of the means over the pooled SD; NaN with one
repetition), and what learning opened between the odors at the MBONs (``cs_difference``: the
depressed MBONs' mean rate to the test CS- minus to the test CS+, Hz).

Building blocks: :class:`KCSpikes` / :func:`kc_spikes_of` (the input), :func:`mbon_weights`,
:func:`homeostatic_scale`, :func:`learn`, :func:`mbon_responses` (vectorised over presentations
and MBONs), :func:`valence`, :func:`choose`; :func:`conditioned_choice` runs the protocol on a
Dataset. This package imports numpy, xarray, ``flysim.params`` and ``flysim.inputs.wiring`` only.
"""

from .conditioning import conditioned_choice
from .mbon import MbonModel, mbon_model, mbon_responses, mbon_spike_counts, mbon_spikes
from .phases import (
    PHASE_ODOR,
    PHASE_TRIAL,
    PHASE_WEIGHTS,
    PHASES,
    cs_plus_is_first,
    phase_trial_offsets,
)
from .spikes import KCSpikes, kc_spikes_of, odor_window_steps
from .summary import choose, readout_dataset, valence
from .weights import (
    depressed_mbons,
    homeostatic_scale,
    learn,
    mbon_roles,
    mbon_weights,
    weight_factors,
)

__all__ = [
    "KCSpikes",
    "MbonModel",
    "PHASES",
    "PHASE_ODOR",
    "PHASE_TRIAL",
    "PHASE_WEIGHTS",
    "choose",
    "conditioned_choice",
    "cs_plus_is_first",
    "depressed_mbons",
    "homeostatic_scale",
    "kc_spikes_of",
    "learn",
    "mbon_model",
    "mbon_responses",
    "mbon_roles",
    "mbon_spike_counts",
    "mbon_spikes",
    "mbon_weights",
    "odor_window_steps",
    "phase_trial_offsets",
    "readout_dataset",
    "valence",
    "weight_factors",
]
