"""benchmarks/references.py: parsing the references' output, the missing-references path, and
the ratio and target arithmetic (no timing: speed is never asserted in unit tests)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "references.py"
_SPEC = importlib.util.spec_from_file_location("flysim_bench_references", _PATH)
references = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = references
_SPEC.loader.exec_module(references)

#: What ../shared/perf/ref_kc.c and naive_brian2_mb.py print (runs of 2026-12 on a Zen 4 host).
REF_KC_OUTPUT = (
    "C ref 16 trials: spikes 32515 time 0.695 s => 43.5 ms per trial-second, "
    "2.17 ns per neuron-step\n"
)
NAIVE_OUTPUT = (
    "run_time 1.15871\nstandalone 16 trials KC spikes 32365 active frac 0.4965625 time 15.77\n"
)
PROFILE_OUTPUT = (
    "drosophila_adult, batch 16: wall 1.69 s, simulated loop 1.37 s, 4.29 ns per KC "
    "neuron-step (all code objects)\n"
    "  kc_stateupdater_codeobject                      0.534 s   38.9 %\n"
)
LSCPU = """Architecture:                            x86_64
CPU(s):                                  2
Model name:                              AMD EPYC
CPU family:                              25
Model:                                   17
Flags:                                   fpu sse2 avx2 avx512f avx512dq
"""
CPUINFO = """processor\t: 0
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: fpu sse2 avx2

