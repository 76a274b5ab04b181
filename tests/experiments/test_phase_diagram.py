"""The LI x SFA phase diagram: its scans (on a fake experiment) and the selection/judgement."""

import json

import numpy as np
import pytest
import xarray as xr

from flysim.experiments.claims import claims
from flysim.experiments.phase_diagram import (
    PhasePlan,
    phase_diagram,
    plan_points,
    select_and_judge,
    selected_conditions,
)


class PanelFake:
    """A cheap stand-in for PairDiscrimination: per-pair accuracies from the circuit's settings.

    It depends on ``li.site`` even when LI is off, and on ``noise.input_tau`` even without
    noise, so a copied point (not computed) is told from a computed one. Logs each call."""

    def __init__(self, similarity, odor_seed, log):
        self.similarity, self.odor_seed, self.log = similarity, odor_seed, str(log)

    def describe(self):
        return {"name": "panel_fake", "similarity": self.similarity, "odor_seed": self.odor_seed}

    def __call__(self, params, noise, seed):
        li, sfa = float(params.li.strength), float(params.sfa.strength)
        sigma = float(noise.input_sigma)
        with open(self.log, "a") as f:
            f.write(f"{params.li.site} {li} {sfa} {sigma} {noise.input_tau} {seed}\n")
        value = 0.5 + 0.1 * li + 0.05 * sfa - 0.005 * sigma + 0.01 * seed + 0.001 * self.odor_seed
        value += 0.02 * (params.li.site == "ln") + 0.03 * (noise.input_tau is not None)
        pairs = np.arange(2)
        return xr.Dataset(
            {"mbon_accuracy": ("pair", value + 0.001 * pairs, {"units": "1"})},
            coords={"pair": pairs, "input_similarity": ("pair", self.similarity - 0.01 * pairs)},
        )


PLAN = PhasePlan(
    li_strengths=(0.0, 1.0),
    sfa_strengths=(0.0, 0.5),
    noise_levels=(0.0, 10.0),
    li_sites=("apl", "ln"),
    similarities=(0.8, 0.6),
    noise_types=("frozen", "ou"),
    odor_seeds=(0, 1),
    fly_seeds=(0, 1),
    n_pairs=2,
)


def test_phase_diagram_layout_copies_and_resume(tiny, tmp_path):
    log = tmp_path / "calls.txt"

    def fake(similarity, odor_seed):
        return PanelFake(similarity, odor_seed, log)

    rows = plan_points(PLAN, tiny, tmp_path / "stores")
    # per panel and similarity: frozen 2 sites (apl: 2 x 2 x 2, ln: li 0 copied: 1 x 2 x 2),
    # OU without noise 0 (copied from frozen): 4 + 2 settings; x 2 flies
    assert [r["points"] for r in rows] == [24, 12] * 4 and not any(r["stored"] for r in rows)
    run = dict(store_dir=tmp_path / "stores", experiment=fake, progress=False)
    result = phase_diagram(tiny, PLAN, **run)
    assert len(log.read_text().splitlines()) == sum(r["points"] for r in rows)
    assert result.accuracy.dims == (
        *("similarity", "noise_type", "li.site", "li.strength", "sfa.strength"),
        *("noise", "fly", "pair"),
    )
    assert list(result.odor_seed.values) == [0, 0, 1, 1]
    assert result["noise"].attrs["units"] == "Hz" and result.accuracy.notnull().all()
    acc = result.accuracy
    # copied: LI off at the LNs is the APL's point; OU without noise is the frozen point
    off = acc.sel({"li.strength": 0.0})
    assert off.sel({"li.site": "ln"}, drop=True).equals(off.sel({"li.site": "apl"}, drop=True))
    quiet = acc.sel(noise=0.0)
    assert quiet.sel(noise_type="ou", drop=True).equals(quiet.sel(noise_type="frozen", drop=True))
    computed = acc.sel({"li.strength": 1.0, "li.site": "ln", "noise_type": "ou", "noise": 10.0})
    expected = acc.sel({"li.strength": 1.0, "li.site": "apl", "noise_type": "frozen"})
    assert np.allclose(computed - expected.sel(noise=10.0), 0.05)  # computed: both offsets
    assert np.allclose(result.li_benefit, acc - acc.sel({"li.strength": 0.0}))
    assert np.allclose(result.sfa_benefit.sel({"sfa.strength": 0.5}), 0.025)
    assert np.allclose(result.input_similarity.sel(similarity=0.6), [0.6, 0.59] * 2)
    # a rerun computes nothing and returns the same
    assert all(r["stored"] == r["points"] for r in plan_points(PLAN, tiny, tmp_path / "stores"))
    again = phase_diagram(tiny, PLAN, **run)
    assert len(log.read_text().splitlines()) == sum(r["points"] for r in rows)
    assert again.equals(result)


def synthetic(n_fly=3, n_pair=4, rng=None):
    """Accuracy(noise, li.strength, sfa.strength, fly, pair), pairs of odor panels 0 and 1:
    panel 0 favours (2, 1) at noise 0 and (0, 0) at noise 10; panel 1 is 0.1 lower."""
    rng = np.random.default_rng(0) if rng is None else rng
    shape = (2, 3, 2, n_fly, 2 * n_pair)
    values = 0.6 + 0.01 * rng.standard_normal(shape)
    values[0, 2, 1] += 0.3
    values[1, 0, 0] += 0.2
    values[..., n_pair:] -= 0.1
    return xr.DataArray(
        values,
        dims=("noise", "li.strength", "sfa.strength", "fly", "pair"),
        coords={
            "noise": [0.0, 10.0],
            "li.strength": [0.0, 1.0, 2.0],
            "sfa.strength": [0.0, 1.0],
            "fly": np.arange(n_fly),
            "pair": np.arange(2 * n_pair),
            "odor_seed": ("pair", np.repeat([0, 1], n_pair)),
        },
    )


