"""The reference implementations side by side with flysim (issue #22 item 4): ratios, not times.

Wall times differ several-fold between the hosts these machines run on, so flysim's loop is
judged against the two references of ``../shared/perf`` (next to the repository; used as they
are, unmodified), run in the same sitting, alternating:

- ``ref_kc.c``: a hand-written scalar C loop of the PN -> KC -> APL circuit (``gcc -O3
  -march=native``, 16 trials side by side), ns per neuron-step as it prints;
- ``naive_brian2_mb.py standalone 16``: the same circuit written plainly in brian2
  (cpp_standalone), ns per KC neuron-step = its ``run_time`` / (16 x 2000 x 10000). It builds
  into ``$TMPDIR/proto_sa``: each harness run gives it a fresh ``TMPDIR`` of its own;
- flysim: ``benchmarks/profile_circuit.py --uninstrumented`` (one 16-slot batch of
  ``drosophila_adult``, 1 s at 0.1 ms), ns per KC neuron-step of the binary's loop time, without
  the per-code-object clocks (they add ~25 %; the references have none either).

Each series is the loop alone (the first run of each compiles, untimed by their own clocks; a
warm-up run of each comes before the alternations). Reported: every series, the medians and
the medians of the per-alternation ratios flysim / C and flysim / naive.

Also the cost of experiment points (``PairDiscrimination``, default preset, LI+SFA, 10 Hz input
noise, fly 0; in a subprocess, after a warm-up that compiles): core-seconds (user + system CPU
of the process and its children, ``getrusage``) and wall time of an issue-scale point and of a
coarse phase-diagram point, with the projections of the coarse diagram (1000 points on 2 cores)
and of a finer one (4000 points). Time targets were set on a host where the C reference runs at
1.4 ns per neuron-step; elsewhere they are scaled by the measured reference: target x C ns here
/ 1.4.

    python benchmarks/run.py --references-only [--alternations 3]   # this section alone
    python benchmarks/references.py --points coarse issue            # only the points
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: ``../shared/perf`` next to the repository.
SHARED_PERF = Path(__file__).resolve().parents[1].parent / "shared" / "perf"
PYTHON = sys.executable
TRIALS = 16  # trials side by side in every series (flysim: one batch of 16 slots)
N_KC, STEPS = 2000, 10_000  # KCs per trial; steps of 1 s at 0.1 ms
#: The C reference's ns per neuron-step on the host where the time targets were set.
REFERENCE_HOST_C_NS = 1.4
#: Loop targets (ratios: no scaling) and time targets (seconds on the reference host).
RATIO_TARGETS = {"flysim_over_c": 0.5, "flysim_over_naive": 0.33}
TIME_TARGETS = {
    "issue_point_core_s": 20.0,
    "coarse_diagram_s": 3600.0,  # 1000 points on 2 cores
    "demo_warm_s": 30.0,
    "demo_cold_s": 90.0,
}
DIAGRAM_POINTS, FINER_POINTS, CORES = 1000, 4000, 2
#: Experiment points: PairDiscrimination arguments. An issue-scale point is 20 pairs x 20 tests
#: (n_trials 2 x mbon_trials); a coarse phase-diagram point 10 pairs x 10 tests.
POINTS = {
    "issue": {"n_pairs": 20, "n_trials": 40, "mbon_trials": 20, "n_reference": 2},
    "coarse": {"n_pairs": 10, "n_trials": 20, "mbon_trials": 10, "n_reference": 2},
}
POINT_NOISE_HZ = 10.0
#: The loop rows of the ratios table.
LOOP_NAMES = {
    "flysim": "flysim loop, ns per KC neuron-step (profile_circuit.py --uninstrumented, 16 "
    "slots): median (each)",
    "c": "C reference ref_kc.c (gcc -O3 -march=native, 16 trials), ns per neuron-step",
    "naive": "naive brian2 (naive_brian2_mb.py standalone 16), ns per KC neuron-step",
}


# -- where the references are ----------------------------------------------------------------
def shared_perf(path: Path = SHARED_PERF) -> Path | None:
    """The references' folder, or None if it (or one of the two files) is not there."""
    path = Path(path)
    if (path / "ref_kc.c").is_file() and (path / "naive_brian2_mb.py").is_file():
        return path
    return None


