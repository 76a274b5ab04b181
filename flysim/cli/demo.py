"""``flysim demo``: the LI x SFA x noise experiment at a quick scale - table, figure, netCDF.

The scale is the smallest at which the headline pattern is resolved over flies; how long it
takes depends on the host (``benchmarks/run.py`` measures it, BENCHMARKS.md lists hosts);
``flysim.redundancy.redundancy`` runs the same experiment at any scale.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import xarray as xr

from ..experiments.redundancy import (
    LI_SITES,
    PairDiscrimination,
    claims,
    claims_table,
    differences_table,
    noise_grid,
    redundancy,
    summary_table,
)
from ..params import load_params, with_overrides
from ..params.noise import Noise
from ..run.interrupt import INTERRUPTIONS, interruptible
from ..scan.grid import normalize_grid
from .paths import checked_output

__all__ = ["DEMO", "DIAGNOSTICS", "demo_experiment", "run_demo"]

#: The MBON readout's diagnostics the demo prints, with their table titles.
DIAGNOSTICS = {
    "mbon_naive_rate": "Naive MBON rate (Hz) to the test odors",
    "cs_plus_drop": "CS+ drop of the depressed MBONs after one pairing",
    "tie_fraction": "Fraction of tied tests (decided by a coin)",
    "silent_fraction": "Fraction of tests with a silent MBON",
}

#: The quick scale: adult circuit, pairs of similar odors (input correlation 0.8) from two odor
#: panels (odor seeds 0 and 1, two pairs each: the pairs are a random factor too), the MBON
#: readout's choice after conditioning (``flysim.readout``, on KC spikes simulated once), a low
#: noise level and the highest of the headline run (``figures/fig_redundancy.py``), five flies:
#: the demo prints two rows of the headline table. Each point is one ``simulate`` run: 8 trials
#: of each test odor (4 conditioning repetitions: train on one trial, test on the next) and of 2
#: reference odors (the MBON weights' homeostatic scale). (With three flies only the LI benefit
#: was resolved: t with 2 degrees of freedom is 4.3.)
DEMO = {
    "preset": "drosophila_adult",
    "noise_levels": [10.0, 40.0],
    "seeds": (0, 1, 2, 3, 4),
    "odor_seeds": (0, 1),
    "n_pairs": 2,  # per odor panel
    "n_trials": 8,
    "mbon_trials": 4,
    "n_reference": 2,
    "similarity": 0.8,
    "li_site": "apl",  # LI = APL feedback (the default); "ln": antennal-lobe LNs instead
}


def demo_experiment(scale: dict | None = None) -> PairDiscrimination:
    """The experiment of one demo point (``scale``: entries of :data:`DEMO` to replace)."""
    scale = {**DEMO, **(scale or {})}
    return PairDiscrimination(
        n_pairs=scale["n_pairs"],
        n_trials=scale["n_trials"],
        similarity=scale["similarity"],
        mbon_trials=scale["mbon_trials"],
        n_reference=scale["n_reference"],
    )


def _figure(result: xr.Dataset, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import condition_vs_noise, per_condition

    # The plots' CIs are t intervals over flies, so they get each fly's mean over the pairs
    # (the printed tables resample the pairs too).
    result = result.mean("pair", keep_attrs=True) if "pair" in result.dims else result
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
    condition_vs_noise(result, axes[0], "accuracy", chance=0.5)
    condition_vs_noise(result, axes[1], "decoder_accuracy", chance=0.5)
    per_condition(result.mean("noise"), "kc_coding_level", axes[2])
    site = LI_SITES[result.attrs.get("li_site", "apl")]
    fig.suptitle(
        f"LI at the {site}; mean ± 95% CI (t) over {result.sizes['fly']} flies of pair means",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def _check_scale(scale: dict, params) -> None:
    """Refuse, before anything runs, a scale whose table could not be computed: fewer than 2
    flies (no CI), and what the scan itself would refuse (site, noise levels), found early."""
    if len(scale["seeds"]) < 2:
        raise ValueError(
            f"demo: need at least 2 flies for a confidence interval, got {len(scale['seeds'])}"
        )
    try:
        params = with_overrides(params, {"li.site": scale["li_site"]})
        normalize_grid(noise_grid("input_sigma", scale["noise_levels"]), params)
    except ValueError as error:  # ParameterError is one
        raise ValueError(f"demo: {error}") from None


@contextlib.contextmanager
def _noted_if_scratch(scratch: str | None):
    """If the demo is interrupted (``flysim.run.interrupt``) while its points are in a scratch store
    (``scratch``), which goes with it, say so instead of the scan's "rerunning resumes"."""
    try:
        yield
    except INTERRUPTIONS as stop:
        if scratch is not None:
            notes = [note for note in getattr(stop, "__notes__", []) if scratch not in note]
            stop.__notes__ = [*notes, "the demo's scratch store is removed (--store PATH keeps it)"]
        raise


