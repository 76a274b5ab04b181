"""The LI x SFA x noise experiment, quick twin on the tiny preset."""

import numpy as np
from brian2 import Hz

from flysim.redundancy import (
    CONDITIONS,
    PairDiscrimination,
    differences_table,
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
    assert result.accuracy.dims == ("condition", "noise", "fly")
    assert result.accuracy.attrs["measure"] == "decoder_accuracy"  # no MBON choice measured
    assert result.accuracy.equals(result.decoder_accuracy)
    assert result.accuracy.sel(noise=0).min() >= 0.9  # noise-free pairs are told apart
    expected = result.accuracy.sel(condition="LI") - result.accuracy.sel(condition="none")
    assert np.allclose(result.li_benefit, expected)
    acc = result.accuracy
    for single in ("LI", "SFA"):  # paired per fly, not a difference of means
        paired = acc.sel(condition="LI+SFA", drop=True) - acc.sel(condition=single, drop=True)
        assert result[f"combined_vs_{single.lower()}"].dims == ("noise", "fly")
        assert np.array_equal(result[f"combined_vs_{single.lower()}"], paired)
    # LI (APL) makes the KC code sparser than no LI, in both SFA settings
    coding = result.kc_coding_level.mean(["noise", "fly"])
    assert coding.sel(condition="LI") < coding.sel(condition="none")
    assert coding.sel(condition="LI+SFA") < coding.sel(condition="SFA")
    assert "LI+SFA" in summary_table(result)
    table = differences_table(result).splitlines()
    assert table[0].split()[2:] == ["li_benefit", "sfa_benefit", "synergy"] + [
        "combined_vs_li",
        "combined_vs_sfa",
    ]
    mean, half = mean_ci(result.li_benefit.sel(noise=20))
    assert f"{float(mean):+.3f} ± {float(half):.3f}" in table[2]


def test_pair_discrimination_with_mbon_choice(tiny):
    from flysim import Noise

    point = PairDiscrimination(n_pairs=1, n_trials=2, mbon_trials=1)(tiny, Noise(seed=0), 0)
    assert 0.0 <= float(point.mbon_accuracy) <= 1.0
    assert float(point.decoder_accuracy) >= 0.5


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
    assert float(shared.mbon_accuracy) == float(separate.mbon_accuracy)
    assert float(shared.decoder_accuracy) >= 0.5
    for name in ("kc_coding_level", "kc_pair_correlation", "pn_pair_correlation"):
        # other trials of the same odors: close, not equal
        assert abs(float(shared[name]) - float(separate[name])) < 0.15, name
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
