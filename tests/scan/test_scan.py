"""Scans: grid checks, the point store (resume, extension, SIGKILL, refusal), dask, scan files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from brian2 import Hz, ms, nS, pA, second
from fakes import FAKE_GRID, PAYLOAD, FakeExperiment

import flysim
from flysim import Noise
from flysim.cli.config import ScanConfigError, load_scan_config, run_scan_file
from flysim.experiments import summary_experiment
from flysim.scan import (
    ScanPointError,
    StoreMismatchError,
    describe_experiment,
    normalize_grid,
    open_scan,
    scan,
)
from flysim.scan.store import ScanStore

TESTS = Path(__file__).resolve().parents[1]
EXAMPLE = TESTS.parent / "examples" / "scan_small.toml"

#: The scan of examples/scan_small.toml, written out.
SUMMARY = dict(n_odors=4, n_trials=4, odor_seed=0)
SUMMARY_GRID = {"li.strength": [0.5, 1.0], "noise.input_sigma": [0 * Hz, 10 * Hz]}
SUMMARY_NOISE = Noise(seed=0)


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


class Preparing(FakeExperiment):
    """A FakeExperiment with a ``prepare`` that logs the process it runs in, or fails."""

    def __init__(self, *, fail=False, **kwargs):
        super().__init__(**kwargs)
        self.fail = fail

    def prepare(self, params, noise):
        if self.fail:
            raise ValueError("no compiler here")
        with open(self.log, "a") as f:
            f.write(f"prepare {os.getpid()} {float(params.li.strength)}\n")


class Counting:
    """Wraps an experiment and logs its calls; described as the experiment it wraps."""

    def __init__(self, inner, log):
        self.inner, self.log = inner, log

    def describe(self):
        return describe_experiment(self.inner)

    def __call__(self, params, noise, seed):
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()} {seed}\n")
        return self.inner(params, noise, seed)


@pytest.fixture(scope="module")
def summary_run(tmp_path_factory, tiny):
    """The 2x2x2 summary scan of the example file, serial, with its calls counted."""
    root = tmp_path_factory.mktemp("summary")
    store, log = root / "scan.zarr", root / "calls.log"
    ds = scan(
        Counting(summary_experiment(**SUMMARY), log),
        tiny,
        SUMMARY_GRID,
        seeds=[0, 1],
        store=store,
        noise=SUMMARY_NOISE,
        progress=False,
    )
    return store, log, ds


# -- grid validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "grid, message",
    [
        ({"li.strength": []}, "grid 'li.strength' has an empty list"),
        ({"li.strength": 0.5}, "grid 'li.strength' must be a list"),
        ({"li.strength": "0.5"}, "grid 'li.strength' must be a list"),
        ({"li.strength": {"value": [1]}}, "grid 'li.strength' must be a list"),
        ({"li.bogus": [1.0]}, r"grid: unknown parameter 'li.bogus' \(known in \[li\]: enabled"),
        ({"retina.gain": [1.0]}, r"grid: unknown parameter 'retina.gain' \(groups: .*noise"),
        (
            {"noise.loudness": [1.0]},
            r"grid: unknown parameter 'noise.loudness' \(known in \[noise\]: input_sigma",
        ),
        ({"strength": [1.0]}, "must look like 'group.name'"),
        ({"li.strength": [1.0, 0.5, 1]}, "grid 'li.strength' lists the value 1.0 twice"),
        ({"sfa.tau": [100 * ms, 0.1 * second]}, "grid 'sfa.tau' lists the value 100.0 ms twice"),
        ({"noise.seed": [1, 2, 1]}, "grid 'noise.seed' lists the value 1 twice"),
        ({"sfa.tau": [100]}, "'sfa.tau' needs units of time"),
        ({"li.strength": [-1.0]}, "'li.strength' must be >= 0"),
        ({"li.site": ["apl", "retina"]}, "li.site"),
        ({"noise.input_sigma": [-2.0 * Hz]}, "parameter 'noise.input_sigma' must be >= 0"),
        ({"noise.input_sigma": [10.0]}, r"'noise.input_sigma' needs units of rate \(Hz\)"),
        ({"noise.kc_current_sigma": [5.0]}, "parameter 'noise.kc_current_sigma' needs units"),
    ],
)
def test_bad_grid_is_a_one_line_error(tiny, tmp_path, grid, message):
    with pytest.raises(ValueError, match=message) as info:
        scan(FakeExperiment(), tiny, grid, seeds=[0], store=tmp_path / "s.zarr", progress=False)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "s.zarr").exists()  # refused before anything is written


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(seeds=[]), "seeds must be a non-empty list"),
        (dict(seeds=[0, 0]), "distinct"),
        (dict(seeds=[-1]), ">= 0"),
        (dict(seeds="01"), "seeds"),
        (dict(seeds=[0], workers=0), "workers must be a positive integer"),
        (dict(seeds=[0], workers=1, scheduler="tcp://127.0.0.1:1"), "either workers"),
    ],
)
def test_bad_seeds_and_executors(tiny, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        scan(FakeExperiment(), tiny, FAKE_GRID, store=tmp_path / "s.zarr", progress=False, **kwargs)


def test_grid_coordinates_are_plain_values_in_toml_units(tiny):
    axes = normalize_grid(
        {
            "sfa.tau": [0.1 * second, 250 * ms],
            "weights.apl_kc": [{"value": 20, "unit": "nS"}],
            "li.strength": np.array([0.5, 2]),
            "li.enabled": [True, False],
            "network.n_kc": [400, 800],
            "noise.input_tau": [None, 20 * ms],
            "noise.kc_current_sigma": [0 * pA, 5 * pA],
            "noise.window": ["odor", "trial"],
            "kc.neuron": ["lif", "sfa_lif"],  # a plain string field
        },
        tiny,
    )
    got = {a.path: (a.coords, a.unit) for a in axes}
    assert got["sfa.tau"] == ((100.0, 250.0), "ms")
    assert got["weights.apl_kc"] == ((20.0,), "nS")
    assert got["li.strength"] == ((0.5, 2.0), "1")
    assert got["li.enabled"] == ((True, False), None)
    assert got["network.n_kc"] == ((400, 800), None)
    assert np.isnan(got["noise.input_tau"][0][0]) and got["noise.input_tau"][0][1] == 20.0
    assert got["noise.kc_current_sigma"] == ((0.0, 5.0), "pA")
    assert got["noise.window"] == (("odor", "trial"), None)
    assert got["kc.neuron"] == (("lif", "sfa_lif"), None)
    tau = next(a for a in axes if a.path == "sfa.tau")
    assert tau.value(100.0) == 100 * ms


# -- the summary scan: dims, resume, extension, refusal, dask -------------------------------------
def test_summary_scan_dims_and_values(summary_run):
    store, log, ds = summary_run
    assert len(_calls(log)) == 8
    assert dict(ds.sizes) == {"li.strength": 2, "noise.input_sigma": 2, "fly": 2}
    assert list(ds["li.strength"].values) == [0.5, 1.0]
    assert list(ds["noise.input_sigma"].values) == [0.0, 10.0]
    assert ds["noise.input_sigma"].attrs["units"] == "Hz"
    assert ds["li.strength"].attrs["units"] == "1"
    assert list(ds.fly.values) == [0, 1]
    expected = {
        "kc_coding_level",
        "kc_rate",
        "pn_rate",
        "apl_rate",
        "kc_late_early_ratio",
        "decoder_accuracy",
    }
    assert set(ds.data_vars) == expected
    for name in expected:
        assert ds[name].dims == ("li.strength", "noise.input_sigma", "fly")
        assert np.isfinite(ds[name].values).all(), name
    assert ((ds.kc_coding_level > 0) & (ds.kc_coding_level < 0.5)).all()
    assert ((ds.decoder_accuracy >= 0) & (ds.decoder_accuracy <= 1)).all()
    # Stronger lateral inhibition makes the KC code sparser.
    level = ds.kc_coding_level.mean(["noise.input_sigma", "fly"])
    assert float(level.sel({"li.strength": 1.0})) < float(level.sel({"li.strength": 0.5}))
    # Each fly is a different wiring: the flies' responses are not copies.
    assert not np.array_equal(ds.kc_rate.isel(fly=0), ds.kc_rate.isel(fly=1))


def test_rerun_computes_nothing(summary_run, tiny):
    store, log, ds = summary_run
    before = len(_calls(log))
    again = scan(
        Counting(summary_experiment(**SUMMARY), log),
        tiny,
        SUMMARY_GRID,
        seeds=[0, 1],
        store=store,
        noise=SUMMARY_NOISE,
        progress=False,
    )
    assert len(_calls(log)) == before
    xr.testing.assert_identical(again, ds)
    # A subset of the grid is read from the store, also without computing.
    part = scan(
        Counting(summary_experiment(**SUMMARY), log),
        tiny,
        {"li.strength": [1.0], "noise.input_sigma": [10 * Hz, 0 * Hz]},
        seeds=[1],
        store=store,
        noise=SUMMARY_NOISE,
        progress=False,
    )
    assert len(_calls(log)) == before
    xr.testing.assert_equal(
        part, ds.sel({"li.strength": [1.0], "noise.input_sigma": [10.0, 0.0], "fly": [1]})
    )


def test_run_scan_file_reuses_the_same_store(summary_run):
    store, log, ds = summary_run
    before = len(_calls(log))
    from_file = run_scan_file(EXAMPLE, store=store, progress=False)
    assert len(_calls(log)) == before  # the file describes exactly the Python scan
    xr.testing.assert_identical(from_file, ds)


def test_extending_the_grid_computes_only_new_points(summary_run, tiny, tmp_path):
    store, log, ds = summary_run
    before = len(_calls(log))
    grid = {"li.strength": [0.5, 1.0, 2.0], "noise.input_sigma": [0 * Hz, 10 * Hz]}
    extended = scan(
        Counting(summary_experiment(**SUMMARY), log),
        tiny,
        grid,
        seeds=[0, 1],
        store=store,
        noise=SUMMARY_NOISE,
        progress=False,
    )
    assert len(_calls(log)) - before == 4  # 1 new strength x 2 noise levels x 2 flies
    assert list(extended["li.strength"].values) == [0.5, 1.0, 2.0]
    xr.testing.assert_equal(extended.sel({"li.strength": [0.5, 1.0]}), ds)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(experiment=dict(SUMMARY, n_trials=5)), "its experiment differ.*n_trials"),
        (dict(params={"li.site": "ln"}), "its base parameters differ.*li.site"),
        (dict(noise=Noise(seed=1)), "its base noise differ.*seed"),
        (dict(grid={"li.strength": [0.5], "sfa.strength": [1.0]}), "its grid paths differ"),
    ],
)
def test_store_of_another_scan_is_refused(summary_run, tiny, change, message):
    store, log, _ = summary_run
    from flysim import with_overrides

    before = len(_calls(log))
    with pytest.raises(StoreMismatchError, match=message) as info:
        scan(
            Counting(summary_experiment(**change.get("experiment", SUMMARY)), log),
            with_overrides(tiny, change.get("params", {})),
            change.get("grid", SUMMARY_GRID),
            seeds=[0, 1],
            store=store,
            noise=change.get("noise", SUMMARY_NOISE),
            progress=False,
        )
    assert "\n" not in str(info.value)
    assert len(_calls(log)) == before


def test_a_store_whose_base_noise_is_in_si_floats_still_resumes(tiny, tmp_path):
    """Stores made before noise had units record it as SI floats (``5e-12`` for 5 pA)."""
    import json

    store, log = tmp_path / "s.zarr", tmp_path / "calls.log"
    noise = Noise(kc_current_sigma=5 * pA, input_tau=20 * ms, seed=2)
    run = dict(seeds=[0], store=store, noise=noise, progress=False)
    first = scan(FakeExperiment(log=log), tiny, FAKE_GRID, **run)
    meta = store / "zarr.json"
    root = json.loads(meta.read_text())
    root["attributes"]["flysim_scan"]["base_noise"] = {
        "input_sigma": 0.0,
        "input_tau": 0.02,
        "background": 0.0,
        "poisson_input": True,
        "kc_current_sigma": 5e-12,
        "kc_current_tau": 0.005,
        "onset_jitter": 0.0,
        "window": "odor",
        "seed": 2,
    }
    meta.write_text(json.dumps(root))
    before = len(_calls(log))
    again = scan(FakeExperiment(log=log), tiny, FAKE_GRID, **run)
    assert len(_calls(log)) == before
    xr.testing.assert_identical(again.drop_attrs(), first.drop_attrs())
    with pytest.raises(StoreMismatchError, match=r"its base noise differ \(seed \(2 -> 3\)\)"):
        other = Noise(kc_current_sigma=5 * pA, input_tau=20 * ms, seed=3)
        scan(FakeExperiment(log=log), tiny, FAKE_GRID, **dict(run, noise=other))


def test_a_directory_that_is_not_a_store_is_refused(tiny, tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "notes.txt").write_text("mine")
    with pytest.raises(StoreMismatchError, match="is not a flysim scan store"):
        scan(
            FakeExperiment(), tiny, FAKE_GRID, seeds=[0], store=tmp_path / "results", progress=False
        )


def test_two_workers_equal_serial(summary_run, tiny, tmp_path):
    _, _, serial = summary_run
    parallel = scan(
        summary_experiment(**SUMMARY),
        tiny,
        SUMMARY_GRID,
        seeds=[0, 1],
        store=tmp_path / "parallel.zarr",
        noise=SUMMARY_NOISE,
        workers=2,
        progress=False,
    )
    xr.testing.assert_identical(parallel, serial)


def test_a_local_cluster_prepares_the_first_point_here_and_a_failure_is_one_line(tiny, tmp_path):
    log = tmp_path / "calls.log"
    parallel = scan(
        Preparing(log=log), tiny, FAKE_GRID, seeds=[0], store=None, workers=2, progress=False
    )
    prepared = [line.split() for line in log.read_text().splitlines() if line.startswith("prepare")]
    assert prepared == [["prepare", str(os.getpid()), "0.5"]]  # once, in this process
    serial = scan(FakeExperiment(), tiny, FAKE_GRID, seeds=[0], store=None, progress=False)
    xr.testing.assert_identical(parallel, serial)
    failing = Preparing(fail=True)
    with pytest.raises(
        ScanPointError, match="^preparing the scan's experiment failed: no compiler"
    ):
        scan(failing, tiny, FAKE_GRID, seeds=[0], workers=2, store=tmp_path / "s", progress=False)


def test_a_running_cluster_by_address_gives_the_serial_result_and_resumes(tiny, tmp_path):
    from distributed import LocalCluster

    serial = scan(FakeExperiment(), tiny, FAKE_GRID, seeds=[0, 1], store=None, progress=False)
    store, log = tmp_path / "cluster.zarr", tmp_path / "calls.log"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True) as cluster:
        address = cluster.scheduler_address
        first = scan(
            FakeExperiment(log=log), tiny, FAKE_GRID, seeds=[0], store=store, scheduler=address,
            progress=False,
        )  # fmt: skip
        both = scan(
            FakeExperiment(log=log), tiny, FAKE_GRID, seeds=[0, 1], store=store,
            scheduler=address, progress=False,
        )  # fmt: skip
    xr.testing.assert_equal(first, serial.sel(fly=[0]))
    xr.testing.assert_identical(both, serial)
    calls = [line.split() for line in _calls(log)]
    assert {c[0] for c in calls} != {str(os.getpid())}  # ran on the cluster's worker
    assert sorted(c[-1] for c in calls) == ["0"] * 4 + ["1"] * 4  # fly 0 not rerun


def test_a_progress_label_names_the_scan_on_its_bar(tiny, capsys):
    scan(FakeExperiment(), tiny, FAKE_GRID, seeds=[0], store=None, progress="arm LI 10%")
    err = capsys.readouterr().err
    assert "arm LI 10%: 100%" in err and "4/4" in err


class WorkerSettings:
    """Returns the dask settings of the process it runs in (a worker, on a cluster)."""

    def describe(self):
        return {"name": "worker-settings"}

    def __call__(self, params, noise, seed):
        import dask

        return xr.Dataset(
            {
                "profiler": ((), int(dask.config.get("distributed.worker.profile.enabled"))),
                "stealing": ((), int(dask.config.get("distributed.scheduler.work-stealing"))),
            }
        )


def test_the_local_clusters_workers_run_without_profiler_and_stealing(tiny):
    settings = scan(
        WorkerSettings(), tiny, {"li.strength": [1.0]}, seeds=[0], store=None, workers=1,
        progress=False,
    )  # fmt: skip
    assert int(settings.profiler) == 0 and int(settings.stealing) == 0
    import dask

    assert dask.config.get("distributed.worker.profile.enabled")  # this process: unchanged


# -- the store with a cheap experiment -------------------------------------------------------------
def test_fake_scan_extends_seeds_and_keeps_string_coords(tiny, tmp_path):
    log, store = tmp_path / "calls.log", tmp_path / "s.zarr"
    first = scan(
        FakeExperiment(log=log), tiny, FAKE_GRID, seeds=[0, 1], store=store, progress=False
    )
    assert len(_calls(log)) == 8
    assert first.response.dims == ("li.strength", "noise.input_sigma", "fly", "odor")
    assert list(first.odor.values) == ["ethyl acetate", "2-heptanone", "MCH"]
    assert first.response.attrs["units"] == "Hz"
    assert float(first.score.sel({"li.strength": 1.0, "noise.input_sigma": 5.0, "fly": 1})) == 16
    more = scan(
        FakeExperiment(log=log), tiny, FAKE_GRID, seeds=[2, 0, 1], store=store, progress=False
    )
    assert len(_calls(log)) == 12  # only fly 2 is new
    assert list(more.fly.values) == [2, 0, 1]
    xr.testing.assert_equal(more.sel(fly=[0, 1]), first)
    in_memory = scan(FakeExperiment(), tiny, FAKE_GRID, seeds=[2, 0, 1], store=None, progress=False)
    xr.testing.assert_identical(in_memory, more)


def test_open_scan_returns_the_latest_scan_from_the_store_alone(tiny, tmp_path):
    store = tmp_path / "s.zarr"
    grid = {"li.strength": [1.0, 0.5], "noise.input_sigma": [5 * Hz, 0 * Hz], "kc.neuron": ["lif"]}
    first = scan(FakeExperiment(), tiny, grid, seeds=[1, 0], store=store, progress=False)
    xr.testing.assert_identical(open_scan(store), first)  # order of values and seeds kept
    assert list(open_scan(str(store))["li.strength"].values) == [1.0, 0.5]
    part = scan(FakeExperiment(), tiny, grid, seeds=[0], store=store, progress=False)
    xr.testing.assert_identical(open_scan(store), part)  # the latest call's grid
    with pytest.raises(ValueError, match=r"is a scan store: read it with flysim.open_scan"):
        flysim.open_result(store)
    # An interrupted call (its request recorded, some points missing) is named, not half-read.
    request = {
        "axes": [
            ["li.strength", [1.0, 0.5, 2.0]],
            ["noise.input_sigma", [5.0, 0.0]],
            ["kc.neuron", ["lif"]],
        ],
        "seeds": [0],
    }
    with ScanStore(store, _identity_of(store)) as st:
        st.write_request(request)
    with pytest.raises(
        ValueError,
        match=r"2 of the latest scan's 6 points are missing \(first: "
        r"li.strength=2.0, noise.input_sigma=5.0, kc.neuron=lif, fly=0\)",
    ):
        open_scan(store)


def _identity_of(store):
    import json

    return json.loads((store / "zarr.json").read_text())["attributes"]["flysim_scan"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.mkdir(), "is not a flysim scan store"),
        (lambda p: None, "is not a flysim scan store"),
    ],
)
def test_open_scan_refuses_what_is_not_a_store(tmp_path, make, message):
    make(tmp_path / "x.zarr")
    with pytest.raises(ValueError, match=message):
        open_scan(tmp_path / "x.zarr")


def test_open_scan_of_a_store_without_request_says_how_to_record_it(tiny, tmp_path):
    store = tmp_path / "s.zarr"
    scan(FakeExperiment(), tiny, FAKE_GRID, seeds=[0], store=store, progress=False)
    (store / "request.json").unlink()  # as a store written before requests were recorded
    with pytest.raises(ValueError, match="records no scan request .* run its scan call once"):
        open_scan(store)


def test_debris_of_a_killed_write_is_ignored_and_removed(tiny, tmp_path):
    store = tmp_path / "s.zarr"
    scan(FakeExperiment(), tiny, FAKE_GRID, seeds=[0], store=store, progress=False)
    points = store / "points"
    victim = sorted(p for p in points.iterdir() if not p.name.startswith("."))[0]
    # A point half-written when its driver died: only ever under a temporary name.
    debris = points / f".tmp-{victim.name}-deadbeef"
    debris.mkdir()
    (debris / "score").mkdir()
    os.rename(victim, points / f".tmp-{victim.name}-0badf00d")  # the point never got renamed
    log = tmp_path / "calls.log"
    ds = scan(FakeExperiment(log=log), tiny, FAKE_GRID, seeds=[0], store=store, progress=False)
    assert len(_calls(log)) == 1
    assert not [p for p in points.iterdir() if p.name.startswith(".tmp-")]
    xr.testing.assert_identical(
        ds, scan(FakeExperiment(), tiny, FAKE_GRID, seeds=[0], store=None, progress=False)
    )


def test_a_store_in_use_is_refused(tiny, tmp_path):
    store = tmp_path / "s.zarr"
    identity_source = scan(
        FakeExperiment(), tiny, FAKE_GRID, seeds=[0], store=store, progress=False
    )
    import json

    with ScanStore(store, json.loads(identity_source.attrs["flysim_scan"])):
        with pytest.raises(RuntimeError, match="in use by another running scan"):
            scan(FakeExperiment(), tiny, FAKE_GRID, seeds=[0], store=store, progress=False)


def test_a_failing_point_names_itself_and_keeps_earlier_points(tiny, tmp_path):
    def fragile(params, noise, seed):
        if seed == 1:
            raise RuntimeError("diverged")
        return xr.Dataset({"x": ((), float(seed))})

    store = tmp_path / "s.zarr"
    with pytest.raises(ScanPointError, match=r"li.strength=0.5, fly=1 failed: diverged"):
        scan(fragile, tiny, {"li.strength": [0.5]}, seeds=[0, 1], store=store, progress=False)
    assert _stored(store) == 1


KILL_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from fakes import FAKE_GRID, PAYLOAD, FakeExperiment
from flysim import load_params
from flysim.scan import scan

scan(FakeExperiment(delay=0.3, log={log!r}, payload=PAYLOAD), load_params("tiny"), FAKE_GRID,
     seeds=[0, 1, 2], store={store!r}, progress=False)
"""


