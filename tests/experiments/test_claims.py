"""``flysim.redundancy.claims`` on synthetic results whose verdicts are known."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from flysim.experiments.claims import claims_table, pick_levels
from flysim.redundancy import claims

CONDITIONS = ("none", "LI", "SFA", "LI+SFA")

#: Five noise levels; the none circuit's accuracy there: 0 Hz at the ceiling, then the levels
#: nearest 0.95 / 0.80 / 0.65 are 10 / 20 / 30 Hz.
NOISE = (0.0, 10.0, 20.0, 30.0, 40.0)
NONE = (1.0, 0.94, 0.81, 0.66, 0.55)


def _result(
    shifts=None,
    *,
    none=NONE,
    noise=NOISE,
    n_fly=8,
    n_pair=12,
    cell_sd=0.02,
    pair_benefit_sd=None,
    seed=0,
):
    """``accuracy(condition, noise, fly, pair)``: the none circuit's accuracy per level, plus a
    condition's shift per level (``shifts[condition]``), shared fly and pair effects, and cell
    noise. ``pair_benefit_sd = (condition, sd)`` gives that condition's shift a per-pair part."""
    rng = np.random.default_rng(seed)
    n_noise = len(noise)
    shift = np.zeros((4, n_noise))
    for k, condition in enumerate(CONDITIONS):
        shift[k] = (shifts or {}).get(condition, 0.0)
    values = (
        np.asarray(none, float)[None, :, None, None]
        + shift[:, :, None, None]
        + 0.03 * _centred(rng, (1, 1, n_fly, 1))  # flies differ
        + 0.05 * _centred(rng, (1, 1, 1, n_pair))  # pairs differ more
        + cell_sd * rng.standard_normal((4, n_noise, n_fly, n_pair))
    )
    if pair_benefit_sd is not None:
        condition, sd = pair_benefit_sd
        values[CONDITIONS.index(condition)] += sd * _centred(rng, (1, 1, n_pair))
    accuracy = xr.DataArray(
        values,
        dims=("condition", "noise", "fly", "pair"),
        coords={"condition": list(CONDITIONS), "noise": list(noise)},
    )
    accuracy["noise"].attrs["units"] = "Hz"
    return xr.Dataset({"accuracy": accuracy})


def _centred(rng, shape):
    """Standard normal effects with mean exactly 0 (so the means per level are as set)."""
    effects = rng.standard_normal(shape)
    return effects - effects.mean()


def _levels(*values):
    """A shift per level of NOISE (0, 10, 20, 30, 40 Hz)."""
    return np.asarray(values, float)


def _verdict(ds, claim, **kwargs):
    return claims(ds, n_resamples=1000, **kwargs).loc[claim, "verdict"]


# -- the levels ------------------------------------------------------------------------------


def test_roles_are_the_levels_nearest_the_targets_and_ceiling_levels_are_found():
    table = claims(_result(), n_resamples=200)
    assert table.attrs["levels"] == {"low": 10.0, "medium": 20.0, "high": 30.0}
    assert table.attrs["ceiling"] == [0.0]


def test_a_tie_between_two_levels_goes_to_the_lower_noise():
    ds = _result(none=(0.90, 1.0, 0.80), noise=(5.0, 10.0, 20.0), cell_sd=0.0)
    assert pick_levels(ds.accuracy)["low"] == 5.0  # 0.90 and 1.0 are both 0.05 from 0.95


def test_with_two_levels_roles_share_a_level():
    ds = _result({"LI": 0.05}, none=(0.95, 0.75), noise=(10.0, 30.0))
    table = claims(ds, n_resamples=200)
    assert table.attrs["levels"] == {"low": 10.0, "medium": 30.0, "high": 30.0}
    assert table.loc[1, "verdict"] == "holds"  # LI - none at 10 and 30 Hz


def test_a_single_level_leaves_the_trend_undecided():
    ds = _result({"LI": 0.05}, none=(0.8,), noise=(20.0,))
    table = claims(ds, n_resamples=200)
    assert set(table.attrs["levels"].values()) == {20.0}
    assert table.loc[1, "verdict"] == "holds"  # evaluated once, at 20 Hz
    assert table.loc[2, "verdict"] == "undecided"
    assert "not above the low level" in table.loc[2, "reason"]


# -- claim 1: LI - none at low and medium ----------------------------------------------------


