"""The link experiment's parts: analogues, matched noise, calibration, codes as spikes, readouts,
digit pairs and claims per model (the whole run: tests/docs/test_figures.py, quick mode)."""

import numpy as np
import pytest
import xarray as xr

from flysim.adapters import FlyAdapter, FlyModel
from flysim.adapters.projection import sparse_projection
from flysim.experiments.circuit_vs_adapter import ANALOGUES, CONDITIONS, adapter_switches
from flysim.experiments.link_calibration import calibrate_conditions, late_early_ratio
from flysim.experiments.link_models import native_pair_accuracy
from flysim.experiments.link_noise import add_input_noise, input_reliability, matched_noise_sd
from flysim.experiments.link_readout import (
    codes_to_counts,
    counts_to_spikes,
    decoder_pair_accuracy,
    mbon_pair_measures,
)
from flysim.experiments.link_redundancy import link_claims, verdicts_table


def test_default_analogues_are_the_conditions_switches():
    for condition, (overrides, switches) in CONDITIONS.items():
        assert adapter_switches(condition) == switches
        other = adapter_switches(
            condition, li="graded", sfa="adaptation", strengths={"inhibition": 3.0}
        )
        assert ("inhibition" in other) == overrides["li.enabled"]
        assert ("adaptation" in other) == overrides["sfa.enabled"]
        assert not other["topk"] and not other["balance"]
    assert set(ANALOGUES) == {"li", "sfa"}


def _stimuli(n_odor=6, n_in=30, seed=0):
    data = np.random.default_rng(seed).gamma(0.5, 20.0, size=(n_odor, n_in))
    return xr.DataArray(
        data, dims=("odor", "pixel"), coords={"odor": [f"s{i}" for i in range(n_odor)]}
    )


def test_matched_noise_reaches_the_target_reliability_and_keeps_the_mean():
    clean = _stimuli()
    for target in (0.95, 0.7, 0.4):
        sd, reached = matched_noise_sd(clean, target, n_trials=8, seed=3)
        assert reached == pytest.approx(target, abs=1e-6)
        noisy = add_input_noise(clean, sd, 8, 3)
        assert input_reliability(noisy, "pixel") == pytest.approx(target, abs=1e-6)
    big = add_input_noise(clean, 5.0, 4000, 1)
    assert np.allclose(big.mean("trial"), clean, atol=0.5)  # additive, unclipped: same mean
    assert matched_noise_sd(clean, 1.0) == (0.0, 1.0)


def _counts(n_fly=1, n_odor=4, n_trial=4, n_glimpse=5, n_kc=50, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 3, size=(n_fly, n_odor, n_trial, n_glimpse, n_kc))
    return xr.DataArray(
        values,
        dims=("fly", "odor", "trial", "glimpse", "kc"),
        coords={"fly": [7], "odor": [f"s{i}" for i in range(n_odor)]},
    )


def test_codes_become_counts_by_the_documented_rule():
    codes = xr.DataArray(np.array([[0.0, 0.5, 1.0, 3.0, -1.0]]), dims=("x", "kc"))
    # c_ref = mean of the positive codes = 1.5: max(1, round(c / 1.5)) where c > 0
    assert codes_to_counts(codes).values.tolist() == [[0, 1, 1, 2, 0]]
    assert codes_to_counts(codes * 0).values.sum() == 0


def test_counts_become_spikes_in_their_glimpse_bins(tiny):
    counts = _counts()
    spikes = counts_to_spikes(counts, tiny)
    start = float(tiny.protocol.baseline)
    bin_width = float(tiny.protocol.odor_duration) / counts.sizes["glimpse"]
    glimpse = np.floor((spikes.kc_spike_time.values - start) / bin_width + 1e-9).astype(int)
    assert glimpse.min() >= 0 and glimpse.max() < counts.sizes["glimpse"]
    rebuilt = np.zeros(counts.shape, dtype=int)
    np.add.at(
        rebuilt,
        (
            spikes.kc_spike_fly.values,
            spikes.kc_spike_odor.values,
            spikes.kc_spike_trial.values,
            glimpse,
            spikes.kc_spike_index.values,
        ),
        1,
    )
    assert np.array_equal(rebuilt, counts.values)
    assert spikes.kc_spike_count.equals(counts.sum("glimpse"))
    from flysim.readout import kc_spikes_of

    read = kc_spikes_of(spikes, tiny)  # the readout accepts them (dt grid, odor window)
    assert len(read.kc) == int(counts.sum())


def _separable_counts(n_kc=100, n_trial=4, overlap=0):
    """Stimuli a, b (a pair) and two references; a and b share ``overlap`` active units."""
    active = {"a": range(0, 20), "b": range(20 - overlap, 40 - overlap)}
    active.update({"r0": range(40, 60), "r1": range(60, 80)})
    values = np.zeros((1, 4, n_trial, 5, n_kc), dtype=int)
    for o, units in enumerate(active.values()):
        values[0, o, :, :, list(units)] = 1
    return xr.DataArray(
        values,
        dims=("fly", "odor", "trial", "glimpse", "kc"),
        coords={"fly": [0], "odor": list(active)},
    )


