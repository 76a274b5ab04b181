"""Running a scan's points: in this process, or on a dask cluster (local or remote); each
finished point is written to the store by this (the driver) process as it arrives."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import logging
import os
import signal
import threading
import time
import uuid

from ..run.interrupt import INTERRUPTIONS, held_signals, interruptible
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


def _prepare(experiment, params, noise) -> None:
    """Run ``experiment.prepare(params, noise)`` if it has one (e.g. compile its network); its
    error is raised as one line."""
    prepare = getattr(experiment, "prepare", None)
    if prepare is None:
        return
    try:
        prepare(params, noise)
    except Exception as error:
        raise ScanPointError(f"preparing the scan's experiment failed: {error}") from error


def point_label(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point["values"].items()) + f", fly={point['seed']}"


def execute(tasks, store, experiment, workers, scheduler, retries, bar):
    """Run ``tasks`` [(key, point, params, noise, seed)], writing each result as it finishes.

    Ctrl-C or SIGTERM (``flysim.run.interrupt``) stops the points in flight - their simulation
    binaries are killed, their run folders removed, a local cluster is shut down without a word
    from dask - and is raised with a note of how many points are stored, for a rerun to resume.
    """
    progress = _Progress(store, bar, tasks)
    with interruptible(), progress.noted_on_interruption():
        if workers is None and scheduler is None:
            _run_here(tasks, experiment, progress)
        else:
            _run_on_dask(tasks, experiment, workers, scheduler, retries, progress)


class _Progress:
    """Stores each finished point, and says how many are stored if the scan stops."""

    def __init__(self, store, bar, tasks):
        self.store, self.bar = store, bar
        self.todo = {task[0] for task in tasks}

    def keep(self, key, ds, point) -> None:
        self.store.write(key, ds, point)
        self.bar.update()

    def resume_note(self) -> str:
        # Counted in the store: the interruption may come between a write and its count.
        missing = len(self.todo - self.store.keys())
        done = f"{self.bar.total - missing} of {self.bar.total} scan points"
        path = getattr(self.store, "path", None)
        if path is None:
            return f"{done} were computed, none kept (store=None)"
        return f"{done} are stored in {path}: rerunning the scan computes only the others"

    @contextlib.contextmanager
    def noted_on_interruption(self):
        try:
            yield
        except INTERRUPTIONS as stop:
            stop.add_note(self.resume_note())
            raise


def _run_here(tasks, experiment, progress: _Progress) -> None:
    for key, point, params, noise, seed in tasks:
        try:
            ds = run_point(experiment, params, noise, seed)
        except Exception as error:
            raise ScanPointError(f"scan point {point_label(point)} failed: {error}") from error
        progress.keep(key, ds, point)


def _run_on_dask(tasks, experiment, workers, scheduler, retries, progress: _Progress) -> None:
    from distributed import as_completed

    run = _DaskRun()
    try:
        if workers is not None:
            # The first point's network compiles here (where Ctrl-C and SIGTERM interrupt it)
            # while the workers start; they find it built.
            run.start_local_cluster(workers)
            _prepare(experiment, *tasks[0][2:4])
            run.wait_until_started()
        else:
            run.connect(scheduler)
        for key, point, params, noise, seed in tasks:
            future = run.client.submit(
                run_point,
                experiment,
                params,
                noise,
                seed,
                key=f"flysim-scan-{key}-{uuid.uuid4().hex[:8]}",
                retries=retries,
                pure=False,
            )
            run.pending[future] = (key, point)
        for future in as_completed(list(run.pending)):
            key, point = run.pending.pop(future)
            try:
                ds = future.result()
            except Exception as error:
                raise ScanPointError(f"scan point {point_label(point)} failed: {error}") from error
            future.release()
            progress.keep(key, ds, point)
    except BaseException as error:
        run.abandon(interrupted=isinstance(error, INTERRUPTIONS))
        raise
    run.close()


class _DaskRun:
    """The dask client of one scan (and the local cluster it started), its pending futures,
    and the two ways to end it: ``close`` when all is done, ``abandon`` when the scan stops."""

    #: Seconds to wait for a local cluster to start when the scan stops meanwhile.
    START_TIMEOUT = 120

    def __init__(self):
        self.client = self.cluster = None
        self.owned = False
        self.pending = {}
        self._started = None

    def connect(self, scheduler) -> None:
        """Use a running cluster: its address, or a ``distributed.Client`` of the caller's."""
        from distributed import Client

        if isinstance(scheduler, str):
            self.client, self.owned = Client(scheduler), True
        else:
            self.client = scheduler

    def start_local_cluster(self, workers: int) -> None:
        """Start a local cluster of ``workers`` processes in a thread (``wait_until_started``)."""
        self._started = concurrent.futures.Future()

        def start():
            try:
                self._start_local_cluster(workers)
            except BaseException as error:
                self._started.set_exception(error)
            else:
                self._started.set_result(None)

        threading.Thread(target=start, name="flysim-scan-cluster", daemon=True).start()

    def _start_local_cluster(self, workers: int) -> None:
        from multiprocessing import resource_tracker

        import dask
        from distributed import Client, LocalCluster

        # The workers start with SIGINT and SIGTERM blocked (they inherit the blocking of this
        # thread, through dask's loop thread), so a Ctrl-C, which the whole terminal process
        # group gets, or a job's SIGTERM is left to the main thread, which stops them in order.
        # multiprocessing's resource tracker is started before: starting it unblocks both
        # signals in the thread that does so (CPython 3.11), which would be the loop thread.
        resource_tracker.ensure_running()
        with held_signals(), dask.config.set(_LOCAL_CLUSTER_CONFIG):
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # No dashboard; its HTTP server (health checks) on a free port of this host,
                # not on 8787, which another cluster may hold (a warning on stderr).
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                env=_worker_env(),
            )
            self.client, self.owned = Client(self.cluster), True

    def wait_until_started(self, timeout=None) -> None:
        if self._started is not None:
            self._started.result(timeout)

    def close(self) -> None:
        if self.owned:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def abandon(self, interrupted: bool) -> None:
        """Cancel the pending points, end those in flight on a local cluster (else they run
        on, and its workers are killed after a timeout, their run folders left behind), and
        shut down without a word from dask. Signals are held meanwhile, so that a second Ctrl-C
        cannot cut this short (``interrupted``: dropped, as one is being raised already)."""
        with held_signals(drop=interrupted), _quiet_dask_logging():
            with contextlib.suppress(Exception):
                self.wait_until_started(self.START_TIMEOUT)
            if self.client is not None:
                with contextlib.suppress(Exception):
                    self._stop_points()
            with contextlib.suppress(Exception):
                self.close()

    def _stop_points(self) -> None:
        local = self.cluster is not None
        if local:  # its workers silent first, or they report every cancelled point
            self.client.run(_quiet_logging_here, on_error="ignore", callback_timeout=10)
        if self.pending:
            self.client.cancel(list(self.pending))
        if local:
            self.client.run(
                _stop_points_here, on_error="ignore", callback_timeout=_STOP_DEADLINE + 10
            )