def test_select_and_judge_on_a_held_out_panel():
    acc = synthetic()
    choice = select_and_judge(acc, n_resamples=500)
    assert list(choice["best_li.strength"].values) == [2.0, 0.0]
    assert list(choice["best_sfa.strength"].values) == [1.0, 0.0]
    assert list(choice.ties.values) == [1, 1]
    panel1 = acc.isel(pair=acc.odor_seed.values == 1)
    judged = panel1.sel({"li.strength": 2.0, "sfa.strength": 1.0, "noise": 0.0}).mean()
    assert np.isclose(choice.judged.sel(noise=0.0), judged)
    none = panel1.sel({"li.strength": 0.0, "sfa.strength": 0.0}).mean(["fly", "pair"])
    assert np.allclose(choice.none_judged, none)
    assert np.allclose(choice.gain, choice.judged - choice.none_judged)
    assert np.isclose(choice.gain.sel(noise=10.0), 0.0)  # the best is no LI and no SFA
    assert (choice.judged_low <= choice.judged).all() and (
        choice.judged <= choice.judged_high
    ).all()
    assert choice.selected.sel(noise=0.0) > choice.judged.sel(noise=0.0)  # panel 1 is lower
    assert choice.attrs["held_out"] == 1 and "two-way bootstrap" in choice.attrs["ci"]


def test_select_and_judge_degenerate_cases():
    one_fly = select_and_judge(synthetic(n_fly=1), n_resamples=100)
    assert one_fly.judged.notnull().all() and one_fly.judged_low.isnull().all()
    assert one_fly.attrs["ci"].startswith("not available")
    same = select_and_judge(synthetic(), select_seed=0, judge_seed=0, n_resamples=100)
    assert same.attrs["held_out"] == 0 and np.allclose(same.judged, same.selected)
    flat = select_and_judge(xr.ones_like(synthetic()), n_resamples=100)
    assert (flat.ties == 6).all() and (flat["best_li.strength"] == 0).all()  # the first
    no_zero = synthetic().sel({"li.strength": [1.0, 2.0]})
    assert "gain" not in select_and_judge(no_zero, n_resamples=100)
    with pytest.raises(ValueError, match="no pairs of odor panel 5"):
        select_and_judge(synthetic(), judge_seed=5)


def test_select_and_judge_over_sfa_tau():
    acc = synthetic().expand_dims({"sfa.tau": [100.0, 200.0]}, axis=3).copy()
    acc.loc[{"sfa.tau": 200.0, "noise": 10.0, "li.strength": 1.0, "sfa.strength": 1.0}] += 0.5
    choice = select_and_judge(acc, n_resamples=100)
    assert float(choice["best_sfa.tau"].sel(noise=10.0)) == 200.0
    assert float(choice["best_li.strength"].sel(noise=10.0)) == 1.0
    assert "gain" in choice


def test_phase_plan_refuses_bad_grids():
    with pytest.raises(ValueError, match="li_strengths must be distinct"):
        PhasePlan(li_strengths=(0.0, 0.0))
    with pytest.raises(ValueError, match="noise_types"):
        PhasePlan(noise_types=("pink",))


def test_selected_conditions_choose_on_one_panel_and_measure_on_the_other():
    accuracy = synthetic(n_fly=3, n_pair=4)
    # Panel 0 prefers li.strength 2 with SFA off; panel 1 prefers 1: the selection must follow
    # panel 0 and the values come from panel 1 (mutation: selecting on the judged panel, or
    # returning the selection panel's values, fails here).
    accuracy.loc[{"li.strength": 2.0, "sfa.strength": 0.0}] += np.where(
        accuracy["odor_seed"] == 0, 0.05, -0.05
    )
    accuracy.loc[{"li.strength": 1.0, "sfa.strength": 0.0}] += np.where(
        accuracy["odor_seed"] == 1, 0.05, 0.0
    )
    conditions = selected_conditions(accuracy, select_seed=0, judge_seed=1)
    chosen = json.loads(conditions.attrs["selected"])
    assert chosen["none"] == {"li.strength": 0.0, "sfa.strength": 0.0}
    assert chosen["LI"] == {"li.strength": 2.0, "sfa.strength": 0.0}
    assert chosen["SFA"] == {"li.strength": 0.0, "sfa.strength": 1.0}
    assert chosen["LI+SFA"] == {"li.strength": 2.0, "sfa.strength": 1.0}
    judged = accuracy.isel(pair=np.flatnonzero(accuracy["odor_seed"].values == 1))
    np.testing.assert_array_equal(
        conditions.accuracy.sel(condition="LI"),
        judged.sel({"li.strength": 2.0, "sfa.strength": 0.0}),
    )
    assert set(conditions.accuracy.dims) == {"condition", "noise", "fly", "pair"}
    assert len(claims(conditions, n_resamples=200)) == 4
    with pytest.raises(ValueError, match="select one cell of the others first"):
        selected_conditions(accuracy.expand_dims(similarity=[0.8]))
    with pytest.raises(ValueError, match="needs li.strength and sfa.strength 0"):
        selected_conditions(accuracy.sel({"sfa.strength": [1.0]}))
