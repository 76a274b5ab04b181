import dataclasses

import pytest
from brian2 import Hz, ms, mV, nS

from flysim.params import (
    CircuitParams,
    ParameterError,
    dump_params,
    get_path,
    known_paths,
    list_presets,
    load_params,
    with_overrides,
)


def test_presets_load_and_round_trip(tmp_path):
    assert {"drosophila_adult", "tiny"} <= set(list_presets())
    for name in ("drosophila_adult", "tiny"):
        params = load_params(name)
        path = tmp_path / f"{name}.toml"
        dump_params(params, path)
        assert load_params(path) == params


def test_dataclass_defaults_are_the_adult_preset():
    adult = load_params("drosophila_adult")
    assert dataclasses.replace(CircuitParams(), name=adult.name, notes=adult.notes) == adult


def test_adult_preset_is_fly_sized():
    p = load_params("drosophila_adult")
    assert p.network.n_glomeruli == 50 and p.n_pn == 150 and p.network.n_kc == 2000
    assert 6 <= p.network.kc_in_degree <= 7 and p.kc.neuron == "sfa_lif"


def test_overrides_by_dotted_path():
    p = load_params("tiny")
    q = with_overrides(
        p,
        {
            "kc.tau_m": 12 * ms,
            "sfa.tau": 80 * ms,
            "li.strength": 0.5,
            "li.enabled": False,
            "kc.neuron": "kvlif",
            "weights.pn_kc": {"value": 7, "unit": "nS"},
        },
    )
    assert q.kc.tau_m == 12 * ms and q.sfa.tau == 80 * ms and q.li.strength == 0.5
    assert not q.li.enabled and q.kc.neuron == "kvlif" and q.weights.pn_kc == 7 * nS
    assert p.kc.tau_m == 10 * ms  # the original is unchanged
    assert get_path(q, "sfa.tau") == 80 * ms
    assert "li.strength" in known_paths()


@pytest.mark.parametrize(
    "override, fragment",
    [
        ({"kc.tau_x": 1 * ms}, "unknown parameter 'kc.tau_x'"),
        ({"nope.tau": 1 * ms}, "unknown parameter 'nope.tau'"),
        ({"tau": 1 * ms}, "must look like 'group.name'"),
        ({"kc.tau_m": 5 * mV}, "'kc.tau_m' needs units of time"),
        ({"kc.tau_m": 5}, "'kc.tau_m' needs units of time"),
        ({"sfa.tau": -1 * ms}, "'sfa.tau' must be > 0"),
        ({"orn.spontaneous_rate": -1 * Hz}, "'orn.spontaneous_rate' must be >= 0"),
        ({"li.strength": float("nan")}, "'li.strength' must be finite"),
        ({"li.strength": float("inf")}, "'li.strength' must be finite"),
        ({"li.enabled": 1}, "'li.enabled' must be true or false"),
        ({"li.site": "kc"}, "'li.site' must be one of"),
        ({"network.n_kc": 10.5}, "'network.n_kc' must be an integer"),
        ({"network.n_kc": 0}, "'network.n_kc' must be >= 1"),
        ({"network.kc_in_degree": 60}, "'network.kc_in_degree' (60) exceeds"),
        ({"kc.V_reset": -50 * mV}, "'kc.V_reset'"),
        (
            {"network.dt": 0.5 * ms},
            "'network.dt' (0.5 ms) is too large for the fastest time constant",
        ),
        ({"kc.tau_exc": 0.5 * ms}, "fastest time constant 'kc.tau_exc'"),
        ({"weights.pn_kc": {"value": 7, "unit": "parsec"}}, "unknown unit 'parsec'"),
    ],
)
def test_bad_overrides_name_the_key(override, fragment):
    with pytest.raises(ParameterError) as info:
        with_overrides(load_params("tiny"), override)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[kc]\ntau_q = {value = 1, unit = 'ms'}\n", "unknown parameter 'kc.tau_q'"),
        ("[kcs]\n", "unknown parameter group 'kcs'"),
        ("[kc]\ntau_m = 10\n", "'kc.tau_m' needs units of time"),
        ("[kc]\ntau_m = {value = 10}\n", "'kc.tau_m' needs units of time"),
        ("[kc]\ntau_m = {value = 'ten', unit = 'ms'}\n", "value must be a number"),
        ("[kc]\ntau_m = {value = nan, unit = 'ms'}\n", "must be finite"),
        ("[kc]\ntau_m = {value = inf, unit = 'ms'}\n", "must be finite"),
        ("[kc]\ntau_m = {value = 0, unit = 'ms'}\n", "'kc.tau_m' must be > 0"),
        ("[network]\nkc_in_degree = 99\n", "exceeds 'network.n_glomeruli'"),
        ("[kc\n", "not valid TOML"),
    ],
)
def test_bad_parameter_files(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=None) as info:
        load_params(path)
    assert fragment in str(info.value)


def test_unknown_preset_and_missing_file(tmp_path):
    with pytest.raises(ParameterError, match="unknown preset 'drosophila_larva'"):
        load_params("drosophila_larva")
    with pytest.raises(ParameterError, match="does not exist"):
        load_params(tmp_path / "missing.toml")
