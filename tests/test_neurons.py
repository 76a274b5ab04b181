import pytest

from flysim.circuit import structure_of
from flysim.neurons import available_models, get_model, register_model
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
