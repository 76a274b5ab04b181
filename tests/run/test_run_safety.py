"""Hardening of runs (issue #7): numerical guards, provenance and version checks, crash safety
under repeated SIGKILL, and processes sharing one compile cache. Long twins: ``-m long``."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from brian2 import Hz, mV, nS

import flysim
from flysim.engine import SimulationError
from flysim.odors import synthetic_panel
from flysim.run.guards import check_finite_state
from flysim.run.provenance import VersionMismatchError, open_result
from flysim.scan import StoreMismatchError, scan

TESTS = Path(__file__).resolve().parents[1]
from fakes import FAKE_GRID, FakeExperiment  # noqa: E402


# -- numerical guards -----------------------------------------------------------------------------
def test_diverging_state_raises_instead_of_returning_counts(tiny):
    # Valid values (finite, no bounds broken) whose update overflows: E_inh / C is -inf, and an
    # APL spike makes -inf * g and inf - inf NaN. A NaN neuron never spikes again, so without
    # the guard this returned plausible-looking (too low) counts.
    extreme = flysim.with_overrides(tiny, {"kc.E_inh": -1.5e308 * mV, "weights.apl_kc": 1e7 * nS})
    panel = synthetic_panel(2, n_glomeruli=20, seed=0)
    pattern = r"^KC \d+ of fly 0, odor '\w+', trial 0: membrane potential became (-inf|nan) at t = "
    with pytest.raises(SimulationError, match=pattern) as info:
        flysim.simulate(extreme, panel, seed=0, batch_size=2)
    assert "\n" not in str(info.value)
    ds = flysim.simulate(tiny, panel, seed=0, batch_size=2)  # the same circuit, sane values
    assert int(ds.kc_spike_count.sum()) > 0


def test_finite_state_check_names_the_variable():
    good = {"kc.v": np.full(4, -0.07), "pn.g_exc": np.zeros(3)}
    check_finite_state(good, list(good))
    bad = dict(good, **{"pn.g_exc": np.array([0.0, np.inf, np.nan])})
    with pytest.raises(SimulationError, match=r"'pn\.g_exc' became NaN/inf in 2 of 3"):
        check_finite_state(bad, list(bad))


# -- provenance -----------------------------------------------------------------------------------
def _versions_of(attrs) -> dict:
    return json.loads(attrs["versions"])


def _has_provenance(attrs, *, structure_attr):
    versions = _versions_of(attrs)
    for package in ("flysim", "brian2", "numpy"):
        assert versions[package] not in ("", "unknown"), package
    assert versions["flysim"] == flysim.__version__
    keys = attrs[structure_attr]
    assert keys and keys != "[]"


def test_simulate_result_carries_provenance_and_reloads(tiny, tmp_path):
    panel = synthetic_panel(2, n_glomeruli=20, seed=0)
    noise = flysim.Noise(input_sigma=5 * Hz, seed=4)
    ds = flysim.simulate(tiny, panel, seed=[1, 2], noise=noise, batch_size=2)
    _has_provenance(ds.attrs, structure_attr="structure_key")
    assert flysim.params.params_from_dict(json.loads(ds.attrs["params"])) == tiny
    assert flysim.Noise.from_dict(json.loads(ds.attrs["noise"])) == noise
    assert json.loads(ds.attrs["wiring_seeds"]) == [1, 2]
    ds.to_netcdf(tmp_path / "run.nc")
    xr.testing.assert_identical(open_result(tmp_path / "run.nc"), ds)
    ds.to_zarr(tmp_path / "run.zarr", zarr_format=3, consolidated=False)
    assert open_result(tmp_path / "run.zarr").attrs["structure_key"] == ds.attrs["structure_key"]


def test_scan_store_and_result_carry_provenance(tiny, tmp_path):
    from flysim.experiments import summary_experiment
    from flysim.scan.store import stored_versions

    store = tmp_path / "s.zarr"
    ds = scan(
        summary_experiment(n_odors=2, n_trials=2),
        tiny,
        {"li.strength": [1.0]},
        seeds=[0, 1],
        store=store,
        progress=False,
    )
    _has_provenance(ds.attrs, structure_attr="structure_keys")
    identity = json.loads(ds.attrs["flysim_scan"])
    assert flysim.params.params_from_dict(identity["base_params"]) == tiny
    assert identity["base_noise"]["seed"] == 0 and json.loads(ds.attrs["wiring_seeds"]) == [0, 1]
    assert stored_versions(store)["flysim"] == flysim.__version__
    # The redundancy experiment keeps all of its scan's attrs (redundancy.py: attrs.update).
    assert {"versions", "structure_keys", "flysim_scan", "wiring_seeds"} <= set(ds.attrs)


def _with_flysim_version(path: Path, version):
    ds = open_result(path)
    versions = _versions_of(ds.attrs)
    if version is None:
        del ds.attrs["versions"]
    else:
        ds.attrs["versions"] = json.dumps(dict(versions, flysim=version))
    out = path.with_name(f"v{version}.nc")
    ds.to_netcdf(out)
    return out


def test_open_result_refuses_another_major_minor(tiny, tmp_path):
    ds = flysim.simulate(tiny, synthetic_panel(2, n_glomeruli=20, seed=0), batch_size=2)
    ds.to_netcdf(tmp_path / "run.nc")
    major, minor, *_ = flysim.__version__.split(".")
    patch = _with_flysim_version(tmp_path / "run.nc", f"{major}.{minor}.99")
    assert open_result(patch).attrs["title"] == "flysim simulation"  # same major.minor: fine
    old = _with_flysim_version(tmp_path / "run.nc", f"{major}.{int(minor) + 1}.0")
    with pytest.raises(VersionMismatchError) as info:
        open_result(old)
    message = str(info.value)
    assert f"flysim {major}.{int(minor) + 1}.0" in message and flysim.__version__ in message
    assert "\n" not in message
    with pytest.warns(UserWarning, match="records no flysim version"):
        open_result(_with_flysim_version(tmp_path / "run.nc", None))
    for bad in (tmp_path / "missing.nc", _write(tmp_path / "junk.nc", b"not netcdf")):
        with pytest.raises(ValueError, match=str(bad)) as info:
            open_result(bad)
        assert "\n" not in str(info.value)


def _write(path, data):
    path.write_bytes(data)
    return path


def test_resuming_a_store_of_another_major_minor_is_refused(tiny, tmp_path):
    store = tmp_path / "s.zarr"
    run = dict(seeds=[0], store=store, progress=False)
    scan(FakeExperiment(), tiny, FAKE_GRID, **run)
    meta = store / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"]["versions"]["flysim"] = "7.3.0"
    meta.write_text(json.dumps(doc))
    before = sorted(p.name for p in (store / "points").iterdir())
    with pytest.raises(StoreMismatchError) as info:
        scan(FakeExperiment(), tiny, FAKE_GRID, **run)
    message = str(info.value)
    assert "flysim 7.3.0" in message and f"flysim {flysim.__version__}" in message
    assert str(store) in message and "\n" not in message
    assert sorted(p.name for p in (store / "points").iterdir()) == before
    with pytest.raises(VersionMismatchError, match="7.3.0"):
        open_result(store)
    del doc["attributes"]["versions"]  # a store from before versions were recorded
    meta.write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match="records no flysim version"):
        scan(FakeExperiment(), tiny, FAKE_GRID, **run)


# -- crash safety: SIGKILL at random points -------------------------------------------------------
KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from fakes import FAKE_GRID, FakeExperiment
from flysim import load_params
from flysim.scan import scan

scan(FakeExperiment(delay=0.05, log={log!r}, payload=100_000), load_params("tiny"), FAKE_GRID,
     seeds=[0, 1, 2], store={store!r}, progress=False)
"""
N_POINTS = 12  # FAKE_GRID (2 x 2) x 3 seeds