def _writing(store: Path) -> bool:
    points = store / "points"
    return points.is_dir() and any(p.name.startswith(".tmp-") for p in points.iterdir())


def _stored(store: Path) -> int:
    points = store / "points"
    if not points.is_dir():
        return 0
    return sum(1 for p in points.iterdir() if p.is_dir() and not p.name.startswith(".tmp-"))


def test_sigkill_midway_then_rerun_computes_only_missing_points(tiny, tmp_path):
    store, log = tmp_path / "s.zarr", tmp_path / "calls.log"
    script = tmp_path / "run_scan.py"
    script.write_text(KILL_SCRIPT.format(tests=str(TESTS), log=str(log), store=str(store)))
    command = [sys.executable, str(script)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    # Kill while the third point is being written (or, failing that, once it is stored).
    while proc.poll() is None and time.monotonic() < deadline:
        if _stored(store) >= 3 or (_stored(store) == 2 and _writing(store)):
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    stored = _stored(store)
    assert 2 <= stored < 12
    for point in (store / "points").iterdir():  # every point under its final name is whole
        if point.is_dir() and not point.name.startswith(".tmp-"):
            with xr.open_zarr(point, consolidated=False) as ds:
                assert ds.payload.load().size == PAYLOAD
    first_calls = len(_calls(log))

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    second = _calls(log)[first_calls:]
    assert len(second) == 12 - stored  # only the missing points
    assert len({line.split()[0] for line in second}) == 1  # all by the rerun's process

    resumed = scan(
        FakeExperiment(log=log, payload=PAYLOAD),
        tiny,
        FAKE_GRID,
        seeds=[0, 1, 2],
        store=store,
        progress=False,
    )
    assert len(_calls(log)) == first_calls + len(second)  # nothing left to compute
    whole = scan(
        FakeExperiment(payload=PAYLOAD),
        tiny,
        FAKE_GRID,
        seeds=[0, 1, 2],
        store=tmp_path / "whole.zarr",
        progress=False,
    )
    xr.testing.assert_identical(resumed, whole)


def test_a_worker_dying_midpoint_is_retried_elsewhere(tiny, tmp_path):
    import cloudpickle

    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)  # workers need not import this test file
    try:
        store = tmp_path / "s.zarr"
        log = tmp_path / "calls.log"
        ds = scan(
            FakeExperiment(log=log, die_once=str(tmp_path)),
            tiny,
            FAKE_GRID,
            seeds=[0, 1],
            store=store,
            workers=2,
            progress=False,
        )
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    assert (tmp_path / "died").exists()
    calls = [line.split()[1:] for line in _calls(log)]
    assert calls.count(["0.5", "0.0", "1"]) == 2  # killed once, then run again
    assert len(calls) >= 9  # (dask may recompute a result lost with the dead worker)
    assert _stored(store) == 8  # each point once
    xr.testing.assert_identical(
        ds, scan(FakeExperiment(), tiny, FAKE_GRID, seeds=[0, 1], store=None, progress=False)
    )


