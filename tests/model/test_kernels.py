"""flysim's faster generated code (flysim/model/kernels.py, model/templates/) gives brian2's own
results.

One small standalone network is built twice, with brian2's code and makefile and with flysim's
kernels and build (``build.mk``, ``pch.h``, the double ``timestep()``), and run from the same
random seed: Poisson-driven neurons (rates 0, small and >= 10 per step), a thresholder with
brian2's refractoriness and one without, each tracking when its potential first leaves a range
(flysim's thresholder, or brian2's code of the same rule), 150 neurons (not a
multiple of the 64-neuron blocks), a conductance-driven group with brian2's refractoriness and
an ``exp()`` per neuron (exponential Euler, like the PNs), KCs inhibited by three APL
compartments (a linked variable and a copy, or ``apl_broadcast``).
"""

import contextlib

import numpy as np
import pytest

N = 150


def _run(directory, kernels: bool) -> dict:
    import brian2
    from brian2 import (
        Network,
        NeuronGroup,
        SpikeMonitor,
        device,
        ms,
        second,
        set_device,
    )

    from flysim.engine.build import COMPILE_ARGS, _make
    from flysim.model.kernels import (
        ThresholdCodeObject,
        apl_broadcast,
        vectorisable_exp,
        vectorisable_timestep,
    )
    from flysim.model.populations import NEVER, TRACK_RANGE, TRACKERS

    set_device("cpp_standalone", build_on_run=False, directory=None)
    brian2.prefs.codegen.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)
    functions = contextlib.ExitStack()
    if kernels:
        functions.enter_context(vectorisable_timestep())
        functions.enter_context(vectorisable_exp())
    try:
        with functions:
            brian2.seed(11)
            equations = "dv/dt = -v / (10*ms) : 1\nlam : 1 (constant)\ncolumn : integer (constant)"
            # the range the thresholder tracks (dimensionless here: v is)
            equations += "\nv_floor : 1 (shared, constant)\nv_ceil : 1 (shared, constant)\n"
            equations += TRACKERS.replace("v_out : volt", "v_out : 1")
            groups = [
                NeuronGroup(
                    N,
                    equations,
                    threshold="v > 1",
                    reset="v = 0",
                    refractory=2 * ms,
                    method="exact",
                    name="with_refractory",
                ),
                NeuronGroup(
                    N,
                    equations,
                    threshold="v > 1",
                    reset="v = 0",
                    method="exact",
                    name="without_refractory",
                ),
            ]
            draw = "poisson(lam)"
            for group in groups:
                group.lam = np.tile([0.0, 0.03, 0.3, 1.2, 12.0], N // 5)
                group.column = np.arange(N) // 3
                group.run_regularly(f"v += 0.2 * {draw}", when="start")
                group.v_floor, group.v_ceil, group.t_out = -1, 1.05, NEVER * second
                if kernels:
                    group.thresholder["spike"].codeobj_class = ThresholdCodeObject
                else:
                    group.run_regularly(TRACK_RANGE, when="thresholds", order=-1)
            conductance = NeuronGroup(
                N,
                """dv/dt = (g * (1.5 - v) - v) / (10*ms) : 1 (unless refractory)
                dg/dt = -g / (5*ms) : 1
                lam : 1 (constant)
                column : integer (constant)""",
                threshold="v > 1",
                reset="v = 0",
                refractory=2 * ms,
                method="exponential_euler",
                name="conductance",
            )
            conductance.lam, conductance.column = groups[0].lam[:], groups[0].column[:]
            conductance.run_regularly(f"g += 0.1 * {draw}", when="start")
            apl = NeuronGroup(3, "dg_out/dt = -g_out / (5*ms) : siemens", name="apl")
            apl.run_regularly("g_out += 0.05 * nS * poisson(0.5)", when="start")
            kc = NeuronGroup(
                N,
                """dv/dt = (3 - v - g_apl / nS * v) / (10*ms) : 1
                g_apl : siemens"""
                + ("" if kernels else "\ng_apl_out : siemens (linked)"),
                threshold="v > 1",
                reset="v = 0",
                method="euler",
                name="kc",
            )
            if kernels:
                apl.namespace["broadcast"] = apl_broadcast(
                    device.get_array_name(kc.variables["g_apl"]), N // 3
                )
                apl.run_regularly("g_out = broadcast(g_out, i)", when="groups", order=-1)
            else:
                kc.g_apl_out = brian2.linked_var(apl, "g_out", index=np.arange(N) // (N // 3))
                kc.run_regularly("g_apl = g_apl_out", when="groups", order=-1)
            groups += [conductance, kc]
            monitors = [SpikeMonitor(g) for g in groups]
            Network(*groups, apl, *monitors).run(300 * ms)
            # brian2 generates (with flysim's timestep() for the kernels); brian2's make runs here
            device.build(
                directory=str(directory), compile=not kernels, run=not kernels, with_output=False
            )
        if kernels:  # flysim's build: its makefile additions, the precompiled header
            _make(directory)
            device.run(str(directory), "results", with_output=False, run_args=None)
        out = {f"i{k}": np.array(m.i[:]) for k, m in enumerate(monitors)}
        out.update({f"t{k}": np.array(m.t[:] / second) for k, m in enumerate(monitors)})
        out["conductance_v"] = np.array(conductance.v[:])
        out["kc_v"], out["kc_g_apl"] = np.array(kc.v[:]), np.array(kc.g_apl[:])
        for k in range(2):
            out[f"t_out{k}"] = np.array(groups[k].t_out[:] / second)
            out[f"v_out{k}"] = np.array(groups[k].v_out[:])
    finally:
        device.reinit()
        device.activate()
        set_device("runtime")
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return {k: _run(tmp_path_factory.mktemp(f"kernels_{k}"), k) for k in (False, True)}


def test_the_kernels_give_brian2s_spikes_bit_for_bit(runs):
    brian, flysim = runs[False], runs[True]
    for k in range(4):  # two thresholders, the conductance group, the KCs
        assert len(brian[f"i{k}"]) > 1000  # many spikes, in many 64-neuron blocks
        assert np.array_equal(brian[f"i{k}"], flysim[f"i{k}"])
        assert np.array_equal(brian[f"t{k}"], flysim[f"t{k}"])
    assert set(brian["i0"]) != set(range(N))  # rate-0 neurons never spike


def test_the_thresholder_tracks_the_range_as_brian2s_code_does(runs):
    brian, flysim = runs[False], runs[True]
    for k in range(2):
        out = brian[f"t_out{k}"] < 1
        assert 0 < out.sum() < N  # some neurons left [-1, 1.05] (v > 1.05), the others not
        assert np.array_equal(flysim[f"t_out{k}"], brian[f"t_out{k}"])
        assert np.array_equal(flysim[f"v_out{k}"][out], brian[f"v_out{k}"][out])
        assert np.all(brian[f"v_out{k}"][out] > 1.05)


def test_vectorised_exponential_euler_and_apl_broadcast_keep_the_state(runs):
    brian, flysim = runs[False], runs[True]
    # flysim's inline exp() may differ from glibc's in the last bits; nothing more
    np.testing.assert_allclose(flysim["conductance_v"], brian["conductance_v"], rtol=1e-12)
    assert np.array_equal(flysim["kc_g_apl"], brian["kc_g_apl"])  # a copy, bit for bit
    assert len(set(brian["kc_g_apl"])) == 3 and brian["kc_g_apl"].min() > 0  # 3 compartments
    assert np.array_equal(flysim["kc_v"], brian["kc_v"])


@pytest.mark.parametrize(
    "function,context", [("timestep", "vectorisable_timestep"), ("exp", "vectorisable_exp")]
)
def test_a_functions_build_implementation_is_undone_after_the_build(function, context):
    from brian2 import DEFAULT_FUNCTIONS
    from brian2.codegen.generators.cpp_generator import CPPCodeGenerator

    from flysim.model import kernels

    implementations = DEFAULT_FUNCTIONS[function].implementations
    before = implementations[CPPCodeGenerator]
    with getattr(kernels, context)():
        assert implementations[CPPCodeGenerator] is not before
    assert implementations[CPPCodeGenerator] is before


EXP_HARNESS = r"""
#include <cmath>
#include <cstdint>
#include <cstdio>
EXP
int main()
{
    double worst = 0.0;
    for (double x = -745.0; x < 709.0; x += 0.000731) {
        const double exact = exp(x), fast = _flysim_exp(x);
        if (exact > 1e-300 && fabs(fast - exact) / exact > worst)
            worst = fabs(fast - exact) / exact;
    }
    // above 709 (exp overflows at 709.78) the value stays at exp(709): finite, for the guards
    const double big = _flysim_exp(1e6);
    printf("%.3g %d %.3g %.17g %d\n", worst, (int)std::isnan(_flysim_exp(NAN)),
           _flysim_exp(-1000.0), _flysim_exp(-0.0041),
           (int)(std::isfinite(big) && big >= 0.999 * exp(709.0)));
    return 0;
}
"""


def test_the_inline_exp_is_glibcs_to_the_last_bits(tmp_path):
    import subprocess

    from flysim.model.kernels import _EXP_AS_POLYNOMIAL

    source = tmp_path / "exp.cpp"
    source.write_text(EXP_HARNESS.replace("EXP", _EXP_AS_POLYNOMIAL, 1))
    subprocess.run(["g++", "-O2", "-o", str(tmp_path / "e"), str(source)], check=True)
    out = subprocess.run([str(tmp_path / "e")], capture_output=True, text=True, check=True)
    worst, nan, tiny, near_zero, finite = out.stdout.split()
    assert float(worst) < 4.5e-16  # 2 units in the last place, over the whole range
    assert nan == "1"  # a NaN argument stays NaN: the guards see diverging numerics
    assert 0 <= float(tiny) < 1e-300
    assert abs(float(near_zero) / np.exp(-0.0041) - 1) < 2.3e-16
    assert finite == "1"


def test_a_random_threshold_keeps_brian2s_template():
    from flysim.model.kernels import fast_threshold_ok

    assert fast_threshold_ok("v > V_T and t > ref_until")
    assert not fast_threshold_ok("v > V_T or rand() < p_spont")
    assert not fast_threshold_ok("poisson(lam) > 0")
