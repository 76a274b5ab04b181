"""Random streams keyed by (slot, neuron, time step), so a trial's spikes never depend on batching.

brian2's own generator is one sequential stream per process: the numbers a neuron draws depend
on how many every other neuron drew before it, so the same trial gave other spikes in another
batch (another batch size, other odors in the request, a resumed scan). Here every draw is a
pure function of

- the slot's 64-bit key (set per run from the slot's fly, odor and trial by the protocol: see
  ``flysim.run.pipeline``; the same trial gets the same key in any batch),
- the neuron's index within its slot, the time step, the stream (what is drawn: ORN input, KC
  current noise, DAN input) and the draw's number within the step,

through the counter-based generator Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers:
as easy as 1, 2, 3", SC11; the generator of Random123, cuRAND and JAX). Its 128-bit output gives
a 53-bit uniform in (0, 1).

- :func:`stream_poisson`: a Poisson count by inversion of the CDF from one uniform of 32 bits
  (one word of a Philox block: four neighbouring neurons share a call, a quarter of the cost of
  a block per draw; counts whose probability is below 2**-32 are never drawn, e.g. 5 or more at
  the lowest ORN mean, 0.03 per step, P = 2e-11); a mean above 30 is drawn as a sum of Poisson
  counts of at most 30 each, each from its own uniform; ``exp(-mean)`` is remembered per
  (stream, input column), since the ORN rate of a column changes once per stimulus bin.
- :func:`stream_normal`: a standard normal by Box-Muller from two uniforms (one Philox call).

A neuron model of the user's that calls brian2's ``rand()``/``randn()`` or uses ``xi`` still
draws from brian2's generator, seeded per batch: such a model's spikes depend on batching.
"""

from __future__ import annotations

import numpy as np
from brian2 import Function

__all__ = [
    "STREAMS",
    "philox4x32",
    "stream_poisson",
    "stream_normal",
    "slot_key",
    "split_key",
    "PHILOX_CPP",
    "INVERSION_CPP",
]

#: The stream of each random quantity the circuit draws.
STREAMS = {"orn_input": 0, "kc_current_noise": 1, "dan_input": 2}

_M0, _M1 = 0xD2511F53, 0xCD9E8D57  # Philox4x32 multipliers
_W0, _W1 = 0x9E3779B9, 0xBB67AE85  # Weyl key increments (golden ratio, sqrt(3) - 1)
_MASK = 0xFFFFFFFF

PHILOX_CPP = f"""
// Philox4x32-10 (Salmon et al. 2011): 10 rounds of two 32x32->64 multiplies and xors.
static inline void flysim_philox(uint32_t c[4], uint32_t k0, uint32_t k1)
{{
    for (int round = 0; round < 10; round++) {{
        if (round) {{ k0 += {_W0:#x}u; k1 += {_W1:#x}u; }}
        const uint64_t p0 = (uint64_t){_M0:#x}u * c[0], p1 = (uint64_t){_M1:#x}u * c[2];
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c[1] ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c[3] ^ k1;
        c[1] = (uint32_t)p1; c[3] = (uint32_t)p0; c[0] = n0; c[2] = n2;
    }}
}}
// Two uniforms in (0, 1) with 53 random bits each, for one (key, neuron, step, stream, draw).
static inline void flysim_uniforms(uint32_t k0, uint32_t k1, uint32_t neuron, int64_t step,
                                   uint32_t stream, uint32_t draw, double u[2])
{{
    uint32_t c[4] = {{neuron, (uint32_t)step, (uint32_t)((uint64_t)step >> 32),
                      (stream << 24) | (draw & 0xFFFFFFu)}};
    flysim_philox(c, k0, k1);
    const uint64_t a = ((uint64_t)c[0] << 32) | c[1], b = ((uint64_t)c[2] << 32) | c[3];
    u[0] = ((double)(a >> 11) + 0.5) * 0x1.0p-53;
    u[1] = ((double)(b >> 11) + 0.5) * 0x1.0p-53;
}}
"""


INVERSION_CPP = """
// One uniform in (0, 1) with 32 random bits for (key, neuron, step, stream, draw): word
// neuron % 4 of the Philox block of counter (neuron / 4, step, stream and draw). The block is
// remembered, so four neighbouring neurons share one Philox call; the value is the same
// whatever the order of the calls (the memory only saves work).
static inline double flysim_quarter_uniform(uint32_t k0, uint32_t k1, uint32_t neuron,
                                            int64_t step, uint32_t stream, uint32_t draw)
{
    static thread_local uint32_t block[4], last[6] = {1u, 0u, 0u, 0u, 0u, 0u};
    static thread_local bool filled = false;
    const uint32_t c3 = (stream << 24) | (draw & 0xFFFFFFu);
    const uint32_t at[6] = {k0, k1, neuron >> 2, (uint32_t)step,
                            (uint32_t)((uint64_t)step >> 32), c3};
    if (!filled || at[0] != last[0] || at[1] != last[1] || at[2] != last[2] || at[3] != last[3]
        || at[4] != last[4] || at[5] != last[5]) {
        uint32_t c[4] = {at[2], at[3], at[4], c3};
        flysim_philox(c, k0, k1);
        for (int w = 0; w < 4; w++) block[w] = c[w];
        for (int w = 0; w < 6; w++) last[w] = at[w];
        filled = true;
    }
    return ((double)block[neuron & 3u] + 0.5) * 0x1.0p-32;
}

// A Poisson count of mean lam (enlam = exp(-lam)) by inversion of its CDF from one uniform.
static inline int32_t flysim_poisson_inversion(double lam, double enlam, uint32_t k0,
                                               uint32_t k1, uint32_t neuron, int64_t step,
                                               uint32_t stream, uint32_t draw)
{
    const double u = flysim_quarter_uniform(k0, k1, neuron, step, stream, draw);
    int32_t count = 0;
    double p = enlam, cdf = enlam;
    while (u > cdf && count < 1000) {
        count++;
        p *= lam / count;
        cdf += p;
    }
    return count;
}
"""


