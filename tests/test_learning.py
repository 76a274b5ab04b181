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
