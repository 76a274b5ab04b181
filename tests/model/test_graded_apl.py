"""The non-spiking (graded) APL (models/neurons/graded.toml, issue #19): it never fires, its
release grows with its depolarisation, and it sparsens the KC code as the spiking APL does."""

from __future__ import annotations

import pytest
from brian2 import mV, nS

from flysim import simulate, with_overrides
from flysim.odors import synthetic_panel


@pytest.fixture(scope="module")
def runs(tiny):
    panel = synthetic_panel(4, n_glomeruli=20, seed=0)
    graded = with_overrides(tiny, {"apl.neuron": "graded", "weights.apl_kc": 7.22 * nS})
    return {
        label: simulate(with_overrides(graded, overrides), panel, n_trials=2, seed=0)
        for label, overrides in {
            "graded": {},
            "off": {"li.enabled": False},
            "stronger": {"weights.apl_kc": 20 * nS},
            "saturating early": {"li.apl_release_range": 0.5 * mV},
        }.items()
    }


def coding(ds) -> float:
    return float((ds.kc_spike_count > 0).mean())


def test_the_graded_apl_never_spikes_and_sparsens_the_kcs(runs):
    assert float(runs["graded"].apl_activity.max()) == 0.0  # no APL spike at all
    assert coding(runs["off"]) > 1.5 * coding(runs["graded"]) > 0
    assert coding(runs["stronger"]) < coding(runs["graded"])


def test_release_follows_depolarisation_up_to_its_range(runs):
    # a release that saturates 0.5 mV above rest is near its maximum at any response: the
    # same maximal conductance then inhibits more than with the 10 mV (graded) range
    assert coding(runs["saturating early"]) < coding(runs["graded"])
