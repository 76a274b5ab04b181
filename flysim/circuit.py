"""The PN -> KC -> APL -> MBON circuit as brian2 objects, for ``batch`` independent trial slots.

One compiled network holds ``batch`` copies ("slots") of the circuit side by side; each slot
runs one trial (a fly's wiring, an odor, a noise draw). Everything that differs between runs is
a run-time variable, so a new fly, odor, strength or seed never recompiles:

- the PN -> KC wiring: each KC's claws are integer variables (``claw0``..), and the synapses are
  created at run time from them;
- every constant of every population (weights, time constants, strengths of LI and SFA);
- the ORN drive (a TimedArray over time x slot-glomeruli) and the DAN drive;
- the seed of brian2's random generator (Poisson input, KC current noise).

What is fixed (the :class:`Structure`) is what changes the generated code: sizes, neuron models,
the batch size, durations and what is recorded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from brian2 import (
    Equations,
    Expression,
    Hz,
    Network,
    NeuronGroup,
    SpikeMonitor,
    Synapses,
    TimedArray,
    amp,
    device,
    ms,
    nS,
    second,
    siemens,
)
from brian2.equations.equations import SingleEquation

from .kernels import (
    ThresholdCodeObject,
    apl_broadcast,
    fast_threshold_ok,
    kc_mbon_plasticity,
    orn_poisson,
)
from .neurons import get_model, model_values
from .params import CircuitParams

__all__ = ["Structure", "structure_of", "build_network", "POPULATIONS"]

POPULATIONS = ("pn", "kc", "apl", "mbon", "dan")
#: Time step of the KC current-noise update (the OU update is exact for any step).
NOISE_DT_STEPS = 5
#: Time step of the plasticity update and of the DAN drive.
LEARNING_DT = 1 * ms


@dataclass(frozen=True)
class Structure:
    """What determines the generated code; its ``key`` names the compiled artifact."""

    n_glomeruli: int
    pns_per_glomerulus: int
    n_kc: int
    kc_in_degree: int
    n_mbon: int
    apl_compartments: int
    neurons: tuple  # ((population, model name, model definition hash), ...)
    dt_us: int
    stimulus_dt_us: int
    duration_ms: float
    batch: int
    record_spikes: bool = False
    plastic: bool = False
    # Odor presentations of protocol.duration each in one run (conditioning: 4). With more
    # than one, PN and KC spikes in each presentation's odor window are counted separately.
    presentations: int = 1
    profile: bool = False  # brian2 timing per code object (benchmarks only)
    # KC current noise costs a randn() per KC every few steps even at sigma 0, so it is
    # compiled in only when used: switching it on selects another network, its level does not.
    kc_current_noise: bool = False

    @property
    def n_pn(self) -> int:
        return self.n_glomeruli * self.pns_per_glomerulus

    @property
    def n_stimulus_bins(self) -> int:
        return int(round(self.duration_ms * 1000 / self.stimulus_dt_us)) + 1

    @property
    def key(self) -> str:
        import brian2

        from . import __version__

        text = json.dumps(
            [asdict(self), __version__, brian2.__version__, _CODE_HASH, _compile_prefs()],
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


#: The code that generates the network is part of the cache key, so that a changed circuit
#: never reuses a binary compiled from the old one under the same version number.
_HERE = Path(__file__).parent
_CODE_HASH = hashlib.sha256(
    b"".join(
        path.read_bytes()
        for path in [Path(__file__), _HERE / "kernels.py", *sorted(_HERE.glob("templates/*"))]
    )
).hexdigest()[:16]


def _compile_prefs() -> list:
    """brian2 preferences, set by the user, that change the compiled code (the compiler flags
    are not among them: flysim sets those itself at every build)."""
    from brian2 import prefs

    return [
        str(prefs["devices.cpp_standalone.openmp_threads"]),
        str(prefs["core.default_float_dtype"]),
    ]


def _model_hash(name: str) -> str:
    model = get_model(name)
    text = json.dumps(asdict(model), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def structure_of(
    params: CircuitParams,
    *,
    batch: int,
    duration=None,
    record_spikes=False,
    plastic=False,
    presentations=1,
    profile=False,
    kc_current_noise=False,
) -> Structure:
    """The structure needed to run ``params`` with ``batch`` slots of ``duration`` each."""
    net, proto = params.network, params.protocol
    duration = proto.duration if duration is None else duration
    neurons = tuple(
        (pop, getattr(params, pop).neuron, _model_hash(getattr(params, pop).neuron))
        for pop in POPULATIONS
    )
    return Structure(
        n_glomeruli=net.n_glomeruli,
        pns_per_glomerulus=net.pns_per_glomerulus,
        n_kc=net.n_kc,
        kc_in_degree=net.kc_in_degree,
        n_mbon=net.n_mbon,
        apl_compartments=params.li.apl_compartments,
        neurons=neurons,
        dt_us=int(round(float(net.dt / ms) * 1000)),
        stimulus_dt_us=int(round(float(proto.stimulus_dt / ms) * 1000)),
        duration_ms=round(float(duration / ms), 6),
        batch=int(batch),
        record_spikes=bool(record_spikes),
        plastic=bool(plastic),
        presentations=int(presentations),
        profile=bool(profile),
        kc_current_noise=bool(kc_current_noise),
    )


def _shared(names_units: dict) -> str:
    return "\n".join(f"{name} : {unit} (shared, constant)" for name, unit in names_units.items())


def _window_counters(presentations: int) -> tuple[str, str]:
    """(equations, reset lines) counting a neuron's spikes in the odor window of each of
    ``presentations`` presentations, ``t_presentation`` apart; none for a single one."""
    if presentations < 2:
        return "", ""
    equations = "\n".join(f"count_window{k} : integer" for k in range(presentations))
    equations += "\nt_presentation : second (shared, constant)"
    reset = "\n".join(
        f"count_window{k} += int(t >= t_odor_on + {k} * t_presentation"
        f" and t < t_odor_off + {k} * t_presentation)"
        for k in range(presentations)
    )
    return equations, reset


def _unit_name(value) -> str:
    from brian2 import get_unit

    return (
        "1"
        if not hasattr(value, "dim") or value.dim.is_dimensionless
        else repr(get_unit(value.dim)).replace("metre", "meter")
    )


def _refractoriness_in_equations(model) -> tuple[Equations, str, str]:
    """(equations, threshold, reset) of a forward-Euler model with its refractoriness written out.

    brian2's own refractoriness keeps a ``char not_refractory`` array and tests
    ``timestep(t - lastspike, dt)`` in the state update, which stops gcc from vectorising the
    loop (BENCHMARKS.md). Here a neuron stays refractory while ``t < ref_until``, set at each
    spike to half a step before the step at which brian2 would release it, and each
    "unless refractory" derivative is multiplied by ``int(t > ref_until)``. Under forward Euler
    this is the same arithmetic (``x + dt*(1*f)`` or ``x + dt*(0*f)``): results are
    bit-identical to brian2's. Other methods keep brian2's mechanism (exponential Euler would
    divide by the zeroed coefficient, Runge-Kutta would test the flag at sub-steps).
    """
    active = "int(t > ref_until)"
    rewritten = []
    for eq in Equations(model.equations).values():
        if "unless refractory" in eq.flags:
            flags = [f for f in eq.flags if f != "unless refractory"]
            eq = SingleEquation(
                eq.type,
                eq.varname,
                eq.dim,
                var_type=eq.var_type,
                expr=Expression(f"{active} * ({eq.expr})"),
                flags=flags,
            )
        rewritten.append(eq)
    equations = Equations(rewritten) + Equations("ref_until : second")
    threshold = f"({model.threshold}) and t > ref_until"
    reset = model.reset + f"\nref_until = t + (timestep({model.refractory}, dt) - 0.5) * dt"
    return equations, threshold, reset


def _is_duration(expression: str, values: dict) -> bool:
    """Whether a refractory expression is a fixed duration (brian2 also accepts a condition,
    e.g. ``"v > V_T"``, which has to keep brian2's own mechanism)."""
    from brian2 import second
    from brian2.core.namespace import DEFAULT_UNITS
    from brian2.units.fundamentalunits import have_same_dimensions

    try:
        value = eval(expression, {"__builtins__": {}}, {**DEFAULT_UNITS, **values})  # noqa: S307
    except Exception:  # names a state variable, or is no expression at all
        return False
    return have_same_dimensions(value, second)


def _population(
    name: str,
    size: int,
    params: CircuitParams,
    extra_eqs: str,
    synaptic: str,
    extra_reset: str = "",
    order: int = 0,
) -> NeuronGroup:
    """A NeuronGroup from the population's neuron model plus the circuit's additions.

    Every model parameter becomes a shared variable (so it is set per run, not compiled in).
    """
    pop = getattr(params, name)
    model = get_model(pop.neuron)
    values = model_values(model, params, pop)
    units = {symbol: _unit_name(value) for symbol, value in values.items()}
    synaptic_units = {"E_exc": "volt", "E_inh": "volt", "tau_exc": "second"}
    explicit = model.method == "euler" and _is_duration(model.refractory, values)
    if explicit:
        model_eqs, threshold, reset = _refractoriness_in_equations(model)
    else:
        model_eqs, threshold, reset = Equations(model.equations), model.threshold, model.reset
    equations = model_eqs + Equations(
        "\n".join(
            [
                f"I_syn = {synaptic} : amp",
                "dg_exc/dt = -g_exc / tau_exc : siemens",
                _shared({**units, **synaptic_units}),
                "slot : integer (constant)",
                extra_eqs,
            ]
        )
    )
    group = NeuronGroup(
        size,
        equations,
        threshold=threshold,
        reset=reset + "\n" + extra_reset,
        refractory=False if explicit else model.refractory,
        method=model.method,
        name=name,
        namespace={},
        order=order,
    )
    if explicit:
        group.ref_until = -1e4 * second  # brian2's initial lastspike: never refractory at t = 0
    if fast_threshold_ok(threshold):
        group.thresholder["spike"].codeobj_class = ThresholdCodeObject
    return group


def build_network(params: CircuitParams, structure: Structure):
    """Create (in the active device) the network of ``structure`` and return its handles.

    ``params`` only provides the shape of the populations' parameter sets; the values are set
    per run (see ``flysim.engine.values``). Call between ``set_device('cpp_standalone')`` and
    ``device.build``.
    """
    s = structure
    B = s.batch
    dt = s.dt_us * 1e-6 * second
    n_ta_pn = B * s.n_glomeruli
    window_eqs, window_reset = _window_counters(s.presentations)

    orn_rate = TimedArray(
        np.zeros((s.n_stimulus_bins, n_ta_pn)) * Hz,
        dt=s.stimulus_dt_us * 1e-6 * second,
        name="orn_rate",
    )
    orn_mean = TimedArray(
        np.zeros((s.n_stimulus_bins, B)) * Hz, dt=s.stimulus_dt_us * 1e-6 * second, name="orn_mean"
    )
    n_learning_bins = int(round(s.duration_ms * ms / LEARNING_DT)) + 1
    dan_drive = TimedArray(
        np.zeros((n_learning_bins, B * s.n_mbon)) * Hz, dt=LEARNING_DT, name="dan_drive"
    )

    # --- PNs: ORN Poisson (or mean) drive, optional LN shunting (divisive normalisation) ---
    pn = _population(
        "pn",
        B * s.n_pn,
        params,
        extra_eqs="\n".join(
            [
                "column : integer (constant)",  # slot * n_glomeruli + glomerulus
                "g_ln : siemens",  # w_ln * orn_mean(t, slot), set with the ORN input below
                _shared(
                    {
                        "w_ln": "siemens",
                        "w_orn": "siemens",
                        "n_orn": "1",
                        "poisson_on": "1",
                        "t_odor_on": "second",
                        "t_odor_off": "second",
                    }
                ),
                "count_spont : integer",
                "count_odor : integer",
                window_eqs,
            ]
        ),
        synaptic="g_exc*(E_exc - v) + g_ln*(E_inh - v)",
        extra_reset="count_spont += int(t < t_odor_on)\n"
        "count_odor += int(t >= t_odor_on and t < t_odor_off)\n" + window_reset,
    )
    pn.namespace.update(orn_mean=orn_mean)
    pn.slot = np.repeat(np.arange(B), s.n_pn)
    glomerulus = np.tile(np.repeat(np.arange(s.n_glomeruli), s.pns_per_glomerulus), B)
    pn.column = pn.slot[:] * s.n_glomeruli + glomerulus
    # Each ORN spike adds w_orn; with poisson_on = 0 the drive is its mean, without fluctuations.
    # The LN conductance is a variable set here, at the same time t, rather than a subexpression
    # of the PN update: a TimedArray read there kept that loop from being vectorised.
    pn.namespace.update(orn_rate=orn_rate, orn_poisson=orn_poisson)
    pn.run_regularly(
        "g_ln = w_ln * orn_mean(t, slot) / Hz\n"
        "g_exc += w_orn * (poisson_on * orn_poisson(n_orn * orn_rate(t, column) * dt, column)"
        " + (1 - poisson_on) * n_orn * orn_rate(t, column) * dt)",
        dt=dt,
        when="start",
        name="pn_orn_input",
    )

    # --- KCs: claws, APL feedback (copied from the APL's conductance), OU noise, counts ---
    claws = "\n".join(f"claw{c} : integer (constant)" for c in range(s.kc_in_degree))
    kc = _population(
        "kc",
        B * s.n_kc,
        params,
        extra_eqs="\n".join(
            [
                claws,
                "g_apl : siemens",  # the APL compartment's g_out, written by the APL
                "I_noise : amp" if s.kc_current_noise else "",
                _shared(
                    {
                        "w_pn_kc": "siemens",
                        **(
                            {"noise_decay": "1", "noise_sigma": "amp"} if s.kc_current_noise else {}
                        ),
                        "t_odor_on": "second",
                        "t_odor_mid": "second",
                        "t_odor_off": "second",
                        "rng_seed": "1",
                    }
                ),
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
    kc.slot = np.repeat(np.arange(B), s.n_kc)
    if s.kc_current_noise:
        # Exact Ornstein-Uhlenbeck update; noise_sigma = 0 makes the noise exactly zero.
        kc.run_regularly(
            "I_noise = I_noise * noise_decay + noise_sigma * sqrt(1 - noise_decay**2) * randn()",
            dt=NOISE_DT_STEPS * dt,
            when="start",
            name="kc_current_noise",
        )

    # --- APL: one neuron (or compartment) per slot; its output conductance is shared by KCs ---
    n_comp = s.apl_compartments
    apl = _population(
        "apl",
        B * n_comp,
        params,
        extra_eqs="\n".join(
            [
                "dg_out/dt = -g_out / tau_apl_out : siemens",
                _shared({"w_kc_apl": "siemens", "w_apl_kc": "siemens", "tau_apl_out": "second"}),
                "count_odor : integer",
                "t_odor_on : second (shared, constant)",
                "t_odor_off : second (shared, constant)",
            ]
        ),
        synaptic="g_exc*(E_exc - v)",
        extra_reset="g_out += w_apl_kc\ncount_odor += int(t >= t_odor_on and t < t_odor_off)",
        order=-2,
    )
    apl.slot = np.repeat(np.arange(B), n_comp)
    block = s.n_kc // n_comp
    compartment = np.arange(B * s.n_kc) // block  # contiguous KC blocks
    # Each KC reads its own copy of its APL compartment's conductance (a read through a linked
    # variable would keep gcc from vectorising the KCs' loop). The APL writes it into its block,
    # after its own update (order -2) and before the KCs' (order 0), so they see the same value.
    apl.namespace["broadcast"] = apl_broadcast(device.get_array_name(kc.variables["g_apl"]), block)
    apl.run_regularly(
        "g_out = broadcast(g_out, i)", when="groups", order=-1, name="kc_apl_inhibition"
    )

    # --- MBONs and DANs (one DAN per MBON compartment) ---
    mbon = _population(
        "mbon",
        B * s.n_mbon,
        params,
        extra_eqs="\n".join(
            [
                "ddopamine/dt = -dopamine / tau_dopamine : 1",
                _shared({"w_kc_mbon": "siemens", "tau_dopamine": "second"}),
            ]
        ),
        synaptic="g_exc*(E_exc - v)",
    )
    mbon.slot = np.repeat(np.arange(B), s.n_mbon)
    dan = _population(
        "dan",
        B * s.n_mbon,
        params,
        extra_eqs=_shared({"w_dan_input": "siemens"}),
        synaptic="g_exc*(E_exc - v)",
    )
    dan.slot = np.repeat(np.arange(B), s.n_mbon)
    dan.namespace.update(dan_drive=dan_drive)
    dan.run_regularly(
        "g_exc += w_dan_input * poisson(dan_drive(t, i) * dt)",
        dt=dt,
        when="start",
        name="dan_input",
    )

    groups = [pn, kc, apl, mbon, dan]

    # Run-time values (weights, seeds, wiring, stimulus) are applied here, before the synapses
    # are created and the state is initialised, so both can depend on them.
    device.apply_run_args()
    seed_array = device.get_array_name(kc.variables["rng_seed"])
    device.insert_code(
        "main", f"brian::_random_generators[0].seed((unsigned long) {seed_array}[0]);"
    )
    for group in groups:
        model = get_model(getattr(params, group.name).neuron)
        for var, expr in model.initial.items():
            setattr(group, var, expr)

    claw_match = " or ".join(f"claw{c}_post == i" for c in range(s.kc_in_degree))
    pn_kc = Synapses(pn, kc, on_pre="g_exc_post += w_pn_kc_post", name="pn_kc")
    pn_kc.connect(
        j=f"k for k in range(slot_pre * {s.n_kc}, (slot_pre + 1) * {s.n_kc}) if {claw_match}"
    )
    kc_apl = Synapses(kc, apl, on_pre="g_exc_post += w_kc_apl_post", name="kc_apl")
    kc_apl.connect(i=np.arange(B * s.n_kc), j=compartment)

    kc_mbon_model = "w : siemens"
    kc_mbon_pre = "g_exc_post += w"
    if s.plastic:
        kc_mbon_model += """
        deligibility/dt = -eligibility / tau_eligibility : 1 (event-driven)
        tau_eligibility : second (shared, constant)
        learning_rate : 1 (shared, constant)
        recovery_rate : hertz (shared, constant)
        """
        kc_mbon_pre += "\neligibility += 1"
    kc_mbon = Synapses(kc, mbon, kc_mbon_model, on_pre=kc_mbon_pre, name="kc_mbon")
    pre = np.repeat(np.arange(B * s.n_kc), s.n_mbon)
    post = (pre // s.n_kc) * s.n_mbon + np.tile(np.arange(s.n_mbon), B * s.n_kc)
    kc_mbon.connect(i=pre, j=post)
    kc_mbon.w = "w_kc_mbon_post"
    objects = [*groups, pn_kc, kc_apl, kc_mbon]
    if s.plastic:
        # Three-factor rule: dw/dt = -eta * e(t) * D(t) * w0 + r * (w0 - w), clipped at 0, with e
        # the KC's eligibility trace (decayed to now) and D the compartment's dopamine trace.
        # It runs per MBON (flysim.kernels.kc_mbon_plasticity: an MBON without dopamine has no
        # change at all), over the synapses in the order made above.
        mbon.namespace["plasticity"] = kc_mbon_plasticity(
            kc_mbon, s.n_kc, s.n_mbon, float(LEARNING_DT / second)
        )
        mbon.run_regularly(
            "dopamine = plasticity(dopamine, i, w_kc_mbon, t)",
            dt=LEARNING_DT,
            name="kc_mbon_plasticity",
        )
        dan_mbon = Synapses(dan, mbon, on_pre="dopamine_post += 1", name="dan_mbon")
        dan_mbon.connect(j="i")
        objects.append(dan_mbon)

    monitors = {
        "apl_spikes": SpikeMonitor(apl, name="apl_spikes"),
        "mbon_spikes": SpikeMonitor(mbon, name="mbon_spikes"),
    }
    if s.record_spikes:
        monitors["kc_spikes"] = SpikeMonitor(kc, name="kc_spikes")
        monitors["pn_spikes"] = SpikeMonitor(pn, name="pn_spikes")
    objects.extend(monitors.values())

    network = Network(*objects)
    return network, {
        "groups": {g.name: g for g in groups},
        "synapses": {"pn_kc": pn_kc, "kc_mbon": kc_mbon},
        "timed_arrays": {"orn_rate": orn_rate, "orn_mean": orn_mean, "dan_drive": dan_drive},
        "monitors": monitors,
        "dt": dt,
        "units": {"amp": amp, "siemens": siemens, "nS": nS},
    }
