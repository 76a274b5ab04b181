"""The engine on the tiny preset: outputs, reproducibility, seeds, compile-once."""

import json

import numpy as np
import pytest
import xarray as xr
from brian2 import Hz, ms, nS, pA

from flysim import Noise, simulate, with_overrides
from flysim.engine import compilation_count
from flysim.inputs.stimulus import Slot, odor_window_rates, orn_drive
from flysim.odors import synthetic_panel
from flysim.params import params_from_dict


@pytest.fixture(scope="module")
def base_run(tiny, tiny_panel):
    return simulate(tiny, tiny_panel, n_trials=2, seed=1, noise=Noise(seed=5))


def test_dataset_layout(base_run, tiny):
    ds = base_run
    assert ds.kc_spike_count.dims == ("odor", "trial", "kc")
    assert ds.kc_spike_count.shape == (6, 2, tiny.network.n_kc)
    assert ds.pn_spike_count.dims == ("odor", "trial", "pn")
    assert ds.mbon_rate.dims == ("odor", "trial", "mbon", "time")
    assert ds.apl_activity.dims == ("odor", "trial", "time")
    for name in ("kc_spike_count", "pn_spike_count", "mbon_rate", "apl_activity"):
        assert "units" in ds[name].attrs
    assert params_from_dict(json.loads(ds.attrs["params"])) == tiny
    assert json.loads(ds.attrs["wiring_seeds"]) == [1]
    assert Noise.from_dict(json.loads(ds.attrs["noise"])) == Noise(seed=5)
    assert {"flysim", "brian2", "numpy"} <= set(json.loads(ds.attrs["versions"]))


def test_orn_rate_without_input_noise_is_spontaneous_plus_response(base_run, tiny, tiny_panel):
    rate = base_run.orn_rate
    assert rate.dims == ("odor", "trial", "glomerulus")
    assert rate.attrs["units"] == "Hz" and "odor window" in rate.attrs["long_name"]
    assert list(rate.glomerulus.values) == list(tiny_panel.glomeruli)
    spontaneous, top = float(tiny.orn.spontaneous_rate), float(tiny.orn.max_rate)
    expected = np.clip(spontaneous + tiny_panel.responses, 0, top)[:, None, :]
    assert np.allclose(rate.values, np.broadcast_to(expected, rate.shape), rtol=1e-12, atol=0)


def test_orn_rate_is_the_drive_applied(tiny, tiny_panel):
    """With input noise, each trial's ``orn_rate`` is the odor-window mean of the drive
    ``orn_drive`` builds for its slot, in every batch (6 odors x 3 trials: two batches)."""
    noise = Noise(input_sigma=25 * Hz, seed=8)
    ds = simulate(tiny, tiny_panel, n_trials=3, noise=noise, seed=1)
    slots = [Slot(0, odor, trial) for odor in range(6) for trial in range(3)]
    rates, _ = orn_drive(tiny_panel, tiny, noise, slots, 1001, [1])
    expected = odor_window_rates(rates, tiny, len(slots)).reshape(6, 3, -1)
    assert np.array_equal(ds.orn_rate.values, expected)
    assert float(ds.orn_rate.std("trial").max()) > 1.0  # trials differ