def test_claim_1_holds_fails_undecided():
    assert _verdict(_result({"LI": _levels(0, 0.05, 0.05, 0, 0)}), 1) == "holds"
    assert _verdict(_result({"LI": _levels(0, 0.05, -0.05, 0, 0)}), 1) == "fails"
    assert _verdict(_result({"LI": _levels(0, 0.05, 0.0, 0, 0)}), 1) == "undecided"
    # only the low and medium levels count: LI hurting at high noise does not matter here
    assert _verdict(_result({"LI": _levels(0, 0.05, 0.05, -0.2, -0.2)}), 1) == "holds"


def test_claim_1_reports_the_deciding_level():
    table = claims(_result({"LI": _levels(0, 0.05, -0.05, 0, 0)}), n_resamples=500)
    row = table.loc[1]
    assert row.noise == 20.0 and row.ci_high < 0 and row.estimate == pytest.approx(-0.05, abs=0.01)
    assert "CI below 0 at 20 Hz" in row.reason and "10 Hz:" in row.detail


def test_claim_1_at_a_ceiling_level_is_undecided():
    # the level nearest 0.95 has every condition >= 0.97 (none 0.975): LI's benefit there,
    # however clear, cannot decide the claim
    none = (0.975, 0.80, 0.65)
    ceiling = {"LI": (0.02, 0.05, 0.0), "SFA": (0.0, 0.0, 0.0), "LI+SFA": (0.01, 0.0, 0.0)}
    ds = _result(ceiling, none=none, noise=(5.0, 20.0, 30.0), cell_sd=0.005)
    table = claims(ds, n_resamples=500)
    assert table.attrs["ceiling"] == [5.0] and table.attrs["levels"]["low"] == 5.0
    assert table.loc[1, "verdict"] == "undecided" and "at the ceiling" in table.loc[1, "reason"]
    # ... but a CI below 0 at the other level still fails it
    ceiling["LI"] = (0.02, -0.05, 0.0)
    ds = _result(ceiling, none=none, noise=(5.0, 20.0, 30.0), cell_sd=0.005)
    assert _verdict(ds, 1) == "fails"


def test_a_ci_that_touches_0_is_not_above_it():
    """No cell noise and no effect: every difference is exactly 0, so is its CI."""
    table = claims(_result(cell_sd=0.0), n_resamples=200)
    assert (table.loc[[1, 3], ["ci_low", "ci_high"]] == 0).all().all()
    assert set(table.verdict) == {"undecided"}


# -- claim 2: the trend of the LI benefit ----------------------------------------------------


def test_claim_2_holds_fails_undecided():
    assert _verdict(_result({"LI": _levels(0, 0.1, 0.05, -0.05, 0)}), 2) == "holds"
    assert _verdict(_result({"LI": _levels(0, 0.0, 0.05, 0.1, 0)}), 2) == "fails"
    assert _verdict(_result({"LI": _levels(0, 0.05, 0.05, 0.05, 0)}), 2) == "undecided"


def test_claim_2_is_high_minus_low_of_the_paired_benefit():
    ds = _result({"LI": _levels(0, 0.1, 0.05, -0.05, 0)})
    row = claims(ds, n_resamples=500).loc[2]
    benefit = ds.accuracy.sel(condition="LI") - ds.accuracy.sel(condition="none")
    expected = float((benefit.sel(noise=30.0) - benefit.sel(noise=10.0)).mean())
    assert row.estimate == pytest.approx(expected) and row.ci_low < expected < row.ci_high < 0
    assert np.isnan(row.noise) and row.levels == "low 10 Hz, high 30 Hz"


def test_claim_2_with_a_level_at_the_ceiling_is_undecided():
    ds = _result(
        {"LI": (0.02, 0.0, -0.1), "LI+SFA": (0.01, 0, 0)},
        none=(0.975, 0.80, 0.65),
        noise=(5.0, 20.0, 30.0),
        cell_sd=0.005,
    )
    row = claims(ds, n_resamples=200).loc[2]
    assert row.verdict == "undecided" and "5 Hz at the ceiling" in row.reason


# -- claim 3: SFA - none at every level not at the ceiling -----------------------------------


def test_claim_3_holds_fails_undecided():
    # at 0 Hz (the ceiling) SFA is a little worse: the level does not count
    assert _verdict(_result({"SFA": _levels(-0.02, 0.03, 0.03, 0.03, 0.03)}), 3) == "holds"
    assert _verdict(_result({"SFA": _levels(0, 0.03, 0.03, 0.03, -0.03)}), 3) == "fails"
    assert _verdict(_result({"SFA": _levels(0, 0.03, 0.0, 0.03, 0.03)}), 3) == "undecided"


