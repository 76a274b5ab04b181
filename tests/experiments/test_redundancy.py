"""The LI x SFA x noise experiment, quick twin on the tiny preset."""

import numpy as np
import pytest
import xarray as xr
from brian2 import Hz

from flysim.analysis import two_way_bootstrap
from flysim.inputs.odors import similar_pairs
from flysim.redundancy import (
    CONDITIONS,
    PairDiscrimination,
    differences_table,
    estimate_ci,
    mean_ci,
    redundancy,
    summary_table,
)


def test_redundancy_layout_and_benefits(tiny, tmp_path):
    result = redundancy(
        tiny,
        [0, 20],
        experiment=PairDiscrimination(n_pairs=2, n_trials=6),
        seeds=(0, 1),
        store=tmp_path / "r.zarr",
        progress=False,
    )
    assert list(result.condition.values) == list(CONDITIONS)
    assert result.accuracy.dims == ("condition", "noise", "fly", "pair")
    assert list(result.odor_seed.values) == [0, 0] and list(result.panel_pair.values) == [0, 1]
    panel = similar_pairs(2, 0.8, n_glomeruli=tiny.network.n_glomeruli, seed=0)
    assert np.allclose(result.input_similarity, panel.info["input_similarity"])  # realised
    assert result.accuracy.attrs["measure"] == "decoder_accuracy"  # no MBON choice measured
    assert result.accuracy.equals(result.decoder_accuracy)
    assert result.accuracy.sel(noise=0).min() >= 0.9  # noise-free pairs are told apart
    expected = result.accuracy.sel(condition="LI") - result.accuracy.sel(condition="none")
    assert np.allclose(result.li_benefit, expected)
    acc = result.accuracy
    for single in ("LI", "SFA"):  # paired per fly and pair, not a difference of means
        paired = acc.sel(condition="LI+SFA", drop=True) - acc.sel(condition=single, drop=True)
        assert result[f"combined_vs_{single.lower()}"].dims == ("noise", "fly", "pair")
        assert np.array_equal(result[f"combined_vs_{single.lower()}"], paired)
    # LI (APL) makes the KC code sparser than no LI, in both SFA settings
    coding = result.kc_coding_level.mean(["noise", "fly", "pair"])
    assert coding.sel(condition="LI") < coding.sel(condition="none")
    assert coding.sel(condition="LI+SFA") < coding.sel(condition="SFA")
    summary = summary_table(result).splitlines()
    assert "two-way bootstrap over 2 flies x 2 odor pairs" in summary[0] and "LI+SFA" in summary[1]
    table = differences_table(result).splitlines()
    assert table[1].split()[2:] == ["li_benefit", "sfa_benefit", "synergy"] + [
        "combined_vs_li",
        "combined_vs_sfa",
    ]
    estimate, low, high = two_way_bootstrap(result.li_benefit.sel(noise=20))
    assert f"{float(estimate):+.3f} [{float(low):+.3f}, {float(high):+.3f}]" in table[3]


def test_tables_of_pair_means_use_the_t_interval_over_flies():
    rng = np.random.default_rng(0)
    accuracy = xr.DataArray(
        rng.random((4, 2, 3)),
        dims=("condition", "noise", "fly"),
        coords={"condition": list(CONDITIONS), "noise": [10.0, 40.0]},
    )
    accuracy["noise"].attrs["units"] = "Hz"
    result = xr.Dataset({"accuracy": accuracy, "li_benefit": accuracy[1] - accuracy[0]})
    table = summary_table(result).splitlines()
    assert table[0] == "mean ± 95% CI, t interval over 3 flies"
    mean, half = mean_ci(accuracy.sel(condition="SFA", noise=40.0))
    assert f"{float(mean):.3f} ± {float(half):.3f}" in table[3]
    mean, half = mean_ci(result.li_benefit.sel(noise=10.0))
    assert (
        f"{float(mean):+.3f} ± {float(half):.3f}"
        in differences_table(result, ["li_benefit"]).splitlines()[2]
    )
    estimate, low, high, how = estimate_ci(accuracy)
    assert how == "t interval over 3 flies" and np.allclose(high - estimate, estimate - low)


class PanelExperiment:
    """A cheap stand-in for ``PairDiscrimination``: per-pair accuracies from the point's
    settings and panel (no simulation); every call is logged in ``calls``."""

    def __init__(self, odor_seed=0, calls=None):
        self.odor_seed, self.per_pair, self.calls = odor_seed, True, calls

    def describe(self):
        return {"name": "panel", "odor_seed": self.odor_seed}

    def __call__(self, params, noise, seed):
        self.calls.append((self.odor_seed, seed))
        pairs = np.arange(3)
        accuracy = (
            0.6
            + 0.1 * params.li.enabled
            + 0.05 * params.sfa.enabled
            + 0.01 * seed
            + 0.001 * (pairs + 10 * self.odor_seed)
            - 0.001 * float(noise.input_sigma)
        )
        return xr.Dataset(
            {"decoder_accuracy": ("pair", accuracy, {"units": "1"})},
            coords={"pair": pairs, "input_similarity": ("pair", 0.8 + 0.01 * pairs)},
        )