def _mulhilo(a: int, b: int) -> tuple[int, int]:
    product = a * b
    return product >> 32, product & _MASK


def philox4x32(counter, key) -> tuple[int, int, int, int]:
    """Philox4x32-10 of a 4-word counter and a 2-word key (the reference the C code is tested
    against, and tested itself against Random123's known-answer vectors)."""
    c0, c1, c2, c3 = (int(x) & _MASK for x in counter)
    k0, k1 = (int(x) & _MASK for x in key)
    for round_ in range(10):
        if round_:
            k0, k1 = (k0 + _W0) & _MASK, (k1 + _W1) & _MASK
        hi0, lo0 = _mulhilo(_M0, c0)
        hi1, lo1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


def slot_key(generator: np.random.Generator) -> int:
    """A slot's 64-bit stream key, drawn from the generator of the slot's trial."""
    return int(generator.integers(2**64, dtype=np.uint64))


def split_key(keys) -> tuple[np.ndarray, np.ndarray]:
    """64-bit keys as (low, high) 32-bit words, stored as int32 (brian2's integer type)."""
    keys = np.asarray(keys, dtype=np.uint64)
    low = (keys & np.uint64(_MASK)).astype(np.uint32).view(np.int32)
    high = (keys >> np.uint64(32)).astype(np.uint32).view(np.int32)
    return low, high


def _key_arrays(key_lo: str, key_hi: str) -> str:
    """C lines reading the slot's key words from the device arrays ``key_lo`` and ``key_hi``."""
    return (
        f"const uint32_t k0 = (uint32_t)brian::{key_lo}[slot];\n"
        f"    const uint32_t k1 = (uint32_t)brian::{key_hi}[slot];"
    )


def stream_poisson(key_lo: str, key_hi: str, stream: str, per_slot: int) -> Function:
    """``name(lam, column, i, step)``: a Poisson count of mean ``lam`` for neuron ``i`` (global
    index; its slot is ``i // per_slot``) at time step ``step``, from stream ``stream``;
    ``exp(-lam)`` is remembered per ``column`` (the input column whose rate ``lam`` follows).
    ``key_lo``/``key_hi``: device array names of the slots' key words."""
    name = f"{stream}_poisson"
    code = f"""
static inline int32_t {name}(double lam, int32_t column, int32_t i, int64_t step)
{{
    if (!(lam > 0))
        return 0;
    const int32_t slot = i / {int(per_slot)};
    {_key_arrays(key_lo, key_hi)}
    static std::vector<double> last_lam, last_enlam;  // per column; NaN: not computed yet
    if ((size_t)column >= last_lam.size()) {{
        last_lam.resize(column + 1, NAN);
        last_enlam.resize(column + 1);
    }}
    int32_t count = 0;
    uint32_t draw = 0;
    for (; lam > 30.0; lam -= 30.0, draw++)  // a sum of Poisson counts is a Poisson count
        count += flysim_poisson_inversion(30.0, exp(-30.0), k0, k1, i % {int(per_slot)}, step,
                                          {STREAMS[stream]}u, draw);
    if (lam != last_lam[column]) {{
        last_lam[column] = lam;
        last_enlam[column] = exp(-lam);
    }}
    return count + flysim_poisson_inversion(lam, last_enlam[column], k0, k1,
                                            i % {int(per_slot)}, step, {STREAMS[stream]}u, draw);
}}
"""
    function = Function(
        _compiled_only,
        arg_units=[1, 1, 1, 1],
        arg_names=["lam", "column", "i", "step"],
        return_unit=1,
        return_type="integer",
        stateless=False,
    )
    function.implementations.add_implementation(
        "cpp", code, name=name, dependencies={"flysim_poisson_inversion": _INVERSION}
    )
    return function


def stream_normal(key_lo: str, key_hi: str, stream: str, per_slot: int) -> Function:
    """``name(i, step)``: a standard normal for neuron ``i`` (global index; its slot is
    ``i // per_slot``) at time step ``step``, from stream ``stream`` (Box-Muller)."""
    name = f"{stream}_normal"
    code = f"""
static inline double {name}(int32_t i, int64_t step)
{{
    const int32_t slot = i / {int(per_slot)};
    {_key_arrays(key_lo, key_hi)}
    double u[2];
    flysim_uniforms(k0, k1, i % {int(per_slot)}, step, {STREAMS[stream]}u, 0, u);
    return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]);
}}
"""
    function = Function(
        _compiled_only,
        arg_units=[1, 1],
        arg_names=["i", "step"],
        return_unit=1,
        stateless=False,
    )
    function.implementations.add_implementation(
        "cpp", code, name=name, dependencies={"flysim_uniforms": _UNIFORMS}
    )
    return function


def _compiled_only(*args):
    raise NotImplementedError("flysim's random streams run only in its compiled (C++) network")


#: The uniforms (with the Philox kernel) as a dependency of the functions above.
_UNIFORMS = Function(_compiled_only, arg_units=[], return_unit=1, arg_names=[], stateless=False)
_UNIFORMS.implementations.add_implementation("cpp", PHILOX_CPP, name="flysim_uniforms")

_INVERSION = Function(_compiled_only, arg_units=[], return_unit=1, arg_names=[], stateless=False)
_INVERSION.implementations.add_implementation(
    "cpp",
    INVERSION_CPP,
    name="flysim_poisson_inversion",
    dependencies={"flysim_uniforms": _UNIFORMS},
)
