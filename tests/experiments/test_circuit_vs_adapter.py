"""The circuit-adapter link: sizes and wiring from a circuit, top-k, balancing, the comparison."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from brian2 import Hz

from flysim import analysis
from flysim.adapters import FlyAdapter, adapter_from_circuit
from flysim.adapters.link import DEFAULT_CODING_LEVEL

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_run(tiny, tiny_panel):
    """One fly of the tiny circuit: 6 odors x 3 trials with input noise."""
    from flysim import Noise, simulate

    return simulate(tiny, tiny_panel, n_trials=3, noise=Noise(input_sigma=20 * Hz, seed=2), seed=4)


def stream(n_samples=300, n_glomeruli=20, seed=1):
    """Nonnegative odor-like inputs (evoked rates), (n_samples, n_glomeruli)."""
    from flysim.odors import synthetic_panel

    panel = synthetic_panel(n_samples, n_glomeruli=n_glomeruli, seed=seed)
    return np.clip(panel.responses, 0, None)


def tiny_dict():
    return {"name": "tiny", "network": {"n_glomeruli": 20, "n_kc": 400, "kc_in_degree": 6}}


# -- sizes ------------------------------------------------------------------------------------


def test_sizes_from_params(tiny):
    from flysim.params import params_to_dict

    as_dict = params_to_dict(tiny)
    for source in (as_dict, json.dumps(as_dict), tiny, tiny_dict()):
        adapter = adapter_from_circuit(source, coding_level=0.05, seed=0)
        assert adapter.expansion_ratio == 400 / 20
        assert adapter.in_degree == 6
        assert adapter.k == round(0.05 * 400) == 20
        assert adapter.projection.shape == (400, 20)
        assert np.all(np.diff(adapter.projection.indptr) == 6)
        assert set(np.unique(adapter.projection.data)) == {1.0}
    default = adapter_from_circuit(tiny_dict())
    assert default.coding_level == DEFAULT_CODING_LEVEL
    assert default.k == round(DEFAULT_CODING_LEVEL * 400)
    with pytest.raises(ValueError, match="reuse_wiring needs a simulated Dataset"):
        adapter_from_circuit(tiny_dict(), reuse_wiring=True)
    with pytest.raises(ValueError, match="coding_level"):
        adapter_from_circuit(tiny_dict(), coding_level=0.0)
    with pytest.raises(TypeError, match="source must be"):
        adapter_from_circuit(3)


def test_sizes_and_coding_level_from_dataset(tiny_run):
    adapter = adapter_from_circuit(tiny_run)
    measured = float((tiny_run.kc_spike_count > 0).mean())
    assert 0 < measured < 1
    assert adapter.expansion_ratio == tiny_run.sizes["kc"] / tiny_run.sizes["glomerulus"] == 20
    assert adapter.in_degree == tiny_run.sizes["claw"] == 6
    assert adapter.coding_level == pytest.approx(measured)
    assert adapter.k == round(measured * 400)
    assert adapter.glomeruli == tuple(tiny_run.glomerulus.values)
    assert adapter_from_circuit(tiny_run, coding_level=0.1).k == 40


def test_reuse_wiring_reproduces_the_claws(tiny_run):
    adapter = adapter_from_circuit(tiny_run, reuse_wiring=True)
    claws = tiny_run.kc_claw_glomerulus.transpose("kc", "claw").values
    dense = adapter.projection.toarray()
    for kc in range(claws.shape[0]):
        assert set(np.flatnonzero(dense[kc])) == set(claws[kc])
    # KC i's drive is the sum of its claws' glomerular inputs.
    inputs = tiny_run.odor_input.values
    expected = inputs[:, claws].sum(axis=-1)
    assert np.allclose(adapter.drive(inputs), expected)
    random = adapter_from_circuit(tiny_run, reuse_wiring=False, seed=0)
    assert (random.projection != adapter.projection).nnz > 0


def test_fly_selects_wiring_and_coding_level():
    """A multi-fly dataset (built by hand): ``fly=`` picks that fly's claws and activity."""
    rng = np.random.default_rng(0)
    claws = np.stack([np.argsort(rng.random((50, 10)), axis=1)[:, :3] for _ in range(2)])
    counts = np.zeros((2, 4, 2, 50), dtype=np.int32)
    counts[0, :, :, :5] = 1  # fly 0: 10% active
    counts[1, :, :, :10] = 2  # fly 1: 20% active
    ds = xr.Dataset(
        {
            "kc_spike_count": (("fly", "odor", "trial", "kc"), counts),
            "kc_claw_glomerulus": (("fly", "kc", "claw"), claws),
        },
        coords={"glomerulus": [f"g{i}" for i in range(10)]},
        attrs={
            "params": json.dumps({"network": {"n_glomeruli": 10, "n_kc": 50, "kc_in_degree": 3}})
        },
    )
    for fly, level in ((0, 0.1), (1, 0.2)):
        adapter = adapter_from_circuit(ds, reuse_wiring=True, fly=fly)
        assert adapter.coding_level == pytest.approx(level)
        assert adapter.k == round(level * 50)
        rows = [set(np.flatnonzero(r)) for r in adapter.projection.toarray()]
        assert rows == [set(c) for c in claws[fly]]


