"""Conditioning in the compiled plastic network (issue #3's learning targets, adult preset)."""

import pytest

from flysim import Noise, load_params, with_overrides
from flysim.engine import compilation_count
from flysim.learning import conditioning
from flysim.odors import similar_pairs


@pytest.fixture(scope="module")
def adult_learning():
    params = load_params("drosophila_adult")
    odors = similar_pairs(4, 0.3, seed=0)
    return conditioning(params, odors, n_trials=2, noise=Noise(seed=1), seed=0)


def test_cs_plus_drops_cs_minus_stays(adult_learning):
    r = adult_learning.mbon_response.sel(mbon=0).mean(["fly", "pair", "trial"])
    trained, control = r.sel(group="trained"), r.sel(group="control")
    drop = 1 - float(trained.sel(phase="test_cs_plus") / control.sel(phase="test_cs_plus"))
    change = float(trained.sel(phase="test_cs_minus") / control.sel(phase="test_cs_minus")) - 1
    print(f"approach MBON: CS+ response drop {drop:.2f}, CS- change {change:+.2f}")
    assert drop >= 0.5
    assert abs(change) < 0.2


def test_trained_flies_choose_the_cs_minus(adult_learning):
    trained = float(adult_learning.choice.sel(group="trained").mean())
    control = float(adult_learning.choice.sel(group="control").mean())
    print(f"choice accuracy trained {trained:.2f}, mock-trained {control:.2f}")
    assert trained >= 0.9 and abs(control - 0.5) <= 0.25


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
    names = ["kc.count_window0", "kc.count_early", "kc.count_late", "pn.count_window0"]
    result = circuit.run(values, names + ["pn.count_odor", "kc.count_window1"])
    assert result["kc.count_window0"].sum() > 0
    kc_odor = result["kc.count_early"] + result["kc.count_late"]
    assert np.array_equal(result["kc.count_window0"], kc_odor)
    assert np.array_equal(result["pn.count_window0"], result["pn.count_odor"])
