"""Claim tested: the KC layer codes a measured receptor panel sparsely and decorrelates it, and
the APL makes it sparser and less correlated (Turner 2008, Honegger 2011: 5-15 % of KCs per
odor; Lin et al. 2014: blocking the APL makes KC responses broader and more correlated).

The panel is Hallem & Carlson 2006 (110 odorants x 24 receptors, Δspikes/s; the copy the
``drosolf`` package ships: ``pip install "flysim[data]"``), on the default adult circuit
(graded APL on or off), placed two ways: on its 22 glomeruli inside the 50-glomerulus
antennal lobe (the default; the other 28 glomeruli at 0 Hz above an 8 Hz spontaneous rate) and
as a circuit of its own 22 glomeruli (``placement="panel"``: every KC samples ~30 % of the
glomeruli instead of ~14 %), against 16 synthetic odors of the calibration's generator on all 50
glomeruli. Panels: (a) the fraction of KCs responding (>= 1 spike in the odor window) per odor;
(b) the mean odor-odor Pearson correlation of the trial-mean PN and KC responses (odors that
drive no KC left out); (c) per-odor coding with the APL on against off (Hallem & Carlson, lobe).
Spread: per-odor values of one fly in (a) and (c); mean and 95 % t CI over flies in (b).

Run: ``python figures/fig_real_panel.py [--quick] [--out-dir DIR]`` (quick: the first 16
odorants, 1 fly; full: all 110, 3 flies). Writes ``real_panel[_quick].nc`` and ``.png`` next to
this script (or to ``--out-dir``) and prints the table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _correlation(counts) -> float:
    """Mean correlation between the trial-mean responses of different odors that respond."""
    mean = counts.mean("trial").values.reshape(counts.sizes["odor"], -1)
    mean = mean[mean.std(axis=1) > 0]
    if len(mean) < 2:
        return np.nan
    c = np.corrcoef(mean)
    return float(c[np.triu_indices_from(c, 1)].mean())


def panels(quick: bool) -> dict:
    """The three input panels, by label."""
    from flysim.odors import hallem_carlson_2006, synthetic_panel

    lobe, own = hallem_carlson_2006(), hallem_carlson_2006(placement="panel")
    if quick:
        lobe, own = (p.select(p.names[:16]) for p in (lobe, own))
    return {
        "H&C 2006, antennal lobe": lobe,
        "H&C 2006, own 22 glomeruli": own,
        "synthetic, 50 glomeruli": synthetic_panel(16, seed=11),
    }


def run(quick: bool):
    """Per panel, APL on/off and fly: per-odor coding, PN and KC odor-odor correlation."""
    import xarray as xr

    import flysim

    params = flysim.load_params("drosophila_adult")
    flies = [0] if quick else [0, 1, 2]
    inputs = panels(quick)
    n_odors = max(p.n_odors for p in inputs.values())
    coding = np.full((len(inputs), 2, len(flies), n_odors), np.nan)
    kc_corr = np.full((len(inputs), 2, len(flies)), np.nan)
    pn_corr = np.full_like(kc_corr, np.nan)
    for i, panel in enumerate(inputs.values()):
        for j, apl in enumerate((True, False)):
            circuit = flysim.with_overrides(params, {"li.enabled": apl})
            ds = flysim.simulate(circuit, panel, seed=flies, progress=False)
            for f in range(len(flies)):
                kc = ds.kc_spike_count.isel(fly=f).astype(float)
                coding[i, j, f, : panel.n_odors] = (kc > 0).mean(["kc", "trial"]).values
                kc_corr[i, j, f] = _correlation(kc)
                pn_corr[i, j, f] = _correlation(ds.pn_spike_count.isel(fly=f).astype(float))
    dims = ("panel", "apl", "fly")
    return xr.Dataset(
        {
            "kc_coding": (
                dims + ("odor",),
                coding,
                {"units": "1", "long_name": "fraction of KCs responding to the odor"},
            ),
            "kc_correlation": (dims, kc_corr, {"units": "1", "long_name": "KC odor-odor r"}),
            "pn_correlation": (dims, pn_corr, {"units": "1", "long_name": "PN odor-odor r"}),
        },
        coords={"panel": list(inputs), "apl": ["on", "off"], "fly": flies},
        attrs={"preset": params.name, "source": "Hallem & Carlson 2006 via drosolf"},
    )


def plot(result, fig):
    """(a) per-odor coding, (b) PN vs KC correlation, (c) APL on vs off per odor."""
    from scipy import stats

    axes = fig.subplots(1, 3)
    labels, data = [], []
    for panel in result.panel.values:
        for apl in result.apl.values:
            values = result.kc_coding.sel(panel=panel, apl=apl).isel(fly=0).values
            data.append(values[np.isfinite(values)])
            labels.append(
                f"{panel.split(',')[0]}{' lobe' if 'lobe' in panel else ''}"
                f"{' 22' if 'own' in panel else ''}\nAPL {apl}"
            )
    axes[0].boxplot(data)
    axes[0].set_xticks(range(1, len(labels) + 1), labels, fontsize=6, rotation=45)
    axes[0].axhspan(0.05, 0.15, color="0.9", zorder=0)
    axes[0].set_ylabel("fraction of KCs responding")
    axes[0].set_title("(a) coding level per odor (grey: 5-15 %)", fontsize=8)
    width = 0.2
    x = np.arange(result.sizes["panel"])
    for k, (name, apl, color) in enumerate(
        [
            ("pn_correlation", "on", "0.5"),
            ("kc_correlation", "on", "#3b6ea5"),
            ("kc_correlation", "off", "#d9822b"),
        ]
    ):
        values = result[name].sel(apl=apl)
        mean = values.mean("fly").values
        n = result.sizes["fly"]
        half = (
            stats.t.ppf(0.975, n - 1) * values.std("fly", ddof=1).values / np.sqrt(n)
            if n > 1
            else np.zeros_like(mean)
        )
        label = "PN" if name.startswith("pn") else f"KC, APL {apl}"
        axes[1].bar(x + (k - 1) * width, mean, width, yerr=half, color=color, label=label)
    axes[1].set_xticks(x, [p.replace(", ", "\n") for p in result.panel.values], fontsize=6)
    axes[1].set_ylabel("mean odor-odor correlation")
    axes[1].legend(fontsize=7)
    axes[1].set_title("(b) decorrelation", fontsize=8)
    lobe = result.kc_coding.sel(panel="H&C 2006, antennal lobe").isel(fly=0)
    axes[2].scatter(lobe.sel(apl="off"), lobe.sel(apl="on"), s=8)
    top = float(lobe.max()) * 1.05 or 1
    axes[2].plot([0, top], [0, top], "k:", lw=1)
    axes[2].set_xlabel("coding, APL off")
    axes[2].set_ylabel("coding, APL on")
    axes[2].set_title("(c) H&C 2006 per odor: the APL sparsens", fontsize=8)
    return fig


def main(quick: bool = False, out_dir=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = HERE if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = run(quick)
    stem = "real_panel" + ("_quick" if quick else "")
    result.to_netcdf(out_dir / f"{stem}.nc")
    fig = plt.figure(figsize=(12, 4))
    plot(result, fig)
    fig.tight_layout()
    fig.savefig(out_dir / f"{stem}.png", dpi=150)
    plt.close(fig)
    table = result.mean("fly")
    print(f"{'panel':30} APL  coding  PN r   KC r")
    for panel in result.panel.values:
        for apl in result.apl.values:
            row = table.sel(panel=panel, apl=apl)
            print(
                f"{panel:30} {apl:4} {float(row.kc_coding.mean()):.3f}  "
                f"{float(row.pn_correlation):.3f}  {float(row.kc_correlation):.3f}"
            )
    print(f"wrote {out_dir / stem}.nc and .png")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 odorants, 1 fly")
    parser.add_argument("--out-dir", default=None, help="where to write (default: next to this)")
    arguments = parser.parse_args()
    main(arguments.quick, arguments.out_dir)