# -- encoding ---------------------------------------------------------------------------------


def test_topk_keeps_exactly_k_and_threshold_keeps_the_mean_level():
    adapter = adapter_from_circuit(tiny_dict(), coding_level=0.1, seed=0)
    x = stream()
    for balance in (False, True):
        codes = adapter.encode(x, topk=True, balance=balance)
        assert codes.dims == ("sample", "kc")
        assert np.all((codes.values > 0).sum(axis=1) == adapter.k)
        binary = adapter.encode(x, topk=True, balance=balance, binary=True)
        assert set(np.unique(binary.values)) == {0.0, 1.0}
    loose = adapter.encode(x, topk=False)
    per_sample = (loose.values > 0).sum(axis=1)
    assert per_sample.mean() == pytest.approx(adapter.k, abs=0.01)
    assert per_sample.std() > 1  # a fixed threshold: strong odors recruit more KCs
    # Selected KCs carry their drive, unselected ones 0.
    drive = adapter.drive(x)
    topk = adapter.encode(x)
    assert np.array_equal(topk.values[topk.values > 0], drive[topk.values > 0])


def test_balancing_bias_evens_out_win_counts():
    adapter = adapter_from_circuit(tiny_dict(), coding_level=0.1, seed=0)
    x = stream(400)
    for topk in (True, False):
        plain = (adapter.encode(x, topk=topk).values > 0).sum(axis=0)
        balanced, state = adapter.encode(x, topk=topk, balance=True, return_state=True)
        wins = (balanced.values > 0).sum(axis=0)
        print(f"topk={topk}: win-count variance {plain.var():.2f} -> {wins.var():.2f}")
        assert wins.var() < 0.5 * plain.var()
        assert abs(state["bias"].mean()) < 1e-9 and state["rate"] > 0
        # The bias handicaps the units that won most without it.
        often = plain >= np.quantile(plain, 0.9)
        assert state["bias"][often].mean() < state["bias"][~often].mean()
    assert np.isclose(np.mean(balanced.values > 0), 0.1, atol=0.02)


def test_analysis_runs_unchanged_on_adapter_codes(tiny_run):
    adapter = adapter_from_circuit(tiny_run, reuse_wiring=True)
    rng = np.random.default_rng(0)
    noisy = tiny_run.odor_input.expand_dims(trial=np.arange(5), axis=1).copy()
    noisy.values = np.clip(noisy.values + rng.normal(0, 20, noisy.shape), -8, None)
    codes = adapter.encode(noisy, stream_order=("trial", "odor"), balance=True)
    assert codes.dims == ("odor", "trial", "kc")
    assert list(codes.odor.values) == list(tiny_run.odor.values)
    fraction = analysis.fraction_active(codes, "kc")
    assert np.allclose(fraction, adapter.k / adapter.n_kc)
    sparse = analysis.population_sparseness(codes, "kc")
    assert sparse.dims == ("odor", "trial") and np.all((sparse > 0) & (sparse <= 1))
    lifetime = analysis.lifetime_sparseness(codes.mean("trial"), "odor")
    ever = (codes > 0).any(("odor", "trial"))
    assert np.all(np.isfinite(lifetime[ever])) and np.all(np.isnan(lifetime[~ever]))
    same = analysis.pairwise_similarity(tiny_run.odor_input, dim="glomerulus")
    out = analysis.pairwise_similarity(codes.mean("trial"), dim="kc")
    assert np.isfinite(float(analysis.separation_index(same, out)))
    assert float(analysis.participation_ratio(codes, "kc", ("odor", "trial"))) > 1
    accuracy = analysis.decoding_accuracy(codes, "odor", "trial", "kc", n_folds=5)
    assert float(accuracy) > accuracy.attrs["chance"]
    assert np.all(np.isfinite(analysis.trial_reliability(codes, "kc", "trial")))
    # The same metrics on the circuit's spike counts: identical calls.
    counts = tiny_run.kc_spike_count
    assert analysis.fraction_active(counts, "kc").dims == fraction.dims