def absent_line(path: Path = SHARED_PERF) -> str:
    """The one line said when the references are not there."""
    return (
        f"references: {path} (ref_kc.c, naive_brian2_mb.py) not found: the reference "
        "implementations are not run and no ratios are reported"
    )


# -- parsing (a changed output format fails here, loudly) --------------------------------------
_REF_KC = re.compile(
    r"C ref (?P<trials>\d+) trials: spikes (?P<spikes>\d+) time (?P<s>[0-9.]+) s => "
    r"[0-9.]+ ms per trial-second, (?P<ns>[0-9.]+) ns per neuron-step"
)
_NAIVE = re.compile(r"^run_time (?P<s>\S+)\s*$", re.MULTILINE)
_PROFILE = re.compile(
    r"(?:uninstrumented|simulated) loop (?P<s>[0-9.]+) s, (?P<ns>[0-9.]+) ns per KC neuron-step"
)


def _match(pattern: re.Pattern, text: str, what: str) -> re.Match:
    found = pattern.search(text)
    if found is None:
        tail = " | ".join(text.strip().splitlines()[-3:])
        raise ValueError(f"{what}: output not understood (format changed?): {tail!r}")
    return found


def parse_ref_kc(text: str) -> dict:
    """ref_kc's line -> {"trials", "spikes", "loop_s", "ns"} (ns per neuron-step)."""
    found = _match(_REF_KC, text, "ref_kc")
    return {
        "trials": int(found["trials"]),
        "spikes": int(found["spikes"]),
        "loop_s": float(found["s"]),
        "ns": float(found["ns"]),
    }


def parse_naive(text: str, trials: int = TRIALS) -> dict:
    """naive_brian2_mb.py's ``run_time <s>`` -> {"loop_s", "ns"} (ns per KC neuron-step)."""
    found = _match(_NAIVE, text, "naive_brian2_mb.py")
    try:
        seconds = float(found["s"])
    except ValueError:
        raise ValueError(f"naive_brian2_mb.py: run_time is {found['s']!r}, not seconds") from None
    if not seconds > 0:
        raise ValueError(f"naive_brian2_mb.py: run_time {seconds} is not a loop time")
    return {"loop_s": seconds, "ns": seconds / (trials * N_KC * STEPS) * 1e9}


def parse_profile(text: str) -> dict:
    """profile_circuit.py's first line -> {"loop_s", "ns"} (ns per KC neuron-step)."""
    found = _match(_PROFILE, text, "profile_circuit.py")
    return {"loop_s": float(found["s"]), "ns": float(found["ns"])}


# -- running each ------------------------------------------------------------------------------
def children_cpu() -> float:
    """User + system CPU seconds of this process's waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args, what: str, **kwargs) -> tuple[str, float, float]:
    """(stdout, wall s, CPU s) of a command; its failure raises with the end of its stderr."""
    cpu, start = children_cpu(), time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, **kwargs)
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()[-600:]}")
    return proc.stdout, wall, cpu


def compile_ref_kc(perf: Path, folder: Path) -> Path:
    binary = Path(folder) / "ref_kc"
    command = ["gcc", "-O3", "-march=native", "-o", str(binary), str(perf / "ref_kc.c"), "-lm"]
    _run(command, "gcc ref_kc.c")
    return binary


def run_ref_kc(binary: Path) -> dict:
    out, wall, cpu = _run([str(binary), str(TRIALS)], "ref_kc")
    return {**parse_ref_kc(out), "wall_s": wall, "cpu_s": cpu}


def run_naive(perf: Path, tmpdir: Path) -> dict:
    """One run of the naive script in ``tmpdir`` (its ``TMPDIR``; the first run compiles)."""
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    args = [PYTHON, str(perf / "naive_brian2_mb.py"), "standalone", str(TRIALS)]
    out, wall, cpu = _run(args, "naive_brian2_mb.py", env=env, cwd=tmpdir)
    return {**parse_naive(out), "wall_s": wall, "cpu_s": cpu}


def run_flysim() -> dict:
    """flysim's loop, uninstrumented, as ``profile_circuit.py --uninstrumented`` measures it
    (the binary's own loop time, like the references'; the first run compiles)."""
    args = [PYTHON, str(HERE / "profile_circuit.py"), "--batch", str(TRIALS), "--uninstrumented"]
    out, wall, cpu = _run(args, "profile_circuit.py")
    return {**parse_profile(out), "wall_s": wall, "cpu_s": cpu}


# -- the host ----------------------------------------------------------------------------------
def parse_cpu(lscpu: str = "", cpuinfo: str = "") -> dict:
    """CPU model name, family, model, avx512f and core count from ``lscpu``'s output, or else
    from ``/proc/cpuinfo``'s text (its first processor; cores = its processor lines)."""
    fields = {}
    for line in lscpu.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    blocks = [b for b in cpuinfo.split("\n\n") if b.strip()]
    first = {}
    for line in blocks[0].splitlines() if blocks else []:
        key, _, value = line.partition(":")
        first.setdefault(key.strip(), value.strip())
    flags = fields.get("Flags") or first.get("flags", "")
    cores = fields.get("CPU(s)") or (str(len(blocks)) if blocks else None)
    return {
        "model_name": fields.get("Model name") or first.get("model name"),
        "family": fields.get("CPU family") or first.get("cpu family"),
        "model": fields.get("Model") or first.get("model"),
        "avx512f": "avx512f" in flags.split() if flags else None,
        "cores": int(cores) if cores and cores.isdigit() else os.cpu_count(),
    }


