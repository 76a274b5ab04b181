import subprocess
import sys
from pathlib import Path

import xarray as xr

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "flysim.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )


def test_run_config_writes_netcdf(tmp_path, session_cache):
    import os

    out = tmp_path / "small.nc"
    proc = run_cli(
        "run",
        "examples/run_small.toml",
        "--out",
        str(out),
        env={**os.environ, "FLYSIM_CACHE_DIR": session_cache},
    )
    assert proc.returncode == 0, proc.stderr
    assert "KC coding level" in proc.stdout
    ds = xr.open_dataset(out)
    assert ds.kc_spike_count.sizes["trial"] == 2 and ds.kc_spike_count.sizes["odor"] == 4


def test_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('preset = "tiny"\n[overrides]\n"kc.tau_m" = 5\n')
    proc = run_cli("run", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "kc.tau_m" in proc.stderr
    proc = run_cli("run", str(tmp_path / "missing.toml"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_version():
    from flysim import __version__

    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"flysim {__version__}"


SCAN = """preset = "tiny"
seeds = [1, 0]
store = "s.zarr"
[experiment]
name = "fakes:FakeExperiment"
[grid]
"li.strength" = [1.0, 0.5]
"noise.input_sigma" = { value = [0, 5], unit = "Hz" }
"""


def _fake_env():
    import os

    tests = str(ROOT / "tests")  # where fakes.FakeExperiment lives
    return {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}


def test_scan_out_writes_the_dataset_open_scan_reads(tmp_path):
    from flysim.scan import open_scan

    config = tmp_path / "scan.toml"
    config.write_text(SCAN)
    out = tmp_path / "scan.nc"
    proc = run_cli("scan", str(config), "--out", str(out), "--no-progress", env=_fake_env())
    assert proc.returncode == 0, proc.stderr
    with xr.open_dataset(out) as written:
        xr.testing.assert_identical(written.load(), open_scan(tmp_path / "s.zarr"))
    assert list(written["li.strength"].values) == [1.0, 0.5]


def test_bad_output_paths_are_one_line_before_any_work(tmp_path):
    config = tmp_path / "scan.toml"
    config.write_text(SCAN)
    (tmp_path / "folder.nc").mkdir()
    cases = {
        "scan.txt": "must end in .nc",
        "folder.nc": "is a directory",
        "missing/scan.nc": "the directory",
    }
    for out, message in cases.items():
        proc = run_cli("scan", str(config), "--out", str(tmp_path / out), env=_fake_env())
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert proc.stderr.strip().count("\n") == 0
        assert not (tmp_path / "s.zarr").exists()  # nothing ran
    proc = run_cli("run", "examples/run_small.toml", "--out", str(tmp_path / "x.csv"))
    assert proc.returncode == 2 and "must end in .nc" in proc.stderr
    proc = run_cli("demo", "--out", str(tmp_path / "folder.nc"))
    assert proc.returncode == 2 and "is a directory" in proc.stderr


def test_odor_table_problems_in_a_run_config_are_one_line(tmp_path):
    table = tmp_path / "hc.csv"
    table.write_text("odor,DM2,DM5,DM5\nodor,22a,33b,85a\nx,1,n/a,3\n")
    cases = {
        'table = "hc.csv"': "line 3 ('x'), column 'DM5': non-numeric 'n/a'",
        'table = "hc.csv"\nplacement = "retina"': "placement must be one of",
        'table = "hc.csv"\ncolour = 1': "unknown keys ['colour'] in [odors]",
        'table = "missing.csv"': "does not exist",
    }
    for odors, message in cases.items():
        assert_run_config_refused(tmp_path, f"[odors]\n{odors}", message)


def assert_run_config_refused(folder, body: str, message: str):
    """``flysim run`` on a tiny config with ``body`` exits 2 with one line holding ``message``."""
    config = folder / "run.toml"
    config.write_text(f'preset = "tiny"\n{body}\n')
    proc = run_cli("run", str(config))
    assert proc.returncode == 2 and message in proc.stderr, (body, proc.stderr)
    assert proc.stderr.strip().count("\n") == 0, proc.stderr


def test_every_run_config_problem_is_one_line_naming_the_key_before_any_run(tmp_path):
    """The CLI cases of issue #21: each exits 2 with one line naming the key, in well under
    the time of a compile (nothing is simulated)."""
    edges = tmp_path / "edges.csv"
    edges.write_text("kc,glomerulus,synapses\n1,DA1,many\n")
    cases = {
        "[odors]\nsynthetics = 2": "unknown keys ['synthetics'] in [odors]",
        "n_trials = 2.7": "n_trials must be an integer >= 1, got 2.7",
        "n_trials = true": "n_trials must be an integer >= 1, got True",
        'seed = "abc"': "seed must be an integer >= 0 or a list of distinct ones, got 'abc'",
        "seed = [1, 1]": "seed must be an integer >= 0 or a list of distinct ones",
        "odors = 5": "[odors] must be a table",
        "[odors]\nsynthetic = 0": "[odors] synthetic must be an integer >= 1, got 0",
        '[noise]\nkc_current_sigma_pA = "five"': "noise.kc_current_sigma_pA",
        '[noise]\nkc_current_sigma = "five"': "noise.kc_current_sigma': expected a number",
        "out = 5": "out must be a file name (.nc), got 5",
        '[overrides]\n"network.wiring" = "edges.csv"': "line 2: synapse count 'many'",
        '[overrides]\n"network.wiring" = "absent.csv"': "absent.csv cannot be read",
    }
    for body, message in cases.items():
        assert_run_config_refused(tmp_path, body, message)


def test_negative_workers_are_refused(tmp_path):
    for command in (
        ["demo", "--out", str(tmp_path / "d.nc")],
        ["scan", "examples/scan_small.toml"],
    ):
        proc = run_cli(*command, "--workers", "-3")
        assert proc.returncode == 2 and "--workers must be >= 0" in proc.stderr, proc.stderr
        assert proc.stderr.strip().count("\n") == 0
