"""Faster generated code for the conditioning network's hot loops, same results.

- :class:`ThresholdCodeObject` compiles a thresholder from ``flysim/model/templates/threshold.cpp``:
  the threshold test runs first over blocks of 64 neurons without writing anything (so gcc
  vectorises it); only a block in which some neuron spikes is scanned again. brian2's template
  appends every neuron's spike under a branch, which keeps the loop scalar: it was a fifth of
  the conditioning network's time (BENCHMARKS.md).
- :func:`apl_broadcast` writes an APL compartment's conductance into its block of KCs, a fill
  of contiguous memory, where the KCs' linked variable read it through an index array (a
  gather of 8-byte indices for every KC at every step: an eighth of the network's time).
- :func:`vectorisable_timestep` (during a build) gives brian2's ``timestep()`` a double result
  of the same integer value: the int64 conversion it had has no AVX2 instruction, and kept the
  loop of every neuron group with brian2's refractoriness (the PNs') scalar. With it and the
  SIMD declaration of ``exp()`` in ``templates/pch.h`` (glibc's libmvec; brian2's -ffast-math
  without -ffinite-math-only leaves ``exp`` undeclared as SIMD) the PN update is vectorised.

The spikes are those of brian2's own code, bit for bit (a SIMD ``exp()`` can differ from the
scalar one in the last bit): ``tests/model/test_kernels.py``. (The per-MBON plasticity kernel of
the earlier continuous learning rule went with that rule: learning is now one update per
presentation, ``flysim.model.circuit``.)
"""

from __future__ import annotations

from contextlib import contextmanager

from brian2 import DEFAULT_FUNCTIONS, Function, siemens
from brian2.codegen.generators.cpp_generator import CPPCodeGenerator
from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

__all__ = [
    "ThresholdCodeObject",
    "apl_broadcast",
    "fast_threshold_ok",
    "vectorisable_timestep",
    "vectorisable_exp",
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


def apl_broadcast(kc_array: str, block: int) -> Function:
    """``broadcast(g, i)``: write ``g`` into KCs ``i * block ... (i + 1) * block - 1`` of the
    device array ``kc_array`` (the KCs' ``g_apl``) and return ``g``, for the APL's
    ``g_out = broadcast(g_out, i)``: KC block ``i`` is the one APL compartment ``i`` inhibits."""
    code = f"""
static inline double apl_broadcast(double g, int32_t i)
{{
    auto* __restrict kcs = brian::{kc_array} + (size_t)i * {int(block)};  // float or double
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
def _cpp_implementation(function: str, code: str, name: str):
    """brian2's C++ implementation of ``function`` replaced by ``code`` (defining ``name``) while
    a network is generated, and put back afterwards."""
    implementations = DEFAULT_FUNCTIONS[function].implementations
    original = implementations[CPPCodeGenerator]
    implementations.add_implementation(CPPCodeGenerator, code, name=name)
    try:
        yield
    finally:  # brian2 has no public way to put an implementation object back
        implementations._implementations[CPPCodeGenerator] = original


def vectorisable_timestep():
    """brian2's ``timestep()`` with a double result while a network is generated (restored
    after): ``not_refractory = timestep(t - lastspike, dt) >= timestep(t_ref, dt)`` then
    compares doubles, which AVX2 vectorises, instead of converting every neuron's to int64."""
    return _cpp_implementation("timestep", _TIMESTEP_AS_DOUBLE, "_timestep")


# exp(x) = 2**k * exp(r), k = round(x / ln 2), r = x - k ln 2 in two parts (Cody & Waite 1980),
# |r| <= ln(2) / 2, exp(r) by its Taylor series to degree 13 (truncation < 1e-17 there): within
# 1-2 units in the last place of glibc's exp (tests/model/test_kernels.py). No branch and no
# table look-up, so gcc vectorises it inline at the width of the host's vectors.
_EXP_AS_POLYNOMIAL = """
static inline double _flysim_exp(double x)
{
    // outside [-708, 709] exp under- or overflows a double; clamp so 2**k stays a normal number
    const double xc = x < -708.0 ? -708.0 : (x > 709.0 ? 709.0 : x);
    const double k = round(xc * 1.4426950408889634);
    const double r = (xc - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t bits;
    __builtin_memcpy(&bits, &p, sizeof bits);
    bits += (int64_t)k << 52;  // times 2**k: add k to the exponent field
    __builtin_memcpy(&p, &bits, sizeof bits);
    return x == x ? p : x;  // NaN stays NaN, for the guards (-fno-finite-math-only keeps this)
}
"""


def vectorisable_exp():
    """brian2's ``exp()`` as flysim's inline polynomial while a network is generated (restored
    after). glibc's SIMD ``exp`` (libmvec) is a call per vector with its own special-case
    paths; inline, the KCs' exponential-Euler update costs ~30 % less (BENCHMARKS.md)."""
    return _cpp_implementation("exp", _EXP_AS_POLYNOMIAL, "_flysim_exp")