def host() -> dict:
    """This host's CPU (``parse_cpu``) and load average (1, 5, 15 min) now."""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        lscpu = ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    return {**parse_cpu(lscpu, cpuinfo), "load_average": list(os.getloadavg())}


def host_line(section: dict) -> str:
    h = section["host"]
    avx = {True: "yes", False: "no", None: "unknown"}[h["avx512f"]]
    end = section.get("load_average_end")
    load = f"load average {h['load_average'][0]:.2f} at the start" + (
        f", {end[0]:.2f} at the end" if end else ""
    )
    return (
        f"Host: {h['model_name']} (family {h['family']} model {h['model']}), avx512f {avx}, "
        f"{h['cores']} cores; {load}"
    )


# -- alternating ---------------------------------------------------------------------------------
def summarise(series: dict) -> dict:
    """ns per (KC) neuron-step of each series, their medians, and the medians of the
    per-alternation ratios flysim / C and flysim / naive (alternation k with alternation k)."""
    ns = {name: [r["ns"] for r in runs] for name, runs in series.items() if runs}
    ratios = {}
    for reference, key in (("c", "flysim_over_c"), ("naive", "flysim_over_naive")):
        if ns.get(reference) and ns.get("flysim"):
            pairs = zip(ns["flysim"], ns[reference], strict=True)
            ratios[key] = statistics.median(f / r for f, r in pairs)
    return {
        "ns": ns,
        "median_ns": {name: statistics.median(v) for name, v in ns.items()},
        "ratios": ratios,
    }


def alternate(perf: Path, alternations: int, *, naive: bool = True, log=print) -> dict:
    """C, naive, flysim, ``alternations`` times, after a warm-up run of the two that compile."""
    series = {"c": [], "naive": [], "flysim": []}
    with tempfile.TemporaryDirectory(prefix="flysim-references-") as tmp:
        naive_tmp = Path(tmp) / "naive"  # the naive script's TMPDIR, fresh for this run
        naive_tmp.mkdir()
        binary = compile_ref_kc(perf, Path(tmp))
        warmup = {"flysim_wall_s": run_flysim()["wall_s"]}
        if naive:
            warmup["naive_wall_s"] = run_naive(perf, naive_tmp)["wall_s"]
        log(f"  references: warm-up (compiles) {warmup}", flush=True)
        for k in range(alternations):
            series["c"].append(run_ref_kc(binary))
            if naive:
                series["naive"].append(run_naive(perf, naive_tmp))
            series["flysim"].append(run_flysim())
            now = ", ".join(f"{name} {runs[-1]['ns']:.2f}" for name, runs in series.items() if runs)
            log(f"  alternation {k + 1}/{alternations}: ns per KC neuron-step {now}", flush=True)
    return {"series": series, "warmup": warmup, **summarise(series)}


