"""``flysim demo`` at a tiny scale: the netCDF and figure it promises."""

import pytest
import xarray as xr

from flysim.cli.demo import DEMO, run_demo

TINY = {
    "preset": "tiny",
    "noise_levels": [0.0, 30.0],
    "seeds": (0, 1),
    "n_pairs": 1,
    "n_trials": 4,
    "mbon_trials": 2,
    "n_reference": 2,
}


def test_demo_writes_accuracy_by_condition_noise_fly_pair(tmp_path, capsys):
    out = tmp_path / "demo.nc"
    run_demo(out, workers=0, progress=False, scale=TINY)
    printed = capsys.readouterr().out
    assert "MBON choice accuracy" in printed and "LI+SFA" in printed
    assert "KC coding level" in printed and "KC response correlation" in printed
    assert "two-way bootstrap over 2 flies x 2 odor pairs" in printed
    assert "Claims of Li et al. 2025" in printed and "4. LI+SFA is best: " in printed
    saved = xr.open_dataset(out)
    assert saved.accuracy.dims == ("condition", "noise", "fly", "pair")
    assert list(saved.condition.values) == ["none", "LI", "SFA", "LI+SFA"]
    assert list(saved.noise.values) == [0.0, 30.0]
    assert saved.accuracy.attrs["measure"] == "mbon_accuracy"
    noise_free = saved.accuracy.sel(noise=0.0).mean("pair")
    assert float(noise_free.min()) >= 0.75  # noise-free pairs are learned
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert not list(tmp_path.glob("*.zarr"))  # the scratch store is not left behind


def test_demo_default_scale_is_the_adult_circuit():
    assert DEMO["preset"] == "drosophila_adult"
    assert len(DEMO["seeds"]) >= 5 and DEMO["mbon_trials"] > 0  # 3 flies resolve too little


def test_demo_command_passes_flies_noise_and_li_site(monkeypatch):
    import flysim.cli.demo
    from flysim import cli

    seen = {}
    monkeypatch.setattr(flysim.cli.demo, "run_demo", lambda out, **kw: seen.update(kw))
    assert cli.main(["demo", "--flies", "5", "--noise", "10", "40", "--li-site", "ln"]) == 0
    assert seen["scale"] == {
        "seeds": (0, 1, 2, 3, 4),
        "noise_levels": [10.0, 40.0],
        "li_site": "ln",
    }
    assert cli.main(["demo"]) == 0 and seen["scale"] == {}  # DEMO's own scale


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--flies", "1"], "at least 2 flies"),
        (["--noise", "-5"], "parameter 'noise.input_sigma' must be >= 0.0, got -5.0 Hz"),
        (["--noise", "10", "10"], "lists the value 10.0 Hz twice"),
        (["--noise", "nan"], "parameter 'noise.input_sigma' must be finite, got nan"),
    ],
)
def test_demo_command_refuses_bad_scale_in_one_line(tmp_path, capsys, argv, message):
    from flysim import cli

    out = tmp_path / "demo.nc"
    assert cli.main(["demo", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not list(tmp_path.iterdir())


def test_run_demo_refuses_an_unknown_li_site(tmp_path):
    with pytest.raises(ValueError, match="'li.site' must be one of"):
        run_demo(tmp_path / "demo.nc", scale={"li_site": "kc"})
    assert not list(tmp_path.iterdir())
