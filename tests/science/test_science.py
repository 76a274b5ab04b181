"""The biological targets of the default (adult) preset, and KvLIF's f-I curve.

The preset was calibrated (issue #19) on 16 synthetic odors of odor seed 11 and flies 0-2; the
coding-level targets are checked here on other odors (12 of odor seed 5) and another fly (4),
at zero and at 10 Hz input noise.
"""

import numpy as np
import pytest
from brian2 import Hz, nA

from flysim import Noise, load_params, simulate, with_overrides
from flysim.model.fi_curve import dynamic_range, fi_curve
from flysim.odors import synthetic_panel


@pytest.fixture(scope="module")
def adult_runs():
    params = load_params("drosophila_adult")
    panel = synthetic_panel(16, seed=11)  # 16 odors = one batch
    runs = {}
    for label, override in {
        "default": {},
        "apl_off": {"li.enabled": False},
        "sfa_off": {"sfa.enabled": False},
        "ln": {"li.site": "ln"},  # LI at the antennal-lobe LNs instead of the APL
    }.items():
        runs[label] = simulate(with_overrides(params, override), panel, noise=Noise(seed=2), seed=0)
    return runs


def coding_level(ds):
    return float((ds.kc_spike_count > 0).mean())


@pytest.fixture(scope="module")
def held_out_coding():
    """KC coding level with the APL, without it, and with LI at the LNs, at 0 and 10 Hz."""
    params = load_params("drosophila_adult")
    panel = synthetic_panel(12, seed=5)
    levels = {}
    for label, override in {
        "apl": {},
        "none": {"li.enabled": False},
        "ln": {"li.site": "ln"},
    }.items():
        for sigma in (0, 10):
            noise = Noise(input_sigma=sigma * Hz, seed=3)
            ds = simulate(with_overrides(params, override), panel, n_trials=2, noise=noise, seed=4)
            levels[label, sigma] = coding_level(ds)
    print({key: round(value, 3) for key, value in levels.items()})
    return levels


@pytest.mark.parametrize("sigma", [0, 10])
def test_coding_targets_on_held_out_odors(held_out_coding, sigma):
    """With the APL 5-15 % of KCs respond (Honegger 2011, Turner 2008); without it 15-35 % and
    at least twice as many (broader, not dense: Lin et al. 2014); LI at the LNs instead meets
    the APL's target."""
    apl, none, ln = (held_out_coding[label, sigma] for label in ("apl", "none", "ln"))
    assert 0.05 <= apl <= 0.15
    assert 0.15 <= none <= 0.35 and none >= 2 * apl
    assert 0.05 <= ln <= 0.15


def test_kc_coding_level_is_sparse(adult_runs):
    level = coding_level(adult_runs["default"])
    print(f"KC coding level {level:.3f}")
    assert 0.05 <= level <= 0.15


def test_spontaneous_and_pn_rates(adult_runs):
    ds = adult_runs["default"]
    kc_spont = float(ds.kc_spont_count.mean()) / 0.3
    pn_rate = float(ds.pn_spike_count.mean()) / 0.5
    print(f"KC spontaneous {kc_spont:.3f} Hz, PN odor-evoked {pn_rate:.1f} Hz")
    assert kc_spont < 0.5
    assert 10 <= pn_rate <= 100


def test_apl_off_doubles_coding(adult_runs):
    on, off = coding_level(adult_runs["default"]), coding_level(adult_runs["apl_off"])
    print(f"coding APL on {on:.3f}, off {off:.3f}")
    assert off >= 2 * on


def test_ln_inhibition_alone_sparsens_kcs_by_dividing_pn_responses(adult_runs):
    # weights.ln_pn is calibrated so that LI at the LNs alone gives a KC code about as sparse as
    # the APL's, through PN responses scaled down divisively (Olsen et al. 2010), not silenced
    apl, ln = adult_runs["default"], adult_runs["ln"]
    pn_apl, pn_ln = (float(ds.pn_spike_count.mean()) / 0.5 for ds in (apl, ln))
    print(
        f"LN site: PN odor-evoked {pn_ln:.1f} Hz (APL site {pn_apl:.1f}), KC coding "
        f"{coding_level(ln):.3f} (APL site {coding_level(apl):.3f})"
    )
    assert 0.5 * pn_apl <= pn_ln <= 0.9 * pn_apl
    assert 0.05 <= coding_level(ln) <= 0.15


def late_early(ds):
    return float(ds.kc_spike_count_late.sum() / ds.kc_spike_count_early.sum())


def test_sfa_makes_responses_transient(adult_runs):
    with_sfa, without = late_early(adult_runs["default"]), late_early(adult_runs["sfa_off"])
    print(f"late/early KC rate: SFA on {with_sfa:.3f}, off {without:.3f}")
    assert without > with_sfa


def test_kvlif_has_wider_dynamic_range():
    params = load_params("drosophila_adult")
    currents = np.linspace(0, 10, 51) * nA
    lif = dynamic_range(fi_curve(params, "lif", currents))
    kv = dynamic_range(fi_curve(params, "kvlif", currents))
    print(f"10-90% input range: LIF {lif * 1e9:.2f} nA, KvLIF {kv * 1e9:.2f} nA")
    assert kv > 1.2 * lif


def test_kvlif_selectable_for_kcs(tiny, tiny_panel):
    params = with_overrides(tiny, {"kc.neuron": "kvlif"})
    ds = simulate(params, tiny_panel.select(tiny_panel.names[:2]), seed=0)
    level = float((ds.kc_spike_count > 0).mean())
    assert json_neuron(ds) == "kvlif" and 0 < level < 0.5


def json_neuron(ds):
    import json

    return json.loads(ds.attrs["params"])["kc"]["neuron"]
