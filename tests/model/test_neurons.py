import pytest

from flysim.model.neurons import available_models, get_model, register_model
from flysim.model.structure import structure_of
from flysim.params import ParameterError, load_params, with_overrides


def test_builtin_models():
    assert {"lif", "sfa_lif", "kvlif"} <= set(available_models())
    assert get_model("kvlif").state_variables == ["g_kv", "v"]


def test_user_model_registers_without_touching_circuit(tmp_path):
    path = tmp_path / "quadratic.toml"
    path.write_text('''
name = "biased_lif_test"
equations = """
dv/dt = (g_L*(E_L - v) + I_syn + I_bias) / C : volt (unless refractory)
I_bias = 20*pA : amp
"""
threshold = "v > V_T"
reset = "v = V_reset"
[initial]
v = "E_L"
''')
    model = register_model(path)
    assert model.name in available_models()
    params = with_overrides(load_params("tiny"), {"pn.neuron": "biased_lif_test"})
    assert structure_of(params, batch=2).key != structure_of(load_params("tiny"), batch=2).key


@pytest.mark.parametrize(
    "body, fragment",
    [
        (
            'name = "x"\nequations = "dw/dt = -w/(10*ms) : 1"\nthreshold = "w>1"\nreset = "w=0"\n',
            "must define dv/dt",
        ),
        (
            'name = "x"\nequations = "dv/dt = -v/(10*ms) : volt"\n'
            'threshold = "v>0*mV"\nreset = "v=0*mV"\n',
            "must use the synaptic current I_syn",
        ),
        ('name = "x"\nequations = "dv/dt = (I_syn - v) : volt"\n', "missing keys"),
        ('name = "x"\nfoo = 1\n', "unknown keys"),
    ],
)
def test_bad_models(tmp_path, body, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ParameterError, match=fragment):
        register_model(path)


def test_unknown_model_name():
    with pytest.raises(ParameterError, match="unknown neuron model 'hodgkin'"):
        get_model("hodgkin")


@pytest.mark.parametrize("method", ["euler", "exponential_euler"])
@pytest.mark.parametrize("t_ref_ms", [2.0, 2.03, 0.1])
def test_refractoriness_written_into_equations_matches_brian2(method, t_ref_ms):
    """The circuit writes a model's refractoriness into its equations (so gcc can vectorise the
    KC loop); under forward and exponential Euler it must give brian2's own refractory dynamics
    bit for bit, also for a period that is not a whole number of steps."""
    import dataclasses

    import numpy as np
    from brian2 import Network, NeuronGroup, StateMonitor, ms, nA, prefs

    from flysim.model.neurons import model_values
    from flysim.model.refractoriness import written_out

    params = with_overrides(load_params("drosophila_adult"), {"kc.refractory": t_ref_ms * ms})
    model = dataclasses.replace(get_model("sfa_lif"), method=method)
    values = model_values(model, params, params.kc)
    prefs.codegen.target = "numpy"
    drive = "\nI_syn = I_ext * (1 + 0.8 * sin(2 * pi * t / (7 * ms) + i)) : amp\nI_ext : amp"
    equations, threshold, reset, rewritten_method = written_out(model)
    groups = [
        NeuronGroup(
            20,
            model.equations + drive,
            threshold=model.threshold,
            reset=model.reset,
            refractory=model.refractory,
            method=method,
            namespace=dict(values),
        ),
        NeuronGroup(
            20,
            equations + drive,
            threshold=threshold,
            reset=reset,
            refractory=False,
            method=rewritten_method,
            namespace=dict(values),
        ),
    ]
    groups[1].ref_until = -1e4 * ms
    monitors = [StateMonitor(g, ["v", "g_adapt"], record=True) for g in groups]
    for group in groups:
        group.v = values["E_L"]
        group.I_ext = np.linspace(0.05, 1.5, 20) * nA
    Network(*groups, *monitors).run(100 * ms, namespace={})
    spiking = (monitors[0].v[:] == values["V_reset"]).sum()
    assert spiking > 100  # the test exercises many refractory periods
    for name in ("v", "g_adapt"):
        assert np.array_equal(getattr(monitors[0], name)[:], getattr(monitors[1], name)[:])


def test_cache_key_follows_compile_time_brian2_settings():
    """OpenMP threads and the float type change the generated code, so they select another
    compiled network instead of reusing one built without them."""
    from brian2 import float32, prefs

    params = load_params("tiny")
    key = structure_of(params, batch=2).key
    saved = prefs["devices.cpp_standalone.openmp_threads"], prefs["core.default_float_dtype"]
    try:
        prefs["devices.cpp_standalone.openmp_threads"] = 2
        openmp = structure_of(params, batch=2).key
        prefs["devices.cpp_standalone.openmp_threads"] = saved[0]
        prefs["core.default_float_dtype"] = float32
        single = structure_of(params, batch=2).key
    finally:
        prefs["devices.cpp_standalone.openmp_threads"], prefs["core.default_float_dtype"] = saved
    assert len({key, openmp, single}) == 3
    assert structure_of(params, batch=2).key == key


def test_only_fixed_refractory_periods_are_written_into_equations():
    from brian2 import ms, mV

    from flysim.model.refractoriness import is_duration

    values = {"t_ref": 2 * ms, "V_T": -50 * mV}
    assert is_duration("t_ref", values) and is_duration("2*ms + t_ref", values)
    # a condition, a voltage and an empty string keep brian2's own refractoriness
    assert not any(is_duration(e, values) for e in ("v > V_T", "V_T", ""))


def test_sfa_switches_act_on_kvlifs_spike_triggered_conductance(tiny):
    """With KvLIF KCs, sfa.enabled / sfa.strength scale KvLIF's spike-triggered K+ increment
    (models/neurons/kvlif.toml), so the SFA conditions of an experiment differ instead of
    silently running the same model."""
    import numpy as np
    from brian2 import nS

    from flysim import simulate
    from flysim.model.neurons import model_values
    from flysim.odors import synthetic_panel

    # KvLIF's voltage-gated K+ keeps tiny's KCs nearly silent: drive them harder, APL off
    kvlif = with_overrides(
        tiny, {"kc.neuron": "kvlif", "li.enabled": False, "weights.pn_kc": 12 * nS}
    )
    values = {
        (on, strength): model_values(get_model("kvlif"), p, p.kc)["delta_g_kv"]
        for on, strength in [(True, 1.0), (True, 2.0), (False, 1.0)]
        for p in [with_overrides(kvlif, {"sfa.enabled": on, "sfa.strength": strength})]
    }
    assert values[True, 1.0] == kvlif.kvlif.increment and values[True, 2.0] == 16 * nS
    assert values[False, 1.0] == 0 * nS
    panel = synthetic_panel(2, n_glomeruli=20, seed=0)
    counts = {
        on: simulate(with_overrides(kvlif, {"sfa.enabled": on}), panel, seed=0).kc_spike_count
        for on in (True, False)
    }
    assert int(counts[False].sum()) > int(counts[True].sum()) > 0
    assert not np.array_equal(counts[True], counts[False])