def _points(store: Path) -> list[Path]:
    folder = store / "points"
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]


def _kill_trials(tmp_path, tiny, n_trials, seed):
    """Kill a scan at ``n_trials`` random moments; after each kill the store holds only whole
    points, and a rerun computes exactly the missing ones and equals an uninterrupted scan."""
    rng = random.Random(seed)
    whole = scan(
        FakeExperiment(payload=100_000),
        tiny,
        FAKE_GRID,
        seeds=[0, 1, 2],
        store=None,
        progress=False,
    )
    stats = {"kills": 0, "while_writing": 0, "stored_at_kill": []}
    for trial in range(n_trials):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        store, log = folder / "s.zarr", folder / "calls.log"
        script = folder / "run.py"
        script.write_text(KILL_SCRIPT.format(tests=str(TESTS), log=str(log), store=str(store)))
        # A random moment: after k finished points, during the next write or between writes,
        # or (k = -1) at a random time during start-up and store creation.
        target, during_write = rng.randint(-1, N_POINTS - 2), rng.random() < 0.5
        proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        if target < 0:
            time.sleep(rng.uniform(0.0, 3.0))
        while target >= 0 and proc.poll() is None and time.monotonic() < deadline:
            points = store / "points"
            writing = points.is_dir() and any(p.name.startswith(".tmp-") for p in points.iterdir())
            if len(_points(store)) > target or (
                during_write and writing and len(_points(store)) == target
            ):
                break
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with proc.stderr:
            assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
        stats["kills"] += 1
        debris = (store / "points").is_dir() and any(
            p.name.startswith(".tmp-") for p in (store / "points").iterdir()
        )
        stats["while_writing"] += debris
        stored = _points(store)
        stats["stored_at_kill"].append(len(stored))
        for point in stored:  # every point under its final name is whole
            with xr.open_zarr(point, consolidated=False) as ds:
                assert ds.payload.load().size == 100_000
        calls = len(log.read_text().splitlines()) if log.exists() else 0
        resumed = scan(
            FakeExperiment(log=log, payload=100_000),
            tiny,
            FAKE_GRID,
            seeds=[0, 1, 2],
            store=store,
            progress=False,
        )
        assert len(log.read_text().splitlines()) - calls == N_POINTS - len(stored)
        assert not any(p.name.startswith(".tmp-") for p in (store / "points").iterdir())
        xr.testing.assert_identical(resumed, whole)
    return stats


