"""Circuits matched in KC coding level (issue #20, items 2 and 5): what does sparseness buy, what
does competition buy, and what does the KC model buy at equal sparseness?

Three parts, each in the protocol of the LI x SFA x noise experiment (``PairDiscrimination`` with
the MBON readout: similar pairs, input correlation 0.8, trial-frozen input-pattern noise,
counterbalanced conditioning tests; accuracy is the MBON choice, chance 0.5):

- ``sparsity``: at KC coding levels 5, 10 and 20 %, LI and LI+SFA matched by ``li.strength``,
  and "sparse without inhibition" (no LI; with and without SFA) matched by ``weights.pn_kc``.
  Each parameter is calibrated at 10 Hz on odor panel 0's pairs and fly 0 (checked on flies 1
  and 2), then held fixed across noise. ``claims()`` judges each level with sparse / LI /
  sparse+SFA / LI+SFA as none / LI / SFA / LI+SFA: LI's benefit there is what competition buys
  beyond sparseness.
- ``kc_models``: KCs as LIF, SFA-LIF and KvLIF (flysim's reading of Yang et al. 2026: the
  paper's equations are not public, models/neurons/kvlif.toml), each without LI at coding 0.25
  (matched by ``weights.pn_kc``) and with LI at 0.10 (``li.strength`` on top of that weight).
- ``noise_spikes``: the same three models without LI, matched in odor-evoked KC rate (noise-free
  input, ``weights.pn_kc``), and the KC spikes driven by input noise alone (a blank odor) at
  10, 20 and 40 Hz against the odor-evoked ones.

Run: ``python figures/fig_matched_arms.py [--quick] [--part sparsity kc_models noise_spikes]
[--out-dir DIR] [--workers N] [--flies N] [--pairs N] [--tests N] [--noise HZ ...]
[--levels 0.05 0.1 0.2]``.
Full (default): ``drosophila_adult``, 5 flies x 2 odor panels x 4 pairs, 10 tests per pair, 2
reference odors, noise 10 and 40 Hz; stores (one per arm and panel, and each calibration) in
``matched_arms/`` under the output directory, so a rerun computes only what is missing. Quick:
``tiny``, 2 flies x 1 panel x 2 pairs x 2 tests, one coding level (15 %), in memory. Writes
``matched_arms[_quick].nc`` (the sparsity part), ``kc_models[_quick].nc``,
``noise_spikes[_quick].nc`` and ``matched_arms[_quick].png`` next to this script (or to
``--out-dir``) and prints the tables (mean [95 % CI], two-way bootstrap over flies and pairs;
noise spikes: t interval over flies).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("sparsity", "kc_models", "noise_spikes")

FULL = dict(
    preset="drosophila_adult",
    flies=5,
    pairs=4,
    tests=10,
    noise=(10.0, 40.0),
    levels=(0.05, 0.10, 0.20),
    kc_targets=(0.25, 0.10),
    spike_noise=(10.0, 20.0, 40.0),
    odor_seeds=(0, 1),
)
QUICK = dict(
    preset="tiny",
    flies=2,
    pairs=2,
    tests=2,
    noise=(0.0, 20.0),
    levels=(0.15,),
    kc_targets=(0.25, 0.15),
    spike_noise=(10.0, 40.0),
    odor_seeds=(0,),
)


def _experiment(settings):
    from flysim.experiments.redundancy import PairDiscrimination

    return PairDiscrimination(
        n_pairs=settings["pairs"],
        n_trials=2 * settings["tests"],
        mbon_trials=settings["tests"],
        n_reference=2,
    )


def _arm_table(ds, variable: str) -> str:
    from flysim.experiments.redundancy import columns_table

    columns = {str(a): ds[variable].sel(arm=a, drop=True) for a in ds.arm.values}
    return columns_table(ds, columns)


def _calibration_lines(ds) -> list[str]:
    lines = []
    for arm in ds.arm.values:
        row = ds.sel(arm=arm)
        if not str(row.matched_path.values):
            continue
        start = f" (from {row.matched_from.values})" if str(row.matched_from.values) else ""
        lines.append(
            f"  {arm}: {row.matched_path.values} = {float(row.matched_value):.4g} "
            f"{row.matched_unit.values}{start}; coding {float(row.calibrated_statistic):.3f} "
            f"(target {float(row.matched_target):.3f}; flies 1, 2: {row.held_out_statistic.values})"
        )
    return lines


#: What the tables show per arm: the headline, the KC code and the readout's diagnostics.
TABLES = (
    "accuracy",
    "kc_coding_level",
    "kc_pair_correlation",
    "cs_plus_drop",
    "silent_fraction",
    "decoder_accuracy",
)


def _run_arms(params, arms, settings, store, workers, title):
    """``matched_arms`` in the experiment's protocol; prints the calibration and the tables."""
    from flysim.experiments.matched import matched_arms

    ds = matched_arms(
        params,
        arms,
        settings["noise"],
        experiment=_experiment(settings),
        seeds=range(settings["flies"]),
        odor_seeds=settings["odor_seeds"],
        store_dir=store,
        workers=workers,
    )
    print(f"\n# {title}: calibration\n" + "\n".join(_calibration_lines(ds)))
    for variable in TABLES:
        print(f"\n## {variable}\n" + _arm_table(ds, variable))
    return ds


