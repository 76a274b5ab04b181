"""The PN -> KC -> APL -> MBON circuit as brian2 objects, for ``batch`` independent trial slots.

One compiled network holds ``batch`` copies ("slots") of the circuit side by side; each slot
runs one trial (a fly's wiring, an odor, a noise draw). Everything that differs between runs is
a run-time value, so a new fly, odor, strength or seed never recompiles:

- the PN -> KC wiring: each KC's claws are variables (``claw0``.. the PN, ``claw_weight0``..
  its weight; an unused slot holds PN -1), and the synapses are created at run time from them;
- every constant of every population (``flysim.model.constants``: weights, time constants,
  strengths of LI and SFA);
- the ORN drive (a TimedArray over time x slot-glomeruli) and the DAN drive;
- each slot's key of its random streams (ORN Poisson input, KC current noise, DAN input:
  ``flysim.model.streams``), so a trial draws the same numbers in any batch.

What is fixed (the :class:`~flysim.model.structure.Structure`) is what changes the generated
code: sizes, neuron models, the batch size, durations and what is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Hz, Network, NeuronGroup, SpikeMonitor, Synapses, TimedArray, device, ms, second

from ..params import CircuitParams
from .constants import LEARNING_DT, NOISE_DT_STEPS, run_time_constants
from .kernels import apl_broadcast
from .neurons import get_model
from .populations import population, shared_constants
from .streams import stream_normal, stream_poisson
from .structure import Structure

__all__ = [
    "build_network",
    "Circuit",
    "window_counter",
    "claw_input",
    "claw_weight_input",
    "mbon_factor_input",
]


@dataclass
class Circuit:
    """The brian2 objects of a built circuit and what a run must give it (its contract)."""

    network: Network
    groups: dict
    synapses: dict
    timed_arrays: dict
    monitors: dict
    #: Per-run inputs besides the constants: claws, stream keys, the stimulus arrays.
    inputs: list = field(default_factory=list)


#: The per-slot inputs of the random streams: each slot's 64-bit key as two 32-bit words, and
#: a seed for brian2's own generator (used only by a user's neuron model that calls rand()).
STREAM_INPUTS = ("slots.key_lo", "slots.key_hi", "slots.rng_seed")


def window_counter(population_name: str, presentation: int) -> str:
    """The output counting a population's spikes in the odor window of one presentation."""
    return f"{population_name}.count_window{presentation}"


def claw_input(claw: int) -> str:
    """The per-KC input holding the PN of each KC's ``claw``-th claw."""
    return f"kc.claw{claw}"


def claw_weight_input(claw: int) -> str:
    """The per-KC input holding the weight (relative to ``w_pn_kc``) of its ``claw``-th claw."""
    return f"kc.claw_weight{claw}"


def _window_counters(presentations: int) -> tuple[str, str]:
    """(equations, reset lines) counting a neuron's spikes in the odor window of each of
    ``presentations`` presentations, ``t_presentation`` apart; none for a single one."""
    if presentations < 2:
        return "", ""
    equations = "\n".join(f"count_window{k} : integer" for k in range(presentations))
    reset = "\n".join(
        f"count_window{k} += int(t >= t_odor_on + {k} * t_presentation"
        f" and t < t_odor_off + {k} * t_presentation)"
        for k in range(presentations)
    )
    return equations, reset


def _stimulus_arrays(s: Structure) -> dict:
    stimulus_dt = s.stimulus_dt_us * 1e-6 * second
    n_learning_bins = int(round(s.duration_ms * ms / LEARNING_DT)) + 1
    return {
        "orn_rate": TimedArray(
            np.zeros((s.n_stimulus_bins, s.batch * s.n_glomeruli)) * Hz,
            dt=stimulus_dt,
            name="orn_rate",
        ),
        "orn_mean": TimedArray(
            np.zeros((s.n_stimulus_bins, s.batch)) * Hz, dt=stimulus_dt, name="orn_mean"
        ),
        "dan_drive": TimedArray(
            np.zeros((n_learning_bins, s.batch * s.n_mbon)) * Hz, dt=LEARNING_DT, name="dan_drive"
        ),
    }


def _slots(s: Structure) -> NeuronGroup:
    """One element per slot holding its stream key (no dynamics)."""
    return NeuronGroup(
        s.batch,
        "key_lo : integer (constant)\nkey_hi : integer (constant)\n"
        "rng_seed : integer (shared, constant)",
        name="slots",
        namespace={},
    )


def _stream_arrays(slots) -> tuple[str, str]:
    return tuple(device.get_array_name(slots.variables[k]) for k in ("key_lo", "key_hi"))