def test_link_imports_neither_brian2_nor_torch():
    code = (
        "import sys, flysim.adapters.link;"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('brian2', 'torch'));"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_adapter_rejects_bad_inputs():
    adapter = adapter_from_circuit(tiny_dict(), seed=0)
    assert isinstance(adapter, FlyAdapter)
    with pytest.raises(ValueError, match="n_glomeruli=20"):
        adapter.encode(np.ones((3, 7)))
    with pytest.raises(ValueError, match="glomerulus"):
        adapter.encode(xr.DataArray(np.ones((3, 20)), dims=("odor", "pn")))
    with pytest.raises(ValueError, match="NaN"):
        adapter.encode(np.full(20, np.nan))
    with pytest.raises(ValueError, match="stream_order"):
        adapter.encode(
            xr.DataArray(np.ones((3, 20)), dims=("odor", "glomerulus")), stream_order=("trial",)
        )


# -- the comparison ---------------------------------------------------------------------------


def test_noisy_inputs_are_the_circuits_drive(tiny, tiny_panel):
    from flysim import Noise
    from flysim.experiments.circuit_vs_adapter import noisy_inputs
    from flysim.inputs.stimulus import Slot, orn_drive

    noise = Noise(input_sigma=30 * Hz, seed=5)
    inputs = noisy_inputs(tiny, tiny_panel, noise, 3, seed=4)
    assert inputs.dims == ("odor", "trial", "glomerulus")
    # As simulate builds it: one padded batch of 16 slots, fly seed 4.
    slots = [Slot(0, o, t) for o in range(6) for t in range(3)][:16]
    rates, _ = orn_drive(tiny_panel, tiny, noise, slots, 1001, [4])
    window = rates[300:800].mean(axis=0).reshape(16, 20) - 8.0
    assert np.allclose(window, inputs.values.reshape(18, 20)[:16])
    quiet = noisy_inputs(tiny, tiny_panel, Noise(seed=5), 2, seed=4)
    expected = np.clip(tiny_panel.responses + 8.0, 0, 300) - 8.0
    assert np.allclose(quiet.values, expected[:, None, :])


def test_compare_quick_gives_the_2x4_table(tiny):
    from flysim.experiments.circuit_vs_adapter import METRICS, circuit_vs_adapter, format_table

    result = circuit_vs_adapter(tiny, n_odors=4, n_trials=3, noise=30.0, seed=0, odor_seed=1)
    assert dict(result.sizes) == {"system": 2, "condition": 4}
    assert list(result.condition.values) == ["none", "LI", "SFA", "LI+SFA"]
    for metric in METRICS:
        values = result[metric]
        if metric == "late_early_ratio":
            assert np.all(np.isfinite(values.sel(system="circuit")))
            assert np.all(np.isnan(values.sel(system="adapter")))
        else:
            assert np.all(np.isfinite(values)), metric
    adapter = result.sel(system="adapter")
    assert np.allclose(adapter.coding_level_sd.sel(condition=["LI", "LI+SFA"]), 0)
    circuit = result.sel(system="circuit")
    assert float(circuit.coding_level.sel(condition="none")) > float(
        circuit.coding_level.sel(condition="LI")
    )
    table = format_table(result)
    print(table)
    assert len(table.splitlines()) == 2 + 8 and "top-k + balancing bias" in table


def test_figure_script_quick(tmp_path):
    script = ROOT / "figures" / "fig_circuit_vs_adapter.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (tmp_path / "circuit_vs_adapter_quick.png").stat().st_size > 10_000
    saved = xr.load_dataset(tmp_path / "circuit_vs_adapter_quick.nc")
    assert dict(saved.sizes) == {"system": 2, "condition": 4}
    assert "top-k" in result.stdout