def test_wiring_matches_claws(base_run, tiny):
    claws = base_run.kc_claw_glomerulus.values
    assert claws.shape == (tiny.network.n_kc, tiny.network.kc_in_degree)
    assert all(len(set(row)) == len(row) for row in claws)  # distinct glomeruli per KC
    pns = base_run.kc_claw_pn.values
    assert np.array_equal(pns // tiny.network.pns_per_glomerulus, claws)


def test_netcdf_round_trip(base_run, tmp_path):
    path = tmp_path / "run.nc"
    base_run.to_netcdf(path)
    loaded = xr.open_dataset(path)
    assert np.array_equal(loaded.kc_spike_count.values, base_run.kc_spike_count.values)
    assert loaded.attrs["params"] == base_run.attrs["params"]


def test_same_seeds_bit_identical(base_run, tiny, tiny_panel):
    again = simulate(tiny, tiny_panel, n_trials=2, seed=1, noise=Noise(seed=5))
    assert np.array_equal(again.kc_spike_count.values, base_run.kc_spike_count.values)
    assert np.array_equal(again.pn_spike_count.values, base_run.pn_spike_count.values)


def test_noise_seed_changes_spikes_but_not_wiring(base_run, tiny, tiny_panel):
    other = simulate(tiny, tiny_panel, n_trials=2, seed=1, noise=Noise(seed=6))
    assert not np.array_equal(other.pn_spike_count.values, base_run.pn_spike_count.values)
    assert np.array_equal(other.kc_claw_pn.values, base_run.kc_claw_pn.values)
    other_fly = simulate(tiny, tiny_panel, n_trials=2, seed=2, noise=Noise(seed=5))
    assert not np.array_equal(other_fly.kc_claw_pn.values, base_run.kc_claw_pn.values)
    # the input's Poisson draws belong to the noise seed, not the wiring seed
    assert not np.array_equal(other_fly.kc_spike_count.values, base_run.kc_spike_count.values)


def test_zero_noise_is_deterministic(tiny, tiny_panel):
    quiet = Noise(poisson_input=False, seed=1)
    a = simulate(tiny, tiny_panel.select(tiny_panel.names[:2]), noise=quiet, n_trials=2)
    b = simulate(
        tiny,
        tiny_panel.select(tiny_panel.names[:2]),
        noise=Noise(poisson_input=False, seed=2),
        n_trials=2,
    )
    # without any noise source, trials and noise seeds give identical spikes
    assert np.array_equal(a.kc_spike_count.values, b.kc_spike_count.values)
    assert np.array_equal(
        a.kc_spike_count.isel(trial=0).values, a.kc_spike_count.isel(trial=1).values
    )


def test_loop_compiles_once(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("FLYSIM_CACHE_DIR", str(tmp_path))  # fresh cache: the first run compiles
    before = compilation_count()
    panels = [synthetic_panel(3, n_glomeruli=20, seed=s) for s in range(10)]
    for k in range(10):
        params = with_overrides(
            tiny,
            {"li.strength": 0.2 * k, "sfa.strength": 0.1 * k, "weights.pn_kc": (5 + 0.1 * k) * nS},
        )
        noise = Noise(
            input_sigma=2.0 * k * Hz,
            kc_current_sigma=(1 + 2 * k) * pA,  # its level varies; on/off is structural
            onset_jitter=k * ms,
            background=0.05 * k,
            seed=k,
        )
        simulate(params, panels[k], noise=noise, seed=k)
    assert compilation_count() - before == 1


SHARED_CACHE_SCRIPT = """
import sys, numpy as np, flysim
from flysim.odors import synthetic_panel
ds = flysim.simulate(flysim.load_params("tiny"), synthetic_panel(2, n_glomeruli=20, seed=0),
                     seed=0, batch_size=2)
np.save(sys.argv[1], ds.kc_spike_count.values)
"""


def test_two_processes_share_one_cache(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "FLYSIM_CACHE_DIR": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SHARED_CACHE_SCRIPT, str(tmp_path / f"{k}.npy")],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
    a, b = (np.load(tmp_path / f"{k}.npy") for k in range(2))
    assert np.array_equal(a, b)
    builds = [p for p in (tmp_path / "cache").iterdir() if p.is_dir() and p.name != "runs"]
    assert len(builds) == 1  # one compiled network, no half-built leftovers
    assert not any((tmp_path / "cache" / "runs").iterdir())  # no run's folder left behind


def test_several_flies_and_adapted_panel(tiny):
    panel = synthetic_panel(2, n_glomeruli=12, seed=0)
    ds = simulate(tiny, panel, seed=[3, 4])
    assert ds.kc_spike_count.dims == ("fly", "odor", "trial", "kc")
    assert ds.orn_rate.dims == ("fly", "odor", "trial", "glomerulus")
    assert ds.sizes["glomerulus"] == 12
    assert ds.sizes["pn"] == 12 * tiny.network.pns_per_glomerulus
    assert "12 glomeruli" in ds.attrs["adapted"]


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"n_trials": 0}, ValueError, "n_trials"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": [1, 1]}, ValueError, "distinct"),
        ({"noise": "loud"}, TypeError, "flysim.Noise"),
        ({"batch_size": 0}, ValueError, "batch_size"),
    ],
)
def test_bad_arguments(tiny, tiny_panel, kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        simulate(tiny, tiny_panel, **kwargs)


def test_bad_noise():
    with pytest.raises(ValueError, match="'noise.input_sigma' must be >= 0"):
        Noise(input_sigma=-1 * Hz)
    with pytest.raises(ValueError, match="'noise.input_sigma' needs units of rate"):
        Noise(input_sigma=10.0)
    with pytest.raises(ValueError, match="kc_current_sigma"):
        Noise(kc_current_sigma=5 * ms)
    with pytest.raises(ValueError, match="seed"):
        Noise(seed=1.5)
