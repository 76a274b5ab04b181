"""Lever checks (issue #6): the default circuit compiled with other brian2 settings.

Run: ``python benchmarks/levers.py [--openmp N] [--float32]`` (the cache keys on both
settings, so each gets its own compiled network). Prints the simulation-loop ns per KC
neuron-step of 64 trials (4 batches, after a warm-up run) and the KC coding level (same seeds
every time, so it shows whether results are reproducible and how far they move), as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

import brian2
from run import LOOP_RECORDS, _instrument_runner  # the harness's loop timing (benchmarks/run.py)

import flysim
from flysim.odors import synthetic_panel


def main(threads: int, float32: bool) -> None:
    # Set before any structure key is computed: the key includes these settings, so each
    # combination gets (and finds again) its own compiled network.
    brian2.prefs.devices.cpp_standalone.openmp_threads = threads
    brian2.prefs.core.default_float_dtype = brian2.float32 if float32 else brian2.float64
    params = flysim.load_params("drosophila_adult")
    panel = synthetic_panel(16, seed=3)
    flysim.simulate(params, panel, seed=0)  # compiles (first time) and warms up

    _instrument_runner()
    LOOP_RECORDS.clear()
    start = time.perf_counter()
    ds = flysim.simulate(params, panel, seed=1, n_trials=4)  # 64 trials = 4 batches of 16
    wall = time.perf_counter() - start
    loop = sum(record["loop_s"] for record in LOOP_RECORDS)
    steps = round(float(params.protocol.duration / params.network.dt))
    kc_steps = params.network.n_kc * steps * 64
    print(
        json.dumps(
            {
                "openmp_threads": threads,
                "float32": float32,
                "loop_s": round(loop, 3),
                "wall_s": round(wall, 3),
                "ns_per_kc_step": round(loop / kc_steps * 1e9, 3),
                "kc_coding_level": round(float((ds.kc_spike_count > 0).mean()), 4),
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openmp", type=int, default=0, help="OpenMP threads (0: none)")
    parser.add_argument("--float32", action="store_true", help="single-precision state")
    args = parser.parse_args()
    main(args.openmp, args.float32)