# -- experiment points -------------------------------------------------------------------------
def _own_cpu() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    me, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def point_trials(kind: str) -> int:
    """Trials (presentations) of a point: (2 x pairs + reference odors) x trials per odor."""
    p = POINTS[kind]
    return (2 * p["n_pairs"] + p["n_reference"]) * p["n_trials"]


def measure_points(kinds) -> dict:
    """In this process: compile, a small warm-up point, then each point of ``kinds`` timed."""
    from brian2 import Hz

    from flysim import Noise, load_params, with_overrides
    from flysim.experiments import PairDiscrimination

    base = load_params("drosophila_adult")
    params = with_overrides(base, {"li.enabled": True, "sfa.enabled": True})
    noise = Noise(input_sigma=POINT_NOISE_HZ * Hz)
    experiments = {kind: PairDiscrimination(**POINTS[kind]) for kind in kinds}
    warm = PairDiscrimination(n_pairs=1, n_trials=2, mbon_trials=1, n_reference=1)
    start = time.perf_counter()
    for experiment in [warm, *experiments.values()]:
        experiment.prepare(params, Noise())  # compiles, or finds the network in the cache
    warm(params, noise, 0)  # imports, the readout's first use
    out = {"points_warmup_wall_s": time.perf_counter() - start, "points": {}}
    for kind, experiment in experiments.items():
        cpu, start = _own_cpu(), time.perf_counter()
        experiment(params, noise, 0)
        wall, cpu = time.perf_counter() - start, _own_cpu() - cpu
        out["points"][kind] = {**POINTS[kind], "trials": point_trials(kind)}
        out["points"][kind].update(core_s=cpu, wall_s=wall)
    return out


def run_points(kinds, log=print) -> dict:
    """``measure_points`` in a subprocess (its CPU is the point's alone), with projections."""
    args = [PYTHON, str(Path(__file__).resolve()), "--points", *kinds, "--json"]
    out, wall, _ = _run(args, "experiment points")
    result = json.loads(out.strip().splitlines()[-1])
    result["points_process_wall_s"] = wall
    for kind, p in result["points"].items():
        log(
            f"  point {kind} ({p['trials']} trials): {p['core_s']:.1f} core-s, "
            f"{p['wall_s']:.1f} s wall",
            flush=True,
        )
    if "coarse" in result["points"]:
        result["projections"] = projections(result["points"]["coarse"]["core_s"])
    return result


def projections(coarse_core_s: float) -> dict:
    """Wall seconds of the coarse diagram and of the finer grid on CORES cores, from the
    core-seconds of one coarse point (assumes the cores scale perfectly)."""
    return {
        "coarse_diagram_s": coarse_core_s * DIAGRAM_POINTS / CORES,
        "finer_diagram_s": coarse_core_s * FINER_POINTS / CORES,
    }


# -- the section and its table -----------------------------------------------------------------
def section(
    alternations: int = 3,
    *,
    naive: bool = True,
    points=("coarse", "issue"),
    perf_path: Path = SHARED_PERF,
    log=print,
) -> dict:
    """The references alternated with flysim (if ``../shared/perf`` is there) and the
    experiment points: the ``references`` entry of the harness's results."""
    out = {"host": host(), "alternations": alternations, "naive_run": naive}
    out["points_run"] = list(points)
    perf = shared_perf(perf_path)
    if perf is None:
        out["absent"] = absent_line(perf_path)
        log(out["absent"], flush=True)
    else:
        out["path"] = str(perf)
        out.update(alternate(perf, alternations, naive=naive, log=log))
    if points:
        out.update(run_points(points, log=log))
    out["load_average_end"] = list(os.getloadavg())
    return out


def target_scale(section: dict) -> float | None:
    """C reference ns here / REFERENCE_HOST_C_NS (None without the reference)."""
    c_ns = section.get("median_ns", {}).get("c")
    return None if c_ns is None else c_ns / REFERENCE_HOST_C_NS


def _time_target(name: str, scale: float | None, unit: str) -> tuple[str, float | None]:
    """(text, limit) of a time target, scaled when the C reference was measured."""
    base = TIME_TARGETS[name]
    shown = base / 3600 if unit == "h" else base
    if scale is None:
        return f"<= {shown:g} {unit} (unscaled: no C reference in this run)", None
    return f"<= {shown:g} {unit} x {scale:.2f} = {shown * scale:.3g} {unit}", base * scale


