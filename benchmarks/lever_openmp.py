"""Lever check (issue #6): the default circuit compiled with brian2's OpenMP on N threads.

Run: ``FLYSIM_CACHE_DIR=/tmp/omp_N python benchmarks/lever_openmp.py N`` for N = 1 and 2 (a
separate cache each: the thread count is a compile-time setting flysim does not key its cache
on). Prints the simulation-loop ns per KC neuron-step of 64 trials (4 batches) and the coding
level, as one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import types
from pathlib import Path

import brian2

import flysim
from flysim.engine import build, runner
from flysim.odors import synthetic_panel


def main(threads: int) -> None:
    compile_with_defaults = build._compile

    def compile_with_threads(params, structure, directory):
        brian2.prefs.devices.cpp_standalone.openmp_threads = threads
        return compile_with_defaults(params, structure, directory)

    build._compile = compile_with_threads
    params = flysim.load_params("drosophila_adult")
    panel = synthetic_panel(16, seed=3)
    flysim.simulate(params, panel, seed=0)  # compiles (first time) and warms up

    loop_seconds = []

    def timed_run(args, **kwargs):
        proc = subprocess.run(args, **kwargs)
        results = Path(args[args.index("--results_dir") + 1])
        loop_seconds.append(float((results / "last_run_info.txt").read_text().split()[0]))
        return proc

    runner.subprocess = types.SimpleNamespace(**{**vars(subprocess), "run": timed_run})
    start = time.perf_counter()
    ds = flysim.simulate(params, panel, seed=1, n_trials=4)  # 64 trials = 4 batches of 16
    wall = time.perf_counter() - start
    steps = round(float(params.protocol.duration / params.network.dt))
    kc_steps = params.network.n_kc * steps * 64
    print(
        json.dumps(
            {
                "openmp_threads": threads,
                "loop_s": round(sum(loop_seconds), 3),
                "wall_s": round(wall, 3),
                "ns_per_kc_step": round(sum(loop_seconds) / kc_steps * 1e9, 3),
                "kc_coding_level": round(float((ds.kc_spike_count > 0).mean()), 4),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
