"""Parameter scans: an experiment over a grid of circuit and noise values, stored point by point.

.. code-block:: python

    import flysim
    from brian2 import Hz
    from flysim.experiments import summary_experiment
    from flysim.scan import scan

    params = flysim.load_params("tiny")
    ds = scan(
        summary_experiment(n_odors=4, n_trials=4),
        params,
        {"li.strength": [0.5, 1.0], "noise.input_sigma": [0 * Hz, 10 * Hz]},
        seeds=[0, 1],
        store="li_noise.zarr",
    )
    ds.decoder_accuracy.sel({"li.strength": 0.5})   # dims: li.strength, noise.input_sigma, fly

- **Grid**: ``{"group.name": [values]}`` are circuit parameters, ``{"noise.<field>": [values]}``
  fields of the base ``flysim.Noise`` (both resolved by ``flysim.params.apply_overrides``, so
  values are checked and take units as everywhere else). One result dim per path,
  named by the path, with plain-float coordinates in the parameter's TOML unit
  (``attrs["units"]``), plus ``fly`` (the wiring seeds).
- **Experiment**: any picklable ``experiment(params, noise, seed) -> xarray.Dataset``. A
  ``describe()`` method (a JSON-able dict) says what the store records about it; otherwise its
  qualified name and ``vars()`` are recorded. An optional ``prepare(params, noise)`` method
  (e.g. compiling its network) is called in this process, for the first point, while a local
  cluster's workers start. Built in: ``flysim.experiments.summary_experiment``.
- **Store**: a directory (zarr, see ``flysim.scan.store``). Finished points are written as they
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

Each worker compiles a network structure once into its ``FLYSIM_CACHE_DIR`` and reuses it for
every point. One cache shared by all nodes is safe, heterogeneous nodes included: builds use
``-march=native``, and a cache entry's name holds a fingerprint of the compiler, its version, the
flags and the CPU target they resolve to, so each kind of node builds and runs its own binaries
(one compile per structure and kind of node). Builds are locked (``flock``: on a network
filesystem only if it supports it, e.g. NFS with locking, Lustre mounted with ``-o flock``), an
entry is checked against its checksums before its first run in a process and rebuilt if damaged,
and the folders of killed processes are removed by the next process on the same node. A
node-local cache (``$TMPDIR``, local disk) needs no network-filesystem locking and keeps each
run's files (``runs/`` in the cache) off the network, at one compile per node. Results do not
depend on the number of workers: every point is a pure function of (experiment, parameters,
noise, fly seed). Nodes of different CPU targets run different binaries; for the tiny circuit
``-march=x86-64`` and a native build gave identical numbers, but with ``-ffast-math``
bit-identity across targets is not guaranteed.
"""

from __future__ import annotations

import itertools

import xarray as xr

from ..params import CircuitParams, apply_overrides, params_to_dict
from ..params.noise import Noise
from ..params.units import shown
from .assemble import assemble
from .execute import ScanPointError, execute, point_key, point_label
from .experiment import describe_experiment
from .grid import Axis, axis_of, check_seeds, normalize_grid
from .store import FORMAT, MemoryStore, ScanStore, StoreMismatchError, read_store

__all__ = [
    "scan",
    "open_scan",
    "Axis",
    "normalize_grid",
    "describe_experiment",
    "ScanPointError",
    "StoreMismatchError",
]


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
    progress: bool | str = True,
    retries: int = 2,
) -> xr.Dataset:
    """Run ``experiment`` at every point of ``grid`` for every fly seed; store and return results.

    Parameters
    ----------
    experiment : callable
        ``experiment(params, noise, seed) -> xarray.Dataset``; picklable to run on workers.
    base_params : CircuitParams
        The circuit the grid values are applied to (``flysim.params.apply_overrides``).
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
    progress : bool or str
        Show a tqdm bar over points (with ETA); a string labels the bar (default ``scan``), so
        a run of several scans says which one is running.
    retries : int
        Extra attempts of a point that raised on a worker.

    Returns
    -------
    xarray.Dataset
        The experiment's variables with dims ``(*grid paths, fly, *experiment dims)``, read back
        from the store (so a resumed scan returns exactly what an uninterrupted one does).
    """
    noise = Noise() if noise is None else noise
    _check_types(base_params, noise)
    axes = normalize_grid(grid, base_params, noise)
    seeds = check_seeds(seeds)
    _check_executor(workers, scheduler)
    identity = {
        "format": FORMAT,
        "experiment": describe_experiment(experiment),
        "base_params": params_to_dict(base_params),
        "base_noise": noise.to_dict(),
        "grid_paths": sorted(a.path for a in axes),
    }
    points = _points(axes, seeds)
    opened = MemoryStore(identity) if store is None else ScanStore(store, identity)
    with opened as st:
        st.write_request({"axes": [[a.path, list(a.coords)] for a in axes], "seeds": seeds})
        tasks = _missing_tasks(points, axes, st.keys(), base_params, noise)
        _run(tasks, len(points), st, experiment, workers, scheduler, retries, progress)
        datasets = [st.read(point_key(p["values"], p["seed"]), p) for p, _ in points]
    return assemble(datasets, axes, seeds, identity)


