"""Claim tested: do the mechanisms that make the fly's odor discrimination robust to noise
(Li, Yu, Yu & Zang 2025: lateral inhibition helps at low and medium noise, less at high noise;
spike-frequency adaptation helps at every level; the two together are best) make the
fly-inspired ML adapters robust too?

One protocol for the spiking circuit and for the adapters (``flysim.experiments.
link_redundancy``): pairs of similar stimuli (input correlation 0.8; the circuit's odors for the
circuit and for an adapter derived from it, pairs of digit images for FlyHash, the Fly model,
Fly-CL and FlyLoRA's router), the four conditions none / LI / SFA / LI+SFA (LI: the APL, top-k
or graded inhibition; SFA: the KCs' adaptation, per-unit adaptation within a presentation or
FlyLoRA's balancing bias), input noise matched across models by the loss of trial-to-trial
input correlation it causes (the circuit's PN correlation at each level in Hz), the circuit's
MBON readout after conditioning (adapter codes turned into spikes) and a decoder, each model's
own readout, and per model ``claims()``: two-way bootstrap over seeds (flies) and pairs, fixed
rules. Panels: the headline accuracy against the (matched) noise level per model (mean and 95 %
t CI over seeds of pair means) and the verdicts (estimate [95 % bootstrap CI] of the level
that decides).

Run: ``python figures/fig_link_redundancy.py [--quick] [--out-dir DIR] [--workers N]``.
Quick: ``tiny`` circuit, 3 noise levels (0, 20, 50 Hz), 2 seeds, 2 pairs, decoder headline,
image models at 0.2 x their expansion (about a minute once compiled). Full: ``drosophila_adult``,
5 noise levels (10, 15, 20, 30, 50 Hz), 3 seeds (flies), 2 odor panels x 2 pairs (4 pairs; 4
digit pairs), 4 conditioning repetitions per pair, MBON headline (21 min on the 2-core Zen 4
host, circuit on 2 workers; README "The link"). The circuit's points are
stored in ``link_redundancy.zarr`` (output directory) as they finish. Writes
``link_redundancy[_quick].nc`` and ``.png`` next to this script (or to ``--out-dir``) and prints
the tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent


def protocol(quick: bool):
    """The protocol of a quick or a full run."""
    from flysim.experiments.link_redundancy import Protocol

    if quick:
        return Protocol(
            [0, 20, 50], (0, 1), n_pairs=2, n_tests=2, odor_seeds=(0,), mbon=False, unit_scale=0.2
        )
    return Protocol([10, 15, 20, 30, 50], (0, 1, 2), n_pairs=2, n_tests=4, odor_seeds=(0, 1))


def plot(result, tables, fig):
    """One panel per model (accuracy per condition against noise), then the verdict grid."""
    from flysim.experiments.link_redundancy import CLAIM_NAMES
    from flysim.plotting import claims_grid, condition_vs_noise

    models = list(result.model.values)
    n_cols = 4
    n_rows = -(-len(models) // n_cols)
    grid = fig.add_gridspec(n_rows + 2, n_cols)
    for k, model in enumerate(models):
        ax = fig.add_subplot(grid[k // n_cols, k % n_cols])
        one = result.sel(model=model).mean("pair", keep_attrs=True).rename(seed="fly")
        condition_vs_noise(one, ax, "accuracy", chance=0.5)
        ax.set_title(str(model), fontsize=8)
        ax.set_xlabel("matched noise level (circuit Hz)", fontsize=7)
        ax.set_ylabel(result.accuracy.attrs["measure"], fontsize=7)
        ax.tick_params(labelsize=6)
        if k:
            ax.get_legend().remove()
    claims_grid(tables, fig.add_subplot(grid[n_rows:, :]), CLAIM_NAMES)
    fig.suptitle(
        f"LI x SFA x noise on the circuit ({result.attrs['preset']}) and the adapters: "
        f"{result.accuracy.attrs['measure']}, {result.sizes['seed']} seeds x "
        f"{result.sizes['pair']} pairs",
        fontsize=9,
    )
    return fig


def print_tables(result, tables) -> None:
    """Per model the accuracy per condition and noise level, then the verdicts."""
    from flysim.experiments.link_redundancy import verdicts_table
    from flysim.redundancy import claims_table, summary_table

    measure = result.accuracy.attrs["measure"]
    for model in result.model.values:
        one = result.sel(model=model).rename(seed="fly")
        noise_sd = result.input_noise_sd.sel(model=model).values
        print(f"\n== {model}: {measure} (input noise SD per level: {noise_sd.round(3).tolist()})")
        print(summary_table(one))
        if str(model) in tables:
            print(claims_table(tables[str(model)]))
    print(f"\nVerdicts on {measure} (estimate [95% CI] of the deciding level):")
    print(verdicts_table(tables))


def main(quick: bool = False, out_dir=None, workers=None):
    import flysim
    from flysim.experiments.link_redundancy import link_claims, link_redundancy

    params = flysim.load_params("tiny" if quick else "drosophila_adult")
    out_dir = HERE if out_dir is None else Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = link_redundancy(
        params,
        protocol(quick),
        workers=workers,
        store=None if quick else out_dir / "link_redundancy.zarr",
        progress=True,
    )
    stem = "link_redundancy" + ("_quick" if quick else "")
    result.to_netcdf(out_dir / f"{stem}.nc")
    tables = link_claims(result)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(11, 9))
    plot(result, tables, fig)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(out_dir / f"{stem}.png", dpi=110)
    plt.close(fig)
    print_tables(result, tables)
    print(f"wrote {out_dir / stem}.nc and .png")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny circuit, 3 levels, 2 seeds")
    parser.add_argument("--out-dir", default=None, help="where to write (default: next to this)")
    parser.add_argument("--workers", type=int, default=None, help="local dask workers")
    arguments = parser.parse_args()
    main(arguments.quick, arguments.out_dir, arguments.workers)
