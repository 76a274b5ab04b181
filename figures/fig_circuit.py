"""Claim: the circuit's KC odor code is sparse, and its two mechanisms shape it differently.
Lateral inhibition (LI, the APL) sets how many KCs respond: switching it off raises the KC
coding level at least twofold (Lin et al. 2014; default adult circuit 0.062 -> 0.243) and
lowers population sparseness. Spike-frequency adaptation (SFA) sets when they respond: it
concentrates spikes at odor onset (lower late/early spike ratio; Betkiewicz et al. 2020).
SFA alone leaves the coding level unchanged; with LI on it raises it, because adapted KCs
drive the graded APL less. With both on, ~5-15% of KCs respond to an odor (Honegger et al.
2011: 5-10% in flies). Full mode (``drosophila_adult`` as calibrated in issue #19, 5 flies; CIs
<= 0.012; 2026-12-02), none / LI / SFA / LI+SFA: coding level 0.243 / 0.062 / 0.243 / 0.097,
population sparseness 0.856 / 0.969 / 0.807 / 0.922, late/early ratio 1.059 / 0.925 / 0.587 /
0.657.

Top: KC spike rasters of one odor presentation (same fly, odor and input spikes) in the four
circuits none / LI / SFA / LI+SFA (``li.enabled`` x ``sfa.enabled``), odor window shaded.
Bottom: KC coding level (fraction of KC x odor x trial with a spike in the odor window),
population sparseness (Vinje-Gallant normalised Treves-Rolls over KCs, 1 = one KC) and the
late/early spike ratio (second over first half of the odor), per condition; dots are flies
(wiring seeds), bars the mean and 95% CI (t) over flies. Synthetic odor panel, Poisson input.

Run: ``python figures/fig_circuit.py [--quick] [--out-dir DIR]`` (quick: ``tiny`` preset,
4 odors x 4 trials, 3 flies; full: ``drosophila_adult``, 10 odors x 5 trials, 5 flies).
Writes ``circuit[_quick].nc`` and ``.png`` next to this script (or to ``--out-dir``) and prints
the table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: Per-fly measures, in panel order: name -> long name.
MEASURES = {
    "kc_coding_level": "KC coding level",
    "kc_population_sparseness": "KC population sparseness",
    "kc_late_early_ratio": "KC late/early spike ratio",
}


def measures(ds):
    """Per-fly KC coding level, population sparseness and late/early ratio of a simulation."""
    import xarray as xr

    from flysim.analysis import population_sparseness

    counts = ds.kc_spike_count
    trials = ["odor", "trial"]
    late = ds.kc_spike_count_late.sum([*trials, "kc"])
    early = ds.kc_spike_count_early.sum([*trials, "kc"])
    values = {
        "kc_coding_level": (counts > 0).mean([*trials, "kc"]),
        "kc_population_sparseness": population_sparseness(counts.astype(float), dim="kc").mean(
            trials, skipna=True
        ),
        "kc_late_early_ratio": late / early.where(early > 0),
    }
    return xr.Dataset({name: value.assign_attrs(units="1") for name, value in values.items()})


def run(params, quick: bool):
    """Simulate every condition (measures over flies) and one recorded presentation each."""
    import pandas as pd
    import xarray as xr
    from brian2 import second

    import flysim
    from flysim.odors import synthetic_panel
    from flysim.redundancy import CONDITIONS

    panel = synthetic_panel(4 if quick else 10, n_glomeruli=params.network.n_glomeruli, seed=0)
    flies = [0, 1, 2] if quick else [0, 1, 2, 3, 4]
    noise = flysim.Noise(seed=0)
    per_condition, rasters = [], []
    for k, (condition, (li, sfa)) in enumerate(CONDITIONS.items()):
        print(f"condition {condition}: {len(panel)} odors x {len(flies)} flies", flush=True)
        circuit = flysim.with_overrides(params, {"li.enabled": li, "sfa.enabled": sfa})
        ds = flysim.simulate(circuit, panel, n_trials=4 if quick else 5, noise=noise, seed=flies)
        per_condition.append(measures(ds))
        one = flysim.simulate(
            circuit, panel.select(panel.names[:1]), noise=noise, seed=flies[0], record_spikes=True
        )
        spikes = one[[v for v in one.data_vars if v.startswith("kc_spike_")]]
        spikes = spikes.drop_vars([v for v in spikes.data_vars if "spike_kc" not in spikes[v].dims])
        spikes["kc_spike_condition"] = ("spike_kc", np.full(spikes.sizes["spike_kc"], k))
        rasters.append(spikes.drop_vars(list(spikes.coords)))
    result = xr.concat(per_condition, dim=pd.Index(list(CONDITIONS), name="condition"))
    result = result.merge(xr.concat(rasters, dim="spike_kc"))
    for name, label in MEASURES.items():
        result[name].attrs["long_name"] = label
    result.attrs.update(
        preset=params.name,
        n_kc=params.network.n_kc,
        raster_odor=panel.names[0],
        raster_fly=flies[0],
        odor_window_s=one.attrs["odor_window_s"],
        duration_s=float(params.protocol.duration / second),
        params=ds.attrs["params"],  # of the last condition, LI+SFA
        conditions="params are LI+SFA's; the others set li.enabled / sfa.enabled to false",
        noise=ds.attrs["noise"],
        odor_panel=ds.attrs["odor_panel"],
        versions=ds.attrs["versions"],
    )
    return result


def raster_of(result, condition):
    """The raster spikes of one condition (a Dataset ``flysim.plotting.kc_raster`` reads)."""
    index = list(result.condition.values).index(condition)
    return result.isel(spike_kc=result.kc_spike_condition.values == index)


def plot(result, fig):
    from flysim.plotting import CONDITION_COLORS, kc_raster, per_condition

    conditions = [str(c) for c in result.condition.values]
    grid = fig.add_gridspec(2, 12)
    for k, condition in enumerate(conditions):
        ax = fig.add_subplot(grid[0, 3 * k : 3 * k + 3])
        kc_raster(raster_of(result, condition), ax)
        ax.set_title(condition, fontsize=9, color=CONDITION_COLORS[condition])
        if k:
            ax.set_ylabel("")
    for k, name in enumerate(MEASURES):
        per_condition(result, name, fig.add_subplot(grid[1, 4 * k : 4 * k + 4]))
    fig.suptitle(
        f"KC code of the {result.attrs['preset']} circuit: raster of {result.attrs['raster_odor']}"
        f" (fly {result.attrs['raster_fly']}, odor window shaded); measures over "
        f"{result.sizes['fly']} flies",
        fontsize=9,
    )
    return fig


def main(quick: bool = False, out_dir=None):
    import flysim
    from flysim.redundancy import mean_ci

    params = flysim.load_params("tiny" if quick else "drosophila_adult")
    result = run(params, quick)
    out_dir = HERE if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "circuit" + ("_quick" if quick else "")
    result.to_netcdf(out_dir / f"{stem}.nc")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(11, 6))
    plot(result, fig)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(out_dir / f"{stem}.png", dpi=150)
    plt.close(fig)

    print("condition " + "".join(f"{label:>28}" for label in MEASURES.values()))
    for condition in result.condition.values:
        cells = []
        for name in MEASURES:
            mean, half = mean_ci(result[name].sel(condition=condition))
            cells.append(f"{float(mean):>20.3f} ± {float(half):.3f}")
        print(f"{condition:9s} " + "".join(cells))
    print(f"wrote {out_dir / stem}.nc and .png")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny preset, 4 odors, 3 flies")
    parser.add_argument("--out-dir", default=None, help="where to write (default: next to this)")
    arguments = parser.parse_args()
    main(arguments.quick, arguments.out_dir)