def _print_tables(result: xr.Dataset, scale: dict) -> None:
    """The demo's tables; each says in its first line which CI it gives (flies and odor pairs
    as random factors: two-way bootstrap)."""
    print("\nMBON choice accuracy after conditioning (chance 0.5):")
    print(summary_table(result, "accuracy"))
    # The readout's diagnostics: a result is only about the KC code if these are alike across
    # conditions (naive rate within +-25 %, CS+ drop 0.5-0.9, few ties and silent MBONs).
    for name, label in DIAGNOSTICS.items():
        print(f"\n{label}:")
        print(summary_table(result, name))
    print("\nKC decoder accuracy (chance 0.5):")
    print(summary_table(result, "decoder_accuracy"))
    print(
        "\nDifferences in MBON choice accuracy, paired per fly and pair (benefits over 'none': "
        "positive = helps):"
    )
    print(differences_table(result))
    # The mechanism behind the benefits: how sparse and how decorrelated the KC code is.
    print("\nKC coding level (fraction of KCs responding):")
    print(summary_table(result, "kc_coding_level"))
    print(f"\nKC response correlation within a pair (input r = {scale['similarity']}):")
    print(summary_table(result, "kc_pair_correlation"))
    if "pair" in result.dims:
        print()
        print(claims_table(claims(result)))


@interruptible()  # outermost: its line on SIGTERM comes after the scratch store's note
def run_demo(
    out: Path,
    *,
    workers: int | None = None,
    store: Path | None = None,
    progress: bool = True,
    scale: dict | None = None,
) -> xr.Dataset:
    """Run the quick redundancy experiment; write ``out`` (.nc) and ``out`` with .png; print.

    ``workers``: local dask worker processes (default: 2, or 1 on a 1-core machine; 0 or 1 run
    in this process). ``store``: keep the scan's zarr store there (default: a scratch
    directory, removed afterwards). ``scale``: replaces entries of :data:`DEMO` (``flysim demo
    --flies N --noise HZ ... --li-site SITE`` sets ``seeds``, ``noise_levels``, ``li_site``).
    """
    scale = {**DEMO, **(scale or {})}
    out = checked_output(out, "demo output", make_parents=True)  # before an hour of work
    params = load_params(scale["preset"])
    _check_scale(scale, params)
    experiment = demo_experiment(scale)
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    print(
        f"flysim demo: LI ({LI_SITES[scale['li_site']]}) x SFA x noise on the {params.name} "
        f"circuit ({params.n_pn} PNs, "
        f"{params.network.n_kc} KCs): 4 conditions x {len(scale['noise_levels'])} noise levels "
        f"x {len(scale['seeds'])} flies, {scale['n_pairs']} odor pairs (input r = "
        f"{scale['similarity']}) of each of {len(scale['odor_seeds'])} odor panels, "
        f"{scale['mbon_trials']} conditioning repetitions each; "
        f"{workers} workers; compiles one network on first use"
    )
    with (
        tempfile.TemporaryDirectory(prefix="flysim_demo_") as scratch,
        _noted_if_scratch(scratch if store is None else None),
    ):
        result = redundancy(
            params,
            scale["noise_levels"],
            experiment=experiment,
            noise=Noise(),
            seeds=scale["seeds"],
            odor_seeds=scale["odor_seeds"],
            li_site=scale["li_site"],
            store=store if store is not None else Path(scratch) / "scan.zarr",
            workers=workers if workers > 1 else None,  # 0 or 1: in this process
            progress=progress,
        )
        result.load()
    result.to_netcdf(out)
    figure = out.with_suffix(".png")
    _figure(result, figure)
    _print_tables(result, scale)
    print(f"\n  written: {out} and {figure}")
    return result