def test_odor_seeds_concatenate_panels_along_pair_and_resume(tiny, tmp_path):
    calls = []
    run = dict(
        experiment=PanelExperiment(calls=calls),
        seeds=(0, 1),
        store=tmp_path / "r.zarr",
        progress=False,
        odor_seeds=(0, 1),
    )
    result = redundancy(tiny, [0, 20], **run)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r-odors0.zarr", "r-odors1.zarr"]
    assert len(calls) == 2 * 4 * 2 * 2  # panels x conditions x noise levels x flies
    assert result.accuracy.dims == ("condition", "noise", "fly", "pair")
    assert list(result.pair.values) == list(range(6))
    assert list(result.odor_seed.values) == [0, 0, 0, 1, 1, 1]
    assert list(result.panel_pair.values) == [0, 1, 2, 0, 1, 2]
    # each pair's values come from its own panel's scan
    none = result.accuracy.sel(condition="none", noise=20.0, fly=1)
    assert np.allclose(none, 0.6 + 0.01 - 0.02 + 0.001 * np.array([0, 1, 2, 10, 11, 12]))
    assert np.allclose(result.li_benefit, 0.1) and result.li_benefit.dims[-1] == "pair"
    assert result.attrs["odor_seeds"] == "[0, 1]"
    # a rerun finds every point in the panels' stores
    again = redundancy(tiny, [0, 20], **run)
    assert len(calls) == 32
    xr.testing.assert_identical(again, result)
    # the two panels' pairs together are the random factor of the tables
    assert "2 flies x 6 odor pairs" in summary_table(result).splitlines()[0]


def test_odor_seeds_need_an_experiment_with_per_pair_results(tiny):
    with pytest.raises(ValueError, match="odor_seeds must be distinct"):
        redundancy(tiny, [0], experiment=PanelExperiment(calls=[]), odor_seeds=(1, 1))
    with pytest.raises(ValueError, match=r"per-pair results \(PairDiscrimination"):
        redundancy(tiny, [0], experiment=PairDiscrimination(per_pair=False), odor_seeds=(0, 1))


def test_pair_means_are_the_layout_of_stores_from_before(tiny):
    """``per_pair=False`` gives the scalars a store of an earlier scan holds (and the same
    description, so it resumes); they are the means of the per-pair values."""
    from flysim import Noise

    config = dict(n_pairs=2, n_trials=3)
    noise = Noise(seed=0, input_sigma=10 * Hz)
    per_pair = PairDiscrimination(**config)(tiny, noise, 0)
    means = PairDiscrimination(**config, per_pair=False)(tiny, noise, 0)
    assert per_pair.decoder_accuracy.dims == ("pair",) and means.decoder_accuracy.dims == ()
    xr.testing.assert_allclose(per_pair.drop_vars("input_similarity").mean("pair"), means)
    assert set(means.data_vars) == set(per_pair.data_vars)
    assert PairDiscrimination(**config).describe()["per_pair"] is True
    assert "per_pair" not in PairDiscrimination(**config, per_pair=False).describe()


def test_pair_discrimination_with_mbon_choice(tiny):
    from flysim import Noise

    point = PairDiscrimination(n_pairs=1, n_trials=2, mbon_trials=1)(tiny, Noise(seed=0), 0)
    assert point.mbon_accuracy.dims == ("pair",)
    assert 0.0 <= float(point.mbon_accuracy[0]) <= 1.0
    assert float(point.decoder_accuracy[0]) >= 0.5


def test_shared_trials_read_the_conditioning_tests(tiny):
    """One network and one run per point: the MBON choice is the same as with separate decoder
    trials (same conditioning run), the KC measures come from its test presentations."""
    from flysim import Noise
    from flysim.engine.build import structure_keys_used

    config = dict(n_pairs=2, n_trials=3, mbon_trials=3)
    separate = PairDiscrimination(**config)(tiny, Noise(seed=0, input_sigma=10 * Hz), 0)
    before = len(structure_keys_used())
    shared = PairDiscrimination(**config, shared_trials=True)(
        tiny, Noise(seed=0, input_sigma=10 * Hz), 0
    )
    assert len(set(structure_keys_used()[before:])) == 1  # the plastic network only
    assert np.array_equal(shared.mbon_accuracy, separate.mbon_accuracy)  # per pair
    assert float(shared.decoder_accuracy.mean()) >= 0.5
    for name in ("kc_coding_level", "kc_pair_correlation", "pn_pair_correlation"):
        # other trials of the same odors: close, not equal
        assert abs(float((shared[name] - separate[name]).mean())) < 0.15, name
    assert "shared_trials" in PairDiscrimination(**config, shared_trials=True).describe()
    assert "shared_trials" not in PairDiscrimination(**config).describe()


def test_prepare_compiles_the_network_a_point_runs(tiny):
    """``prepare`` (run by a scan while its workers start) builds the structure the points use."""
    from flysim import Noise
    from flysim.engine.build import structure_keys_used

    experiment = PairDiscrimination(n_pairs=2, n_trials=2, mbon_trials=2, shared_trials=True)
    noise = Noise(seed=0, input_sigma=10 * Hz)
    before = len(structure_keys_used())
    experiment.prepare(tiny, noise)
    prepared = structure_keys_used()[before:]
    experiment(tiny, noise, 0)
    assert len(prepared) == 1 and set(structure_keys_used()[before + 1 :]) == set(prepared)


def test_shared_trials_need_as_many_decoder_as_conditioning_trials():
    import pytest

    with pytest.raises(ValueError, match=r"n_trials \(10\) must equal mbon_trials \(4\)"):
        PairDiscrimination(mbon_trials=4, shared_trials=True)
