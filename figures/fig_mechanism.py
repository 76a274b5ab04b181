"""Why each mechanism helps or hurts where it does (issue #20, item 6): the path from the KC code
to the choice, for the matched-sparsity arms.

For every arm (sparse without inhibition, sparse+SFA, LI, LI+SFA at one matched KC coding level)
and noise level, four steps of the mechanism and the result, each as mean [95 % CI] (two-way
bootstrap over flies and odor pairs):

1. ``kc_coding_level``: the fraction of KCs responding (matched at 10 Hz by construction; how it
   moves with noise is the arm's doing);
2. ``kc_pair_correlation``: how alike the two odors' KC codes are (trial means);
3. ``overlap_dprime``: how much more of the test CS+'s responding KCs than of the test CS-'s
   were depressed by the CS+ training (overlap of training and test active sets, d' over the
   conditioning repetitions; it falls with trial-to-trial variability and with pair overlap);
4. ``cs_difference``: the depressed MBONs' rate to the test CS- minus to the test CS+ after
   learning (Hz; naive rates are matched by the homeostatic scale, so Hz compare across arms);
5. ``accuracy``: the MBON choice accuracy (chance 0.5).

Run: ``python figures/fig_mechanism.py [--quick] [--source matched_arms.nc] [--out-dir DIR]``.
Full (default): draws from ``matched_arms.nc`` next to this script (written by
``fig_matched_arms.py --part sparsity``; nothing is simulated). Quick: runs
``fig_matched_arms.py``'s quick sparsity part (``tiny``, in memory) and draws from it. Writes
``mechanism[_quick].nc`` (per arm and noise: each measure's estimate and CI) and
``mechanism[_quick].png``, and prints the table.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import xarray as xr

HERE = Path(__file__).resolve().parent

#: The steps from the KC code to the choice: variable -> (axis label, reference line).
MEASURES = {
    "kc_coding_level": ("KC coding level", None),
    "kc_pair_correlation": ("KC correlation within a pair", None),
    "overlap_dprime": ("train/test overlap d' (CS+ vs CS-)", 0.0),
    "cs_difference": ("MBON rate, test CS- minus CS+ (Hz)", 0.0),
    "accuracy": ("MBON choice accuracy", 0.5),
}
#: The arm kinds, in the order the figure shows them, with their marker.
KINDS = {"sparse": "o", "sparse+SFA": "s", "LI": "^", "LI+SFA": "D"}


def summarise(ds: xr.Dataset, n_resamples: int = 2000) -> xr.Dataset:
    """Each measure's estimate and 95 % CI per (arm, noise): ``<measure>`` with a ``stat``
    dim (estimate, low, high)."""
    from flysim.experiments.redundancy import estimate_ci

    missing = [m for m in MEASURES if m not in ds]
    if missing:
        raise ValueError(
            f"the matched-arms Dataset has no {missing}: it predates the mechanism measures; "
            "rerun fig_matched_arms.py --part sparsity into a new --out-dir"
        )
    out = xr.Dataset(coords={"arm": ds.arm.values, "noise": ds.noise.values})
    out["noise"].attrs.update(ds.noise.attrs)
    for measure in MEASURES:
        values = np.empty((ds.sizes["arm"], ds.sizes["noise"], 3))
        for i, arm in enumerate(ds.arm.values):
            for j, noise in enumerate(ds.noise.values):
                cell = ds[measure].sel(arm=arm, noise=noise)
                values[i, j] = [float(v) for v in estimate_ci(cell, n_resamples=n_resamples)[:3]]
        out[measure] = (("arm", "noise", "stat"), values, dict(ds[measure].attrs))
    out = out.assign_coords(stat=["estimate", "low", "high"])
    out = out.assign_coords(matched_target=("arm", ds.matched_target.values))
    out.attrs.update(
        title="flysim: the mechanism behind the matched-sparsity arms (issue #20, item 6)",
        ci="95 % two-way bootstrap over flies and odor pairs",
        flies=int(ds.sizes["fly"]),
        pairs=int(ds.sizes["pair"]),
        experiment=str(ds.attrs.get("experiment", "")),
    )
    return out


def table(summary: xr.Dataset) -> str:
    """Per measure, one row per arm, one column per noise level."""
    lines = []
    for measure in MEASURES:
        lines.append(f"\n## {measure} ({summary[measure].attrs.get('long_name', '')})")
        lines.append(f"{'arm':<18}" + "".join(f"{f'{n:g} Hz':>26}" for n in summary.noise.values))
        for arm in summary.arm.values:
            cells = [summary[measure].sel(arm=arm, noise=n).values for n in summary.noise.values]
            lines.append(
                f"{str(arm):<18}"
                + "".join(f"{f'{e:.3f} [{lo:.3f}, {hi:.3f}]':>26}" for e, lo, hi in cells)
            )
    return "\n".join(lines)


def _kind(arm: str) -> str:
    return str(arm).rsplit(" ", 1)[0]


def figure(summary: xr.Dataset, path: Path) -> None:
    """Rows: matched coding levels; columns: the steps of :data:`MEASURES`; per panel the arm
    kinds on x, one marker per noise level with its CI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = sorted(set(float(t) for t in summary.matched_target.values))
    fig, axes = plt.subplots(
        len(targets),
        len(MEASURES),
        figsize=(3.1 * len(MEASURES), 2.6 * len(targets) + 0.6),
        squeeze=False,
        constrained_layout=True,
    )
    colors = dict(zip(summary.noise.values, ("C0", "C3", "C2", "C1"), strict=False))
    offsets = np.linspace(-0.15, 0.15, summary.sizes["noise"])
    for row, target in zip(axes, targets, strict=True):
        arms = [a for a in summary.arm.values if float(summary.matched_target.sel(arm=a)) == target]
        arms.sort(key=lambda a: list(KINDS).index(_kind(a)))
        for ax, (measure, (label, reference)) in zip(row, MEASURES.items(), strict=True):
            for offset, noise in zip(offsets, summary.noise.values, strict=True):
                for x, arm in enumerate(arms):
                    est, low, high = summary[measure].sel(arm=arm, noise=noise).values
                    ax.errorbar(
                        x + offset,
                        est,
                        yerr=[[est - low], [high - est]],
                        fmt=KINDS[_kind(arm)],
                        color=colors[noise],
                        capsize=2,
                        label=f"{noise:g} Hz" if x == 0 else None,
                    )
            if reference is not None:
                ax.axhline(reference, color="0.6", lw=0.8, ls=":")
            ax.set_xticks(range(len(arms)), [_kind(a) for a in arms], rotation=25, fontsize=7)
            ax.set_ylabel(label, fontsize=8)
            ax.tick_params(labelsize=7)
        row[0].set_title(f"coding level matched at {target:.0%}", fontsize=9, loc="left")
    axes[0, -1].legend(fontsize=7, title="input noise", title_fontsize=7)
    fig.suptitle(
        "From the KC code to the choice: matched-sparsity arms "
        f"(mean, 95 % CI over {summary.attrs['flies']} flies x {summary.attrs['pairs']} pairs)",
        fontsize=10,
    )
    fig.savefig(path, dpi=130)
    plt.close(fig)