def run_sparsity(params, settings, store, workers):
    from flysim.experiments.claims import claims, claims_table
    from flysim.experiments.matched import as_conditions, sparsity_arms, sparsity_conditions

    arms = sparsity_arms(settings["levels"])
    ds = _run_arms(params, arms, settings, store, workers, "Matched sparsity")
    for level in settings["levels"]:
        conditions = as_conditions(ds, sparsity_conditions(level))
        print(f"\n## claims() at coding level {level:g} (none = sparse without inhibition)")
        print(claims_table(claims(conditions)))
    return ds


def run_kc_models(params, settings, store, workers):
    from flysim.experiments.matched import kc_model_arms
    from flysim.experiments.redundancy import columns_table

    arms = kc_model_arms(*settings["kc_targets"])
    ds = _run_arms(params, arms, settings, store, workers, "KC models at matched coding level")
    acc = ds["accuracy"]
    diffs = {}
    for li in ("", "+LI"):
        for other in ("LIF", "SFA-LIF"):
            kvlif, them = acc.sel(arm=f"KvLIF{li}"), acc.sel(arm=f"{other}{li}")
            diffs[f"KvLIF{li} - {other}{li}"] = kvlif - them
    for model in ("LIF", "SFA-LIF", "KvLIF"):
        diffs[f"LI benefit, {model}"] = acc.sel(arm=f"{model}+LI") - acc.sel(arm=model)
    print("\n## paired differences (accuracy)\n" + columns_table(ds, diffs, signed=True))
    return ds


def run_noise_spikes(params, settings, store):
    from flysim.experiments.matched import KC_MODELS, calibration_odors
    from flysim.experiments.noise_spikes import noise_induced_spikes, rate_matched
    from flysim.experiments.redundancy import mean_ci

    odors = calibration_odors(_experiment(settings), params, 0)
    models = {name: {**o, "li.enabled": False} for name, o in KC_MODELS.items()}
    circuits, found, target = rate_matched(
        params, models, odors=odors, reference="LIF", store_dir=store
    )
    print(
        f"\n# Noise-induced KC spikes (no LI; odor-evoked KC rate matched to LIF's "
        f"{target:.3f} Hz at noise-free input)"
    )
    for name, f in found.items():
        print(f"  {name}: " + ("reference" if f is None else str(f)))
    ds = noise_induced_spikes(
        circuits, odors, settings["spike_noise"], seeds=range(settings["flies"])
    )
    for variable in ("evoked_rate", "noise_rate", "noise_coding_level", "noise_to_evoked"):
        mean, half = mean_ci(ds[variable])
        print(f"\n## {variable} ({ds[variable].attrs['long_name']}; mean ± 95% CI, t over flies)")
        print(f"{'noise (Hz)':>10} " + "".join(f"{str(c):>20}" for c in ds.circuit.values))
        for noise in ds.noise.values:
            cells = "".join(
                f"{float(mean.sel(circuit=c, noise=noise)):>11.4f} ± "
                f"{float(half.sel(circuit=c, noise=noise)):.4f}"
                for c in ds.circuit.values
            )
            print(f"{noise:>10.1f} {cells}")
    ds.attrs["matched_rate_hz"] = target
    return ds


