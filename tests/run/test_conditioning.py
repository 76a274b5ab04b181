"""Conditioning in the compiled plastic network: the mechanics of the learning rule (which
compartments learn, when, in which direction). The learning targets (CS+ drop, accuracy) are
the MBON readout's (tests/readout), which this network is the reference of."""

import pytest

from flysim import Noise, with_overrides
from flysim.engine import compilation_count
from flysim.learning import conditioning
from flysim.odors import similar_pairs


@pytest.fixture(scope="module")
def learned(tiny):
    """Punishment and reward conditioning of two pairs of dissimilar odors, each trained with
    either odor as CS+ (the odors' naive valences differ; counterbalancing cancels that), 4
    repetitions."""
    odors = similar_pairs(2, 0.3, n_glomeruli=20, seed=0)
    a, b, c, d = odors.names
    return {
        protocol: conditioning(
            with_overrides(tiny, {"learning.protocol": protocol}),
            odors,
            pairs=[(a, b), (b, a), (c, d), (d, c)],
            n_trials=4,
            noise=Noise(seed=1),
            seed=0,
        )
        for protocol in ("punishment", "reward")
    }


def _role(ds, role):
    return ds.mbon_response.where(ds.mbon_role == role, drop=True)


@pytest.mark.parametrize(
    "protocol, depressed, spared",
    [("punishment", "approach", "avoidance"), ("reward", "avoidance", "approach")],
)
def test_only_the_reinforced_compartments_learn(learned, protocol, depressed, spared):
    """The DANs of the reinforced compartments depress their KC synapses after the CS+; the other
    compartments' MBONs respond exactly as in the mock-trained copies (same KC spikes: learning
    does not act on KCs, and trained and control copies share their noise)."""
    ds = learned[protocol]
    hit, kept = _role(ds, depressed), _role(ds, spared)
    test_plus = hit.sel(phase="test_cs_plus").mean(["fly", "pair", "trial", "mbon"])
    trained, control = (float(test_plus.sel(group=g)) for g in ("trained", "control"))
    print(f"{protocol}: {depressed} MBONs' CS+ response {trained:.1f} vs {control:.1f} Hz")
    assert trained < 0.8 * control
    assert bool((kept.sel(group="trained") == kept.sel(group="control")).all())
    before = hit.sel(phase="train_cs_plus")  # learning acts after the CS+ presentation
    assert bool((before.sel(group="trained") == before.sel(group="control")).all())
    assert float(ds.kc_mbon_weight_change.max()) < 0 and float(ds.kc_mbon_weight_change.min()) > -1


def test_trained_flies_choose_the_learned_odor(learned):
    for protocol, ds in learned.items():
        trained = float(ds.choice.sel(group="trained").mean())
        control = float(ds.choice.sel(group="control").mean())
        print(f"{protocol}: choice accuracy trained {trained:.2f}, mock-trained {control:.2f}")
        assert trained >= control + 0.25 and trained >= 0.75


def test_learning_reuses_the_compiled_network(tiny):
    odors = similar_pairs(1, 0.5, n_glomeruli=20, seed=1)
    before = compilation_count()
    for rate in (0.2, 0.5, 1.0):
        conditioning(with_overrides(tiny, {"learning.learning_rate": rate}), odors, n_trials=1)
    assert compilation_count() - before <= 1


def test_bad_pairs(tiny):
    odors = similar_pairs(1, 0.5, n_glomeruli=20, seed=1)
    with pytest.raises(ValueError, match="not in the panel"):
        conditioning(tiny, odors, pairs=[("pair000_a", "nope")])
    with pytest.raises(ValueError, match="even"):
        conditioning(tiny, odors.select(["pair000_a"]))


def test_without_controls_only_trained_slots_run(tiny):
    odors = similar_pairs(2, 0.8, n_glomeruli=tiny.network.n_glomeruli, seed=0)
    learned = conditioning(tiny, odors, n_trials=2, noise=Noise(seed=1), seed=0, controls=False)
    assert bool(learned.choice.sel(group="control").isnull().all())
    assert bool(learned.choice.sel(group="trained").notnull().all())
    assert float(learned.choice.sel(group="trained").mean()) > 0.5


def test_window_counts_are_per_presentation_odor_spikes(tiny):
    """KC and PN spikes counted per presentation: window 0 is the odor window the circuit's
    own counters see, and later windows hold responses to the odor presented there."""
    import numpy as np

    from flysim.odors import synthetic_panel

    odors = synthetic_panel(4, n_glomeruli=tiny.network.n_glomeruli, seed=2)  # unrelated pairs
    plain = conditioning(tiny, odors, n_trials=2, noise=Noise(seed=1), seed=0)
    counted = conditioning(tiny, odors, n_trials=2, noise=Noise(seed=1), seed=0, kc_counts=True)
    # counting does not touch the dynamics
    assert np.array_equal(plain.mbon_response, counted.mbon_response, equal_nan=True)
    kc = counted.kc_spike_count
    assert kc.dims == ("fly", "pair", "group", "trial", "phase", "kc")
    assert counted.pn_spike_count.sizes["pn"] == tiny.n_pn
    assert int(kc.sum()) > 0 and int(counted.pn_spike_count.sum()) > 0

    def corr(a, b):
        return float(np.corrcoef(a.values.ravel(), b.values.ravel())[0, 1])

    # the CS+ test (window 2) resembles the CS+ training (window 0), not the CS- (window 1)
    pn = counted.pn_spike_count.sel(group="trained").mean("trial")
    same = corr(pn.sel(phase="test_cs_plus"), pn.sel(phase="train_cs_plus"))
    other = corr(pn.sel(phase="test_cs_plus"), pn.sel(phase="train_cs_minus"))
    print(f"PN test CS+ vs training CS+ r = {same:.2f}, vs training CS- r = {other:.2f}")
    assert same > 0.8 and same > other + 0.2


def test_window_zero_equals_the_odor_window_counters(tiny):
    """In the plastic network, presentation 0's window counter and the circuit's own odor-window
    counters (which only see the first presentation) count the same spikes."""
    import numpy as np

    from flysim.inputs.stimulus import Slot
    from flysim.model.structure import structure_of
    from flysim.odors import synthetic_panel
    from flysim.run.pipeline import batch_values, prepare_run
    from flysim.run.simulate import Trials

    panel = synthetic_panel(16, n_glomeruli=tiny.network.n_glomeruli, seed=1)
    prepared = prepare_run(
        tiny,
        panel,
        Noise(),
        [0],
        lambda p: structure_of(
            p, batch=16, duration=4 * p.protocol.duration, plastic=True, presentations=4
        ),
    )
    circuit = prepared.circuit
    values = batch_values(prepared, [Slot(0, k, 0) for k in range(16)], Trials(prepared, panel, 1))
    n_mbon = prepared.structure.n_mbon  # the plastic weights: factors 1, the preset's scale
    values.update({f"kc.mbon_factor{m}": 1.0 for m in range(n_mbon)})
    values["mbon.scale"] = float(tiny.weights.kc_mbon)
    names = ["kc.count_window0", "kc.count_early", "kc.count_late", "pn.count_window0"]
    result = circuit.run(values, names + ["pn.count_odor", "kc.count_window1"])
    assert result["kc.count_window0"].sum() > 0
    kc_odor = result["kc.count_early"] + result["kc.count_late"]
    assert np.array_equal(result["kc.count_window0"], kc_odor)
    assert np.array_equal(result["pn.count_window0"], result["pn.count_odor"])
