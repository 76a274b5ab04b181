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


def test_pair_means_are_the_means_of_the_per_pair_values(tiny):
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


def test_pair_discrimination_with_mbon_choice(tiny):
    """The MBON readout reads the same simulate run as the decoder: its accuracy and
    diagnostics per pair, from the KC spikes of the test pairs and the reference odors."""
    from flysim import Noise

    point = PairDiscrimination(n_pairs=2, n_trials=4, mbon_trials=2, n_reference=2)(
        tiny, Noise(seed=0), 0
    )
    for name in (
        "mbon_accuracy",
        "mbon_naive_rate",
        "cs_plus_drop",
        "tie_fraction",
        "silent_fraction",
        "overlap_cs_plus",
        "overlap_cs_minus",
        "overlap_dprime",
        "cs_difference",
    ):
        assert point[name].dims == ("pair",), name
    assert 0.0 <= float(point.mbon_accuracy.min()) <= float(point.mbon_accuracy.max()) <= 1.0
    assert float(point.mbon_naive_rate.min()) > 0
    assert float(point.decoder_accuracy.mean()) >= 0.5
    assert PairDiscrimination(mbon_trials=2).describe()["readout"] == "numpy"


def test_pair_discrimination_refuses_too_few_trials_for_the_readout():
    import pytest

    with pytest.raises(ValueError, match=r"mbon_trials \(6\) must lie in 0..n_trials/2"):
        PairDiscrimination(n_trials=10, mbon_trials=6)
    with pytest.raises(ValueError, match="n_reference >= 1"):
        PairDiscrimination(n_trials=10, mbon_trials=2, n_reference=0)


def test_prepare_compiles_the_network_a_point_runs(tiny):
    """``prepare`` (run by a scan while its workers start) builds the structure the points use."""
    from flysim import Noise
    from flysim.engine.build import structure_keys_used

    experiment = PairDiscrimination(n_pairs=2, n_trials=4, mbon_trials=2, n_reference=2)
    noise = Noise(seed=0, input_sigma=10 * Hz)
    before = len(structure_keys_used())
    experiment.prepare(tiny, noise)
    prepared = structure_keys_used()[before:]
    experiment(tiny, noise, 0)
    assert len(prepared) == 1 and set(structure_keys_used()[before + 1 :]) == set(prepared)


def test_the_odor_window_does_not_depend_on_the_post_odor_period(tiny):
    """Why a point simulates no post-odor period: with the keyed streams, the odor window's
    spikes are the same whether or not one follows (OU input noise, KC current noise, onset
    jitter and noise over the whole trial included); every measure reads that window."""
    from brian2 import ms, pA

    import flysim
    from flysim.experiments.redundancy import _without_post

    noise = flysim.Noise(
        seed=2,
        input_sigma=20 * Hz,
        input_tau=50 * ms,
        window="trial",
        kc_current_sigma=5 * pA,
        onset_jitter=10 * ms,
    )
    panel = similar_pairs(2, 0.8, n_glomeruli=tiny.network.n_glomeruli, seed=0)
    cut = _without_post(tiny)
    assert float(tiny.protocol.post) > 0 and float(cut.protocol.post) == 0
    runs = [
        flysim.simulate(p, panel, n_trials=3, noise=noise, seed=1, record_spikes=True)
        for p in (tiny, cut)
    ]
    window = float(tiny.protocol.baseline + tiny.protocol.odor_duration)
    for name in ("kc_spike_count", "pn_spike_count", "kc_count_early", "kc_count_late"):
        if name in runs[0]:
            assert np.array_equal(runs[0][name].values, runs[1][name].values), name
    columns = ("kc_spike_odor", "kc_spike_trial", "kc_spike_index", "kc_spike_time")
    spikes = [np.stack([ds[c].values for c in columns], axis=1) for ds in runs]
    in_window = spikes[0][spikes[0][:, 3] < window]
    assert len(in_window) > 100 and len(spikes[1]) < len(spikes[0])  # spikes after the window
    assert np.array_equal(in_window, spikes[1][spikes[1][:, 3] < window])
