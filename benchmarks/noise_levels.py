"""What each input-noise level does to the input and to the circuit (issue #19).

Run: ``python benchmarks/noise_levels.py [--rule mean|clip|both] [--trials 5]``. For the
default adult preset and a synthetic panel of 10 odors, at input_sigma 0, 10, 25 and 40 Hz
(frozen per trial), prints one row per level: the mean ORN rate in the odor window and its
change against 0 Hz (± one standard error of sampling), the mean trial-to-trial correlation
of the input pattern across glomeruli (same odor, two different trials), the mean PN rate in
the odor window and the KC coding level (fraction of KC-odor-trials with a spike in the odor
window).

``--rule clip`` applies the rule before issue #19 (Gaussian noise added to the rate, then
clipped at 0 and orn.max_rate) by replacing ``flysim.inputs.stimulus.mean_preserving_rates``
in this process; ``both`` prints the two tables (0 Hz is the same run for both rules).

With the ORN mean kept, the PN mean may still move with the level: a PN's rate is a nonlinear
function of its ORN input (threshold, refractoriness, and with ``li.site = "ln"`` or
``"both"`` LN inhibition that follows each trial's mean ORN rate; off in the default preset),
so spreading the input around the same mean need not keep the mean PN rate. Its ± is the
sampling error over glomeruli and trials (the PNs of a glomerulus share their input).
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from brian2 import Hz

import flysim
from flysim.inputs import stimulus
from flysim.odors import synthetic_panel

LEVELS_HZ = (0, 10, 25, 40)
MEAN_PRESERVING = stimulus.mean_preserving_rates


def plain_clipping(noiseless, z, sigma, upper):
    """The input-noise rule before issue #19: rate plus Gaussian noise, clipped."""
    return np.clip(noiseless + sigma * z, 0.0, upper)


def trial_to_trial_correlation(orn_rate) -> float:
    """Mean Pearson correlation across glomeruli of two trials' input patterns (same odor)."""
    values = orn_rate.transpose("odor", "trial", "glomerulus").values
    pairs = list(itertools.combinations(range(values.shape[1]), 2))
    return float(
        np.mean([np.corrcoef(odor[a], odor[b])[0, 1] for odor in values for a, b in pairs])
    )


def level_summary(params, panel, level_hz: float, n_trials: int) -> dict:
    """The row of one noise level (wiring seed 0, noise seed 1)."""
    noise = flysim.Noise(input_sigma=level_hz * Hz, seed=1)
    ds = flysim.simulate(params, panel, n_trials=n_trials, noise=noise, seed=0)
    odor_seconds = float(params.protocol.odor_duration)
    return {
        "orn_rate": ds.orn_rate.values,
        "orn": float(ds.orn_rate.mean()),
        "correlation": trial_to_trial_correlation(ds.orn_rate),
        "pn": float(ds.pn_spike_count.mean()) / odor_seconds,
        "pn_rate": ds.pn_spike_count.groupby("pn_glomerulus").mean().values / odor_seconds,
        "coding": float((ds.kc_spike_count > 0).mean()),
    }


def print_table(rule: str, rows: dict) -> None:
    base = rows[0]
    print(f"\nrule: {rule}")
    columns = ["input_sigma", "ORN rate (Hz)", "vs 0 Hz", "input corr.", "PN rate (Hz)", "vs 0 Hz"]
    print("| " + " | ".join(columns + ["KC coding"]) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for level, row in rows.items():
        orn_change = 100 * (row["orn"] / base["orn"] - 1)
        # sampling error of the change: the draws are independent across glomeruli and trials
        shift = row["orn_rate"] - base["orn_rate"]
        orn_error = 100 * shift.std() / np.sqrt(shift.size) / base["orn"]
        pn_shift = row["pn_rate"] - base["pn_rate"]
        pn_error = 100 * pn_shift.std() / np.sqrt(pn_shift.size) / base["pn"]
        pn_change = 100 * (row["pn"] / base["pn"] - 1)
        print(
            f"| {level} Hz | {row['orn']:.2f} | {orn_change:+.1f} ± {orn_error:.1f} % "
            f"| {row['correlation']:.3f} "
            f"| {row['pn']:.1f} | {pn_change:+.1f} ± {pn_error:.1f} % | {row['coding']:.3f} |",
            flush=True,
        )


def main(rules: list[str], n_trials: int) -> None:
    params = flysim.load_params("drosophila_adult")
    panel = synthetic_panel(10, seed=0)
    noiseless = level_summary(params, panel, 0, n_trials)  # the same for every rule
    for rule in rules:
        stimulus.mean_preserving_rates = MEAN_PRESERVING if rule == "mean" else plain_clipping
        rows = {0: noiseless}
        rows.update({lv: level_summary(params, panel, lv, n_trials) for lv in LEVELS_HZ[1:]})
        print_table("mean-preserving (issue #19)" if rule == "mean" else "clipped (before)", rows)
    stimulus.mean_preserving_rates = MEAN_PRESERVING


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", choices=["mean", "clip", "both"], default="both")
    parser.add_argument("--trials", type=int, default=5, help="trials per odor and level (>= 2)")
    args = parser.parse_args()
    main(["mean", "clip"] if args.rule == "both" else [args.rule], args.trials)
