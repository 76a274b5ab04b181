"""Readout variants on stored KC spikes: what would meet issue #19's readout diagnostics?

Simulates once (cached in /tmp/rv/spikes) the demo's design - 4 conditions x noise levels
(env NOISES, default 10,40 Hz) x flies 0-2 x odor panels 0-1, 2 pairs + 2 reference odors,
TRIALS trials each (env, default 8), KC spikes recorded - then evaluates
``flysim.readout.conditioned_choice`` for each variant given as JSON on the command line:
``[[overrides, [bg_rate_Hz, bg_weight_S]], ...]``, optionally with a third element, the CS+
pairings per repetition (``conditioned_choice(..., pairings=k)``; default 1; each repetition
then takes k + 1 trials per odor, so the repetitions are min(4, TRIALS // (k + 1))).

The background (bg) is a PROTOTYPE, not a flysim feature: independent Poisson excitatory input
to every MBON (rate, conductance per event), patched into the readout's per-step input
(``flysim.readout.mbon._input``) from numpy's generator, so neither the brian2 replay nor the
in-circuit network has it. It shows what an MBON spontaneous-activity floor would do before
building it into both (keyed streams). Prints per condition and noise level the means over
flies and pairs of accuracy, naive MBON rate, CS+ drop, tied and silent tests.

Run (a variant: parameter overrides, background [Hz, S])::

    NOISES=0,10 python benchmarks/readout_variants.py \
        '[[{}, [0, 0]], [{"learning.learning_rate": 4.0}, [1000, 1e-10]]]'

"""

import itertools
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

import flysim
import flysim.readout.mbon as mbon_mod
from flysim.experiments.redundancy import CONDITIONS, PairDiscrimination
from flysim.readout import conditioned_choice

OUT = Path("/tmp/rv/spikes")
OUT.mkdir(parents=True, exist_ok=True)
params0 = flysim.load_params("drosophila_adult")

FLIES, ODOR_SEEDS = (0, 1, 2), (0, 1)
NOISES = tuple(int(x) for x in os.environ.get("NOISES", "10,40").split(","))
TRIALS = int(os.environ.get("TRIALS", "8"))
exp = {
    s: PairDiscrimination(n_pairs=2, n_trials=TRIALS, mbon_trials=4, n_reference=2, odor_seed=s)
    for s in ODOR_SEEDS
}


def spikes(cond, noise, fly, oseed):
    trials = "" if TRIALS == 8 else f"-{TRIALS}trials"
    f = OUT / f"{cond}-{noise}-{fly}-{oseed}{trials}.nc"
    if f.exists():
        return xr.open_dataset(f).load()
    li, sfa = CONDITIONS[cond]
    p = flysim.with_overrides(params0, {"li.enabled": li, "sfa.enabled": sfa})
    from brian2 import Hz

    ds = flysim.simulate(
        p,
        exp[oseed]._panel(p),
        n_trials=TRIALS,
        noise=flysim.Noise(input_sigma=noise * Hz),
        seed=fly,
        record_spikes=True,
        progress=False,
    )
    keep = [v for v in ds.data_vars if "spike" in v and "pn" not in v]
    ds = ds[keep]
    ds.to_netcdf(f)
    return ds


BG = {"rate": 0.0, "w": 0.0}
_orig_input = mbon_mod._input


def _input_bg(spk, weights, weight_index, n_steps):
    drive = _orig_input(spk, weights, weight_index, n_steps)
    if BG["rate"] > 0:
        rng = np.random.default_rng(abs(hash((spk.n_presentations, len(spk.kc)))) % 2**32)
        drive = drive + BG["w"] * rng.poisson(BG["rate"] * 1e-4, drive.shape)
    return drive


mbon_mod._input = _input_bg


def evaluate(overrides, bg=(0.0, 0.0), pairings=1):
    BG["rate"], BG["w"] = bg
    n_reps = min(4, TRIALS // (pairings + 1))
    p = flysim.with_overrides(params0, overrides)
    rows = {}
    for cond, noise in itertools.product(CONDITIONS, NOISES):
        acc = []
        for fly, oseed in itertools.product(FLIES, ODOR_SEEDS):
            ds = spikes(cond, noise, fly, oseed)
            names = [str(n) for n in ds.odor.values]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = conditioned_choice(
                    ds,
                    [(names[0], names[1]), (names[2], names[3])],
                    names[4:],
                    n_reps,
                    p,
                    pairings=pairings,
                )
            acc.append(
                [
                    float(r.accuracy.mean()),
                    float(r.mbon_naive_rate.mean()),
                    float(r.cs_plus_drop_mean),
                    float(r.tie_fraction.mean()),
                    float(r.silent_fraction.mean()),
                    float(r.overlap_cs_plus.mean()),
                ]
            )
        rows[(cond, noise)] = np.mean(acc, 0)
    return rows


def show(label, rows):
    print(f"== {label}")
    print("  cond  noise   acc   naive  drop   tie  silent  overlap+")
    for (c, n), v in rows.items():
        print(
            f"  {c:7s}{n:4d}  {v[0]:.3f}  {v[1]:5.1f}  {v[2]:.2f}  {v[3]:.3f}  {v[4]:.3f}"
            f"  {v[5]:.3f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    t = time.time()
    for c, n, f, o in itertools.product(CONDITIONS, NOISES, FLIES, ODOR_SEEDS):
        spikes(c, n, f, o)
    print("spikes ready", round(time.time() - t), "s")
    sys.stdout.flush()
    variants = json.loads(sys.argv[1]) if len(sys.argv) > 1 else [[{}, [0, 0]]]
    for overrides, bg, *pairings in variants:
        t = time.time()
        rows = evaluate(overrides, tuple(bg), *pairings)
        show(f"{overrides} bg={bg} pairings={pairings or [1]} ({time.time() - t:.0f}s)", rows)