def open_scan(store) -> xr.Dataset:
    """The Dataset of the latest ``scan`` call on ``store``, read from the store alone (equal
    to what that call returned; nothing is computed). A one-line ``ValueError`` if ``store`` is
    not a scan store, was written by another flysim major.minor, or misses points of that call
    (an interrupted scan: rerun it to finish)."""
    identity, request = read_store(store)
    axes = [axis_of(path, coords) for path, coords in request["axes"]]
    seeds = check_seeds(request["seeds"])
    points = _points(axes, seeds)
    reader = ScanStore(store, identity)  # reads only: no lock, so a running scan may write on
    done = reader.keys()
    missing = [p for p, _ in points if point_key(p["values"], p["seed"]) not in done]
    if missing:
        raise ValueError(
            f"store '{store}': {len(missing)} of the latest scan's {len(points)} points are "
            f"missing (first: {point_label(missing[0])}); rerun the scan to finish it"
        )
    datasets = [reader.read(point_key(p["values"], p["seed"]), p) for p, _ in points]
    return assemble(datasets, axes, seeds, identity)


def _check_types(base_params, noise) -> None:
    if not isinstance(noise, Noise):
        raise TypeError(f"noise must be a flysim.Noise, got {type(noise).__name__}")
    if not isinstance(base_params, CircuitParams):
        raise TypeError(f"base_params must be CircuitParams, got {type(base_params).__name__}")


def _check_executor(workers, scheduler) -> None:
    if workers is not None and scheduler is not None:
        raise ValueError("give either workers (a local cluster) or scheduler, not both")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ValueError(f"workers must be a positive integer or None, got {shown(workers)}")


def _points(axes: list[Axis], seeds: list[int]) -> list[tuple[dict, tuple]]:
    """Every (grid point, fly) as ``({"values": {path: coord}, "seed": seed}, coords)``."""
    points = []
    for combo in itertools.product(*(a.coords for a in axes)):
        for seed in seeds:
            values = {a.path: c for a, c in zip(axes, combo, strict=True)}
            points.append(({"values": values, "seed": seed}, combo))
    return points


def _missing_tasks(points, axes, done: set, base_params, noise) -> list[tuple]:
    """``(key, point, params, noise, seed)`` of each point not in the store yet (once each)."""
    done = set(done)
    tasks = []
    for point, combo in points:
        key = point_key(point["values"], point["seed"])
        if key in done:
            continue
        values = {a.path: a.value(c) for a, c in zip(axes, combo, strict=True)}
        try:
            params, point_noise = apply_overrides(base_params, noise, values)
        except (TypeError, ValueError) as error:
            raise ValueError(f"grid point {point_label(point)}: {error}") from None
        tasks.append((key, point, params, point_noise, point["seed"]))
        done.add(key)
    return tasks


def _run(tasks, n_points, st, experiment, workers, scheduler, retries, progress) -> None:
    """Compute ``tasks`` into the store ``st``, with a progress bar over all ``n_points``."""
    from tqdm.auto import tqdm

    with tqdm(
        total=n_points,
        initial=n_points - len(tasks),
        desc=progress if isinstance(progress, str) else "scan",
        unit="point",
        disable=not progress,
    ) as bar:
        if tasks:
            execute(tasks, st, experiment, workers, scheduler, retries, bar)