#: Loggers that report a cluster's shutdown (cancelled tasks, closed comms, killed workers).
_DASK_LOGGERS = ("distributed", "tornado", "asyncio")


def _quiet_logging_here(prefixes=_DASK_LOGGERS) -> dict:
    """Silence the loggers named ``prefixes`` (and their children) in this process; returns
    their levels before."""
    names = {name for name in logging.root.manager.loggerDict if name.split(".")[0] in prefixes}
    levels = {}
    for name in {*names, *prefixes}:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        logger.setLevel(logging.CRITICAL + 1)
    return levels


@contextlib.contextmanager
def _quiet_dask_logging():
    levels = _quiet_logging_here()
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _point_processes() -> list:
    """This process's descendants but multiprocessing's own helpers: the simulation binary or
    the compiler of the point running here."""
    import psutil

    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if not any("multiprocessing" in part for part in child.cmdline()):
                found.append(child)
        except psutil.Error:  # exited meanwhile
            pass
    return found


def _end_processes(processes: list) -> None:
    """SIGHUP, then SIGKILL a second later: the processes of a worker have SIGINT and SIGTERM
    blocked (inherited), not SIGHUP, on which a compiler deletes its temporary files and make
    its half-built targets."""
    import psutil

    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(signal.SIGHUP)
    _, alive = psutil.wait_procs(processes, timeout=1.0)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()


#: Seconds a worker of a stopping scan waits for its running points to fail.
_STOP_DEADLINE = 20.0


def _stop_points_here(dask_worker) -> None:
    """On a worker of a scan's local cluster that stops early: silence it, and end the processes
    its running points start (simulation binary; make and compilers) until the points have
    failed - having removed their run and build folders - so that the worker closes at once
    instead of being killed after a timeout, its running point's folders left behind. (A point
    generating code starts its compiler later: hence the loop.)"""
    _quiet_logging_here((*_DASK_LOGGERS, "flysim"))
    deadline = time.monotonic() + _STOP_DEADLINE
    while dask_worker.active_threads and time.monotonic() < deadline:
        processes = _point_processes()
        if processes:
            _end_processes(processes)
        time.sleep(0.05)
