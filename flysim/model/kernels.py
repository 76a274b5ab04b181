"""Faster generated code for the conditioning network's hot loops, same results.

- :class:`ThresholdCodeObject` compiles a thresholder from ``flysim/model/templates/threshold.cpp``:
  the threshold test runs first over blocks of 64 neurons without writing anything (so gcc
  vectorises it); only a block in which some neuron spikes is scanned again. brian2's template
  appends every neuron's spike under a branch, which keeps the loop scalar: it was a fifth of
  the conditioning network's time (BENCHMARKS.md).
- :data:`plastic_weight` is the KC -> MBON weight update as a C++ function that returns the
  weight unchanged, without its ``exp()``, where the update is exactly zero: without recovery,
  at a synapse whose KC has not spiked (eligibility 0) or whose MBON has had no dopamine.
  That is most synapses at every step (sparse KCs, one punished MBON, mock-trained controls).
- :func:`kc_mbon_plasticity` runs that update per MBON: an MBON without dopamine (the
  unpunished one, the mock-trained slots) is skipped whole, the others' synapses are found by
  their order instead of an index array. The update over all synapses took 21-24 % of the
  conditioning network's time, 7-8 % after.
- :func:`apl_broadcast` writes an APL compartment's conductance into its block of KCs, a fill
  of contiguous memory, where the KCs' linked variable read it through an index array (a
  gather of 8-byte indices for every KC at every step: an eighth of the network's time).
- :func:`vectorisable_timestep` (during a build) gives brian2's ``timestep()`` a double result
  of the same integer value: the int64 conversion it had has no AVX2 instruction, and kept the
  loop of every neuron group with brian2's refractoriness (the PNs') scalar. With it and the
  SIMD declaration of ``exp()`` in ``templates/pch.h`` (glibc's libmvec; brian2's -ffast-math
  without -ffinite-math-only leaves ``exp`` undeclared as SIMD) the PN update is vectorised.

The spikes are those of brian2's own code, bit for bit, and the KC -> MBON weights agree to
rounding (a SIMD ``exp()`` can differ from the scalar one in the last bit):
``tests/test_kernels.py``, ``benchmarks/same_outputs.py``.
"""

from __future__ import annotations

from contextlib import contextmanager

from brian2 import DEFAULT_FUNCTIONS, Function, Hz, second, siemens
from brian2.codegen.generators.cpp_generator import CPPCodeGenerator
from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

__all__ = [
    "ThresholdCodeObject",
    "apl_broadcast",
    "fast_threshold_ok",
    "kc_mbon_plasticity",
    "plastic_weight",
    "vectorisable_timestep",
]


class ThresholdCodeObject(CPPStandaloneCodeObject):
    """A cpp_standalone code object that takes flysim's ``threshold.cpp`` before brian2's."""

    templater = CPPStandaloneCodeObject.templater.derive("flysim.model")


def fast_threshold_ok(threshold: str) -> bool:
    """Whether ``threshold`` can be tested twice with the same result: it calls no function
    whose value changes from one call to the next (brian2's ``stateless=False``: random numbers),
    which the blocked template would draw twice."""
    from brian2.utils.stringtools import get_identifiers

    return all(
        DEFAULT_FUNCTIONS[name].stateless
        for name in get_identifiers(threshold)
        if name in DEFAULT_FUNCTIONS
    )


_PLASTIC_WEIGHT_CPP = """
static inline double plastic_weight(double w, double w0, double eligibility, double age,
                                    double tau, double dopamine, double eta, double recovery,
                                    double step)
{
    // Exactly no change (w + 0, inside the clip range): skip the exp().
    if (recovery == 0.0 && (eligibility == 0.0 || dopamine == 0.0))
        return w;
    // The operations in the order of brian2's code for the same expression (same rounding).
    const double changed = w + step * ((recovery * (w0 - w))
                                       - ((eta * w0) * ((eligibility * exp((1.0 / tau) * (-age)))
                                                        * dopamine)));
    return changed < 0.0 ? 0.0 : (changed > 2.0 * w0 ? 2.0 * w0 : changed);
}
"""


def _plastic_weight_python(w, w0, eligibility, age, tau, dopamine, eta, recovery, step):
    raise NotImplementedError("plastic_weight runs only in flysim's compiled (C++) network")


#: ``w(t + step)`` of the three-factor rule dw/dt = -eta e(t) D(t) w0 + r (w0 - w), clipped to
#: [0, 2 w0], with e the KC's eligibility trace decayed over ``age`` and D the dopamine trace.
plastic_weight = Function(
    _plastic_weight_python,
    arg_units=[siemens, siemens, 1, second, second, 1, Hz, Hz, second],
    return_unit=siemens,
    arg_names=["w", "w0", "eligibility", "age", "tau", "dopamine", "eta", "recovery", "step"],
)
plastic_weight.implementations.add_implementation("cpp", _PLASTIC_WEIGHT_CPP, name="plastic_weight")