# -- scan files -----------------------------------------------------------------------------------
def test_example_file_reads(tmp_path):
    config = load_scan_config(EXAMPLE)
    assert config.params.name == "tiny"
    assert config.grid == SUMMARY_GRID
    assert config.seeds == [0, 1]
    assert config.experiment.describe() == summary_experiment(**SUMMARY).describe()
    assert config.noise == SUMMARY_NOISE
    assert config.store == EXAMPLE.parent / "scan_small.zarr"
    assert load_scan_config(EXAMPLE, store=tmp_path / "x").store == tmp_path / "x"


def test_scan_file_quantities_and_dotted_keys(tmp_path):
    path = tmp_path / "scan.toml"
    path.write_text(
        textwrap.dedent("""
        preset = "tiny"
        seeds = [3]
        store = "out.zarr"
        [experiment]
        name = "summary"
        n_trials = 3
        [overrides]
        li.site = "both"
        [grid]
        sfa.tau = { value = [100, 200], unit = "ms" }
        "weights.apl_kc" = [{ value = 10, unit = "nS" }, { value = 20, unit = "nS" }]
        "noise.onset_jitter" = [{ value = 0, unit = "ms" }, { value = 5, unit = "ms" }]
        [noise]
        input_sigma = { value = 2, unit = "Hz" }
        kc_current_sigma = { value = 5, unit = "pA" }
    """)
    )
    config = load_scan_config(path)
    assert config.grid["sfa.tau"] == [100 * ms, 200 * ms]
    assert config.grid["weights.apl_kc"] == [10 * nS, 20 * nS]
    assert config.params.li.site == "both"
    assert config.noise.input_sigma == 2 * Hz and config.noise.kc_current_sigma == 5 * pA
    assert config.experiment.n_trials == 3 and config.store == tmp_path / "out.zarr"
    axes = normalize_grid(config.grid, config.params, config.noise)
    assert [a.coords for a in axes] == [(100.0, 200.0), (10.0, 20.0), (0.0, 5.0)]


