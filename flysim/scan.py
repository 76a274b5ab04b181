"""Parameter scans: an experiment over a grid of circuit and noise values, stored point by point.

.. code-block:: python

    import flysim
    from flysim.scan import scan, summary_experiment

    params = flysim.load_params("tiny")
    ds = scan(
        summary_experiment(n_odors=4, n_trials=4),
        params,
        {"li.strength": [0.5, 1.0], "noise.input_sigma": [0.0, 10.0]},
        seeds=[0, 1],
        store="li_noise.zarr",
    )
    ds.decoder_accuracy.sel({"li.strength": 0.5})   # dims: li.strength, noise.input_sigma, fly

- **Grid**: ``{"group.name": [values]}`` are circuit parameters (``flysim.with_overrides``),
  ``{"noise.<field>": [values]}`` fields of the base ``flysim.Noise``. One result dim per path,
  named by the path, with plain-float coordinates in the parameter's TOML unit
  (``attrs["units"]``), plus ``fly`` (the wiring seeds).
- **Experiment**: any picklable ``experiment(params, noise, seed) -> xarray.Dataset``. A
  ``describe()`` method (a JSON-able dict) says what the store records about it; otherwise its
  qualified name and ``vars()`` are recorded. An optional ``prepare(params, noise)`` method
  (e.g. compiling its network) is called in this process, for the first point, while a local
  cluster's workers start. Built in: ``summary_experiment``.
- **Store**: a directory (zarr, see ``flysim.scan_store``). Finished points are written as they
  arrive, each atomically, so an interrupted scan (even ``kill -9``) resumes by computing only
  the missing points; a grid extended with new values computes only the new points. A store made
  by another experiment, base parameters, base noise or set of grid paths is refused.
- **Execution**: ``workers=None`` runs in this process; ``workers=N`` starts a
  ``dask.distributed.LocalCluster(n_workers=N, threads_per_worker=1, processes=True)``;
  ``scheduler="tcp://host:port"`` (or a ``distributed.Client``) uses a running cluster. One task
  per (grid point, fly), retried on error; a task whose worker dies is rescheduled by dask. Only
  this (driver) process writes to the store. Scripts that start a LocalCluster need the usual
  ``if __name__ == "__main__":`` guard (workers are spawned processes).

On a SLURM cluster (``pip install dask-jobqueue``)::

    from dask_jobqueue import SLURMCluster

    cluster = SLURMCluster(cores=1, processes=1, memory="4GB", walltime="02:00:00",
                           job_script_prologue=["export FLYSIM_CACHE_DIR=/scratch/$USER/flysim"])
    cluster.scale(jobs=20)                       # 20 single-core workers
    ds = scan(experiment, params, grid, seeds=range(10), store="scan.zarr",
              scheduler=cluster.scheduler_address)

Each worker compiles a network structure once into its ``FLYSIM_CACHE_DIR`` (a shared or
node-local directory; builds are locked, so workers can share one) and reuses it for every point.
Results do not depend on the number or kind of workers: every point is a pure function of
(experiment, parameters, noise, fly seed).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hashlib
import inspect
import itertools
import json
import math
import os
import threading
import uuid
from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import Quantity

from .noise import Noise
from .params import CircuitParams, get_path, known_paths, params_to_dict, with_overrides
from .params.schema import GROUPS
from .params.units import UNITS, parse_quantity, quantity_to_toml, shown
from .provenance import package_versions
from .scan_store import FORMAT, MemoryStore, ScanStore, StoreMismatchError

__all__ = [
    "scan",
    "summary_experiment",
    "SummaryExperiment",
    "EXPERIMENTS",
    "Axis",
    "normalize_grid",
    "describe_experiment",
    "ScanPointError",
    "StoreMismatchError",
]

#: TOML unit of each numeric Noise field (coordinates are expressed in it).
NOISE_UNITS = {
    "input_sigma": "Hz",
    "input_tau": "ms",
    "background": "1",
    "kc_current_sigma": "pA",
    "kc_current_tau": "ms",
    "onset_jitter": "ms",
}
_NOISE_QUANTITIES = {"input_tau", "kc_current_sigma", "kc_current_tau", "onset_jitter"}
_NOISE_FIELDS = [f.name for f in dataclasses.fields(Noise)]
#: Point attr: the compiled structures (``simulate``'s ``structure_key``) a point ran.
_STRUCTURES = "structure_keys"


class ScanPointError(RuntimeError):
    """One point of a scan failed; the points finished before it are in the store."""


# -- the grid -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Axis:
    """One grid path: its coordinates (plain values, in ``unit``) and how to rebuild values."""

    path: str
    coords: tuple
    unit: str | None  # TOML unit of a numeric value ("1" if dimensionless), None otherwise
    kind: str  # quantity | number | integer | flag | choice | noise

    @property
    def is_noise(self) -> bool:
        return self.path.startswith("noise.")

    def value(self, coord):
        """The value a coordinate stands for (a Quantity for quantities, None for a NaN tau)."""
        if self.kind == "quantity" or (self.is_noise and self.path[6:] in _NOISE_QUANTITIES):
            if isinstance(coord, float) and math.isnan(coord):
                return None
            return coord * UNITS[self.unit]
        return coord


def _plain(value, unit):
    """A quantity or number as a plain float in ``unit`` (representation noise removed)."""
    if isinstance(value, Quantity):
        return quantity_to_toml(value, unit)["value"]
    return float(value)


def _check_path(path) -> tuple[str, str]:
    if not isinstance(path, str) or path.count(".") != 1:
        raise ValueError(
            f"grid path {path!r} must look like 'group.name' (e.g. 'li.strength') or "
            f"'noise.field' (e.g. 'noise.input_sigma')"
        )
    group, name = path.split(".")
    if group == "noise":
        if name not in _NOISE_FIELDS:
            raise ValueError(
                f"unknown grid path {path!r} (noise fields: {', '.join(_NOISE_FIELDS)})"
            )
    elif group not in GROUPS:
        raise ValueError(f"unknown grid path {path!r} (groups: {', '.join(GROUPS)}, noise)")
    elif path not in known_paths():
        names = [f.name for f in dataclasses.fields(GROUPS[group])]
        raise ValueError(f"unknown grid path {path!r} (known in [{group}]: {', '.join(names)})")
    return group, name


def _values_list(path, values) -> list:
    if isinstance(values, (list, tuple)):
        values = list(values)
    elif isinstance(values, np.ndarray) and values.ndim == 1:
        values = [values[i] for i in range(len(values))]  # keeps units of a Quantity array
    else:
        raise ValueError(
            f"grid '{path}' must be a list of values, got {type(values).__name__} {shown(values)}"
        )
    if not values:
        raise ValueError(f"grid '{path}' has an empty list of values")
    return values


def _axis(path, values, base_params: CircuitParams, base_noise: Noise) -> Axis:
    group, name = _check_path(path)
    values = _values_list(path, values)
    coords = []
    if group == "noise":
        unit = NOISE_UNITS.get(name)
        kind = "noise"
        for value in values:
            if isinstance(value, dict):
                value = parse_quantity(path, value)
            if isinstance(value, np.generic):
                value = value.item()
            try:
                noise = dataclasses.replace(base_noise, **{name: value})
            except (TypeError, ValueError) as error:
                raise ValueError(f"grid '{path}': value {shown(value)}: {error}") from None
            typed = getattr(noise, name)
            if typed is None:
                coords.append(float("nan"))
            elif unit is not None:
                coords.append(_plain(typed, unit))
            else:
                coords.append(typed if isinstance(typed, (bool, str)) else int(typed))
    else:
        meta = next(f for f in dataclasses.fields(GROUPS[group]) if f.name == name).metadata
        kind = meta.get("kind")
        unit = meta.get("unit") if kind in ("quantity", "number") else None
        for value in values:
            if isinstance(value, np.generic):
                value = value.item()
            try:
                typed = get_path(with_overrides(base_params, {path: value}), path)
            except (TypeError, ValueError) as error:
                message = str(error)
                raise ValueError(
                    message if path in message else f"grid '{path}': {message}"
                ) from None
            if kind in ("quantity", "number"):
                coords.append(_plain(typed, unit))
            elif kind == "integer":
                coords.append(int(typed))
            else:
                coords.append(typed)
    seen = set()
    for coord in coords:
        marker = json.dumps(coord)
        if marker in seen:
            text = f"{coord} {unit}" if unit not in (None, "1") else repr(coord)
            raise ValueError(f"grid '{path}' lists the value {text} twice")
        seen.add(marker)
    return Axis(path=path, coords=tuple(coords), unit=unit, kind=kind)


def normalize_grid(grid, base_params: CircuitParams, base_noise: Noise | None = None):
    """Check a grid and turn it into a list of ``Axis`` (one per path, in the grid's order).

    Raises a one-line ``ValueError`` for a non-dict grid, unknown paths, non-list or empty value
    lists, invalid values (units, ranges) and duplicated values.
    """
    base_noise = Noise() if base_noise is None else base_noise
    if not isinstance(grid, dict):
        raise ValueError(f"grid must be a dict of path -> list of values, got {shown(grid)}")
    return [_axis(path, values, base_params, base_noise) for path, values in grid.items()]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _seeds(seeds) -> list[int]:
    given = [seeds] if _is_int(seeds) else seeds
    if isinstance(given, (str, bytes, dict)) or not isinstance(
        given, (list, tuple, range, np.ndarray)
    ):
        given = None
    if (
        given is None
        or not len(given)
        or not all(_is_int(s) and s >= 0 for s in given)
        or len(set(map(int, given))) != len(given)
    ):
        raise ValueError(
            f"seeds must be a non-empty list of distinct integers >= 0, got {shown(seeds)}"
        )
    return [int(s) for s in given]


# -- experiments ----------------------------------------------------------------------------------
def _jsonable(value):
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    return repr(value)


def describe_experiment(experiment) -> dict:
    """What a store records about an experiment (a JSON-able dict)."""
    if not callable(experiment):
        raise TypeError(
            f"experiment must be callable as experiment(params, noise, seed), got {experiment!r}"
        )
    if hasattr(experiment, "describe"):
        description = experiment.describe()
        if not isinstance(description, dict):
            raise TypeError(f"{experiment!r}.describe() must return a dict")
    elif isinstance(experiment, functools.partial):
        description = {
            "function": _jsonable(experiment.func),
            "args": list(experiment.args),
            "kwargs": dict(experiment.keywords),
        }
    elif inspect.isfunction(experiment) or inspect.ismethod(experiment):
        description = {"function": _jsonable(experiment)}
    else:
        cls = type(experiment)
        description = {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "settings": dict(getattr(experiment, "__dict__", {})),
        }
    return json.loads(json.dumps(description, sort_keys=True, default=_jsonable))


class SummaryExperiment:
    """A fly's summary on a synthetic odor panel: coding level, rates, adaptation, decoding.

    Returns a Dataset of scalars: ``kc_coding_level`` (fraction of KC x odor x trial with a
    spike in the odor window), ``kc_rate``, ``pn_rate`` and ``apl_rate`` (Hz, odor window),
    ``kc_late_early_ratio`` (KC spikes in the second half of the odor over the first; NaN if
    none in the first) and ``decoder_accuracy`` (``flysim.analysis.decoding_accuracy`` of odor
    identity from single-trial KC counts, chance ``1/n_odors``).
    """

    name = "summary"

    def __init__(
        self,
        *,
        n_odors: int = 4,
        n_trials: int = 4,
        odor_seed: int = 0,
        n_folds: int | None = None,
        decoder_seed: int = 0,
    ):
        for key, value, low in (
            ("n_odors", n_odors, 2),
            ("n_trials", n_trials, 2),
            ("odor_seed", odor_seed, 0),
            ("decoder_seed", decoder_seed, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(
                    f"summary experiment: {key} must be an integer >= {low}, got {shown(value)}"
                )
        n_folds = min(5, int(n_trials)) if n_folds is None else n_folds
        if not _is_int(n_folds) or not 2 <= n_folds <= n_trials:
            raise ValueError(
                f"summary experiment: n_folds must be an integer in [2, n_trials], got {n_folds!r}"
            )
        self.n_odors, self.n_trials, self.odor_seed = int(n_odors), int(n_trials), int(odor_seed)
        self.n_folds, self.decoder_seed = int(n_folds), int(decoder_seed)

    def describe(self) -> dict:
        return {"name": self.name, **vars(self)}

    def __repr__(self):
        return "summary_experiment(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"

    def __call__(self, params: CircuitParams, noise: Noise, seed: int) -> xr.Dataset:
        from .analysis import decoding_accuracy
        from .odors import synthetic_panel
        from .simulation import simulate

        panel = synthetic_panel(
            self.n_odors, n_glomeruli=params.network.n_glomeruli, seed=self.odor_seed
        )
        ds = simulate(params, panel, n_trials=self.n_trials, noise=noise, seed=int(seed))
        start, stop = json.loads(ds.attrs["odor_window_s"])
        window = stop - start
        counts = ds.kc_spike_count
        early, late = int(ds.kc_spike_count_early.sum()), int(ds.kc_spike_count_late.sum())
        in_odor = (ds.time > start) & (ds.time < stop)
        accuracy = decoding_accuracy(
            counts.astype(float),
            label_dim="odor",
            trial_dim="trial",
            feature_dim="kc",
            n_folds=self.n_folds,
            seed=self.decoder_seed,
        )
        scalars = {
            "kc_coding_level": (float((counts > 0).mean()), "1", "fraction of KC responses"),
            "kc_rate": (float(counts.mean()) / window, "Hz", "KC rate, odor window"),
            "pn_rate": (float(ds.pn_spike_count.mean()) / window, "Hz", "PN rate, odor window"),
            "apl_rate": (float(ds.apl_activity.where(in_odor).mean()), "Hz", "APL rate, odor"),
            "kc_late_early_ratio": (
                late / early if early else float("nan"),
                "1",
                "KC spikes, late over early half of the odor",
            ),
            "decoder_accuracy": (
                float(accuracy),
                "1",
                f"odor decoding accuracy (chance {1 / self.n_odors:.3g})",
            ),
        }
        return xr.Dataset(
            {k: ((), v, {"units": u, "long_name": n}) for k, (v, u, n) in scalars.items()}
        )


def summary_experiment(**settings) -> SummaryExperiment:
    """The built-in summary experiment (see ``SummaryExperiment`` for settings and outputs)."""
    return SummaryExperiment(**settings)


#: Experiments by name, as used in scan files (``[experiment] name = "summary"``).
EXPERIMENTS = {"summary": SummaryExperiment}


# -- running --------------------------------------------------------------------------------------


def _point_key(values: dict, seed: int) -> str:
    text = json.dumps({"values": values, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _run_point(experiment, params, noise, seed) -> xr.Dataset:
    """The task of one (grid point, fly): runs on a worker, returns the Dataset (never writes)."""
    from .engine.build import structure_keys_used

    before = len(structure_keys_used())
    ds = experiment(params, noise, seed)
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"experiment must return an xarray.Dataset, got {type(ds).__name__}")
    keys = sorted(set(structure_keys_used()[before:]))
    return ds.assign_attrs({_STRUCTURES: json.dumps(keys)}) if keys else ds


def _worker_env() -> dict:
    return {k: v for k, v in os.environ.items() if k.startswith("FLYSIM_")}


#: dask settings of the local cluster a scan starts. Its workers' statistical profiler (a stack
#: sample every 10 ms), the scheduler's work stealing (every 100 ms; tasks are queued on the
#: scheduler anyway) and its 20 ms event-loop tick took ~0.17 of a core from the simulations on
#: a 2-core host, idle (0.02 without): dask's defaults are for clusters of many short tasks.
_LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.scheduler.work-stealing": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}


def _prepare_in_background(experiment, params, noise) -> concurrent.futures.Future:
    """Run ``experiment.prepare(params, noise)`` (if it has one: e.g. compile its network) in
    a thread; its error, if any, is raised as one line by the future's ``result()``."""
    done = concurrent.futures.Future()

    def prepare():
        try:
            getattr(experiment, "prepare", lambda params, noise: None)(params, noise)
        except Exception as error:
            done.set_exception(ScanPointError(f"preparing the scan's experiment failed: {error}"))
        else:
            done.set_result(None)

    threading.Thread(target=prepare, name="flysim-scan-prepare", daemon=True).start()
    return done


def _point_label(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point["values"].items()) + f", fly={point['seed']}"


def _execute(tasks, store, experiment, workers, scheduler, retries, bar):
    """Run ``tasks`` [(key, point, params, noise, seed)], writing each result as it finishes."""
    if workers is None and scheduler is None:
        for key, point, params, noise, seed in tasks:
            try:
                ds = _run_point(experiment, params, noise, seed)
            except Exception as error:
                raise ScanPointError(f"scan point {_point_label(point)} failed: {error}") from error
            store.write(key, ds, point)
            bar.update()
        return
    import dask
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is not None and not isinstance(scheduler, str):
        client, owned = scheduler, False  # a distributed.Client given by the caller
    elif scheduler is not None:
        client, owned = Client(scheduler), True
    else:
        # The first point's network compiles here while the workers start; they find it built.
        compiled = _prepare_in_background(experiment, *tasks[0][2:4])
        with dask.config.set(_LOCAL_CLUSTER_CONFIG):  # the workers get a copy at start
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env=_worker_env(),
            )
        client, owned = Client(cluster), True
    try:
        if cluster is not None:
            compiled.result()
        futures = {}
        for key, point, params, noise, seed in tasks:
            future = client.submit(
                _run_point,
                experiment,
                params,
                noise,
                seed,
                key=f"flysim-scan-{key}-{uuid.uuid4().hex[:8]}",
                retries=retries,
                pure=False,
            )
            futures[future] = (key, point)
        try:
            for future in as_completed(list(futures)):
                key, point = futures.pop(future)
                try:
                    ds = future.result()
                except Exception as error:
                    raise ScanPointError(
                        f"scan point {_point_label(point)} failed: {error}"
                    ) from error
                future.release()
                store.write(key, ds, point)
                bar.update()
        finally:
            if futures:
                client.cancel(list(futures))
    finally:
        if owned:
            client.close()
        if cluster is not None:
            cluster.close()