def kc_mbon_plasticity(synapses, n_kc: int, n_mbon: int, step: float) -> Function:
    """``plasticity(dopamine, i, w0, t)``: apply :data:`plastic_weight` to every KC -> MBON
    synapse onto MBON ``i`` and return ``dopamine``, for the MBONs'
    ``dopamine = plasticity(dopamine, i, w_kc_mbon, t)`` every ``step`` seconds.

    The same update as a run of ``w = plastic_weight(...)`` over all synapses, but an MBON
    whose dopamine is exactly 0 (without recovery) is skipped whole, and the others' synapses
    are found from flysim.model.circuit's order, synapse (kc, m) of slot b at
    (b n_kc + kc) n_mbon + m, instead of through an index array. ``synapses``: the KC -> MBON
    Synapses, with ``w``, ``eligibility``, ``lastupdate`` and shared ``tau_eligibility``,
    ``learning_rate``, ``recovery_rate``."""
    from brian2 import device

    variables = synapses.variables
    a = {
        name: "brian::" + device.get_array_name(variables[name], access_data=False)
        for name in ("w", "eligibility", "lastupdate")  # std::vector (dynamic arrays)
    } | {
        name: "brian::" + device.get_array_name(variables[name])
        for name in ("tau_eligibility", "learning_rate", "recovery_rate")
    }
    n_kc, n_mbon = int(n_kc), int(n_mbon)
    code = f"""
static inline double kc_mbon_plasticity(double dopamine, int32_t i, double w0, double t)
{{
    const double recovery = {a["recovery_rate"]}[0];
    if (recovery == 0.0 && dopamine == 0.0)
        return dopamine;  // exactly no change at any synapse onto MBON i
    const double tau = {a["tau_eligibility"]}[0], eta = {a["learning_rate"]}[0];
    double* __restrict w = {a["w"]}.data();
    const double* __restrict eligibility = {a["eligibility"]}.data();
    const double* __restrict lastupdate = {a["lastupdate"]}.data();
    const size_t slot = i / {n_mbon}, m = i % {n_mbon};
    for (size_t k = 0; k < {n_kc}; k++) {{
        const size_t s = (slot * {n_kc} + k) * {n_mbon} + m;
        w[s] = plastic_weight(w[s], w0, eligibility[s], t - lastupdate[s], tau, dopamine, eta,
                              recovery, {float(step)!r});
    }}
    return dopamine;
}}
"""
    function = Function(
        _kc_mbon_plasticity_python,
        arg_units=[1, 1, siemens, second],
        arg_names=["dopamine", "i", "w0", "t"],
        return_unit=1,
        stateless=False,  # it writes the synapses' weights: never skip or merge a call
    )
    function.implementations.add_implementation(
        "cpp", code, name="kc_mbon_plasticity", dependencies={"plastic_weight": plastic_weight}
    )
    return function


def _kc_mbon_plasticity_python(dopamine, i, w0, t):
    raise NotImplementedError("kc_mbon_plasticity runs only in flysim's compiled (C++) network")


def apl_broadcast(kc_array: str, block: int) -> Function:
    """``broadcast(g, i)``: write ``g`` into KCs ``i * block ... (i + 1) * block - 1`` of the
    device array ``kc_array`` (the KCs' ``g_apl``) and return ``g``, for the APL's
    ``g_out = broadcast(g_out, i)``: KC block ``i`` is the one APL compartment ``i`` inhibits."""
    code = f"""
static inline double apl_broadcast(double g, int32_t i)
{{
    double* __restrict kcs = brian::{kc_array} + (size_t)i * {int(block)};
    for (size_t k = 0; k < {int(block)}; k++)
        kcs[k] = g;
    return g;
}}
"""
    function = Function(
        _apl_broadcast_python,
        arg_units=[siemens, 1],
        arg_names=["g", "i"],
        return_unit=siemens,
        stateless=False,  # it writes the KCs' array: never skip or merge a call
    )
    function.implementations.add_implementation("cpp", code, name="apl_broadcast")
    return function


def _apl_broadcast_python(g, i):
    raise NotImplementedError("apl_broadcast runs only in flysim's compiled (C++) network")


_TIMESTEP_AS_DOUBLE = """
static inline double _timestep(double t, double dt)
{
    // brian2's timestep(): the same integer (exact below 2**53 steps), as a double
    return trunc((t + 1e-3*dt)/dt);
}
"""


@contextmanager
def vectorisable_timestep():
    """brian2's ``timestep()`` with a double result while a network is generated (restored
    after): ``not_refractory = timestep(t - lastspike, dt) >= timestep(t_ref, dt)`` then
    compares doubles, which AVX2 vectorises, instead of converting every neuron's to int64."""
    implementations = DEFAULT_FUNCTIONS["timestep"].implementations
    original = implementations[CPPCodeGenerator]
    implementations.add_implementation(CPPCodeGenerator, _TIMESTEP_AS_DOUBLE, name="_timestep")
    try:
        yield
    finally:  # brian2 has no public way to put an implementation object back
        implementations._implementations[CPPCodeGenerator] = original
