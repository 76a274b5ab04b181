"""Measured PN -> KC wiring (``network.wiring`` = an edge list): read, checked, simulated."""

from pathlib import Path

import numpy as np
import pytest

import flysim
from flysim.inputs.connectome import WiringError, read_edge_list, write_edge_list
from flysim.inputs.wiring import draw_claws
from flysim.odors import synthetic_panel
from flysim.params import ParameterError, with_overrides

SHIPPED = Path(__file__).parent / "data" / "pn_kc_edges.csv"


@pytest.fixture(scope="module")
def panel50():
    """Synthetic odors on 50 glomeruli (glomerulus i stands for ANTENNAL_LOBE[i])."""
    return synthetic_panel(3, n_glomeruli=50, seed=3)


def _edges_of(claws, path, weight=None):
    """An edge list with exactly a fly's random claws (PN id = global PN index)."""
    n_kc, n_claws = claws.glomerulus.shape
    return write_edge_list(
        path,
        kc=np.repeat(np.arange(n_kc), n_claws),
        glomerulus=[f"g{g:02d}" for g in claws.glomerulus.ravel()],
        synapses=np.full(claws.pn.size, 10) if weight is None else weight.ravel(),
        pn=claws.pn.ravel(),
    )


def test_shipped_edge_list_is_read_with_its_claws_and_weights():
    edges = read_edge_list(SHIPPED)
    assert edges.n_kc == 40 and edges.kc.size == 216
    assert edges.max_claws == 11 and np.bincount(edges.kc).min() == 2
    assert edges.weights.mean() == pytest.approx(1.0)
    assert edges.pn is not None and edges.pn.max() == 3  # a glomerulus with 4 PN ids


def test_edge_list_of_a_random_fly_gives_its_exact_spikes(tiny, tiny_panel, tmp_path):
    """Claws read from a file (padded to 8 slots, weights 1) drive the KCs exactly as the
    same claws drawn at random: the measured path is the random path with other values."""
    random_run = flysim.simulate(tiny, tiny_panel, n_trials=2, seed=4)
    path = _edges_of(draw_claws(tiny, 4), tmp_path / "fly4.csv")
    measured = flysim.simulate(tiny, tiny_panel, n_trials=2, seed=4, wiring=path)
    assert measured.sizes["claw"] == 8 and random_run.sizes["claw"] == 6
    assert (measured.kc_claw_pn[:, 6:] == -1).all()
    assert (measured.kc_claw_pn[:, :6] == random_run.kc_claw_pn).all()
    assert random_run.kc_spike_count.sum() > 50
    np.testing.assert_array_equal(measured.kc_spike_count, random_run.kc_spike_count)
    assert "sha256" in measured.attrs["wiring"] and random_run.attrs["wiring"] == "random"


def test_synapse_counts_weigh_the_claws(tiny, tiny_panel, tmp_path):
    """KCs whose claws carry 3x the synapses of the others fire more; with equal counts the
    two halves fire alike (the same claws, weights 1)."""
    claws = draw_claws(tiny, 4)
    heavy = np.ones(claws.pn.shape)
    heavy[::2] = 3.0  # even KCs
    runs = {}
    for name, weight in (("equal", None), ("heavy", heavy)):
        path = _edges_of(claws, tmp_path / f"{name}.csv", weight)
        runs[name] = flysim.simulate(tiny, tiny_panel, n_trials=2, seed=4, wiring=path)
    for name, run in runs.items():
        counts = run.kc_spike_count.sum(["odor", "trial"]).values
        even, odd = counts[::2].sum(), counts[1::2].sum()
        if name == "heavy":
            assert even > 3 * odd, (even, odd)
        else:
            assert 0.5 < even / odd < 2, (even, odd)


def test_claws_from_one_pn_add_up(tiny, tiny_panel, tmp_path):
    """A KC listing one PN twice gets twice that PN's drive: KCs with each claw doubled fire
    more than with single claws."""
    claws = draw_claws(tiny, 4)
    once = _edges_of(claws, tmp_path / "once.csv")
    twice = write_edge_list(
        tmp_path / "twice.csv",
        kc=np.repeat(np.arange(tiny.network.n_kc), 2 * claws.pn.shape[1]),
        glomerulus=[f"g{g:02d}" for g in np.repeat(claws.glomerulus.ravel(), 2)],
        synapses=np.full(2 * claws.pn.size, 10),
        pn=np.repeat(claws.pn.ravel(), 2),
    )
    spikes = {
        path: float(flysim.simulate(tiny, tiny_panel, seed=4, wiring=path).kc_spike_count.sum())
        for path in (once, twice)
    }
    assert spikes[twice] > 2 * spikes[once], spikes


def test_shipped_edge_list_runs_on_antennal_lobe_names(tiny, panel50):
    params = with_overrides(tiny, {"network.n_kc": 40, "network.wiring": str(SHIPPED)})
    ds = flysim.simulate(params, panel50, seed=[0, 1])
    assert ds.sizes["kc"] == 40 and ds.sizes["claw"] == 16  # 11 claws, 8-slot steps
    claws = (ds.kc_claw_glomerulus.isel(fly=0) >= 0).sum("claw").values
    assert claws.min() == 2 and claws.max() == 11
    weights = ds.kc_claw_weight.isel(fly=0).values
    assert weights[weights > 0].mean() == pytest.approx(1.0)
    # sisters come from the file, so both flies have the same claws
    np.testing.assert_array_equal(ds.kc_claw_pn.isel(fly=0), ds.kc_claw_pn.isel(fly=1))


def _write(tmp_path, text: str) -> Path:
    path = tmp_path / "edges.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("kc,glom,synapses\n1,DA1,3\n", "no column ['glomerulus']"),
        ("kc,glomerulus,synapses\n", "no connections"),
        ("kc,glomerulus,synapses\n1,DA1,3\n2,DA1,many\n", "line 3: synapse count 'many'"),
        ("kc,glomerulus,synapses\n1,DA1,-2\n", "line 2: synapse count must be a positive"),
        ("kc,glomerulus,synapses\n1,,3\n", "line 2: empty kc, glomerulus or pn"),
        ("kc,glomerulus,synapses\n1,DA1\n", "line 2: 2 cells"),
        ("kc,glomerulus,synapses\n1,DA1,3\n2,XYZ9,3\n", "glomeruli the circuit does not have"),
        ("kc,glomerulus,synapses\n1,DA1,3\n", "has 1 KCs but 'network.n_kc' is 40"),
        ("kc,glomerulus,synapses\n" + "1,DA1,3\n" * 33, "KC 1 has 33 connections"),
    ],
)
def test_malformed_edge_lists_are_one_line_errors_before_any_run(
    tiny, panel50, tmp_path, text, message
):
    path = _write(tmp_path, text)
    params = with_overrides(tiny, {"network.n_kc": 40})
    with pytest.raises(WiringError) as error:
        flysim.simulate(params, panel50, wiring=path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_missing_edge_list_and_bad_parameter(tiny, panel50, tmp_path):
    with pytest.raises(WiringError, match="cannot be read"):
        flysim.simulate(tiny, panel50, wiring=tmp_path / "absent.csv")
    with pytest.raises(ParameterError, match="network.wiring"):
        with_overrides(tiny, {"network.wiring": ""})