def _assemble(datasets, axes, seeds, identity) -> xr.Dataset:
    names = [a.path for a in axes] + ["fly"]
    for ds in datasets[:1]:
        clash = set(ds.dims) & set(names)
        if clash:
            raise ValueError(f"experiment results have dims {sorted(clash)}, which the scan uses")
    shape = [len(a.coords) for a in axes] + [len(seeds)]
    try:
        stacked = xr.concat(
            datasets,
            dim="__point",
            data_vars="all",
            coords="different",
            compat="equals",
            join="exact",
            combine_attrs="override",
        )
    except ValueError as error:
        message = str(error).splitlines()[0]
        raise ValueError(
            f"the experiment's results at different points do not line up ({message}); an "
            f"experiment must return the same variables and coordinates at every point"
        ) from None
    variables, coords = {}, {}
    for name, var in stacked.variables.items():
        if "__point" in var.dims:
            var = var.transpose("__point", ...)
            var = xr.Variable(
                names + list(var.dims[1:]),
                var.values.reshape(shape + list(var.shape[1:])),
                var.attrs,
            )
        (coords if name in stacked.coords else variables)[name] = var
    for axis in axes:
        coords[axis.path] = xr.Variable(
            axis.path,
            np.asarray(axis.coords),
            {
                "long_name": axis.path,
                "units": axis.unit if axis.unit is not None else "",
                **({"nan_means": "None"} if axis.path == "noise.input_tau" else {}),
            },
        )
    coords["fly"] = xr.Variable("fly", np.asarray(seeds), {"long_name": "wiring (fly) seed"})
    order = list(datasets[0].data_vars) if datasets else []
    variables = {name: variables[name] for name in order + sorted(set(variables) - set(order))}
    out = xr.Dataset(variables, coords=coords)
    structures = {k for ds in datasets for k in json.loads(ds.attrs.get(_STRUCTURES, "[]"))}
    out.attrs = {
        "title": "flysim scan",
        "flysim_scan": json.dumps(identity, sort_keys=True),
        "grid": json.dumps({a.path: list(a.coords) for a in axes}),
        "wiring_seeds": json.dumps(list(seeds)),
        "structure_keys": json.dumps(sorted(structures)),
        "versions": json.dumps(package_versions()),
    }
    return out


