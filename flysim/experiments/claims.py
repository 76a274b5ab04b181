"""The seed paper's claims about LI and SFA, judged by rules fixed before any run.

Li, Yu, Yu & Zang (2025), "Seemingly redundant modules enhance robust odor learning in fruit
flies": LI improves odor discrimination at low and medium noise; its benefit diminishes and may
reverse at high noise; SFA improves it at all noise levels; combined, they are best.
:func:`claims` turns a result of ``flysim.redundancy.redundancy`` (``accuracy(condition, noise,
fly, pair)``) into one verdict per claim. Its rules are in its docstring and are implemented
exactly; they were written before the headline runs were judged by them, so that a verdict
cannot be fitted to the data.

This module imports only numpy, pandas, xarray and ``flysim.analysis`` (``redundancy`` exports
``claims``, so it must not import ``redundancy``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..analysis import two_way_bootstrap, two_way_resample_means

__all__ = ["CEILING", "LEVEL", "ROLE_TARGETS", "claims", "claims_table", "pick_levels"]

#: Noise roles, by the accuracy of the circuit with neither mechanism ("none") they stand for.
ROLE_TARGETS = {"low": 0.95, "medium": 0.80, "high": 0.65}

#: A noise level where every condition's mean accuracy is at least this is at the ceiling.
CEILING = 0.97

#: Coverage of every interval (two-way bootstrap over flies and odor pairs).
LEVEL = 0.95

#: The conditions a result must have.
_CONDITIONS = ("none", "LI", "SFA", "LI+SFA")

#: claim number -> (the paper's claim, what is computed per fly and pair)
STATEMENTS = {
    1: ("LI improves discrimination at low and medium noise", "LI - none"),
    2: (
        "the LI benefit shrinks (and may reverse) at high noise",
        "(LI - none) at high minus (LI - none) at low",
    ),
    3: ("SFA improves discrimination at every noise level", "SFA - none"),
    4: ("LI+SFA is best", "LI+SFA - max(LI, SFA), max of the resampled means"),
}


def claims(
    ds: xr.Dataset, *, variable: str = "accuracy", n_resamples: int = 2000, seed=0
) -> pd.DataFrame:
    """One row per claim of Li et al. 2025: estimate, 95% CI and verdict, by fixed rules.

    Rules (fixed before the headline runs; each CI is the 95% two-way bootstrap percentile
    interval over flies and odor pairs, ``flysim.analysis.two_way_bootstrap``, ``n_resamples``
    resamples drawn from ``seed``, the same draws for every comparison; a CI is *above 0* if
    its lower bound is > 0 and *below 0* if its upper bound is < 0):

    - **Levels.** low / medium / high noise are the noise levels where the mean accuracy (over
      flies and pairs) of the ``none`` circuit is nearest 0.95 / 0.80 / 0.65
      (:data:`ROLE_TARGETS`); on a tie the lower noise level. Every role picks a level, however
      few levels the data has; two roles may pick the same level (see claims 1 and 2).
    - **Ceiling.** A level where every condition's mean accuracy is >= 0.97 (:data:`CEILING`)
      is at the ceiling: a comparison at it counts as undecided whatever its CI.
    - **Claim 1** (LI improves discrimination at low and medium noise): LI - none per fly and
      pair at the low and the medium level (once if they are the same level). Holds if every
      CI is above 0; fails if any CI is below 0; else undecided.
    - **Claim 2** (the LI benefit shrinks and may reverse at high noise): per fly and pair,
      D = (LI - none at the high level) - (LI - none at the low level). Holds if the CI of D is
      below 0; fails if it is above 0; else undecided. Undecided also if the high level is not
      at a higher noise than the low level (e.g. both roles picked the same level) or if
      either level is at the ceiling.
    - **Claim 3** (SFA improves it at every noise level): SFA - none per fly and pair at every
      noise level of the data not at the ceiling. Holds if every CI is above 0; fails if any
      CI is below 0; else undecided (also when every level is at the ceiling).
    - **Claim 4** (LI+SFA is best, i.e. better than both single mechanisms): at every noise
      level not at the ceiling, B = min(mean(LI+SFA - LI), mean(LI+SFA - SFA)) = mean(LI+SFA)
      - max(mean LI, mean SFA), both differences paired per fly and pair and B computed in
      every bootstrap resample (the max is taken over the two resampled means, not per cell:
      a per-cell max of two noisy accuracies is biased upward, by ~0.56 SD of a cell's noise
      for two equal circuits, so that a tie - or a small true advantage - would "fail").
      Holds if every CI of B is above 0 (better than both); fails if any CI is below 0 (worse
      than one of them); else undecided (including "not worse, but not shown better").

    Parameters
    ----------
    ds : xarray.Dataset
        ``variable(condition, noise, fly, pair)`` with the conditions none, LI, SFA, LI+SFA
        (``redundancy`` with per-pair results; NaN cells are left out as the bootstrap says).
    variable : str, default "accuracy"
        The accuracy judged (``accuracy``: the MBON choice when measured).
    n_resamples : int, default 2000
        Bootstrap resamples.
    seed : int, default 0
        Seed of the bootstrap draws.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``claim`` (1-4); columns ``statement``, ``statistic``, ``levels`` (the noise
        levels used, with their roles), ``noise`` (the level whose numbers are shown; NaN for
        claim 2), ``estimate``, ``ci_low``, ``ci_high``, ``verdict`` (holds / fails /
        undecided), ``reason`` and ``detail`` (every level's estimate and CI). Where a claim
        is judged at several levels, the numbers shown are those of the level that decides:
        for "fails" the level with the lowest CI upper bound, else the level not at the ceiling
        with the lowest CI lower bound (NaN if there is none). ``attrs`` hold the levels of the
        roles, the ceiling levels and the bootstrap's settings. A DataFrame rather than a
        Dataset: its rows mix text and numbers and share no dims, and it prints as a table.
    """
    acc = _checked(ds, variable)
    roles = pick_levels(acc)
    ceiling = _ceiling_levels(acc)
    judge = _Judge(acc, ceiling, n_resamples, seed)
    rows = [
        judge.every_level(1, "LI", "none", _unique([roles["low"], roles["medium"]]), roles),
        judge.trend(roles),
        judge.every_level(3, "SFA", "none", _not_at(acc, ceiling), roles),
        judge.combined_best(_not_at(acc, ceiling), roles),
    ]
    table = pd.DataFrame(rows).set_index("claim")
    table.attrs.update(levels=roles, ceiling=sorted(ceiling), variable=variable, seed=seed)
    table.attrs.update(_settings(acc, n_resamples))
    return table


def _settings(acc: xr.DataArray, n_resamples: int) -> dict:
    """What the table's ``attrs`` say about the data and the bootstrap."""
    return {
        "units": acc["noise"].attrs.get("units", ""),
        "measure": acc.attrs.get("measure", acc.name),
        "level": LEVEL,
        "n_resamples": int(n_resamples),
        "flies": int(acc.sizes["fly"]),
        "pairs": int(acc.sizes["pair"]),
    }


def _checked(ds: xr.Dataset, variable: str) -> xr.DataArray:
    """``ds[variable]`` as (condition, noise, fly, pair), noise ascending; or a ValueError."""
    if variable not in ds:
        raise ValueError(f"claims: no variable {variable!r} in the dataset")
    acc = ds[variable]
    missing = [dim for dim in ("condition", "noise", "fly", "pair") if dim not in acc.dims]
    if missing:
        raise ValueError(
            f"claims: {variable} needs dims (condition, noise, fly, pair), missing {missing}; "
            "per-pair results come from redundancy() with PairDiscrimination(per_pair=True)"
        )
    absent = [c for c in _CONDITIONS if c not in acc["condition"].values]
    if absent:
        raise ValueError(f"claims: conditions {absent} missing from {variable}")
    acc = acc.sortby("noise").transpose("condition", "noise", "fly", "pair", ...)
    if acc.ndim != 4:
        raise ValueError(f"claims: {variable} has extra dims {list(acc.dims[4:])}; select first")
    return acc


def pick_levels(acc: xr.DataArray) -> dict[str, float]:
    """The noise level of each role of :data:`ROLE_TARGETS`: where the ``none`` circuit's mean
    accuracy over flies and pairs is nearest the role's target (ties: the lower noise)."""
    none = acc.sel(condition="none").mean(["fly", "pair"]).sortby("noise")
    levels, means = none["noise"].values, none.values
    finite = np.isfinite(means)
    if not finite.any():
        raise ValueError("claims: the none circuit has no accuracy at any noise level")
    picked = {}
    for role, target in ROLE_TARGETS.items():
        # Rounded, so that equal distances up to float error are a tie; argmin takes the first.
        distance = np.where(finite, np.round(np.abs(means - target), 12), np.inf)
        picked[role] = float(levels[np.argmin(distance)])
    return picked


def _ceiling_levels(acc: xr.DataArray) -> set[float]:
    """Noise levels where every condition's mean accuracy is >= :data:`CEILING`."""
    means = acc.mean(["fly", "pair"])
    at = (means >= CEILING).all("condition")
    return {float(level) for level in acc["noise"].values[at.values]}


def _not_at(acc: xr.DataArray, ceiling: set[float]) -> list[float]:
    return [float(level) for level in acc["noise"].values if float(level) not in ceiling]


def _unique(levels: list[float]) -> list[float]:
    return sorted(set(levels))


def _outcome(low: float, high: float) -> str:
    """Where a CI lies: "above" 0, "below" 0, or it "includes 0" (or is NaN)."""
    if low > 0:
        return "above"
    if high < 0:
        return "below"
    return "includes 0"


class _Judge:
    """The comparisons of one result, with one set of bootstrap draws for all of them."""

    def __init__(self, acc: xr.DataArray, ceiling: set[float], n_resamples: int, seed):
        self.acc, self.ceiling = acc, ceiling
        self.boot = {"dims": ("fly", "pair"), "n_resamples": n_resamples, "seed": seed}
        self.units = acc["noise"].attrs.get("units", "")

    def diff(self, a: str, b: str) -> xr.DataArray:
        """``a - b`` per (noise, fly, pair)."""
        return self.acc.sel(condition=a, drop=True) - self.acc.sel(condition=b, drop=True)

    def interval(self, values: xr.DataArray) -> dict[float, tuple[float, float, float]]:
        """``{noise: (estimate, low, high)}`` of a difference per (noise, fly, pair)."""
        estimate, low, high = two_way_bootstrap(values, level=LEVEL, **self.boot)
        return {
            float(n): tuple(float(v.sel(noise=n)) for v in (estimate, low, high))
            for n in values["noise"].values
        }

    def every_level(self, claim: int, a: str, b: str, levels: list[float], roles) -> dict:
        """Claims 1 and 3: ``a - b`` above 0 at every one of ``levels``."""
        return self._row(claim, self.interval(self.diff(a, b)), levels, roles)

    def combined_best(self, levels: list[float], roles) -> dict:
        """Claim 4: min of the two paired differences' means, in every resample."""
        both = xr.concat([self.diff("LI+SFA", "LI"), self.diff("LI+SFA", "SFA")], "versus")
        means = two_way_resample_means(both, **self.boot).min("versus")
        estimate = both.mean(["fly", "pair"]).min("versus")
        tails = [(1 - LEVEL) / 2, (1 + LEVEL) / 2]
        bounds = means.quantile(tails, "resample", skipna=True)
        numbers = {
            float(n): (
                float(estimate.sel(noise=n)),
                float(bounds.sel(noise=n).isel(quantile=0)),
                float(bounds.sel(noise=n).isel(quantile=1)),
            )
            for n in both["noise"].values
        }
        return self._row(4, numbers, levels, roles)

    def _row(self, claim: int, numbers: dict, levels: list[float], roles) -> dict:
        """A claim judged at ``levels``: holds if every CI is above 0, fails if any is below 0,
        else undecided; a ceiling level counts as undecided."""
        outcomes = {
            n: "ceiling" if n in self.ceiling else _outcome(*numbers[n][1:]) for n in levels
        }
        below = [n for n in levels if outcomes[n] == "below"]
        judged = [n for n in levels if outcomes[n] != "ceiling"]
        if below:
            verdict, shown = "fails", min(below, key=lambda n: numbers[n][2])
            reason = f"CI below 0 at {self._levels(below)}"
        elif levels and all(outcomes[n] == "above" for n in levels):
            verdict, shown = "holds", min(judged, key=lambda n: numbers[n][1])
            reason = f"CI above 0 at {self._levels(levels)}"
        else:
            verdict = "undecided"
            shown = min(judged, key=lambda n: numbers[n][1]) if judged else None
            reason = self._undecided_reason(outcomes)
        detail = "; ".join(
            f"{self._levels([n])}: {_numbers(*numbers[n])}"
            + (" (ceiling)" if n in self.ceiling else "")
            for n in levels
        )
        values = numbers[shown] if shown is not None else (np.nan,) * 3
        return self._make_row(claim, levels, roles, shown, values, verdict, reason, detail)

    def trend(self, roles) -> dict:
        """Claim 2: the LI benefit at the high level minus that at the low level."""
        low, high = roles["low"], roles["high"]
        benefit = self.diff("LI", "none")
        change = benefit.sel(noise=high, drop=True) - benefit.sel(noise=low, drop=True)
        estimate, ci_low, ci_high = (
            float(v) for v in two_way_bootstrap(change, level=LEVEL, **self.boot)
        )
        at_ceiling = [n for n in _unique([low, high]) if n in self.ceiling]
        if high <= low:
            verdict = "undecided"
            reason = f"the high level ({self._levels([high])}) is not above the low level"
        elif at_ceiling:
            verdict, reason = "undecided", f"{self._levels(at_ceiling)} at the ceiling"
        else:
            outcome = _outcome(ci_low, ci_high)
            verdict = {"below": "holds", "above": "fails"}.get(outcome, "undecided")
            reason = (
                f"CI of the change {'includes 0' if verdict == 'undecided' else outcome + ' 0'}"
            )
        detail = f"{self._levels([low])} -> {self._levels([high])}: " + _numbers(
            estimate, ci_low, ci_high
        )
        values = (estimate, ci_low, ci_high)
        return self._make_row(2, [low, high], roles, None, values, verdict, reason, detail)

    def _make_row(self, claim, levels, roles, shown, values, verdict, reason, detail) -> dict:
        statement, statistic = STATEMENTS[claim]
        named = [
            f"{'/'.join(r for r, v in roles.items() if v == n) or 'level'} {self._levels([n])}"
            for n in levels
        ]
        return {
            "claim": claim,
            "statement": statement,
            "statistic": statistic,
            "levels": ", ".join(named) if named else "none (every level at the ceiling)",
            "noise": np.nan if shown is None else shown,
            "estimate": values[0],
            "ci_low": values[1],
            "ci_high": values[2],
            "verdict": verdict,
            "reason": reason,
            "detail": detail,
        }

    def _undecided_reason(self, outcomes: dict) -> str:
        if not outcomes:
            return "every level is at the ceiling"
        ceiling = [n for n, o in outcomes.items() if o == "ceiling"]
        spanning = [n for n, o in outcomes.items() if o == "includes 0"]
        parts = [f"CI includes 0 at {self._levels(spanning)}"] if spanning else []
        parts += [f"{self._levels(ceiling)} at the ceiling"] if ceiling else []
        return "; ".join(parts)

    def _levels(self, levels) -> str:
        return ", ".join(f"{n:g}" for n in levels) + (f" {self.units}" if self.units else "")


def _numbers(estimate: float, low: float, high: float) -> str:
    return f"{estimate:+.3f} [{low:+.3f}, {high:+.3f}]"


def claims_table(table: pd.DataFrame) -> str:
    """The verdicts of :func:`claims` as text: one line per claim, then its levels' numbers."""
    attrs = table.attrs
    lines = [
        f"Claims of Li et al. 2025 ({attrs.get('measure', 'accuracy')}; estimate [95% CI], "
        f"two-way bootstrap over {attrs.get('flies')} flies x {attrs.get('pairs')} odor pairs; "
        "rules: flysim.redundancy.claims)"
    ]
    for claim, row in table.iterrows():
        lines.append(f"{claim}. {row.statement}: {row.verdict.upper()} ({row.reason})")
        lines.append(f"   {row.statistic} - {row.levels}; {row.detail}")
    return "\n".join(lines)
