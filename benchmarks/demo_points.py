"""What one point of ``flysim demo`` costs, per circuit and noise level, in this process.

    python benchmarks/demo_points.py                # the demo's 8 kinds of point, fly 1
    python benchmarks/demo_points.py --noise 25 --conditions none LI --fly 2

Each point is the demo's experiment (4 pairs x 4 conditioning repetitions, one 16-slot run of
the compiled plastic network); the network is compiled (or found in ``FLYSIM_CACHE_DIR``) first,
untimed. Prints the point's wall time and the compiled program's CPU seconds
(user + system, from ``getrusage``), then their sums: compare two engines on the same host,
alternating, as wall times drift with other guests.
"""

from __future__ import annotations

import argparse
import resource
import time


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    from brian2 import Hz

    from flysim import Noise, load_params, with_overrides
    from flysim.cli.demo import DEMO, demo_experiment
    from flysim.redundancy import CONDITIONS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, nargs="+", default=DEMO["noise_levels"])
    parser.add_argument(
        "--conditions", nargs="+", choices=list(CONDITIONS), default=list(CONDITIONS)
    )
    parser.add_argument("--fly", type=int, default=1)
    args = parser.parse_args()

    base = load_params(DEMO["preset"])
    experiment = demo_experiment()
    experiment.prepare(base, Noise())
    total_wall = total_cpu = 0.0
    for noise in args.noise:
        for condition in args.conditions:
            li, sfa = CONDITIONS[condition]
            params = with_overrides(base, {"li.enabled": li, "sfa.enabled": sfa})
            cpu, start = _child_cpu(), time.perf_counter()
            experiment(params, Noise(input_sigma=noise * Hz), args.fly)
            wall, cpu = time.perf_counter() - start, _child_cpu() - cpu
            total_wall, total_cpu = total_wall + wall, total_cpu + cpu
            print(f"{noise:5.1f} Hz {condition:>7}: point {wall:5.2f} s, program CPU {cpu:5.2f} s")
    print(f"all: points {total_wall:.1f} s, program CPU {total_cpu:.1f} s")


if __name__ == "__main__":
    main()
