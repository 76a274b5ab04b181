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
