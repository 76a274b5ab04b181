"""flysim's faster generated code (flysim/kernels.py) gives brian2's own results.

One small standalone network is built twice, with brian2's code and with flysim's kernels, and
run from the same random seed: Poisson-driven neurons (rates 0, small and >= 10 per step, three
neurons per input column), a thresholder with brian2's refractoriness and one without, 150
neurons (not a multiple of the 64-neuron blocks), and plastic synapses onto two MBON-like
neurons of which only one receives dopamine.
"""

import numpy as np
import pytest

N = 150


def _run(directory, kernels: bool) -> dict:
    import brian2
    from brian2 import (
        Network,
        NeuronGroup,
        PoissonGroup,
        SpikeMonitor,
        Synapses,
        device,
        ms,
        nS,
        second,
        set_device,
    )

    from flysim.engine.build import COMPILE_ARGS
    from flysim.kernels import ThresholdCodeObject, orn_poisson, plastic_weight

    set_device("cpp_standalone", build_on_run=False, directory=None)
    brian2.prefs.codegen.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)
    try:
        brian2.seed(11)
        equations = "dv/dt = -v / (10*ms) : 1\nlam : 1 (constant)\ncolumn : integer (constant)"
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
        draw = "orn_poisson(lam, column)" if kernels else "poisson(lam)"
        for group in groups:
            group.lam = np.tile([0.0, 0.03, 0.3, 1.2, 12.0], N // 5)
            group.column = np.arange(N) // 3
            group.run_regularly(f"v += 0.2 * {draw}", when="start")
            group.namespace["orn_poisson"] = orn_poisson
            if kernels:
                group.thresholder["spike"].codeobj_class = ThresholdCodeObject
        mbon = NeuronGroup(2, "ddopamine/dt = -dopamine / (100*ms) : 1", name="mbon")
        dan = PoissonGroup(1, 50 * brian2.Hz, name="dan")
        dan_mbon = Synapses(dan, mbon, on_pre="dopamine_post += 1")
        dan_mbon.connect(j="0")  # MBON 1 never gets dopamine
        plastic = Synapses(
            groups[1],
            mbon,
            """w : siemens
            deligibility/dt = -eligibility / (1*second) : 1 (event-driven)""",
            on_pre="eligibility += 1",
            name="plastic",
        )
        plastic.connect()
        plastic.w = 5 * nS
        if kernels:
            plastic.namespace["plastic_weight"] = plastic_weight
            update = (
                "w = plastic_weight(w, 5*nS, eligibility, t - lastupdate, 1*second, dopamine_post,"
                " 0.5 / second, 0 * Hz, 0.001 * second)"
            )
        else:
            update = (
                "w = clip(w + (0 * Hz * (5*nS - w) - 0.5 * 5*nS * eligibility"
                " * exp(-(t - lastupdate) / (1*second)) * dopamine_post / second)"
                " * 0.001 * second, 0 * nS, 2 * 5*nS)"
            )
        plastic.run_regularly(update, dt=1 * ms)
        monitors = [SpikeMonitor(g) for g in groups]
        Network(*groups, mbon, dan, dan_mbon, plastic, *monitors).run(300 * ms)
        device.build(directory=str(directory), compile=True, run=True, with_output=False)
        out = {f"i{k}": np.array(m.i[:]) for k, m in enumerate(monitors)}
        out.update({f"t{k}": np.array(m.t[:] / second) for k, m in enumerate(monitors)})
        out["w"] = np.array(plastic.w[:] / nS)
        out["post"] = np.array(plastic.j[:])
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
    for k in (0, 1):
        assert len(brian[f"i{k}"]) > 1000  # many spikes, in many 64-neuron blocks
        assert np.array_equal(brian[f"i{k}"], flysim[f"i{k}"])
        assert np.array_equal(brian[f"t{k}"], flysim[f"t{k}"])
    assert set(brian["i0"]) != set(range(N))  # rate-0 neurons never spike


def test_plastic_weight_equals_brian2s_update(runs):
    brian, flysim = runs[False], runs[True]
    np.testing.assert_allclose(flysim["w"], brian["w"], rtol=1e-12, atol=0)
    punished = brian["post"] == 0
    assert (brian["w"][punished] < 5).sum() > 50  # the rule acted at many synapses
    assert np.all(flysim["w"][~punished] == 5)  # no dopamine: skipped, unchanged exactly


def test_a_random_threshold_keeps_brian2s_template():
    from flysim.kernels import fast_threshold_ok

    assert fast_threshold_ok("v > V_T and t > ref_until")
    assert not fast_threshold_ok("v > V_T or rand() < p_spont")
    assert not fast_threshold_ok("orn_poisson(lam, column) > 0")
