"""Whether an engine change that is not bit-identical keeps flysim's science: run the LI x SFA
point on one engine, save it; run it on the other; compare the two with paired differences.

    python benchmarks/equivalence.py run before.nc     # on the old code (own FLYSIM_CACHE_DIR,
                                                       # e.g. PYTHONPATH=<old worktree>)
    python benchmarks/equivalence.py run after.nc      # on the new code
    python benchmarks/equivalence.py compare before.nc after.nc
    python benchmarks/equivalence.py run --float32 f32.nc   # single precision against after.nc

The runs: ``PairDiscrimination(n_pairs=4, n_trials=20, mbon_trials=10, n_reference=2)`` (4
odor pairs, 20 trials per odor, 10 counterbalanced conditioning tests per pair) for flies
0-4, the circuits "none" and "LI+SFA", at 10 and 40 Hz input noise. ``compare`` prints, per
measure, the mean of each engine and the difference after - before with a 95 % interval from
a two-way bootstrap over flies and odor pairs (the same fly, pair, circuit and noise level
paired), and whether the interval lies within the stated margin (KC coding level 0.005,
accuracies 0.02, correlations 0.02): "equivalent" only if it does, "differs" if the interval
excludes 0, else "unresolved" (more flies or pairs needed).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import xarray as xr

FLIES = (0, 1, 2, 3, 4)
NOISES_HZ = (10.0, 40.0)
CIRCUITS = {"none": (False, False), "LI+SFA": (True, True)}
#: measure -> margin within which two engines count as equivalent
MARGINS = {
    "kc_coding_level": 0.005,
    "decoder_accuracy": 0.02,
    "mbon_accuracy": 0.02,
    "kc_pair_correlation": 0.02,
    "cs_plus_drop": 0.02,
}


def run(path: str, float32: bool = False) -> None:
    import brian2
    from brian2 import Hz

    import flysim

    # brian2's preference is part of flysim's structure key: float32 gets its own network
    brian2.prefs.core.default_float_dtype = brian2.float32 if float32 else brian2.float64
    from flysim.redundancy import PairDiscrimination

    base = flysim.load_params("drosophila_adult")
    experiment = PairDiscrimination(n_pairs=4, n_trials=20, mbon_trials=10, n_reference=2)
    experiment.prepare(base, flysim.Noise())
    points, start = [], time.perf_counter()
    for circuit, (li, sfa) in CIRCUITS.items():
        params = flysim.with_overrides(base, {"li.enabled": li, "sfa.enabled": sfa})
        for noise in NOISES_HZ:
            for fly in FLIES:
                point = experiment(params, flysim.Noise(input_sigma=noise * Hz), fly)
                points.append(point.expand_dims(circuit=[circuit], noise=[noise], fly=[fly]))
                print(
                    f"{circuit} {noise:g} Hz fly {fly}: {time.perf_counter() - start:.0f} s",
                    flush=True,
                )
    ds = xr.combine_by_coords(points)
    ds.attrs["flysim_version"] = flysim.__version__
    ds.attrs["flysim_path"] = str(flysim.__file__)
    ds.attrs["float32"] = int(float32)
    ds.to_netcdf(path)


def compare(before_path: str, after_path: str) -> int:
    from flysim.analysis import two_way_bootstrap

    before, after = xr.open_dataset(before_path), xr.open_dataset(after_path)
    for label, ds in (("before", before), ("after", after)):
        print(f"{label}: {ds.attrs.get('flysim_path')}, float32 {ds.attrs.get('float32', 0)}")
    print("| measure | noise | before | after | after - before [95 % CI] | margin | verdict |")
    print("|---|---|---|---|---|---|---|")
    worst = 0
    for name, margin in MARGINS.items():
        for noise in NOISES_HZ:
            b, a = before[name].sel(noise=noise), after[name].sel(noise=noise)
            # both circuits pooled: the same flies and pairs resampled for each
            interval = two_way_bootstrap((a - b).mean("circuit"), n_resamples=4000)
            low, high = float(interval.low), float(interval.high)
            diff = (a - b).values
            if -margin <= low and high <= margin:
                verdict = "equivalent"
            elif low > 0 or high < 0:
                verdict, worst = "differs", 1
            else:
                verdict = "unresolved"
            print(
                f"| {name} | {noise:g} Hz | {np.nanmean(b):.4f} | {np.nanmean(a):.4f} | "
                f"{np.nanmean(diff):+.4f} [{low:+.4f}, {high:+.4f}] | ±{margin} | {verdict} |"
            )
    return worst


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    runner = sub.add_parser("run")
    runner.add_argument("path")
    runner.add_argument("--float32", action="store_true", help="single-precision state")
    cmp = sub.add_parser("compare")
    cmp.add_argument("before")
    cmp.add_argument("after")
    args = parser.parse_args()
    if args.command == "run":
        run(args.path, args.float32)
    else:
        sys.exit(compare(args.before, args.after))
