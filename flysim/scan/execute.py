"""Running a scan's points: in this process, or on a dask cluster (local or remote); each
finished point is written to the store by this (the driver) process as it arrives."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import threading
import uuid

from .experiment import run_point

__all__ = ["execute", "point_key", "point_label", "ScanPointError"]


class ScanPointError(RuntimeError):
    """One point of a scan failed; the points finished before it are in the store."""


def point_key(values: dict, seed: int) -> str:
    text = json.dumps({"values": values, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


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


def point_label(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point["values"].items()) + f", fly={point['seed']}"


def execute(tasks, store, experiment, workers, scheduler, retries, bar):
    """Run ``tasks`` [(key, point, params, noise, seed)], writing each result as it finishes."""
    if workers is None and scheduler is None:
        for key, point, params, noise, seed in tasks:
            try:
                ds = run_point(experiment, params, noise, seed)
            except Exception as error:
                raise ScanPointError(f"scan point {point_label(point)} failed: {error}") from error
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
                run_point,
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
                        f"scan point {point_label(point)} failed: {error}"
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


