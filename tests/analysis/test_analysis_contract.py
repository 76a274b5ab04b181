"""The contract every flysim.analysis function keeps.

No brian2/torch/flysim imports; inputs never mutated; outputs are new, labelled DataArrays;
extra dims broadcast; a missing dim is a one-line ValueError; results survive netCDF.
"""

import ast
import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import flysim.analysis as fa

REPO = Path(__file__).resolve().parents[2]
ANALYSIS = REPO / "flysim" / "analysis"


def _counts(seed=0, extra=None):
    """Spike counts with dims (*extra, odor, trial, kc, time) and coordinates on some dims."""
    rng = np.random.default_rng(seed)
    extra = extra or {}
    sizes = {**{k: len(v) for k, v in extra.items()}, "odor": 4, "trial": 5, "kc": 40, "time": 3}
    values = rng.poisson(0.8, tuple(sizes.values())) * (rng.random(tuple(sizes.values())) < 0.3)
    coords = {"odor": ["a", "b", "c", "d"], "kc": np.arange(40), **extra}
    counts = xr.DataArray(values, dims=tuple(sizes), coords=coords, name="counts")
    counts.attrs = {"units": "1", "long_name": "spike count"}
    counts.coords["odor_label"] = ("odor", ["OCT", "MCH", "BEN", "IAA"])
    return counts


def _sim(r, metric="pearson"):
    return fa.pairwise_similarity(r.isel(time=0), dim="kc", over="odor", metric=metric)


# name -> (call on a counts array, dim whose absence must raise)
CASES = {
    "fraction_active": (lambda r: fa.fraction_active(r, dim="kc"), "kc"),
    "treves_rolls": (lambda r: fa.treves_rolls(r, dim="kc"), "kc"),
    "population_sparseness": (lambda r: fa.population_sparseness(r, dim="kc"), "kc"),
    "lifetime_sparseness": (lambda r: fa.lifetime_sparseness(r, dim="odor"), "odor"),
    "temporal_sparseness": (lambda r: fa.temporal_sparseness(r, dim="time"), "time"),
    "adaptation_ratio": (lambda r: fa.adaptation_ratio(r, r**2, dim="time"), "time"),
    "pairwise_pearson": (lambda r: _sim(r, "pearson"), "kc"),
    "pairwise_cosine": (lambda r: _sim(r, "cosine"), "kc"),
    "pairwise_jaccard": (lambda r: _sim(r, "jaccard"), "odor"),
    "paired_similarity": (
        lambda r: fa.paired_similarity(r.isel(trial=0), r.isel(trial=1), dim="kc"),
        "kc",
    ),
    # Explicit edges: with a bin count, the edges span all slices, so a slice alone differs.
    "separation_curve": (
        lambda r: fa.separation_curve(_sim(r), _sim(r**2), bins=np.linspace(-1, 1, 5)),
        "odor",
    ),
    "separation_index": (lambda r: fa.separation_index(_sim(r), _sim(r**2)), "odor"),
    "participation_ratio": (
        lambda r: fa.participation_ratio(r, dim="kc", sample_dim=("odor", "trial")),
        "trial",
    ),
    "trial_reliability": (lambda r: fa.trial_reliability(r, dim="kc", trial_dim="trial"), "trial"),
    "d_prime": (lambda r: fa.d_prime(r.isel(odor=0), r.isel(odor=1), dim="kc"), "kc"),
    "decoding_accuracy": (
        lambda r: fa.decoding_accuracy(r, "odor", "trial", "kc", n_folds=5),
        "trial",
    ),
    "two_way_bootstrap": (
        lambda r: fa.two_way_bootstrap(r, dims=("odor", "trial"), n_resamples=50),
        "odor",
    ),
    "two_way_resample_means": (
        lambda r: fa.two_way_resample_means(r, dims=("trial", "odor"), n_resamples=20),
        "odor",
    ),
}


def _outputs(result):
    return result if isinstance(result, tuple) else (result,)


def test_every_public_function_is_covered():
    covered = {"pairwise_similarity" if n.startswith("pairwise_") else n for n in CASES}
    assert covered == set(fa.__all__)