def test_sigkill_at_random_points_quick(tiny, tmp_path):
    stats = _kill_trials(tmp_path, tiny, n_trials=2, seed=1)
    assert stats["kills"] == 2


@pytest.mark.long
def test_sigkill_at_random_points(tiny, tmp_path):
    stats = _kill_trials(tmp_path, tiny, n_trials=12, seed=7)
    print(f"\nSIGKILL trials: {stats}")
    assert stats["kills"] == 12


# -- concurrency: two processes, one cache --------------------------------------------------------
CACHE_SCRIPT = """
import os, shutil, sys, time
import numpy as np, flysim
from flysim.engine import build
from flysim.odors import synthetic_panel

source = os.environ.get("FLYSIM_PREBUILT")
if source:  # build = copy a compiled network from another cache (the race is the same, faster)
    def _compile(params, structure, directory):
        time.sleep(0.5)  # a build long enough for the other process to arrive and wait
        entry = os.path.join(source, build.entry_name(structure))
        shutil.copytree(entry, directory, dirs_exist_ok=True)
        os.remove(os.path.join(directory, build.MANIFEST))
        import json
        manifest = json.load(open(os.path.join(entry, build.MANIFEST)))
        return {k: manifest[k] for k in ("settable", "outputs", "timed_arrays", "required")}
    build._compile = _compile
ds = flysim.simulate(flysim.load_params("tiny"), synthetic_panel(2, n_glomeruli=20, seed=0),
                     seed=0, batch_size=int(sys.argv[2]))
np.save(sys.argv[1], ds.kc_spike_count.values)
"""


def _reference(batch_size):
    ds = flysim.simulate(
        flysim.load_params("tiny"),
        synthetic_panel(2, n_glomeruli=20, seed=0),
        seed=0,
        batch_size=batch_size,
    )
    return ds.kc_spike_count.values


def _two_processes(tmp_path, batches, prebuilt):
    """Two processes build and run ``batches`` (one batch size each) against one fresh cache."""
    cache = tmp_path / "cache"
    env = {**os.environ, "FLYSIM_CACHE_DIR": str(cache)}
    env.pop("FLYSIM_PREBUILT", None)
    if prebuilt:
        env["FLYSIM_PREBUILT"] = str(prebuilt)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CACHE_SCRIPT, str(tmp_path / f"{k}.npy"), str(batch)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k, batch in enumerate(batches)
    ]
    for proc in procs:
        assert proc.wait(timeout=900) == 0, proc.stderr.read()[-3000:]
    results = [np.load(tmp_path / f"{k}.npy") for k in range(len(batches))]
    builds = sorted(p.name for p in cache.iterdir() if p.is_dir() and p.name != "runs")
    assert len(builds) == len(set(batches))  # one per structure, no half-built leftovers
    assert all((cache / b / "flysim_manifest.json").is_file() for b in builds)
    assert not any((cache / "runs").iterdir())  # every run's folder removed
    return results


def _concurrency(tmp_path, repetitions, prebuilt):
    from flysim.engine import cache_dir

    reference = {b: _reference(b) for b in (2, 16)}  # also builds both in the session cache
    source = cache_dir() if prebuilt else None
    for rep in range(repetitions):
        for batches in ((2, 2), (2, 16)):  # same structure, different structures
            folder = tmp_path / f"rep{rep}-{batches[0]}{batches[1]}"
            folder.mkdir()
            results = _two_processes(folder, batches, source)
            for batch, result in zip(batches, results, strict=True):
                np.testing.assert_array_equal(result, reference[batch])


def test_two_processes_different_structures_one_cache_quick(tmp_path):
    _concurrency(tmp_path, repetitions=1, prebuilt=True)


@pytest.mark.long
def test_two_processes_one_cache_repeated(tmp_path):
    """The issue's >= 10 repetitions, each process compiling for real (9 min on 2 idle cores)."""
    _concurrency(tmp_path, repetitions=10, prebuilt=False)
