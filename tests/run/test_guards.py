"""Every run path is guarded (issue #18): a run whose state diverged raises SimulationError
naming the population, the slot (fly, odor or pair, trial) and the time, on the conditioning
path and inside a scan as on ``simulate``'s."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import mV, nS

from flysim import with_overrides
from flysim.engine import SimulationError
from flysim.learning import conditioning
from flysim.odors import similar_pairs
from flysim.redundancy import PairDiscrimination, redundancy
from flysim.run.guards import check_run
from flysim.run.pipeline import BatchResult
from flysim.scan import ScanPointError

#: Valid values (finite, within every declared range) whose first APL spike throws the KCs'
#: potential towards -1.5e308 V: the issue's reproducer.
EXTREME = {"kc.E_inh": -1.5e308 * mV, "weights.apl_kc": 1e7 * nS}


def test_conditioning_refuses_a_diverged_run_and_names_the_slot(tiny):
    pairs = similar_pairs(2, 0.8, n_glomeruli=20, seed=0)
    with pytest.raises(SimulationError) as info:
        conditioning(with_overrides(tiny, EXTREME), pairs, n_trials=2, kc_counts=True)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("KC ") and "fly 0, pair 'pair000_a'/'pair000_b'" in message
    assert "membrane potential became nan at t = " in message and "overflowed" in message


def test_a_redundancy_point_that_diverged_fails_and_is_not_stored(tiny, tmp_path):
    experiment = PairDiscrimination(n_pairs=1, n_trials=2, mbon_trials=1, n_reference=1)
    store = tmp_path / "r.zarr"
    with pytest.raises(ScanPointError, match="membrane potential became nan") as info:
        redundancy(
            with_overrides(tiny, EXTREME),
            [0.0],
            experiment=experiment,
            seeds=[0],
            store=store,
            progress=False,
        )
    message = str(info.value)
    assert message.startswith("scan point li.enabled=") and "failed: KC " in message
    assert "fly 0, odor 'pair000_a', trial " in message and "\n" not in message
    points = [p for p in (store / "points").iterdir() if not p.name.startswith(".")]
    assert len(points) < 4  # the diverged point was not stored; a rerun tries it again


class _Protocol:
    @staticmethod
    def describe(item):
        return f"fly {item[0]}, odor 'o{item[1]}', trial {item[2]}"


class _Prepared:
    """What the checks read of a prepared run: sizes, durations, refractoriness, bounds."""

    def __init__(self, tiny):
        from flysim.model.structure import structure_of

        self.params = tiny
        self.structure = structure_of(tiny, batch=2)
        self.constants = {"kc.v_floor": -0.092, "kc.v_ceil": 0.002}
        self.circuit = type("Circuit", (), {"outputs": {}})()


def _result(tiny, **arrays) -> BatchResult:
    prepared = _Prepared(tiny)
    return prepared, BatchResult(arrays, prepared.structure)


def test_a_potential_out_of_range_names_neuron_slot_and_time(tiny):
    n_kc = tiny.network.n_kc
    t_out = np.full(2 * n_kc, 1e9)
    t_out[n_kc + 7], t_out[n_kc + 9] = 0.4123, 0.5  # slot 1's KCs 7 and 9; 7 first
    v_out = np.zeros(2 * n_kc)
    v_out[n_kc + 7] = -0.1013
    prepared, result = _result(tiny, **{"kc.t_out": t_out, "kc.v_out": v_out})
    with pytest.raises(SimulationError) as info:
        check_run(result, prepared, [(0, 0, 0), (3, 1, 2)], _Protocol.describe)
    assert str(info.value).startswith(
        "KC 7 of fly 3, odor 'o1', trial 2: membrane potential -101.3 mV at t = 412.3 ms, "
        "outside [-92, 2] mV"
    )
    assert "in 2 neurons" in str(info.value)


def test_more_spikes_than_the_refractory_period_allows_are_refused(tiny):
    n_kc = tiny.network.n_kc
    counts = np.zeros(2 * n_kc, dtype=np.int32)
    counts[5] = 1000 / 5 + 1  # 1 s at a 5 ms refractory period allows 201
    prepared, result = _result(tiny, **{"kc.n_spikes": counts})
    check_run(result, prepared, [(0, 0, 0), None], _Protocol.describe)  # at the limit: fine
    counts[5] += 2
    with pytest.raises(SimulationError, match=r"^KC 5 of fly 0, odor 'o0', trial 0 fired 203"):
        check_run(result, prepared, [(0, 0, 0), None], _Protocol.describe)