def test_mbon_readout_and_decoder_tell_apart_distinct_codes(tiny):
    counts = _separable_counts()
    measures = mbon_pair_measures(
        counts_to_spikes(counts, tiny), [("a", "b")], ["r0", "r1"], 2, tiny
    )
    assert measures["mbon_accuracy"].dims == ("fly", "pair")
    assert measures["mbon_accuracy"].item() == 1.0
    assert {"tie_fraction", "silent_fraction", "cs_plus_drop", "mbon_naive_rate"} <= set(measures)
    decoded = decoder_pair_accuracy(counts.sum("glimpse"), [("a", "b")], n_folds=2)
    assert decoded.item() == 1.0


@pytest.mark.parametrize("native", ["retrieval", "hebbian", "ridge"])
def test_native_readouts_are_right_on_distinct_codes_and_at_chance_on_equal_ones(native):
    distinct = _separable_counts().sum("glimpse")
    assert native_pair_accuracy(native, distinct, [("a", "b")]).item() == 1.0
    equal = _separable_counts(overlap=20).sum("glimpse")  # a and b the same code
    assert native_pair_accuracy(native, equal, [("a", "b")]).item() == 0.5


def test_fly_model_learns_given_codes_as_its_own():
    x = np.random.default_rng(0).normal(size=(40, 10))
    y = np.repeat([0, 1], 20)
    trained = FlyModel(10, 200, 4, 0.1, 2, seed=1).partial_fit(x, y)
    by_codes = FlyModel(10, 200, 4, 0.1, 2, seed=1)
    by_codes.learn_codes(by_codes.encode(x), y)
    assert np.array_equal(trained.readout, by_codes.readout)
    assert np.array_equal(trained.decision_function(x), by_codes.code_scores(by_codes.encode(x)))


def test_calibration_meets_each_conditions_coding_level_and_the_adaptation_ratio():
    stimuli = _stimuli(n_odor=8)
    adapter = FlyAdapter(
        projection=sparse_projection(30, 400, 6, seed=2), k=40, coding_level=0.1, input_dim="pixel"
    )
    clean = stimuli.expand_dims(trial=[0], axis=1).expand_dims(glimpse=10, axis=2)
    levels = {"none": 0.3, "LI": 0.06, "SFA": 0.3, "LI+SFA": 0.1}
    for li in ("topk", "graded"):
        calibrated, info = calibrate_conditions(
            adapter,
            clean,
            levels,
            analogues={"li": li, "sfa": "adaptation"},
            late_early_target=0.6,
            adaptation_tau=4.0,
        )
        for condition, level in levels.items():
            chosen = calibrated[condition]
            codes = chosen.adapter.encode(clean, **chosen.arguments)
            coding = float((codes > 0).any("glimpse").mean())
            assert coding == pytest.approx(level, abs=0.02), (li, condition)
        sfa = calibrated["SFA"]
        ratio = late_early_ratio(sfa.adapter.encode(clean, **sfa.arguments))
        assert ratio == pytest.approx(0.6, abs=0.03)
        assert info["adaptation"] > 0


def test_similar_digit_pairs_are_different_digits_that_look_alike():
    pytest.importorskip("sklearn", reason='the sklearn extra: pip install "flysim[sklearn]"')
    from flysim.adapters.digits import similar_image_pairs

    stimuli, pairs, reference = similar_image_pairs(5, 0.8, n_reference=3, seed=1)
    assert stimuli.dims == ("odor", "pixel") and stimuli.shape == (13, 64)
    assert len(pairs) == 5 and len(reference) == 3
    for a, b in pairs:
        assert int(stimuli.digit.sel(odor=a)) != int(stimuli.digit.sel(odor=b))
        r = np.corrcoef(stimuli.sel(odor=a), stimuli.sel(odor=b))[0, 1]
        assert r == pytest.approx(0.8, abs=0.01)
    assert len(set(stimuli.image.values.tolist())) == 13  # no image used twice


def test_claims_per_model_and_the_verdict_table():
    rng = np.random.default_rng(0)
    shape = (2, 4, 3, 3, 4)  # model, condition, noise, seed, pair
    values = 0.7 + 0.05 * rng.standard_normal(shape)
    values[0, 1] += 0.2  # model "a": LI much better
    result = xr.Dataset(
        {"accuracy": (("model", "condition", "noise", "seed", "pair"), values)},
        coords={"model": ["a", "b"], "condition": list(CONDITIONS), "noise": [10.0, 20.0, 30.0]},
    )
    result["noise"].attrs["units"] = "Hz"
    tables = link_claims(result, n_resamples=200)
    assert list(tables) == ["a", "b"]
    assert tables["a"].loc[1, "verdict"] == "holds"
    text = verdicts_table(tables)
    assert text.count("\n") == 3 and "| a |" in text and "**holds**" in text