def _loop_rows(section: dict) -> list[tuple]:
    if "absent" in section:
        return [(section["absent"], "", "", None)]
    ns, median = section["ns"], section["median_ns"]
    series = {k: f"{median[k]:.2f} ({', '.join(f'{x:.2f}' for x in v)})" for k, v in ns.items()}
    skipped = "skipped (--quick: no naive brian2 compile)"
    rows = [
        (LOOP_NAMES["flysim"], series["flysim"], "", None),
        (LOOP_NAMES["c"], series["c"], "", None),
        (LOOP_NAMES["naive"], series.get("naive", skipped), "", None),
    ]
    for key, name in (("flysim_over_c", "C reference"), ("flysim_over_naive", "naive brian2")):
        ratio, limit = section["ratios"].get(key), RATIO_TARGETS[key]
        value = skipped if ratio is None else f"**{ratio:.2f}x**"
        met = None if ratio is None else ratio <= limit
        name = f"**flysim / {name}** (median of the per-alternation ratios)"
        rows.append((name, value, f"<= {limit}x", met))
    scale = f"{target_scale(section):.2f}"
    rows.append(("time targets' scale on this host: C reference ns / 1.4", scale, "", None))
    return rows


def _point_name(kind: str, what: str) -> str:
    p = POINTS[kind]
    return (
        f"one {what} ({p['n_pairs']} pairs x {p['mbon_trials']} tests, {point_trials(kind)} "
        "trials; LI+SFA, 10 Hz, fly 0): core-s (wall s)"
    )


def _point_rows(section: dict, scale: float | None) -> list[tuple]:
    points, projected = section.get("points", {}), section.get("projections")
    rows = []
    for kind, what in (("issue", "issue-scale point"), ("coarse", "coarse phase-diagram point")):
        p = points.get(kind)
        value = "not run in this run" if p is None else f"{p['core_s']:.1f} ({p['wall_s']:.1f})"
        target, limit = _time_target("issue_point_core_s", scale, "core-s")
        if kind != "issue":
            target, limit = "", None
        met = None if p is None or limit is None else p["core_s"] <= limit
        rows.append((_point_name(kind, what), value, target, met))
    target, limit = _time_target("coarse_diagram_s", scale, "h")
    value = (
        "not run in this run"
        if projected is None
        else f"{projected['coarse_diagram_s'] / 3600:.2f} h"
    )
    met = None if projected is None or limit is None else projected["coarse_diagram_s"] <= limit
    name = f"coarse phase diagram, {DIAGRAM_POINTS} points on {CORES} cores (projection)"
    rows.append((name, value, target, met))
    value = (
        "not run in this run"
        if projected is None
        else f"{projected['finer_diagram_s'] / 3600:.2f} h"
    )
    name = f"finer grid (2x in li.strength, sfa.strength: {FINER_POINTS} points), {CORES} cores"
    rows.append((name, value, "(stated; projection)", None))
    return rows


def _demo_rows(demo, scale: float | None) -> list[tuple]:
    rows = []
    for run in ("warm", "cold"):
        d = next((d for d in demo or [] if d["run"] == run and d["command"] == "flysim demo"), None)
        target, limit = _time_target(f"demo_{run}_s", scale, "s")
        value = "not run in this run" if d is None else f"{d['wall_s']:.1f}"
        met = None if d is None or limit is None else d["wall_s"] <= limit
        rows.append((f"`flysim demo` {run} wall time (s)", value, target, met))
    return rows


def assess(section: dict, demo=None) -> list[tuple]:
    """(measurement, value, target, met) rows of the ratios table (met None: no target)."""
    scale = target_scale(section)
    return _loop_rows(section) + _point_rows(section, scale) + _demo_rows(demo, scale)


def ratios_table(section: dict, demo=None) -> str:
    """The table the harness's printout leads with."""
    lines = ["### Ratios (same run, this host)", "", host_line(section), ""]
    lines += ["| measurement | value | target | met |", "|---|---|---|---|"]
    for name, value, target, met in assess(section, demo):
        flag = "" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {name} | {value} | {target} | {flag} |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", nargs="+", choices=list(POINTS), required=True)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = parser.parse_args()
    result = measure_points(args.points)
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
