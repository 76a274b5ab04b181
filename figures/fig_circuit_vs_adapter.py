"""Claim: tested on the same odors, the same input noise and the same metrics, top-k behaves
like APL lateral inhibition (same direction of effect), but the balancing bias does not behave
like spike-frequency adaptation (SFA).

- Top-k vs APL. APL makes every odor's coding level nearly the same (coding-level SD 0.145 ->
  0.017 in the default circuit), and top-k makes it exactly the same (SD 0). Both raise the
  dimension (circuit 26 -> 117, adapter 25 -> 43). With ``--match each`` (the adapter's coding
  level matched to each circuit condition, so top-k runs at the 7% the circuit reaches with APL
  on), top-k also moves population sparseness, similar-pair correlation and KC usage CV the same
  way APL does, by smaller amounts. With one coding level for every variant (the default), top-k
  leaves sparseness and pair correlation unchanged. Most of what APL does to those metrics is
  therefore its cut in the coding level.
- Balancing bias vs SFA. SFA in the circuit acts within one odor presentation: it lowers the
  late/early spike ratio (1.03 -> 0.59) but barely changes the population metrics of the circuit
  without LI, and every trial starts unadapted. The bias acts across the stream of odors: it
  evens out how often each KC is used (usage CV 0.32 -> 0.09) and decorrelates odors
  (separation index 0.01 -> 0.08). It is a homeostatic rule, not a model of SFA.

Numbers: ``drosophila_adult``, one fly (wiring seed 0), 8 pairs of similar odors (input
correlation 0.8), 10 trials, input-pattern noise of SD 50 Hz per glomerulus per trial (noise
seed 0), flysim 0.1.0. The adapter uses that fly's own PN->KC wiring and gets exactly the ORN
input the circuit got.

Rows: circuit none / LI / SFA / LI+SFA (``li.enabled`` x ``sfa.enabled``) vs adapter fixed
threshold / top-k / threshold + balancing bias / top-k + balancing bias.

Run: ``python figures/fig_circuit_vs_adapter.py [--quick] [--match each]`` (quick: ``tiny``
preset, 8 odors, 6 trials). It writes ``circuit_vs_adapter[_each][_quick].nc`` and ``.png``
next to this script (or to ``--out-dir``) and prints the table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: Metrics shown, in panel order.
PANELS = (
    "coding_level",
    "coding_level_sd",
    "population_sparseness",
    "participation_ratio",
    "separation_index",
    "pair_correlation",
    "decoding_accuracy",
    "usage_cv",
    "late_early_ratio",
)


def plot(result, fig):
    """Grouped bars, one panel per metric: condition on x, circuit vs adapter side by side."""
    from flysim.experiments.circuit_vs_adapter import METRICS

    names = [m for m in PANELS if m in result and np.any(np.isfinite(result[m].values))]
    n_cols = 3
    n_rows = int(np.ceil(len(names) / n_cols))
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    conditions = list(result.condition.values)
    x = np.arange(len(conditions))
    colors = {"circuit": "#3b6ea5", "adapter": "#d9822b"}
    for ax, name in zip(axes, names, strict=False):
        for j, system in enumerate(result.system.values):
            values = result[name].sel(system=system).values
            ax.bar(x + (j - 0.5) * 0.38, values, 0.38, color=colors[system], label=system)
        ax.set_xticks(x, conditions, fontsize=7)
        ax.set_title(METRICS[name][0], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.axhline(0, color="k", lw=0.5)
        if name == "decoding_accuracy":
            ax.axhline(1 / result.attrs["n_odors"], color="grey", lw=0.8, ls="--")
            ax.set_ylim(0, 1)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, frameon=False)
    match = result.attrs.get("match", "full")
    fig.suptitle(
        "same odors, same input noise: circuit (APL / SFA) vs adapter (top-k / balancing bias)\n"
        + (
            "adapter coding level matched to the circuit with APL and SFA on"
            if match == "full"
            else "adapter coding level matched to each circuit condition"
        ),
        fontsize=9,
    )
    return fig


def main(quick: bool = False, out_dir=None, match: str = "full"):
    import flysim
    from flysim.experiments.circuit_vs_adapter import circuit_vs_adapter, format_table

    params = flysim.load_params("tiny" if quick else "drosophila_adult")
    result = circuit_vs_adapter(
        params,
        n_odors=8 if quick else 16,
        n_trials=6 if quick else 10,
        noise=50.0,
        seed=0,
        odor_seed=0,
        similarity_pairs=0.8,
        match=match,
        progress=True,
    )
    out_dir = HERE if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = "circuit_vs_adapter" + ("_each" if match == "each" else "") + ("_quick" if quick else "")
    result.to_netcdf(out_dir / f"{stem}.nc")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.5, 7.0))
    plot(result, fig)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(out_dir / f"{stem}.png", dpi=150)
    plt.close(fig)
    print(format_table(result))
    print(f"adapter: {result.attrs['adapter']}")
    print(f"wrote {out_dir / stem}.nc and .png")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny preset, 8 odors, 6 trials")
    parser.add_argument("--out-dir", default=None, help="where to write (default: next to this)")
    parser.add_argument(
        "--match",
        choices=("full", "each"),
        default="full",
        help="adapter coding level: the LI+SFA circuit's for every variant (full) or each "
        "condition's own (each)",
    )
    arguments = parser.parse_args()
    main(arguments.quick, arguments.out_dir, arguments.match)