def _figure(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flysim.experiments.redundancy import estimate_ci

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    if "sparsity" in results:
        ds, ax = results["sparsity"], axes[0]
        for kind, style in (
            ("sparse", "o--"),
            ("sparse+SFA", "s--"),
            ("LI", "o-"),
            ("LI+SFA", "s-"),
        ):
            for noise, color in zip(ds.noise.values, ("C0", "C3"), strict=False):
                arms = [a for a in ds.arm.values if str(a).rsplit(" ", 1)[0] == kind]
                x = [float(ds.matched_target.sel(arm=a)) for a in arms]
                est = [
                    estimate_ci(ds.accuracy.sel(arm=a, noise=noise), n_resamples=500) for a in arms
                ]
                y = [float(e[0]) for e in est]
                err = [
                    [y[i] - float(e[1]) for i, e in enumerate(est)],
                    [float(e[2]) - y[i] for i, e in enumerate(est)],
                ]
                ax.errorbar(
                    x,
                    y,
                    yerr=err,
                    fmt=style,
                    color=color,
                    alpha=0.8,
                    capsize=2,
                    label=f"{kind}, {noise:g} Hz",
                )
        ax.set(
            xlabel="KC coding level (matched at 10 Hz)",
            ylabel="MBON choice accuracy",
            title="matched sparsity: competition vs sparseness",
        )
        ax.legend(fontsize=6, ncol=2)
    if "kc_models" in results:
        ds, ax = results["kc_models"], axes[1]
        arms = list(ds.arm.values)
        for k, noise in enumerate(ds.noise.values):
            est = [estimate_ci(ds.accuracy.sel(arm=a, noise=noise), n_resamples=500) for a in arms]
            y = [float(e[0]) for e in est]
            err = [
                [y[i] - float(e[1]) for i, e in enumerate(est)],
                [float(e[2]) - y[i] for i, e in enumerate(est)],
            ]
            ax.bar(
                [i + 0.4 * k for i in range(len(arms))],
                y,
                0.4,
                yerr=err,
                capsize=2,
                label=f"{noise:g} Hz",
            )
        ax.set_xticks([i + 0.2 for i in range(len(arms))], arms, rotation=30, fontsize=7)
        ax.set(
            ylabel="MBON choice accuracy",
            ylim=(0.4, 1.0),
            title="KC models at matched coding level",
        )
        ax.legend(fontsize=7)
    if "noise_spikes" in results:
        ds, ax = results["noise_spikes"], axes[2]
        for c in ds.circuit.values:
            values = ds.noise_to_evoked.sel(circuit=c)
            ax.errorbar(
                ds.noise.values,
                values.mean("fly"),
                yerr=values.std("fly"),
                marker="o",
                capsize=2,
                label=str(c),
            )
        ax.set(
            xlabel="input noise SD (Hz)",
            ylabel="noise-induced / odor-evoked KC rate",
            title="KC spikes from noise alone (matched evoked rate)",
        )
        ax.legend(fontsize=7)
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(quick=False, out_dir=None, parts=PARTS, workers=None, **options) -> dict:
    """Run ``parts`` (``options``: flies, pairs, tests, noise, levels) and write their files."""
    import flysim

    settings = dict(QUICK if quick else FULL)
    settings.update({k: v for k, v in options.items() if v is not None})
    params = flysim.load_params(settings["preset"])
    out = HERE if out_dir is None else Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = None if quick else out / "matched_arms"
    suffix = "_quick" if quick else ""
    results, started = {}, time.time()
    if "sparsity" in parts:
        results["sparsity"] = run_sparsity(params, settings, store, workers)
        results["sparsity"].to_netcdf(out / f"matched_arms{suffix}.nc")
    if "kc_models" in parts:
        results["kc_models"] = run_kc_models(params, settings, store, workers)
        results["kc_models"].to_netcdf(out / f"kc_models{suffix}.nc")
    if "noise_spikes" in parts:
        results["noise_spikes"] = run_noise_spikes(params, settings, store)
        results["noise_spikes"].to_netcdf(out / f"noise_spikes{suffix}.nc")
    _figure(results, out / f"matched_arms{suffix}.png")
    print(f"\n{', '.join(parts)}: {time.time() - started:.0f} s; wrote {out}")
    return results


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--part", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--flies", type=int)
    parser.add_argument("--pairs", type=int)
    parser.add_argument("--tests", type=int)
    parser.add_argument("--noise", type=float, nargs="+")
    parser.add_argument("--levels", type=float, nargs="+", help="matched coding levels")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_arguments()
    main(
        arguments.quick,
        arguments.out_dir,
        arguments.part,
        arguments.workers,
        **{k: getattr(arguments, k) for k in ("flies", "pairs", "tests", "noise", "levels")},
    )
