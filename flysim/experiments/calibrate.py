"""``calibrate``: the value of one parameter at which a statistic of the circuit reaches a target.

With fixed seeds (wiring, odors, noise) a statistic such as the KC coding level is a
deterministic, stepwise function of a parameter, so a bracketing root finder (bisection) on
the parameter, with its tolerance on the statistic, finds the value; every evaluation reuses the
same compiled network (values are set at run time). The bracket must contain the target, and
the statistic must be monotone over it: each midpoint's value has to lie between the values at
the ends of the current bracket, else ``CalibrationError`` says where monotonicity broke. The
value found is then checked on other wiring seeds (reported, not tuned on).

.. code-block:: python

    from brian2 import nS
    import flysim

    params = flysim.with_overrides(flysim.load_params("drosophila_adult"), {"li.enabled": False})
    result = flysim.calibrate(params, "weights.pn_kc", 0.25, bracket=(3 * nS, 8 * nS))
    result.value, result.statistic, result.checks     # 4.4 nS, 0.251, {1: 0.24, 2: 0.26}
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ..inputs.odors import OdorPanel, synthetic_panel
from ..params import CircuitParams, ParameterError, get_path, with_overrides
from ..params.noise import Noise
from ..params.overrides import declaration, plain_value, typed_value

__all__ = ["calibrate", "Calibration", "CalibrationError", "STATISTICS"]


class CalibrationError(ValueError):
    """The target cannot be reached: outside the bracket, not monotone, or jumped over."""


def kc_coding_level(ds: xr.Dataset) -> float:
    """Fraction of (KC, odor, trial) with at least one spike in the odor window."""
    return float((ds.kc_spike_count > 0).mean())


def _window_seconds(ds: xr.Dataset) -> float:
    import json

    start, stop = json.loads(ds.attrs["odor_window_s"])
    return stop - start


def pn_rate(ds: xr.Dataset) -> float:
    """Mean PN rate in the odor window (Hz)."""
    return float(ds.pn_spike_count.mean()) / _window_seconds(ds)


def kc_rate(ds: xr.Dataset) -> float:
    """Mean KC rate in the odor window (Hz), over KCs, odors and trials."""
    return float(ds.kc_spike_count.mean()) / _window_seconds(ds)


def mbon_rate(ds: xr.Dataset) -> float:
    """Mean naive MBON rate in the odor window (Hz)."""
    import json

    start, stop = json.loads(ds.attrs["odor_window_s"])
    return float(ds.mbon_rate.where((ds.time > start) & (ds.time < stop)).mean())


#: Statistics by name; any ``function(Dataset) -> float`` of ``simulate``'s result works too.
STATISTICS = {
    "kc_coding_level": kc_coding_level,
    "kc_rate": kc_rate,
    "pn_rate": pn_rate,
    "mbon_rate": mbon_rate,
}


@dataclass(frozen=True)
class Calibration:
    """What ``calibrate`` found.

    ``value`` is the parameter's value (a Quantity for quantities), ``statistic`` the statistic
    there, ``evaluations`` every (plain value in the parameter's TOML unit, statistic) tried,
    ``checks`` the statistic at ``value`` for each check seed.
    """

    path: str
    target: float
    value: object
    statistic: float
    unit: str
    evaluations: list = field(default_factory=list)
    checks: dict = field(default_factory=dict)

    def __str__(self) -> str:
        checks = ", ".join(f"seed {s}: {v:.4g}" for s, v in self.checks.items())
        return (
            f"{self.path} = {plain_value(self.path, self.value):.6g} {self.unit}: statistic "
            f"{self.statistic:.4g} (target {self.target:.4g}, {len(self.evaluations)} runs)"
            + (f"; on other seeds {checks}" if checks else "")
        )


def _statistic_function(statistic) -> Callable[[xr.Dataset], float]:
    if callable(statistic):
        return statistic
    if statistic not in STATISTICS:
        raise ParameterError(
            f"calibrate: statistic must be one of {sorted(STATISTICS)} or a function of the "
            f"Dataset, got {statistic!r}"
        )
    return STATISTICS[statistic]


def _checked_bracket(params, path, bracket) -> tuple[float, float]:
    """The bracket as plain values in the path's TOML unit, each a valid value of the path."""
    if not isinstance(bracket, (tuple, list)) or len(bracket) != 2:
        raise ParameterError(f"calibrate: bracket must be (low, high), got {bracket!r}")
    low, high = (plain_value(path, with_overrides_value(params, path, b)) for b in bracket)
    if not low < high:
        raise ParameterError(f"calibrate: bracket must have low < high, got {bracket!r}")
    return low, high


def with_overrides_value(params: CircuitParams, path: str, value):
    """``value`` as the path holds it (checked by the path's declaration)."""
    return get_path(with_overrides(params, {path: value}), path)


class _Objective:
    """The statistic as a function of the parameter's plain value, for fixed seeds."""

    def __init__(self, params, path, statistic, odors, n_trials, noise, seed, report=False):
        self.params, self.path, self.statistic = params, path, statistic
        self.odors, self.n_trials, self.noise, self.seed = odors, n_trials, noise, seed
        self.report = report  # one line per run on stderr: a search takes minutes
        self.evaluations: list[tuple[float, float]] = []

    def __call__(self, plain: float, seed: int | None = None) -> float:
        from ..run.simulate import simulate

        params = with_overrides(self.params, {self.path: typed_value(self.path, plain)})
        ds = simulate(
            params,
            self.odors,
            n_trials=self.n_trials,
            noise=self.noise,
            seed=self.seed if seed is None else seed,
        )
        value = float(self.statistic(ds))
        if not np.isfinite(value):
            raise CalibrationError(f"calibrate: the statistic is {value} at {self.path}={plain}")
        if seed is None:
            self.evaluations.append((plain, value))
        if self.report:
            unit = declaration(self.path).get("unit") or ""
            run = f"run {len(self.evaluations)}" if seed is None else f"check on fly {seed}"
            print(
                f"calibrate {self.path}, {run}: {plain:.6g} {unit} -> {value:.4g}",
                file=sys.stderr,
                flush=True,
            )
        return value


def _bisect(
    objective: _Objective, low: float, high: float, target: float, tolerance: float, max_runs: int
) -> tuple[float, float]:
    """Bisection on [low, high] until the statistic is within ``tolerance`` of ``target``."""
    path = objective.path
    f_low, f_high = objective(low), objective(high)
    if not min(f_low, f_high) - tolerance <= target <= max(f_low, f_high) + tolerance:
        raise CalibrationError(
            f"calibrate: {path} in [{low:g}, {high:g}] gives the statistic from {f_low:.4g} to "
            f"{f_high:.4g}, which does not contain the target {target:.4g}: widen the bracket"
        )
    for value, f in ((low, f_low), (high, f_high)):
        if abs(f - target) <= tolerance:
            return value, f
    for _ in range(max_runs):
        middle = (low + high) / 2
        f_middle = objective(middle)
        if not min(f_low, f_high) <= f_middle <= max(f_low, f_high):
            raise CalibrationError(
                f"calibrate: the statistic is not monotone in {path} over the bracket: "
                f"{f_low:.4g} at {low:g}, {f_middle:.4g} at {middle:g}, {f_high:.4g} at {high:g}"
            )
        if abs(f_middle - target) <= tolerance:
            return middle, f_middle
        if (f_middle < target) == (f_low < target):
            low, f_low = middle, f_middle
        else:
            high, f_high = middle, f_middle
    raise CalibrationError(
        f"calibrate: after {max_runs} runs {path} in [{low:.6g}, {high:.6g}] gives {f_low:.4g} "
        f"and {f_high:.4g}, and the target {target:.4g} lies between (the statistic jumps: use "
        f"more odors or trials, or a larger tolerance)"
    )


def calibrate(
    params: CircuitParams,
    path: str,
    target: float,
    *,
    bracket,
    statistic="kc_coding_level",
    odors: OdorPanel | None = None,
    n_trials: int = 2,
    noise: Noise | None = None,
    seed: int = 0,
    check_seeds=(1, 2),
    tolerance: float = 0.005,
    max_runs: int = 30,
    progress: bool = False,
) -> Calibration:
    """The value of the parameter ``path`` at which ``statistic`` of ``simulate(params, odors)``
    is within ``tolerance`` of ``target``, by bisection over ``bracket``.

    Parameters
    ----------
    params : CircuitParams
        The circuit; only ``path`` changes.
    path : str
        A dotted circuit parameter path (``"weights.pn_kc"``).
    target : float
        The statistic's target value.
    bracket : (low, high)
        Values of the parameter (quantities for quantities, or ``{value, unit}``); the
        statistic at the two ends must enclose the target.
    statistic : str or callable
        A name of :data:`STATISTICS` (``kc_coding_level``, ``kc_rate``, ``pn_rate``,
        ``mbon_rate``) or a
        function of ``simulate``'s Dataset returning a float.
    odors : OdorPanel
        The panel (default: 10 synthetic odors, odor seed 0, on the circuit's glomeruli).
    n_trials, noise, seed
        ``simulate``'s trials per odor, noise (default ``Noise()``) and wiring seed, fixed for
        every run of the search.
    check_seeds : tuple of int
        Wiring seeds on which the value found is evaluated again (reported in ``checks``).
    tolerance : float
        How close to the target the statistic must come.
    max_runs : int
        Bisection steps before giving up.
    progress : bool
        Print each run's value and statistic on stderr (a search is several simulations).
    """
    declaration(path)  # an unknown path is a one-line ParameterError here
    measure = _statistic_function(statistic)
    low, high = _checked_bracket(params, path, bracket)
    if odors is None:
        odors = synthetic_panel(10, n_glomeruli=params.network.n_glomeruli, seed=0)
    noise = Noise() if noise is None else noise
    objective = _Objective(params, path, measure, odors, n_trials, noise, seed, report=progress)
    value, achieved = _bisect(objective, low, high, float(target), tolerance, max_runs)
    checks = {int(s): objective(value, seed=int(s)) for s in check_seeds}
    return Calibration(
        path=path,
        target=float(target),
        value=typed_value(path, value),
        statistic=achieved,
        unit=declaration(path).get("unit") or "",
        evaluations=list(objective.evaluations),
        checks=checks,
    )