def _projection_neurons(s: Structure, params, constants, stimulus, slots, dt):
    """PNs: ORN Poisson (or mean) drive, optional LN shunting (divisive normalisation)."""
    window_eqs, window_reset = _window_counters(s.presentations)
    pn = population(
        "pn",
        s.batch * s.n_pn,
        params.pn.neuron,
        constants,
        extra_eqs="\n".join(
            [
                "column : integer (constant)",  # slot * n_glomeruli + glomerulus
                "g_ln : siemens",  # w_ln * orn_mean(t, slot), set with the ORN input below
                "count_spont : integer",
                "count_odor : integer",
                window_eqs,
            ]
        ),
        synaptic="g_exc*(E_exc - v) + g_ln*(E_inh - v)",
        extra_reset="count_spont += int(t < t_odor_on)\n"
        "count_odor += int(t >= t_odor_on and t < t_odor_off)\n" + window_reset,
    )
    pn.slot = np.repeat(np.arange(s.batch), s.n_pn)
    glomerulus = np.tile(np.repeat(np.arange(s.n_glomeruli), s.pns_per_glomerulus), s.batch)
    pn.column = pn.slot[:] * s.n_glomeruli + glomerulus
    # Each ORN spike adds w_orn; with poisson_on = 0 the drive is its mean, without fluctuations.
    # The LN conductance is a variable set here, at the same time t, rather than a subexpression
    # of the PN update: a TimedArray read there kept that loop from being vectorised.
    orn_poisson = stream_poisson(*_stream_arrays(slots), "orn_input", s.n_pn)
    pn.namespace.update(
        orn_mean=stimulus["orn_mean"], orn_rate=stimulus["orn_rate"], orn_poisson=orn_poisson
    )
    pn.run_regularly(
        "g_ln = w_ln * orn_mean(t, slot) / Hz\n"
        "g_exc += w_orn * (poisson_on * orn_poisson(n_orn * orn_rate(t, column) * dt, column,"
        " i, t_in_timesteps) + (1 - poisson_on) * n_orn * orn_rate(t, column) * dt)",
        dt=dt,
        when="start",
        name="pn_orn_input",
    )
    return pn


def _kenyon_cells(s: Structure, params, constants, slots, dt):
    """KCs: claws, APL feedback (written by the APL into g_apl), OU current noise, counts."""
    window_eqs, window_reset = _window_counters(s.presentations)
    kc = population(
        "kc",
        s.batch * s.n_kc,
        params.kc.neuron,
        constants,
        extra_eqs="\n".join(
            [
                *(f"claw{c} : integer (constant)" for c in range(s.kc_in_degree)),
                *(f"claw_weight{c} : 1 (constant)" for c in range(s.kc_in_degree)),
                # plastic runs: the fly's weight factor of each KC onto each MBON of its slot
                *(f"mbon_factor{m} : 1 (constant)" for m in range(s.n_mbon) if s.plastic),
                "g_apl : siemens",  # the APL compartment's g_out, written by the APL
                "I_noise : amp" if s.kc_current_noise else "",
                "count_spont : integer",
                "count_early : integer",
                "count_late : integer",
                window_eqs,
            ]
        ),
        synaptic="g_exc*(E_exc - v) + g_apl*(E_inh - v)"
        + (" + I_noise" if s.kc_current_noise else ""),
        extra_reset="count_spont += int(t < t_odor_on)\n"
        "count_early += int(t >= t_odor_on and t < t_odor_mid)\n"
        "count_late += int(t >= t_odor_mid and t < t_odor_off)\n" + window_reset,
    )
    kc.slot = np.repeat(np.arange(s.batch), s.n_kc)
    if s.kc_current_noise:
        # Exact Ornstein-Uhlenbeck update; noise_sigma = 0 makes the noise exactly zero.
        kc.namespace["normal"] = stream_normal(*_stream_arrays(slots), "kc_current_noise", s.n_kc)
        kc.run_regularly(
            "I_noise = I_noise * noise_decay"
            " + noise_sigma * sqrt(1 - noise_decay**2) * normal(i, t_in_timesteps)",
            dt=NOISE_DT_STEPS * dt,
            when="start",
            name="kc_current_noise",
        )
    return kc


#: The APL's output conductance onto its KCs: a spiking APL adds ``w_apl_kc`` per spike, a
#: graded (non-spiking) one releases continuously, relaxing towards ``w_apl_kc`` times its
#: depolarisation above rest (E_L) in units of ``release_range``, saturating at 1.
APL_OUTPUT = {
    "spikes": ("dg_out/dt = -g_out / tau_apl_out : siemens", "g_out += w_apl_kc"),
    "graded": (
        "dg_out/dt = (w_apl_kc * clip((v - E_L) / release_range, 0, 1) - g_out)"
        " / tau_apl_out : siemens",
        "",
    ),
}


