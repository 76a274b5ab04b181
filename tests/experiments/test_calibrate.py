"""``flysim.calibrate``: bisection on a parameter to a target statistic, with clear refusals."""

from __future__ import annotations

import pytest
from brian2 import nS

import flysim
from flysim.engine import compilation_count
from flysim.experiments.calibrate import CalibrationError, kc_coding_level
from flysim.odors import synthetic_panel
from flysim.params import ParameterError


@pytest.fixture(scope="module")
def panel():
    return synthetic_panel(6, n_glomeruli=20, seed=0)


def test_calibrate_finds_the_value_reuses_the_network_and_reports_other_seeds(tiny, panel, capsys):
    off = flysim.with_overrides(tiny, {"li.enabled": False})
    flysim.simulate(off, panel, n_trials=2)  # compile first: the search itself compiles nothing
    before = compilation_count()
    result = flysim.calibrate(
        off,
        "weights.pn_kc",
        0.2,
        bracket=(3 * nS, 9 * nS),
        odors=panel,
        check_seeds=(1,),
        progress=True,
    )
    assert compilation_count() == before
    assert abs(result.statistic - 0.2) <= 0.005
    assert result.value.dim == nS.dim and 3 * nS < result.value < 9 * nS
    # the value reproduces the statistic, and a stronger drive gives a denser code
    again = flysim.simulate(
        flysim.with_overrides(off, {"weights.pn_kc": result.value}), panel, n_trials=2
    )
    assert kc_coding_level(again) == result.statistic
    values = sorted(result.evaluations)
    assert all(a[1] <= b[1] for a, b in zip(values, values[1:], strict=False))
    assert set(result.checks) == {1} and 0.1 < result.checks[1] < 0.3
    assert "weights.pn_kc = " in str(result) and "seed 1:" in str(result)
    # progress: one line per run of the search and per check, as it goes
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == len(result.evaluations) + 1
    assert lines[0].startswith("calibrate weights.pn_kc, run 1: 3 nS -> ")
    assert lines[-1].startswith("calibrate weights.pn_kc, check on fly 1: ")


def test_a_bracket_without_the_target_is_refused(tiny, panel):
    off = flysim.with_overrides(tiny, {"li.enabled": False})
    with pytest.raises(CalibrationError, match="does not contain the target 0.9") as info:
        flysim.calibrate(off, "weights.pn_kc", 0.9, bracket=(3 * nS, 6 * nS), odors=panel)
    assert "\n" not in str(info.value)


def test_a_statistic_that_is_not_monotone_over_the_bracket_is_refused(tiny, panel):
    def distance_from_015(ds):  # coding falls with li.strength, so this dips and rises again
        return (kc_coding_level(ds) - 0.15) ** 2

    with pytest.raises(CalibrationError, match="not monotone in li.strength"):
        flysim.calibrate(
            tiny,
            "li.strength",
            0.008,
            bracket=(0.0, 4.0),
            statistic=distance_from_015,
            odors=panel,
            tolerance=1e-5,
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"path": "weights.pn_kcc"}, "unknown parameter 'weights.pn_kcc'"),
        ({"statistic": "coding"}, "statistic must be one of"),
        ({"bracket": (6 * nS, 3 * nS)}, "low < high"),
        ({"bracket": (3 * nS,)}, "bracket must be"),
    ],
)
def test_bad_arguments_are_one_line_errors(tiny, panel, kwargs, message):
    arguments = {"path": "weights.pn_kc", "bracket": (3 * nS, 6 * nS), **kwargs}
    with pytest.raises(ParameterError, match=message):
        flysim.calibrate(tiny, target=0.2, odors=panel, **arguments)