def test_claim_3_with_every_level_at_the_ceiling_is_undecided():
    ds = _result({"SFA": 0.01}, none=(0.99, 0.98), noise=(0.0, 5.0), cell_sd=0.005)
    row = claims(ds, n_resamples=200).loc[3]
    assert row.verdict == "undecided" and row.reason == "every level is at the ceiling"
    assert np.isnan(row.estimate) and row.levels.startswith("none")


def test_claim_3_counts_the_pairs_as_a_random_factor():
    """SFA helps on average, but by a lot for some pairs and hurts for others: over flies alone
    (these pairs fixed) its CI is above 0; over flies and pairs it includes 0. Fails with a
    fly-only interval."""
    ds = _result({"SFA": 0.02}, pair_benefit_sd=("SFA", 0.06), cell_sd=0.01, seed=3)
    table = claims(ds, n_resamples=1000)
    assert table.loc[3, "verdict"] == "undecided"
    # the same data judged as if the pairs were fixed: per fly, the mean over these pairs
    per_fly = (ds.accuracy.sel(condition="SFA") - ds.accuracy.sel(condition="none")).mean("pair")
    low = per_fly.mean("fly") - 2.365 * per_fly.std("fly", ddof=1) / np.sqrt(8)
    assert (low.sel(noise=[10.0, 20.0, 30.0, 40.0]) > 0).all()


# -- claim 4: LI+SFA above both single mechanisms --------------------------------------------


def test_claim_4_holds_fails_undecided():
    best = {"LI": 0.05, "SFA": 0.03, "LI+SFA": _levels(0, 0.08, 0.08, 0.08, 0.08)}
    assert _verdict(_result(best), 4) == "holds"
    below_li = {**best, "LI+SFA": _levels(0, 0.08, 0.08, 0.0, 0.08)}
    assert _verdict(_result(below_li), 4) == "fails"
    tied_with_li = {**best, "LI+SFA": _levels(0, 0.08, 0.05, 0.08, 0.08)}
    assert _verdict(_result(tied_with_li), 4) == "undecided"


def test_claim_4_takes_the_max_over_means_not_per_cell():
    """LI and SFA equal, each cell noisy (SD 0.1, as a per-pair accuracy from ~20 tests);
    LI+SFA truly better than both by 0.04. A max per cell is biased upward (the better of two
    noisy values, by ~0.056 here) and would make LI+SFA look worse than the better one."""
    shifts = {"LI": 0.05, "SFA": 0.05, "LI+SFA": 0.09}
    ds = _result(shifts, none=(0.8, 0.7), noise=(20.0, 30.0), cell_sd=0.1, n_fly=10, n_pair=40)
    row = claims(ds, n_resamples=1000).loc[4]
    assert row.verdict == "holds" and row.estimate == pytest.approx(0.04, abs=0.015)
    acc = ds.accuracy
    per_cell_max = np.maximum(acc.sel(condition="LI"), acc.sel(condition="SFA"))
    assert ((acc.sel(condition="LI+SFA") - per_cell_max).mean(["fly", "pair"]) < 0).all()


# -- the table -------------------------------------------------------------------------------


def test_the_table_has_a_row_per_claim_and_is_deterministic():
    ds = _result({"LI": _levels(0, 0.1, 0.05, -0.05, 0), "SFA": 0.03, "LI+SFA": 0.02})
    table = claims(ds, n_resamples=300, seed=4)
    assert isinstance(table, pd.DataFrame) and list(table.index) == [1, 2, 3, 4]
    assert set(table.verdict) <= {"holds", "fails", "undecided"}
    columns = ["statement", "statistic", "levels", "noise", "estimate", "ci_low", "ci_high"]
    assert set(columns + ["verdict", "reason", "detail"]) <= set(table.columns)
    assert (table.ci_low <= table.estimate).all() and (table.estimate <= table.ci_high).all()
    pd.testing.assert_frame_equal(table, claims(ds, n_resamples=300, seed=4))
    text = claims_table(table)
    assert text.count("\n") == 8 and "HOLDS" in text and "two-way bootstrap" in text


def test_results_without_pairs_are_refused():
    ds = _result().mean("pair")
    with pytest.raises(ValueError, match=r"missing \['pair'\]"):
        claims(ds)
    with pytest.raises(ValueError, match="conditions \\['SFA'\\] missing"):
        claims(_result().drop_sel(condition="SFA"))