def _apl(s: Structure, params, constants, kc):
    """APL: one neuron (or compartment) per slot; it writes its output conductance into the
    g_apl of the KCs it inhibits. Its output, and how much of it fell in the odor window
    (``g_out_odor``, for results), follows the APL model's way of signalling."""
    n_comp = s.apl_compartments
    output, release = APL_OUTPUT[get_model(params.apl.neuron).output]
    apl = population(
        "apl",
        s.batch * n_comp,
        params.apl.neuron,
        constants,
        extra_eqs="\n".join(
            [
                output,
                "dg_out_odor/dt = g_out * int(t >= t_odor_on and t < t_odor_off) : siemens*second",
                "count_odor : integer",
            ]
        ),
        synaptic="g_exc*(E_exc - v)",
        extra_reset=release + "\ncount_odor += int(t >= t_odor_on and t < t_odor_off)",
        order=-2,
    )
    apl.slot = np.repeat(np.arange(s.batch), n_comp)
    # Each KC reads its own copy of its APL compartment's conductance (a read through a linked
    # variable would keep gcc from vectorising the KCs' loop). The APL writes it into its block,
    # after its own update (order -2) and before the KCs' (order 0), so they see the same value.
    block = s.n_kc // n_comp
    apl.namespace["broadcast"] = apl_broadcast(device.get_array_name(kc.variables["g_apl"]), block)
    apl.run_regularly(
        "g_out = broadcast(g_out, i)", when="groups", order=-1, name="kc_apl_inhibition"
    )
    return apl


def _output_neurons(s: Structure, params, constants, stimulus, slots, dt):
    """MBONs and their DANs (one DAN per MBON compartment, driven by ``dan_drive``)."""
    mbon = population(
        "mbon",
        s.batch * s.n_mbon,
        params.mbon.neuron,
        constants,
        extra_eqs="scale : siemens (constant)" if s.plastic else "",
        synaptic="g_exc*(E_exc - v) + I_bias",  # tonic input holds MBONs near threshold
    )
    mbon.slot = np.repeat(np.arange(s.batch), s.n_mbon)
    dan = population(
        "dan",
        s.batch * s.n_mbon,
        params.dan.neuron,
        constants,
        extra_eqs="",
        synaptic="g_exc*(E_exc - v)",
    )
    dan.slot = np.repeat(np.arange(s.batch), s.n_mbon)
    dan_poisson = stream_poisson(*_stream_arrays(slots), "dan_input", s.n_mbon)
    dan.namespace.update(dan_drive=stimulus["dan_drive"], dan_poisson=dan_poisson)
    dan.run_regularly(
        "g_exc += w_dan_input * dan_poisson(dan_drive(t, i) * dt, i, i, t_in_timesteps)",
        dt=dt,
        when="start",
        name="dan_input",
    )
    return mbon, dan


def mbon_factor_input(mbon: int) -> str:
    """The per-KC input holding each KC's weight factor onto MBON ``mbon`` of its slot."""
    return f"kc.mbon_factor{mbon}"


def _plastic_weights(s: Structure, kc_mbon) -> None:
    """Plastic KC -> MBON weights: each is the MBON's ``scale`` times the fly's factor for the
    (KC, MBON) pair, and at every presentation boundary the weights of the compartments
    reinforced in the presentation before (their DAN driven) are depressed once,
    ``w *= exp(-learning_rate)`` where the KC responded (spiked in that presentation's odor
    window): the rule of ``flysim.learning.LearningParams``, which ``flysim.readout`` applies in
    numpy."""
    factor = " + ".join(f"mbon_factor{m}_pre * int(j % {s.n_mbon} == {m})" for m in range(s.n_mbon))
    kc_mbon.w = f"scale_post * ({factor})"
    previous = " + ".join(
        f"int(count_window{p}_pre > 0) * int(t > {p + 0.5} * t_presentation_pre"
        f" and t < {p + 1.5} * t_presentation_pre)"
        for p in range(s.presentations - 1)
    )
    reinforced = "int(dan_drive(t - 0.5 * t_presentation_pre, j) * t_presentation_pre > 0)"
    kc_mbon.run_regularly(
        f"w = w * exp(-learning_rate * ({previous}) * {reinforced})",
        dt=s.duration_ms * ms / s.presentations,
        when="start",
        name="kc_mbon_learning",
    )


