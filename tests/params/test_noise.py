"""``flysim.Noise`` is a parameter group: same declarations, errors, TOML table and paths."""

import json

import pytest
from brian2 import Hz, ms, mV, pA, second

import flysim
from flysim import Noise
from flysim.cli.config import load_scan_config
from flysim.params import ParameterError, apply_overrides, get_path, known_paths, with_overrides
from flysim.params.io import noise_from_table
from flysim.params.schema import NeuronParams

UNITS_ERROR = "parameter '{}' needs units of {}, e.g. {{value = ..., unit = \"{}\"}}; got {}"


@pytest.mark.parametrize(
    "field, value, unit, dimension, got",
    [
        ("input_sigma", 10.0, "Hz", "rate (Hz)", "a plain number"),
        ("kc_current_tau", 5 * mV, "ms", "time (s)", "voltage (V)"),
        ("kc_current_sigma", "5", "pA", "current (A)", "str"),
    ],
)
def test_noise_unit_errors_read_like_every_groups(field, value, unit, dimension, got):
    with pytest.raises(ParameterError) as noise_error:
        Noise(**{field: value})
    with pytest.raises(ParameterError) as circuit_error:
        NeuronParams(tau_m=value)
    assert str(noise_error.value) == UNITS_ERROR.format(f"noise.{field}", dimension, unit, got)
    assert str(circuit_error.value) == UNITS_ERROR.format("tau_m", "time (s)", "ms", got)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_sigma": -1 * Hz}, "parameter 'noise.input_sigma' must be >= 0.0, got -1.0 Hz"),
        ({"onset_jitter": -2 * ms}, "parameter 'noise.onset_jitter' must be >= 0.0, got -2.0 ms"),
        ({"kc_current_tau": 0 * ms}, "parameter 'noise.kc_current_tau' must be > 0, got 0.0 ms"),
        ({"background": -0.5}, "parameter 'noise.background' must be >= 0.0, got -0.5"),
        ({"seed": -1}, "parameter 'noise.seed' must be >= 0, got -1"),
    ],
)
def test_negative_noise_is_a_one_line_parameter_error(kwargs, message):
    with pytest.raises(ParameterError) as info:
        Noise(**kwargs)
    assert str(info.value) == message


def test_noise_values_and_optional_tau():
    noise = Noise(input_sigma=10 * Hz, input_tau=20 * ms, seed=2**63 - 1)
    assert noise.input_sigma == 10 * Hz and noise.input_tau == 20 * ms
    assert Noise().input_tau is None  # frozen pattern noise
    assert Noise(input_sigma=0 * Hz) == Noise()  # zero is zero
    assert Noise(onset_jitter=1 * second).onset_jitter == 1000 * ms


def test_result_attrs_round_trip_through_json():
    noise = Noise(
        input_sigma=12.5 * Hz,
        input_tau=30 * ms,
        background=0.2,
        poisson_input=False,
        kc_current_sigma=3 * pA,
        kc_current_tau=7 * ms,
        onset_jitter=2 * ms,
        window="trial",
        seed=2**63 - 1,
    )
    data = json.loads(json.dumps(noise.to_dict()))
    assert data["input_sigma"] == {"value": 12.5, "unit": "Hz"}  # as params_to_dict writes
    assert Noise.from_dict(data) == noise
    assert Noise.from_dict(json.loads(json.dumps(Noise().to_dict()))) == Noise()


def test_from_dict_reads_results_written_with_si_floats():
    old = {
        "input_sigma": 10.0,
        "input_tau": 0.02,
        "background": 0.0,
        "poisson_input": True,
        "kc_current_sigma": 5e-12,
        "kc_current_tau": 0.005,
        "onset_jitter": 0.0,
        "window": "odor",
        "seed": 3,
    }
    assert Noise.from_dict(old) == Noise(
        input_sigma=10 * Hz, input_tau=20 * ms, kc_current_sigma=5 * pA, seed=3
    )
    assert Noise.from_dict(dict(old, input_tau=None)).input_tau is None


NOISE_TABLE = """
[noise]
input_sigma = { value = 5, unit = "Hz" }
input_tau = { value = 20, unit = "ms" }
kc_current_sigma = { value = 2, unit = "pA" }
background = 0.1
poisson_input = false
window = "trial"
seed = 7
"""
EXPECTED = Noise(
    input_sigma=5 * Hz,
    input_tau=20 * ms,
    kc_current_sigma=2 * pA,
    background=0.1,
    poisson_input=False,
    window="trial",
    seed=7,
)