processor\t: 1
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: fpu sse2 avx2
"""


def test_ref_kc_output_is_parsed():
    parsed = references.parse_ref_kc(REF_KC_OUTPUT)
    assert parsed == {"trials": 16, "spikes": 32515, "loop_s": 0.695, "ns": 2.17}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "C ref 16 trials: spikes 32515 time 0.695 s => 43.5 ms per trial-second\n",
        "C ref 16 trials: 2.17 ns per KC-step\n",
    ],
)
def test_ref_kc_output_of_another_format_fails_loudly(text):
    with pytest.raises(ValueError, match="ref_kc: output not understood"):
        references.parse_ref_kc(text)


def test_naive_run_time_is_ns_per_kc_neuron_step():
    parsed = references.parse_naive(NAIVE_OUTPUT)
    assert parsed["loop_s"] == 1.15871
    # run_time / (16 trials x 2000 KCs x 10000 steps)
    assert parsed["ns"] == pytest.approx(1.15871 / (16 * 2000 * 10_000) * 1e9)
    assert parsed["ns"] == pytest.approx(3.621, abs=1e-3)


@pytest.mark.parametrize(
    "text, message",
    [
        ("run_time None\n", "not seconds"),
        ("run_time 0.0\n", "not a loop time"),
        ("standalone 16 trials KC spikes 32365 time 15.77\n", "output not understood"),
        ("runtime: 1.2 s\n", "output not understood"),
    ],
)
def test_naive_output_of_another_format_fails_loudly(text, message):
    with pytest.raises(ValueError, match=message):
        references.parse_naive(text)


UNINSTRUMENTED_OUTPUT = (
    "drosophila_adult, batch 16: wall 1.24 s, uninstrumented loop 1.10 s, 3.43 ns per KC "
    "neuron-step (the binary's loop time)\n"
)


def test_profile_circuit_output_is_parsed():
    assert references.parse_profile(PROFILE_OUTPUT) == {"loop_s": 1.37, "ns": 4.29}
    assert references.parse_profile(UNINSTRUMENTED_OUTPUT) == {"loop_s": 1.1, "ns": 3.43}
    with pytest.raises(ValueError, match="profile_circuit.py"):
        references.parse_profile("drosophila_adult, batch 16: wall 1.69 s\n")


def test_host_from_lscpu_and_from_cpuinfo():
    amd = references.parse_cpu(LSCPU, CPUINFO)
    assert amd == {
        "model_name": "AMD EPYC",
        "family": "25",
        "model": "17",
        "avx512f": True,
        "cores": 2,
    }
    intel = references.parse_cpu("", CPUINFO)  # no lscpu: /proc/cpuinfo
    assert intel["model_name"].startswith("Intel(R) Xeon(R)")
    assert (intel["family"], intel["model"], intel["avx512f"], intel["cores"]) == (
        "6",
        "143",
        False,
        2,
    )


def test_missing_references_say_so_in_one_line_and_give_no_ratios(tmp_path):
    said = []
    section = references.section(
        perf_path=tmp_path / "shared" / "perf",
        points=(),
        log=lambda *args, **kwargs: said.append(" ".join(map(str, args))),
    )
    assert len(said) == 1
    assert "not found" in said[0] and str(tmp_path / "shared" / "perf") in said[0]
    assert "ratios" not in section and references.target_scale(section) is None
    table = references.ratios_table(section)
    assert table.startswith("### Ratios (same run, this host)")
    assert said[0] in table
    assert "unscaled: no C reference" in table
    assert "| yes |" not in table and "| **no** |" not in table  # nothing judged


def test_a_half_present_folder_counts_as_absent(tmp_path):
    (tmp_path / "ref_kc.c").write_text("int main(){return 0;}\n")
    assert references.shared_perf(tmp_path) is None
    (tmp_path / "naive_brian2_mb.py").write_text("")
    assert references.shared_perf(tmp_path) == tmp_path


def _series(c, naive, flysim):
    return {
        name: [{"ns": x} for x in values]
        for name, values in (("c", c), ("naive", naive), ("flysim", flysim))
    }


def test_ratios_are_medians_of_the_per_alternation_ratios():
    summary = references.summarise(_series([2.0, 2.5, 1.0], [4.0, 5.0, 8.0], [1.0, 1.5, 0.9]))
    assert summary["median_ns"] == {"c": 2.0, "naive": 5.0, "flysim": 1.0}
    # per alternation: 0.5, 0.6, 0.9 and 0.25, 0.3, 0.1125 (not a ratio of the medians)
    assert summary["ratios"]["flysim_over_c"] == pytest.approx(0.6)
    assert summary["ratios"]["flysim_over_naive"] == pytest.approx(0.25)


def test_without_the_naive_series_there_is_no_naive_ratio():
    summary = references.summarise(_series([2.0], [], [1.0]))
    assert set(summary["ratios"]) == {"flysim_over_c"}
    section = {"host": references.parse_cpu(LSCPU) | {"load_average": [0.1]}, **summary}
    table = references.ratios_table(section)
    assert "skipped (--quick: no naive brian2 compile)" in table


def _rows(section, demo=None):
    return {
        name: (value, target, met) for name, value, target, met in references.assess(section, demo)
    }


def test_targets_are_scaled_by_the_measured_c_reference():
    # C reference at 2.8 ns here: twice the 1.4 ns of the host the time targets were set on
    section = references.summarise(_series([2.8], [10.0], [1.4]))
    assert references.target_scale(section) == pytest.approx(2.0)
    assert references.point_trials("issue") == 42 * 40  # (2 x 20 pairs + 2 reference) x 40
    assert references.point_trials("coarse") == 22 * 20
    section["points"] = {
        "issue": {"core_s": 39.0, "wall_s": 40.0},
        "coarse": {"core_s": 7.2, "wall_s": 7.5},
    }
    section["projections"] = references.projections(7.2)
    assert section["projections"] == {
        "coarse_diagram_s": pytest.approx(3600.0),  # 7.2 core-s x 1000 points / 2 cores
        "finer_diagram_s": pytest.approx(14_400.0),
    }
    demo = [
        {"run": "cold", "command": "flysim demo", "wall_s": 200.0},
        {"run": "warm", "command": "flysim demo", "wall_s": 59.0},
    ]
    rows = _rows(section, demo)
    met = {name.split(" (")[0]: m for name, (_, _, m) in rows.items() if m is not None}
    assert met == {
        "**flysim / C reference**": True,  # 0.5 <= 0.5
        "**flysim / naive brian2**": True,  # 0.14 <= 0.33
        "one issue-scale point": True,  # 39 <= 20 x 2
        "coarse phase diagram, 1000 points on 2 cores": True,  # 1 h <= 1 h x 2
        "`flysim demo` warm wall time": True,  # 59 <= 30 x 2
        "`flysim demo` cold wall time": False,  # 200 > 90 x 2
    }
    issue = next(v for k, v in rows.items() if k.startswith("one issue-scale point"))
    assert issue == ("39.0 (40.0)", "<= 20 core-s x 2.00 = 40 core-s", True)
    section["points"]["issue"]["core_s"] = 41.0
    assert not next(m for k, (_, _, m) in _rows(section).items() if k.startswith("one issue"))


def test_ratio_targets_are_not_scaled():
    section = references.summarise(_series([1.0], [3.0], [1.01]))  # scale 0.71
    rows = _rows(section)
    assert rows["**flysim / C reference** (median of the per-alternation ratios)"][1:] == (
        "<= 0.5x",
        False,
    )
    assert rows["**flysim / naive brian2** (median of the per-alternation ratios)"][2] is False
