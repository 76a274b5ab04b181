"""``flysim demo`` at a tiny scale: the netCDF and figure it promises."""

import xarray as xr

from flysim.demo import DEMO, run_demo

TINY = {
    "preset": "tiny",
    "noise_levels": [0.0, 30.0],
    "seeds": (0, 1),
    "n_pairs": 2,
    "mbon_trials": 2,
}


def test_demo_writes_accuracy_by_condition_noise_fly(tmp_path, capsys):
    out = tmp_path / "demo.nc"
    run_demo(out, workers=0, progress=False, scale=TINY)
    printed = capsys.readouterr().out
    assert "MBON choice accuracy" in printed and "LI+SFA" in printed
    saved = xr.open_dataset(out)
    assert saved.accuracy.dims == ("condition", "noise", "fly")
    assert list(saved.condition.values) == ["none", "LI", "SFA", "LI+SFA"]
    assert list(saved.noise.values) == [0.0, 30.0]
    assert saved.accuracy.attrs["measure"] == "mbon_accuracy"
    assert float(saved.accuracy.sel(noise=0.0).min()) >= 0.75  # noise-free pairs are learned
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert not list(tmp_path.glob("*.zarr"))  # the scratch store is not left behind


def test_demo_default_scale_is_the_adult_circuit():
    assert DEMO["preset"] == "drosophila_adult"
    assert len(DEMO["seeds"]) >= 3 and DEMO["mbon_trials"] > 0
