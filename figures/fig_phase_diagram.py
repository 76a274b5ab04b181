"""Phase diagram of lateral inhibition (LI) x spike-frequency adaptation (SFA) x input noise.

How well does the fly tell apart the two odors of a similar pair after aversive conditioning
(the MBON choice, chance 0.5), over ``li.strength`` x ``sfa.strength`` x input noise (SD of the
per-glomerulus input pattern noise, ``noise.input_sigma``) x where LI acts (``li.site``: the APL
or the antennal-lobe LNs), for pairs of input correlation 0.8 and 0.6, under trial-frozen
pattern noise and Ornstein-Uhlenbeck noise in time (``noise.input_tau`` 50 ms)? Both mechanisms
are on (``li.enabled``, ``sfa.enabled``), so strength 0 is the mechanism off (the circuit's gain
is the strength: 0 is the same circuit as ``enabled = false``). Every point runs
``PairDiscrimination`` with the MBON readout, so each has the readout's diagnostics (naive MBON
rate, CS+ drop, ties, silent MBONs) as well as the KC decoder and KC measures, per odor pair.

Selection vs judgement: every setting runs on two odor panels (``odor_seed`` 0 and 1, pairs
drawn alike); the best (li.strength, sfa.strength) per noise level is selected on panel 0 and
its accuracy reported on panel 1, with the paired gain over no LI and no SFA there
(``flysim.experiments.phase_diagram.select_and_judge``).

Figure, per input similarity and noise type (the first in ``phase_diagram[_quick].png``, others
in ``phase_diagram[_quick]_sim<s>_<type>.png``): per noise level (columns) and LI site, mean
accuracy over flies and pairs of both panels on (li.strength, sfa.strength), the best setting
selected on panel 0 starred (a tie goes to the first setting in grid order: the tables count
ties); the LI benefit (minus li.strength 0 at the same sfa.strength) and
the SFA benefit (minus sfa.strength 0 at the same li.strength). Tables: the best setting per
noise level with mean and 95 % CI of a two-way bootstrap over flies and pairs (not available
with fewer than 2 of either).

Run: ``python figures/fig_phase_diagram.py [--quick] [--plan] [--out-dir DIR] [--workers N |
--scheduler tcp://HOST:PORT] [--flies N] [--pairs N] [--tests N] [--li-strength ...]
[--sfa-strength ...] [--sfa-tau MS ...] [--noise HZ ...] [--li-site apl ln] [--similarity 0.8
0.6] [--noise-type frozen ou] [--ou-tau MS] [--odor-seeds 0 1] [--point-cost CORE_S]``.
Full (default): ``drosophila_adult``, li.strength 0, 0.5, 1, 2, 4 x sfa.strength 0, 0.5, 1, 2
x noise 0, 10, 20, 30, 40 Hz x sites APL, LNs (the coarse grid, 200 settings), x similarity
0.8, 0.6 x frozen, OU noise x odor panels 0, 1; 10 pairs x 10 tests per point, 5 flies.
``--sfa-tau`` adds an ``sfa.tau`` dim (default: the preset's 200 ms, not swept). Points that
are the same simulation run once (LI off at the LN site = at the APL; no noise, OU = frozen):
6480 points (fly x setting), ~77 core-h, ~38 h on ``--workers 2``. The stores run in the order
panel 0 before panel 1, similarity 0.8 before 0.6, frozen before OU, so the first step of a
long run can be ``--odor-seeds 0 --similarity 0.8 --noise-type frozen`` (900 points, ~5.3 h on
2 workers; selected and judged on the same panel, marked optimistic), then the full command,
which keeps those points.
Before running, the script prints the plan: points per store, points already stored, and the
projected time from a per-point cost (default: 42.7 core-s per 440-trial adult point, measured
in BENCHMARKS.md, scaled by trials per point; ``--point-cost`` overrides) on ``--workers``
cores; ``--plan`` prints it and stops. Every point is stored as it finishes in
``phase_diagram/`` (one zarr store per odor panel x similarity x noise type) in the output
directory, so a rerun computes only the missing points; with ``--workers N`` each scan call
starts its own local cluster (two per store: one per LI site); ``--scheduler ADDRESS`` sends
the points to a running dask cluster instead (``dask scheduler`` + ``dask worker`` on a
cluster's nodes, each worker with flysim installed and one thread per process; the stores stay
on this machine, so an interrupted cluster run resumes like a local one). Quick: ``tiny`` preset,
li.strength 0, 1 x sfa.strength 0, 1 x noise 0, 20 Hz x APL, frozen and OU noise, similarity
0.8, 2 odor panels of 2 pairs x 2 tests, 1 fly, in memory (under a minute once compiled).
Writes ``phase_diagram[_quick].nc`` (dims ``similarity, noise_type, li.site, li.strength,
sfa.strength[, sfa.tau], noise, fly, pair``) and the figure(s) next to this script (or to
``--out-dir``) and prints the tables.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Measured cost of one point (core-s, trials), per preset: drosophila_adult from BENCHMARKS.md
#: (10 pairs x 10 tests, 2 reference odors: 440 trials); tiny from this script's quick mode
#: (2 pairs x 2 tests: 24 trials; busy 2-core host).
POINT_COST = {"drosophila_adult": (42.7, 440), "tiny": (1.8, 24)}

#: Quick mode's plan (PhasePlan fields).
QUICK = dict(
    li_strengths=(0.0, 1.0),
    sfa_strengths=(0.0, 1.0),
    noise_levels=(0.0, 20.0),
    li_sites=("apl",),
    similarities=(0.8,),
    fly_seeds=(0,),
    n_pairs=2,
    n_tests=2,
)


def make_plan(quick: bool, options: dict):
    """The PhasePlan of the mode, with the options given (None: the mode's default)."""
    from flysim.experiments.phase_diagram import PhasePlan

    fields = dict(QUICK) if quick else {}
    renamed = {"flies": "fly_seeds", "pairs": "n_pairs", "tests": "n_tests"}
    for name, value in options.items():
        if value is None:
            continue
        if name == "flies":
            value = tuple(range(value))
        elif isinstance(value, list):
            value = tuple(value)
        fields[renamed.get(name, name)] = value
    try:
        return PhasePlan(**fields)
    except (TypeError, ValueError) as error:
        raise SystemExit(str(error)) from None


def print_plan(plan, params, store_dir, workers, point_cost, scheduler=None) -> None:
    """Points per store, how many are stored, and the projected time of the rest."""
    from flysim.experiments.phase_diagram import plan_points

    rows = plan_points(plan, params, store_dir)
    total = sum(r["points"] for r in rows)
    todo = total - sum(r["stored"] for r in rows)
    if point_cost is None:
        cost, trials = POINT_COST.get(params.name, POINT_COST["drosophila_adult"])
        point_cost = cost * plan.trials_per_point / trials
        source = f"measured {cost} core-s per {trials}-trial {params.name} point, scaled"
    else:
        source = "given"
    cores = workers or 1
    grid = " x ".join(
        str(len(v))
        for v in (plan.li_strengths, plan.sfa_strengths, plan.noise_levels, plan.li_sites)
    )
    print(
        f"plan: {params.name}, li.strength x sfa.strength x noise x li.site = {grid} settings"
        f"{f' x {len(plan.sfa_taus)} sfa.tau' if plan.sfa_taus else ''}, similarity "
        f"{list(plan.similarities)}, noise types {list(plan.noise_types)}, odor panels "
        f"{list(plan.odor_seeds)}, {len(plan.fly_seeds)} flies, {plan.n_pairs} pairs x "
        f"{plan.n_tests} tests ({plan.trials_per_point} trials per point)"
    )
    for row in rows:
        print(f"  {row['store']:<34} {row['points']:>6} points, {row['stored']:>6} stored")
    hours = todo * point_cost / 3600
    print(
        f"points: {total} (fly x setting, copies of identical simulations left out), "
        f"{total - todo} stored, {todo} to run at {point_cost:.1f} core-s each ({source}): "
        f"{hours:.2f} core-h"
        + (
            f", on the cluster at {scheduler}: core-h / its worker processes"
            if scheduler
            else f", projected {hours / cores:.2f} h on {cores} core(s)"
            + ("" if workers else f" ({hours / 2:.2f} h with --workers 2)")
        )
    )


def heat_map(ax, values, vmin, vmax, cmap, best=None):
    """One li.strength x sfa.strength map of ``values``, the setting ``best`` starred."""
    import numpy as np

    image = ax.imshow(values.values, origin="lower", cmap=cmap, vmin=vmin, vmax=vmax)
    sfa, li = list(values["sfa.strength"].values), list(values["li.strength"].values)
    ax.set_xticks(range(len(sfa)), [f"{v:g}" for v in sfa])
    ax.set_yticks(range(len(li)), [f"{v:g}" for v in li])
    for (i, j), value in np.ndenumerate(values.values):
        red, green, blue, _ = image.cmap(image.norm(value))
        dark = 0.3 * red + 0.6 * green + 0.1 * blue < 0.5
        ax.text(
            j, i, f"{value:.2f}", ha="center", va="center", fontsize=5, color="w" if dark else "k"
        )
    if best is not None:
        x, y = sfa.index(best[1]) + 0.3, li.index(best[0]) + 0.3
        ax.plot(x, y, "w*", markersize=8, markeredgecolor="k")
    ax.tick_params(labelsize=6)
    return image


#: Rows of the figure per LI site: variable, label, colour map.
ROWS = (
    ("accuracy", "accuracy", "viridis"),
    ("li_benefit", "LI benefit", "RdBu_r"),
    ("sfa_benefit", "SFA benefit", "RdBu_r"),
)


def rows_of(result) -> list:
    """The ROWS whose variable the result has (a benefit needs a 0 in its strength's grid)."""
    return [row for row in ROWS if row[0] in result]


def _cell_means(result, choice, site, noise):
    """Mean over flies and pairs at one site and noise level (at the best sfa.tau if swept),
    li.strength x sfa.strength, and the best setting (li.strength, sfa.strength)."""
    cell = result.sel({"li.site": site, "noise": noise})
    pick = choice.sel({"li.site": site, "noise": noise})
    if "sfa.tau" in cell.dims:
        cell = cell.sel({"sfa.tau": float(pick["best_sfa.tau"])})
    means = cell[[r[0] for r in rows_of(cell)]].mean(["fly", "pair"])
    best = (float(pick["best_li.strength"]), float(pick["best_sfa.strength"]))
    return means.transpose("li.strength", "sfa.strength"), best


def plot(result, choice, fig):
    """One similarity and noise type: rows per LI site (accuracy, LI and SFA benefit), columns
    per noise level; the best setting (selected on the selection panel) starred."""
    from flysim.redundancy import LI_SITES

    sites, noises = list(result["li.site"].values), list(result["noise"].values)
    rows = rows_of(result)
    axes = fig.subplots(len(rows) * len(sites), len(noises), squeeze=False)
    benefits = [abs(result[r[0]].mean(["fly", "pair"])).max(skipna=True) for r in rows[1:]]
    limit = max([0.05] + [float(b) for b in benefits])
    for k, site in enumerate(sites):
        for c, noise in enumerate(noises):
            means, best = _cell_means(result, choice, site, noise)
            for j, (name, label, cmap) in enumerate(rows):
                ax = axes[len(rows) * k + j, c]
                low, high = (0.5, 1.0) if name == "accuracy" else (-limit, limit)
                image = heat_map(ax, means[name], low, high, cmap, best if j == 0 else None)
                if k == j == 0:
                    ax.set_title(f"noise {noise:g} Hz", fontsize=8)
                if c == 0:
                    ax.set_ylabel(f"{LI_SITES[site]}: {label}\nli.strength", fontsize=7)
                if c == len(noises) - 1:
                    bar = fig.colorbar(image, ax=list(axes[len(rows) * k + j]), shrink=0.9)
                    bar.ax.tick_params(labelsize=6)
    for ax in axes[-1]:
        ax.set_xlabel("sfa.strength", fontsize=7)
    return fig


def _cell(mean, low, high) -> str:
    interval = "n/a" if not (low == low and high == high) else f"{low:.3f}, {high:.3f}"
    return f"{mean:.3f} [{interval}]"


def best_table(choice) -> str:
    """The best setting per noise level (one similarity, noise type, site), as text."""
    settings = [v for v in choice.data_vars if v.startswith("best_")]
    header = f"{'noise (Hz)':>10}" + "".join(f"{v[5:]:>13}" for v in settings) + f"{'ties':>6}"
    header += "".join(f"{c:>24}" for c in ("selected", "judged", "none (judged)", "gain"))
    rows = [header]
    for noise in choice["noise"].values:
        row = choice.sel(noise=noise)
        text = f"{noise:>10g}" + "".join(f"{float(row[v]):>13g}" for v in settings)
        text += f"{int(row['ties']):>6}"
        for name in ("selected", "judged", "none_judged", "gain"):
            if name not in row:
                text += f"{'-':>24}"
                continue
            low, high = float(row[f"{name}_low"]), float(row[f"{name}_high"])
            text += f"{_cell(float(row[name]), low, high):>24}"
        rows.append(text)
    return "\n".join(rows)


def print_tables(result, choice) -> None:
    """One table per similarity, noise type and LI site."""
    from flysim.redundancy import LI_SITES

    held_out = (
        f"judged on panel {choice.attrs['judge_seed']}"
        if choice.attrs["held_out"]
        else "judged on the same panel (no held-out odors: optimistic)"
    )
    print(
        f"Best (li.strength, sfa.strength) per noise level: {result.accuracy.attrs['measure']}, "
        f"selected on odor panel {choice.attrs['select_seed']}, {held_out}; gain = judged "
        f"minus no LI and no SFA, paired; ties: settings sharing the best mean (the first in "
        f"grid order is taken); mean [95% CI]: CI {choice.attrs['ci']}"
    )
    for similarity in choice["similarity"].values:
        for noise_type in choice["noise_type"].values:
            for site in choice["li.site"].values:
                print(f"\nsimilarity {similarity:g}, {noise_type} noise, LI at {LI_SITES[site]}:")
                cell = {"similarity": similarity, "noise_type": noise_type, "li.site": site}
                print(best_table(choice.sel(cell)))


def print_claims(result, select_seed: int, judge_seed: int) -> None:
    """``claims()`` per similarity, noise type and LI site, on the settings selected on one odor
    panel and judged on the other (``selected_conditions``)."""
    from flysim.experiments.claims import claims, claims_table
    from flysim.experiments.phase_diagram import selected_conditions

    if "sfa.tau" in result.accuracy.dims:
        print("\nclaims(): not judged with sfa.tau swept (select one sfa.tau first)")
        return
    for similarity in result["similarity"].values:
        for noise_type in result["noise_type"].values:
            for site in result["li.site"].values:
                cell = {"similarity": similarity, "noise_type": noise_type, "li.site": site}
                title = f"similarity {similarity:g}, {noise_type} noise, LI at {site}"
                try:
                    conditions = selected_conditions(
                        result.accuracy.sel(cell), select_seed=select_seed, judge_seed=judge_seed
                    )
                except ValueError as error:
                    print(f"\nclaims(), {title}: not judged ({error})")
                    continue
                print(
                    f"\nclaims(), {title}: settings selected on odor panel {select_seed}, "
                    f"judged on panel {judge_seed}: {conditions.attrs['selected']}"
                )
                print(claims_table(claims(conditions)))


def figure_names(result, stem) -> dict:
    """(similarity, noise type) -> file name: the first is ``stem.png``."""
    names = {}
    for similarity in result["similarity"].values:
        for noise_type in result["noise_type"].values:
            suffix = "" if not names else f"_sim{similarity:g}_{noise_type}"
            names[(similarity, str(noise_type))] = f"{stem}{suffix}.png"
    return names


def save_figures(result, choice, out_dir, stem) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    n_rows = len(rows_of(result)) * result.sizes["li.site"]
    n_cols = result.sizes["noise"]
    for (similarity, noise_type), name in figure_names(result, stem).items():
        cell = {"similarity": similarity, "noise_type": noise_type}
        fig = plt.figure(figsize=(2.3 * n_cols + 1.5, 1.9 * n_rows + 0.8), layout="constrained")
        plot(result.sel(cell), choice.sel(cell), fig)
        fig.suptitle(
            f"LI x SFA x input noise ({noise_type}), pairs of input correlation {similarity:g},"
            f" {result.attrs['preset']}\n{result.accuracy.attrs['measure']}: mean over "
            f"{result.sizes['fly']} flies x {result.sizes['pair']} pairs (all odor panels)\n"
            f"* best setting selected on odor panel {choice.attrs['select_seed']}'s pairs",
            fontsize=8,
        )
        fig.savefig(out_dir / name, dpi=150)
        plt.close(fig)
        written.append(name)
    return written


def main(
    quick=False,
    out_dir=None,
    workers=None,
    plan_only=False,
    point_cost=None,
    scheduler=None,
    **options,
):
    """Run the phase diagram (``options``: PhasePlan fields, or flies / pairs / tests)."""
    import flysim
    from flysim.experiments.phase_diagram import phase_diagram, select_and_judge

    params = flysim.load_params("tiny" if quick else "drosophila_adult")
    plan = make_plan(quick, options)
    out_dir = HERE if out_dir is None else Path(out_dir)
    store_dir = None if quick else out_dir / "phase_diagram"
    print_plan(plan, params, store_dir, workers, point_cost, scheduler)
    if plan_only:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = phase_diagram(params, plan, store_dir=store_dir, workers=workers, scheduler=scheduler)
    elapsed = time.perf_counter() - start
    result.attrs.update(preset=params.name, run_wall_time_s=round(elapsed, 1))
    seeds = plan.odor_seeds
    choice = select_and_judge(result.accuracy, select_seed=seeds[0], judge_seed=seeds[-1])
    stem = "phase_diagram" + ("_quick" if quick else "")
    names = save_figures(result, choice, out_dir, stem)
    renamed = {v: v if v.startswith("best_") else f"best_{v}" for v in choice.data_vars}
    saved = result.merge(choice.rename(renamed), combine_attrs="override")
    saved.attrs.update({f"selection_{k}": v for k, v in choice.attrs.items()})
    saved.to_netcdf(out_dir / f"{stem}.nc")
    print_tables(result, choice)
    print_claims(result, seeds[0], seeds[-1])
    print(f"\nscans took {elapsed:.0f} s; wrote {out_dir / stem}.nc and {', '.join(names)}")
    return saved


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="tiny preset, 2 x 2 x 2 x 1 grid, 1 fly")
    add("--plan", action="store_true", help="print the points and projected time, run nothing")
    add("--out-dir", default=None, help="where to write (default: next to this script)")
    add("--workers", type=int, default=None, help="local dask workers (cores)")
    add("--scheduler", default=None, help="address of a running dask scheduler (a cluster)")
    add("--flies", type=int, default=None, help="flies (wiring seeds 0..N-1; full 5)")
    add("--pairs", type=int, default=None, help="odor pairs per panel (full 10)")
    add("--tests", type=int, default=None, help="conditioning tests per pair (full 10)")
    add("--li-strength", type=float, nargs="+", default=None, help="li.strength values")
    add("--sfa-strength", type=float, nargs="+", default=None, help="sfa.strength values")
    add("--sfa-tau", type=float, nargs="+", default=None, help="sweep sfa.tau (ms) too")
    add("--noise", type=float, nargs="+", default=None, help="input noise SD levels (Hz)")
    add("--li-site", nargs="+", choices=("apl", "ln", "both"), default=None, help="LI sites")
    add("--similarity", type=float, nargs="+", default=None, help="pair input correlations")
    add("--noise-type", nargs="+", choices=("frozen", "ou"), default=None, help="noise in time")
    add("--ou-tau", type=float, default=None, help="OU noise correlation time (ms; 50)")
    add("--odor-seeds", type=int, nargs="+", default=None, help="odor panels: select, judge")
    add("--point-cost", type=float, default=None, help="core-s per point for the projection")
    arguments = parser.parse_args(argv)
    if arguments.workers is not None and arguments.scheduler is not None:
        parser.error("give --workers (a local cluster) or --scheduler (a running one), not both")
    if arguments.workers is not None and arguments.workers < 1:
        parser.error(f"--workers must be at least 1, got {arguments.workers}")
    return arguments


if __name__ == "__main__":
    arguments = parse_arguments()
    main(
        arguments.quick,
        arguments.out_dir,
        arguments.workers,
        plan_only=arguments.plan,
        point_cost=arguments.point_cost,
        scheduler=arguments.scheduler,
        flies=arguments.flies,
        pairs=arguments.pairs,
        tests=arguments.tests,
        li_strengths=arguments.li_strength,
        sfa_strengths=arguments.sfa_strength,
        sfa_taus=arguments.sfa_tau,
        noise_levels=arguments.noise,
        li_sites=arguments.li_site,
        similarities=arguments.similarity,
        noise_types=arguments.noise_type,
        ou_tau=arguments.ou_tau,
        odor_seeds=arguments.odor_seeds,
    )