def _kc_mbon(s: Structure, constants, kc, mbon, stimulus) -> list:
    """KC -> MBON synapses: one weight (``w_kc_mbon``) in plain runs, plastic in conditioning."""
    model = "w : siemens"
    if s.plastic:
        own = {k.split(".", 1)[1]: c.unit for k, c in constants.items() if k.startswith("kc_mbon.")}
        model += "\n" + shared_constants(own)
    kc_mbon = Synapses(kc, mbon, model, on_pre="g_exc_post += w", name="kc_mbon")
    kc_mbon.namespace["dan_drive"] = stimulus["dan_drive"]
    pre = np.repeat(np.arange(s.batch * s.n_kc), s.n_mbon)
    post = (pre // s.n_kc) * s.n_mbon + np.tile(np.arange(s.n_mbon), s.batch * s.n_kc)
    kc_mbon.connect(i=pre, j=post)
    if s.plastic:
        _plastic_weights(s, kc_mbon)
    else:
        kc_mbon.w = "w_kc_mbon_post"
    return [kc_mbon]


def _seed_and_initialise(params, groups, slots):
    """Apply the run's values (before the synapses are made from the claws and the state is
    initialised, so both can depend on them), seed brian2's generator, set initial values."""
    device.apply_run_args()
    seed_array = device.get_array_name(slots.variables["rng_seed"])
    device.insert_code(
        "main", f"brian::_random_generators[0].seed((unsigned long) {seed_array}[0]);"
    )
    for group in groups[1:]:
        model = get_model(getattr(params, group.name).neuron)
        for var, expr in model.initial.items():
            setattr(group, var, expr)


def _pn_kc(s: Structure, pn, kc) -> Synapses:
    """PN -> KC synapses, one per (PN, KC) pair with a claw from that PN; its weight is the sum
    of those claws' weights (several claws from one PN add up)."""
    claws = range(s.kc_in_degree)
    pn_kc = Synapses(
        pn, kc, "weight : 1", on_pre="g_exc_post += w_pn_kc_post * weight", name="pn_kc"
    )
    claw_match = " or ".join(f"claw{c}_post == i" for c in claws)
    pn_kc.connect(
        j=f"k for k in range(slot_pre * {s.n_kc}, (slot_pre + 1) * {s.n_kc}) if {claw_match}"
    )
    pn_kc.weight = " + ".join(f"claw_weight{c}_post * int(claw{c}_post == i)" for c in claws)
    return pn_kc


def _plastic_inputs(s: Structure) -> list[str]:
    return [mbon_factor_input(m) for m in range(s.n_mbon)] + ["mbon.scale"]


def build_network(params: CircuitParams, structure: Structure) -> Circuit:
    """Create (in the active device) the network of ``structure``.

    ``params`` only provides the shape of the populations' parameter sets; the values are set
    per run (``flysim.model.constants``). Call between ``set_device('cpp_standalone')`` and
    ``device.build``.
    """
    s = structure
    dt = s.dt_us * 1e-6 * second
    constants = run_time_constants(params, s)
    stimulus = _stimulus_arrays(s)
    slots = _slots(s)
    pn = _projection_neurons(s, params, constants, stimulus, slots, dt)
    kc = _kenyon_cells(s, params, constants, slots, dt)
    apl = _apl(s, params, constants, kc)
    mbon, dan = _output_neurons(s, params, constants, stimulus, slots, dt)
    groups = [slots, pn, kc, apl, mbon, dan]
    _seed_and_initialise(params, groups, slots)

    pn_kc = _pn_kc(s, pn, kc)
    compartment = np.arange(s.batch * s.n_kc) // (s.n_kc // s.apl_compartments)
    kc_apl = Synapses(kc, apl, on_pre="g_exc_post += w_kc_apl_post", name="kc_apl")
    kc_apl.connect(i=np.arange(s.batch * s.n_kc), j=compartment)
    synapses = [pn_kc, kc_apl, *_kc_mbon(s, constants, kc, mbon, stimulus)]

    monitors = {
        "apl_spikes": SpikeMonitor(apl, name="apl_spikes"),
        "mbon_spikes": SpikeMonitor(mbon, name="mbon_spikes"),
    }
    if s.record_spikes:
        monitors["kc_spikes"] = SpikeMonitor(kc, name="kc_spikes")
        monitors["pn_spikes"] = SpikeMonitor(pn, name="pn_spikes")
    network = Network(*groups, *synapses, *monitors.values())
    return Circuit(
        network=network,
        groups={g.name: g for g in groups},
        synapses={"pn_kc": pn_kc, "kc_mbon": synapses[2]},
        timed_arrays=stimulus,
        monitors=monitors,
        inputs=[claw_input(c) for c in range(s.kc_in_degree)]
        + [claw_weight_input(c) for c in range(s.kc_in_degree)]
        + [*STREAM_INPUTS, *stimulus]
        + (_plastic_inputs(s) if s.plastic else []),
    )