def test_import_leaves_brian2_torch_and_the_simulator_out():
    code = (
        "import sys, flysim.analysis\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('brian2', 'torch', 'sklearn')"
        " or (m.startswith('flysim.') and not m.startswith('flysim.analysis')))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_source_imports_only_numpy_scipy_xarray():
    allowed = {"__future__", "collections", "typing", "numpy", "scipy", "xarray"}
    for path in ANALYSIS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"


@pytest.mark.parametrize("name", CASES)
def test_inputs_are_not_mutated_and_outputs_are_new(name):
    call, _ = CASES[name]
    counts = _counts(extra={"fly": [1, 2]})
    before = copy.deepcopy(counts)
    results = _outputs(call(counts))
    xr.testing.assert_identical(counts, before)
    for result in results:
        assert isinstance(result, xr.DataArray)
        assert not np.shares_memory(result.values, counts.values)
        assert result.attrs is not counts.attrs
        assert isinstance(result.attrs["long_name"], str) and result.attrs["long_name"]
        assert result.attrs["units"] == "1"
        result.values[...] = -1  # writing to the output leaves the input alone
    xr.testing.assert_identical(counts, before)


@pytest.mark.parametrize("name", CASES)
def test_extra_dims_broadcast(name):
    call, _ = CASES[name]
    counts = _counts(seed=1, extra={"fly": [1, 2], "condition": ["apl_on", "apl_off", "sfa_off"]})
    results = _outputs(call(counts))
    for result in results:
        assert "fly" in result.dims and "condition" in result.dims
        assert list(result["condition"].values) == ["apl_on", "apl_off", "sfa_off"]
    # Each slice equals the function applied to that slice alone.
    for fly in (1, 2):
        for condition in ("apl_on", "sfa_off"):
            where = {"fly": fly, "condition": condition}
            alone = _outputs(call(counts.sel(where)))
            for result, single in zip(results, alone, strict=True):
                np.testing.assert_allclose(result.sel(where).values, single.values, rtol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_dask_backed_input_gives_the_same_numbers(name):
    pytest.importorskip("dask")
    call, _ = CASES[name]
    counts = _counts(seed=2, extra={"fly": [1, 2, 3]})
    eager = _outputs(call(counts))
    lazy = _outputs(call(counts.chunk({"fly": 1, "kc": 20})))
    for expected, result in zip(eager, lazy, strict=True):
        xr.testing.assert_allclose(result.compute(), expected, rtol=1e-12)
        assert result.attrs == expected.attrs


@pytest.mark.parametrize("name", CASES)
def test_missing_dim_is_a_clear_error(name):
    call, dim = CASES[name]
    counts = _counts().rename({dim: "renamed"})
    with pytest.raises(ValueError) as error:
        call(counts)
    message = str(error.value)
    assert "\n" not in message
    assert f"{dim!r}" in message and "dims present" in message


def test_adapter_style_codes():
    rng = np.random.default_rng(3)
    codes = xr.DataArray(rng.random((30, 64)) ** 4, dims=("sample", "unit"))
    assert fa.population_sparseness(codes, dim="unit").dims == ("sample",)
    assert fa.lifetime_sparseness(codes, dim="sample").dims == ("unit",)
    assert fa.pairwise_similarity(codes, dim="unit", over="sample").dims == (
        "sample",
        "sample_other",
    )
    assert 1 < fa.participation_ratio(codes, dim="unit", sample_dim="sample").item() < 30


def test_not_a_dataarray_is_a_type_error():
    with pytest.raises(TypeError, match="xarray.DataArray"):
        fa.population_sparseness(np.ones((3, 4)))


def test_notebook_path_through_netcdf(tmp_path):
    """Build a Dataset, write it, read it back, and get the same numbers."""
    counts = _counts(seed=4, extra={"fly": [1, 2]})
    rng = np.random.default_rng(5)
    pn = xr.DataArray(rng.gamma(2.0, 5.0, (4, 5, 12)), dims=("odor", "trial", "pn"))
    pn.attrs = {"units": "Hz", "long_name": "PN rate"}
    dataset = xr.Dataset({"kc_counts": counts, "pn_rates": pn}, attrs={"seed": 4})
    path = tmp_path / "result.nc"
    dataset.to_netcdf(path)

    def metrics(ds):
        kc = ds["kc_counts"].sum("time")
        pn_sim = fa.pairwise_similarity(ds["pn_rates"].mean("trial"), dim="pn")
        kc_sim = fa.pairwise_similarity(kc.mean("trial"), dim="kc")
        accuracy, folds = fa.decoding_accuracy(kc, n_folds=5, return_folds=True)
        return xr.Dataset(
            {
                "sparseness": fa.population_sparseness(kc),
                "fraction": fa.fraction_active(kc),
                "lifetime": fa.lifetime_sparseness(kc.mean("trial")),
                "temporal": fa.temporal_sparseness(ds["kc_counts"]),
                "similarity": kc_sim,
                "jaccard": fa.pairwise_similarity(kc, metric="jaccard"),
                "curve": fa.separation_curve(pn_sim, kc_sim, bins=3),
                "separation": fa.separation_index(pn_sim, kc_sim),
                "dimension": fa.participation_ratio(kc, sample_dim=("odor", "trial")),
                "reliability": fa.trial_reliability(kc),
                "d_prime": fa.d_prime(kc.isel(odor=0), kc.isel(odor=1)),
                "accuracy": accuracy,
                "folds": folds,
            }
        )

    in_memory = metrics(dataset)
    with xr.open_dataset(path) as reopened:
        from_file = metrics(reopened)
    xr.testing.assert_allclose(in_memory, from_file, rtol=0, atol=0)
    # The results themselves (with their attrs) can be written and read back.
    out = tmp_path / "metrics.nc"
    in_memory.to_netcdf(out)
    with xr.open_dataset(out) as back:
        xr.testing.assert_allclose(back.load(), in_memory)
        assert back["accuracy"].attrs["chance"] == 0.25
        assert back["similarity"].attrs["units"] == "1"