def _quick_arms(out: Path) -> xr.Dataset:
    """The quick sparsity part of ``fig_matched_arms.py`` (one implementation of the run)."""
    spec = importlib.util.spec_from_file_location("fig_matched_arms", HERE / "fig_matched_arms.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(quick=True, out_dir=out, parts=("sparsity",))["sparsity"]


def main(quick=False, out_dir=None, source=None) -> xr.Dataset:
    out = HERE if out_dir is None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if quick:
        arms = _quick_arms(out)
    else:
        source = HERE / "matched_arms.nc" if source is None else Path(source)
        if not source.exists():
            raise FileNotFoundError(
                f"{source} does not exist: run fig_matched_arms.py --part sparsity first"
            )
        arms = xr.load_dataset(source)
    summary = summarise(arms, n_resamples=200 if quick else 2000)
    suffix = "_quick" if quick else ""
    summary.to_netcdf(out / f"mechanism{suffix}.nc")
    figure(summary, out / f"mechanism{suffix}.png")
    print(table(summary))
    print(f"\nwrote {out / f'mechanism{suffix}.nc'} and mechanism{suffix}.png")
    return summary


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--source", type=Path, default=None, help="a matched_arms netCDF")
    parser.add_argument("--out-dir", type=Path, default=None)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_arguments()
    main(arguments.quick, arguments.out_dir, arguments.source)