def _run_file_noise(tmp_path, monkeypatch, noise_table: str) -> Noise:
    """The Noise ``flysim run`` simulates for a run file with this ``[noise]`` table."""
    from flysim.cli.commands import _run_config

    seen = {}
    monkeypatch.setattr(flysim, "simulate", lambda *a, noise, **kw: seen.setdefault("n", noise))
    path = tmp_path / "run.toml"
    path.write_text('preset = "tiny"\n[odors]\nsynthetic = 2\n' + noise_table)
    _run_config(path, None)
    return seen["n"]


def test_run_files_and_scan_files_read_the_same_noise_table(tmp_path, monkeypatch):
    scan_file = tmp_path / "scan.toml"
    scan_file.write_text(
        'preset = "tiny"\nseeds = [0]\nstore = "s.zarr"\n[experiment]\nname = "summary"\n'
        '[grid]\n"li.strength" = [1.0]\n' + NOISE_TABLE
    )
    assert load_scan_config(scan_file).noise == EXPECTED
    assert _run_file_noise(tmp_path, monkeypatch, NOISE_TABLE) == EXPECTED


@pytest.mark.parametrize(
    "line, message",
    [
        (
            "kc_current_sigma_pA = 5",
            "parameter 'noise.kc_current_sigma_pA' is the old form: write "
            'kc_current_sigma = {value = 5, unit = "pA"}',
        ),
        (
            "onset_jitter_ms = 2.5",
            "parameter 'noise.onset_jitter_ms' is the old form: write "
            'onset_jitter = {value = 2.5, unit = "ms"}',
        ),
        ("input_sigma = 5.0", "parameter 'noise.input_sigma' needs units of rate (Hz)"),
        ("loudness = 1", "unknown parameter 'noise.loudness' (known in [noise]: input_sigma"),
    ],
)
def test_old_run_file_noise_keys_name_the_new_form(tmp_path, monkeypatch, line, message):
    with pytest.raises(ParameterError) as info:
        _run_file_noise(tmp_path, monkeypatch, f"[noise]\n{line}\n")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_noise_table_must_be_a_table():
    with pytest.raises(ParameterError, match=r"\[noise\] must be a table, got 3"):
        noise_from_table(3)


def test_noise_paths_resolve_with_the_circuits():
    params = flysim.load_params("tiny")
    assert {"noise.input_sigma", "noise.seed", "li.strength"} <= set(known_paths())
    changed, noise = apply_overrides(
        params,
        Noise(seed=4),
        {
            "noise.input_sigma": 10 * Hz,
            "noise.kc_current_sigma": {"value": 3, "unit": "pA"},
            "noise.input_tau": None,
            "li.strength": 0.5,
        },
    )
    assert noise == Noise(input_sigma=10 * Hz, kc_current_sigma=3 * pA, seed=4)
    assert changed.li.strength == 0.5 and params.li.strength == 1.0
    assert get_path(changed, "noise.seed", noise) == 4 and get_path(changed, "li.strength") == 0.5
    assert apply_overrides(params, None, {})[1] == Noise()


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"noise.loudness": 1.0},
            "unknown parameter 'noise.loudness' (known in [noise]: input_sigma, input_tau, "
            "background, poisson_input, kc_current_sigma, kc_current_tau, onset_jitter, window, "
            "seed)",
        ),
        ({"noise.input_sigma": 10.0}, "parameter 'noise.input_sigma' needs units of rate (Hz)"),
        ({"noise.seed": -1}, "parameter 'noise.seed' must be >= 0, got -1"),
        ({"noise.window": "night"}, "parameter 'noise.window' must be one of ['odor', 'trial']"),
        ({"retina.gain": 1.0}, "unknown parameter 'retina.gain' (groups: network,"),
    ],
)
def test_bad_noise_paths_are_refused_with_the_known_list(overrides, message):
    with pytest.raises(ParameterError) as info:
        apply_overrides(flysim.load_params("tiny"), None, overrides)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_with_overrides_refuses_noise_paths():
    with pytest.raises(ParameterError, match="'noise.input_sigma' is a noise setting"):
        with_overrides(flysim.load_params("tiny"), {"noise.input_sigma": 10 * Hz})


def test_scan_grid_coordinates_of_noise_come_from_the_declarations():
    from flysim.redundancy import noise_grid
    from flysim.scan import normalize_grid

    grid = noise_grid("kc_current_sigma", [0, 5])
    assert grid == {"noise.kc_current_sigma": [0 * pA, 5 * pA]}
    (axis,) = normalize_grid(grid, flysim.load_params("tiny"))
    assert axis.coords == (0.0, 5.0) and axis.unit == "pA" and axis.value(5.0) == 5 * pA
    with pytest.raises(ValueError, match="noise_field must be one of"):
        noise_grid("seed", [1])
    (tau,) = normalize_grid({"noise.input_tau": [None, 20 * ms]}, flysim.load_params("tiny"))
    assert tau.optional and tau.value(tau.coords[0]) is None and tau.value(20.0) == 20 * ms