def scan(
    experiment,
    base_params: CircuitParams,
    grid: dict,
    *,
    seeds,
    store,
    noise: Noise | None = None,
    workers: int | None = None,
    scheduler=None,
    progress: bool = True,
    retries: int = 2,
) -> xr.Dataset:
    """Run ``experiment`` at every point of ``grid`` for every fly seed; store and return results.

    Parameters
    ----------
    experiment : callable
        ``experiment(params, noise, seed) -> xarray.Dataset``; picklable to run on workers.
    base_params : CircuitParams
        The circuit the grid values are applied to (``flysim.with_overrides``).
    grid : dict
        ``{"group.name" or "noise.field": [values]}``; values are quantities, numbers, bools,
        strings or ``{"value": ..., "unit": ...}`` dicts.
    seeds : int or list of int
        Wiring ("fly") seeds; the ``fly`` dim.
    store : str or Path or None
        Directory of the zarr store (created if missing). None keeps results in memory only.
    noise : Noise
        Base noise; ``noise.*`` grid paths replace its fields (default ``Noise()``).
    workers : int
        Run on a new local dask cluster of this many single-threaded worker processes.
    scheduler : str or distributed.Client
        Address of a running dask scheduler (or a client) instead of a local cluster.
    progress : bool
        Show a tqdm bar over points (with ETA).
    retries : int
        Extra attempts of a point that raised on a worker.

    Returns
    -------
    xarray.Dataset
        The experiment's variables with dims ``(*grid paths, fly, *experiment dims)``, read back
        from the store (so a resumed scan returns exactly what an uninterrupted one does).
    """
    noise = Noise() if noise is None else noise
    if not isinstance(noise, Noise):
        raise TypeError(f"noise must be a flysim.Noise, got {type(noise).__name__}")
    if not isinstance(base_params, CircuitParams):
        raise TypeError(f"base_params must be CircuitParams, got {type(base_params).__name__}")
    axes = normalize_grid(grid, base_params, noise)
    seeds = _seeds(seeds)
    if workers is not None and scheduler is not None:
        raise ValueError("give either workers (a local cluster) or scheduler, not both")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be a positive integer or None, got {shown(workers)}")
    identity = {
        "format": FORMAT,
        "experiment": describe_experiment(experiment),
        "base_params": params_to_dict(base_params),
        "base_noise": noise.to_dict(),
        "grid_paths": sorted(a.path for a in axes),
    }
    points = []
    for combo in itertools.product(*(a.coords for a in axes)):
        for seed in seeds:
            values = {a.path: c for a, c in zip(axes, combo, strict=True)}
            points.append(({"values": values, "seed": seed}, combo))
    opened = MemoryStore(identity) if store is None else ScanStore(store, identity)
    with opened as st:
        done = st.keys()
        tasks = []
        for point, combo in points:
            key = _point_key(point["values"], point["seed"])
            if key in done:
                continue
            param_values = {
                a.path: a.value(c) for a, c in zip(axes, combo, strict=True) if not a.is_noise
            }
            noise_values = {
                a.path[6:]: a.value(c) for a, c in zip(axes, combo, strict=True) if a.is_noise
            }
            try:
                params = with_overrides(base_params, param_values)
                point_noise = dataclasses.replace(noise, **noise_values)
            except (TypeError, ValueError) as error:
                raise ValueError(f"grid point {_point_label(point)}: {error}") from None
            tasks.append((key, point, params, point_noise, point["seed"]))
            done.add(key)
        from tqdm.auto import tqdm

        with tqdm(
            total=len(points),
            initial=len(points) - len(tasks),
            desc="scan",
            unit="point",
            disable=not progress,
        ) as bar:
            if tasks:
                _execute(tasks, st, experiment, workers, scheduler, retries, bar)
        datasets = [st.read(_point_key(p["values"], p["seed"]), p) for p, _ in points]
    return _assemble(datasets, axes, seeds, identity)
