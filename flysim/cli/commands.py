"""Command line: ``flysim demo``, ``flysim run CONFIG.toml --out FILE.nc``,
``flysim scan SCAN.toml [--workers N | --scheduler ADDRESS] [--store PATH]``, ``flysim info``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..run.interrupt import run_program
from .paths import checked_output

__all__ = ["main"]


def _late_early(ds) -> float:
    return float(ds.kc_spike_count_late.sum()) / max(1, int(ds.kc_spike_count_early.sum()))


def _summary(ds) -> str:
    counts = ds.kc_spike_count
    start, stop = json.loads(ds.attrs["odor_window_s"])
    base_start, base_stop = json.loads(ds.attrs["baseline_window_s"])
    odor_s, base_s = stop - start, base_stop - base_start
    apl_odor = ds.apl_activity.sel(time=slice(start, stop))
    rows = [
        ("KC coding level (fraction responding)", f"{float((counts > 0).mean()):.3f}"),
        ("KC odor-evoked rate (Hz)", f"{float(counts.mean()) / odor_s:.2f}"),
        ("KC spontaneous rate (Hz)", f"{float(ds.kc_spont_count.mean()) / base_s:.3f}"),
        ("PN odor-evoked rate (Hz)", f"{float(ds.pn_spike_count.mean()) / odor_s:.1f}"),
        ("APL rate during odor (Hz)", f"{float(apl_odor.mean()):.1f}"),
        (
            "late/early KC rate",
            f"{_late_early(ds):.3f}",
        ),
        (
            "compile + run wall time (s)",
            f"{ds.attrs['wall_seconds']:.1f} (compile/cache {ds.attrs['compile_seconds']:.1f})",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)


def _run_config(path: Path, out: Path | None):
    from .. import simulate
    from .run_config import read_run_config

    request = read_run_config(path)  # every check before any computing
    out = out or request.out
    out = None if out is None else checked_output(out)  # before the simulation
    ds = simulate(
        request.params,
        request.odors,
        n_trials=request.n_trials,
        noise=request.noise,
        seed=request.seed,
        progress=True,
    )
    if out is not None:
        ds.to_netcdf(out)
    return ds, out


def _version() -> str:
    from .. import __version__

    return __version__


def _info():
    from importlib import metadata

    from ..engine import cache_dir

    for package in ("flysim", "brian2", "numpy", "scipy", "xarray"):
        try:
            print(f"{package:8} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            print(f"{package:8} not installed")
    root = cache_dir()
    builds = sorted(p for p in root.iterdir() if (p / "flysim_manifest.json").is_file())
    print(f"cache    {root} ({len(builds)} compiled circuits)")
    for build in builds:
        print(f"  {build.name}")


def _figures(quick: bool, directory: Path | None = None) -> int:
    """Run every ``figures/fig_*.py`` of the source tree in its own process (``--quick``
    passed on); one progress line per script; 1 if any failed, naming them."""
    import subprocess
    import time

    import flysim

    if directory is None:
        directory = Path(flysim.__file__).resolve().parent.parent / "figures"
    if not directory.is_dir():
        raise OSError(
            f"no figures/ directory at {directory}: the figure scripts come with the source "
            f"tree, not the installed package (clone the repository and pip install -e .)"
        )
    scripts = sorted(directory.glob("fig_*.py"))
    if not scripts:
        raise OSError(f"no fig_*.py scripts in {directory}")
    failed = []
    for k, script in enumerate(scripts, start=1):
        print(f"[{k}/{len(scripts)}] {script.name} ...", end=" ", flush=True)
        started = time.perf_counter()
        command = [sys.executable, str(script)] + (["--quick"] if quick else [])
        proc = subprocess.run(command, cwd=directory, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if proc.returncode == 0:
            print(f"ok ({seconds:.0f} s)", flush=True)
            continue
        failed.append(script.name)
        print(f"FAILED ({seconds:.0f} s, exit code {proc.returncode})", flush=True)
        for line in proc.stderr.strip().splitlines()[-15:]:
            print(f"    {line}")
    if failed:
        print(f"flysim: error: figure scripts failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{len(scripts)} figures written to {directory}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="flysim", description=__doc__)
    parser.add_argument("--version", action="version", version=f"flysim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="the LI x SFA x noise experiment at a quick scale: table, figure, netCDF"
    )
    demo.add_argument("--out", type=Path, default=Path("flysim_demo.nc"))
    demo.add_argument("--workers", type=int, default=None, help="local dask workers")
    demo.add_argument("--store", type=Path, default=None, help="keep the scan's zarr store here")
    demo.add_argument(
        "--flies", type=int, default=None, help="number of flies (default 5; 3 resolve less)"
    )
    demo.add_argument(
        "--noise",
        type=float,
        nargs="+",
        default=None,
        metavar="HZ",
        help="input-noise levels (default 10 40)",
    )
    demo.add_argument(
        "--li-site", choices=("apl", "ln", "both"), default=None, help="where LI acts (apl)"
    )  # the names of flysim.experiments.redundancy.LI_SITES (importing it would load xarray)
    run = sub.add_parser("run", help="simulate what a config TOML describes")
    run.add_argument("config", type=Path)
    run.add_argument("--out", type=Path, default=None, help="netCDF output file")
    scan = sub.add_parser("scan", help="run (or resume) a parameter scan described by a TOML file")
    scan.add_argument("config", type=Path)
    where = scan.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, help="local dask workers")
    where.add_argument("--scheduler", default=None, help="address of a running dask scheduler")
    scan.add_argument("--store", type=Path, default=None, help="zarr store (overrides the file)")
    scan.add_argument("--out", type=Path, default=None, help="also write the result (.nc)")
    scan.add_argument("--no-progress", action="store_true")
    sub.add_parser("info", help="versions, cache location, compiled circuits")
    figures = sub.add_parser("figures", help="run every figures/fig_*.py script (source tree)")
    figures.add_argument("--quick", action="store_true", help="tiny preset, few points")
    args = parser.parse_args(argv)
    # Ctrl-C and SIGTERM: one line and exit status 130 / 143, after the cleanup they unwind.
    return run_program(_command, args)


def _command(args) -> int:
    """Run the parsed command; its errors are one line and exit status 2."""
    try:
        if getattr(args, "workers", None) is not None and args.workers < 0:
            raise ValueError(f"--workers must be >= 0 (0: no dask workers), got {args.workers}")
        if args.command == "demo":
            from .demo import run_demo

            scale = {}
            if args.flies is not None:
                scale["seeds"] = tuple(range(args.flies))
            if args.noise is not None:
                scale["noise_levels"] = args.noise
            if args.li_site is not None:
                scale["li_site"] = args.li_site
            run_demo(args.out, workers=args.workers, store=args.store, scale=scale)
        elif args.command == "run":
            ds, out = _run_config(args.config, args.out)
            print(_summary(ds))
            print(f"  written: {out}" if out else "  (no --out given: nothing written)")
        elif args.command == "scan":
            from .config import run_scan_file

            out = None if args.out is None else checked_output(args.out)
            result = run_scan_file(
                args.config,
                workers=args.workers,
                scheduler=args.scheduler,
                store=args.store,
                progress=not args.no_progress,
            )
            print(result)
            if out is not None:
                result.to_netcdf(out)
                print(f"  written: {out}")
        elif args.command == "info":
            _info()
        elif args.command == "figures":
            return _figures(args.quick)
    except (ValueError, TypeError, KeyError, OSError, RuntimeError) as error:
        print(f"flysim: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