def test_scan_files_name_the_li_sfa_experiment_or_a_class_of_ones_own(tmp_path):
    path = tmp_path / "scan.toml"
    grid = "[grid]\n'li.enabled' = [false, true]\n'sfa.enabled' = [false, true]\n"
    path.write_text(
        BASE.replace("summary", "pair_discrimination") + "n_pairs = 2\nmbon_trials = 2\n" + grid
    )
    experiment = load_scan_config(path).experiment
    assert experiment.describe()["name"] == "pair_discrimination"
    assert (experiment.n_pairs, experiment.mbon_trials) == (2, 2)
    path.write_text(BASE.replace("summary", "fakes:FakeExperiment") + "payload = 3\n" + grid)
    assert load_scan_config(path).experiment.describe() == FakeExperiment(payload=3).describe()


BASE = """preset = "tiny"\nseeds = [0]\nstore = "s.zarr"\n[experiment]\nname = "summary"\n"""


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "preset = 'tiny'\n[experiment]\nname='summary'\n[grid]\n'li.strength'=[1.0]\n",
            "missing 'seeds'",
        ),
        (BASE, "missing 'grid'"),
        (BASE + "[grid]\n'li.strength' = [1.0]\nbogus = 1\n", "grid: parameter path 'bogus' must"),
        ("color = 1\n" + BASE, r"unknown keys \['color'\]"),
        (BASE + "[grid]\n'li.strength' = 1.0\n", "grid 'li.strength' must be a list"),
        (BASE + "[grid]\n'li.strength' = []\n", "empty list"),
        (BASE + "[grid]\n'li.strength' = [1.0, 1.0]\n", "lists the value 1.0 twice"),
        (BASE + "[grid]\n'sfa.tau' = {value = [1], unit = 'parsec'}\n", "unknown unit"),
        (BASE + "[grid]\n'sfa.tau' = {value = 1, unit = 'ms'}\n", "value must be a list"),
        (BASE + "[grid]\n'sfa.tau' = [1.0]\n", "needs units of time"),
        (BASE + "[grid]\n'li.nope' = [1.0]\n", "grid: unknown parameter 'li.nope'"),
        (
            BASE.replace("seeds = [0]", "seeds = [0, 0]") + "[grid]\n'li.strength'=[1.0]\n",
            "seeds must be",
        ),
        (
            BASE.replace("summary", "retina") + "[grid]\n'li.strength'=[1.0]\n",
            "unknown experiment 'retina'",
        ),
        (
            BASE.replace("summary", "no_such_module:Thing") + "[grid]\n'li.strength'=[1.0]\n",
            "experiment 'no_such_module:Thing': cannot import module 'no_such_module'",
        ),
        (
            BASE.replace("summary", "fakes:Nothing") + "[grid]\n'li.strength'=[1.0]\n",
            "experiment 'fakes:Nothing': module 'fakes' has no 'Nothing'",
        ),
        (
            BASE.replace("summary", "fakes:PAYLOAD") + "[grid]\n'li.strength'=[1.0]\n",
            "experiment 'fakes:PAYLOAD' is not a class or function",
        ),
        (
            BASE + "n_odorz = 3\n[grid]\n'li.strength'=[1.0]\n",
            "unknown setting 'experiment.n_odorz'",
        ),
        (BASE + "n_trials = 1\n[grid]\n'li.strength'=[1.0]\n", "n_trials must be"),
        (
            BASE + "[grid]\n'li.strength'=[1.0]\n[noise]\nloud = 1\n",
            r"unknown parameter 'noise.loud' \(known in \[noise\]: input_sigma",
        ),
        (
            BASE + "[grid]\n'li.strength'=[1.0]\n[noise]\nonset_jitter = 5\n",
            r"'noise.onset_jitter' needs units of time \(s\)",
        ),
        (
            BASE + "[grid]\n'li.strength'=[1.0]\n[noise]\ninput_sigma = -1\n",
            r"'noise.input_sigma' needs units of rate \(Hz\)",
        ),
        (
            BASE + "[grid]\n'li.strength'=[1.0]\n[noise]\ninput_sigma = {value=-1, unit='Hz'}\n",
            "parameter 'noise.input_sigma' must be >= 0",
        ),
        (
            BASE + "[grid]\n'noise.input_sigma' = [0.0, 10.0]\n",
            r"'noise.input_sigma' needs units of rate \(Hz\)",
        ),
        (
            BASE.replace('store = "s.zarr"\n', "") + "[grid]\n'li.strength'=[1.0]\n",
            "missing 'store'",
        ),
        (BASE.replace("tiny", "mouse") + "[grid]\n'li.strength'=[1.0]\n", "unknown preset"),
        (BASE + "[grid]\n'li.strength'=[1.0]\n[overrides]\n'li.strength' = -3.0\n", ">= 0"),
        ("seeds = [0\n", "not valid TOML"),
    ],
)
def test_scan_file_errors_are_one_line(tmp_path, text, message):
    path = tmp_path / "scan.toml"
    path.write_text(text)
    with pytest.raises(ScanConfigError, match=message) as info:
        load_scan_config(path)
    assert "\n" not in str(info.value) or "TOML" in str(info.value)
    assert str(path) in str(info.value)


def test_missing_scan_file(tmp_path):
    with pytest.raises(ScanConfigError, match="does not exist"):
        run_scan_file(tmp_path / "nope.toml")
