"""The naive baseline: flysim's default circuit written the way a brian2 user would write it.

Runtime mode (brian2's default code generation target, Cython, unless ``--target numpy``), the
network built from scratch and ``run()`` called once per odor trial, KC spikes counted from a
``SpikeMonitor``. Same neurons, sizes, protocol and odors as flysim's ``drosophila_adult`` preset
(values are read from ``flysim.load_params`` so the two can never drift apart; flysim is used for
nothing else than parameter values and the synthetic odor panel):

- 150 PNs (conductance LIF), each driven by its glomerulus's 40 ORNs as Poisson input whose rate
  follows the odor (a ``TimedArray``: spontaneous rate, plus the odor's response while it is on);
- 2000 KCs (conductance LIF with a spike-triggered K+ adaptation conductance), 7 claws each on
  PNs of distinct random glomeruli;
- one APL (LIF) excited by every KC and inhibiting every KC;
- 2 MBONs (LIF) excited by every KC.

Run: ``python benchmarks/baseline_naive.py --trials 3 [--target numpy] [--json out.json]``.
Import: ``from baseline_naive import run_trials``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from brian2 import (
    Hz,
    Network,
    NeuronGroup,
    SpikeMonitor,
    Synapses,
    TimedArray,
    defaultclock,
    ms,
    prefs,
    seed,
    start_scope,
)

# -- the model, as a brian2 user writes it -----------------------------------------------------
LIF = """
dv/dt = (g_L*(E_L - v) + g_exc*(E_exc - v) + g_inh*(E_inh - v)) / C : volt (unless refractory)
dg_exc/dt = -g_exc / tau_exc : siemens
dg_inh/dt = -g_inh / tau_inh : siemens
"""
KC_SFA = """
dv/dt = (g_L*(E_L - v) + g_adapt*(E_adapt - v) + g_exc*(E_exc - v)
         + g_inh*(E_inh - v)) / C : volt (unless refractory)
dg_adapt/dt = -g_adapt / tau_adapt : siemens
dg_exc/dt = -g_exc / tau_exc : siemens
dg_inh/dt = -g_inh / tau_inh : siemens
"""


def load_setup(preset: str = "drosophila_adult", n_odors: int = 10, odor_seed: int = 0) -> dict:
    """Parameter values (brian2 quantities) and odor responses from flysim's preset."""
    import flysim
    from flysim.odors import synthetic_panel

    p = flysim.load_params(preset)
    net = p.network
    panel = synthetic_panel(n_odors, n_glomeruli=net.n_glomeruli, seed=odor_seed)

    def membrane(pop):
        return {
            "C": pop.C,
            "g_L": pop.g_L,
            "E_L": pop.E_L,
            "V_T": pop.V_T,
            "V_reset": pop.V_reset,
            "t_ref": pop.refractory,
            "E_exc": pop.E_exc,
            "E_inh": pop.E_inh,
            "tau_exc": pop.tau_exc,
            "tau_inh": pop.tau_inh,
        }

    return {
        "preset": preset,
        "n_glomeruli": net.n_glomeruli,
        "pns_per_glomerulus": net.pns_per_glomerulus,
        "n_kc": net.n_kc,
        "kc_in_degree": net.kc_in_degree,
        "n_mbon": net.n_mbon,
        "dt": net.dt,
        "baseline": p.protocol.baseline,
        "odor_duration": p.protocol.odor_duration,
        "post": p.protocol.post,
        "stimulus_dt": p.protocol.stimulus_dt,
        "orn_spontaneous": p.orn.spontaneous_rate,
        "orn_max": p.orn.max_rate,
        "n_orn": p.orn.n_per_glomerulus,
        "pn": membrane(p.pn),
        "kc": membrane(p.kc)
        | {
            "tau_adapt": p.sfa.tau,
            "E_adapt": p.sfa.reversal,
            "delta_g_adapt": p.sfa.effective_increment,
        },
        "apl": membrane(p.apl),
        "mbon": membrane(p.mbon),
        "w_orn": p.weights.orn_pn,
        "w_pn_kc": p.weights.pn_kc,
        "w_kc_apl": p.weights.kc_apl,
        "w_apl_kc": p.weights.apl_kc * p.li.gain("apl"),
        "w_kc_mbon": p.weights.kc_mbon,
        "odor_responses": panel.responses,  # (odors, glomeruli), Δspikes/s
    }


def draw_wiring(s: dict, fly_seed: int = 0):
    """Each KC picks ``kc_in_degree`` distinct glomeruli, and one sister PN in each."""
    rng = np.random.default_rng(fly_seed)
    n_glom, per = s["n_glomeruli"], s["pns_per_glomerulus"]
    glomeruli = np.argsort(rng.random((s["n_kc"], n_glom)), axis=1)[:, : s["kc_in_degree"]]
    pns = glomeruli * per + rng.integers(per, size=glomeruli.shape)
    return pns.ravel(), np.repeat(np.arange(s["n_kc"]), s["kc_in_degree"])  # (pre PN, post KC)


def orn_rates(s: dict, odor: int) -> np.ndarray:
    """ORN rate of each glomerulus over time (stimulus bins x glomeruli), in Hz."""
    duration = s["baseline"] + s["odor_duration"] + s["post"]
    n_bins = int(round(float(duration / s["stimulus_dt"]))) + 1
    times = np.arange(n_bins) * float(s["stimulus_dt"])
    on = (times >= float(s["baseline"])) & (times < float(s["baseline"] + s["odor_duration"]))
    rates = np.full((n_bins, s["n_glomeruli"]), float(s["orn_spontaneous"]))
    rates[on] += s["odor_responses"][odor]
    return np.clip(rates, 0.0, float(s["orn_max"]))


def run_trial(s: dict, odor: int, trial_seed: int, wiring) -> dict:
    """Build the network, run one odor trial, return KC spike counts and timings."""
    started = time.perf_counter()
    start_scope()
    defaultclock.dt = s["dt"]
    seed(trial_seed)
    duration = s["baseline"] + s["odor_duration"] + s["post"]
    orn_rate = TimedArray(orn_rates(s, odor) * Hz, dt=s["stimulus_dt"], name="orn_rate")

    n_pn = s["n_glomeruli"] * s["pns_per_glomerulus"]
    pn = NeuronGroup(
        n_pn,
        LIF + "glomerulus : integer (constant)",
        threshold="v > V_T",
        reset="v = V_reset",
        refractory="t_ref",
        method="exponential_euler",
        namespace=dict(s["pn"]),
        name="pn",
    )
    pn.glomerulus = np.arange(n_pn) // s["pns_per_glomerulus"]
    pn.v = s["pn"]["E_L"]
    pn.run_regularly(
        "g_exc += w_orn * poisson(n_orn * orn_rate(t, glomerulus) * dt)",
        when="start",
        name="orn_input",
    )
    pn.namespace.update(orn_rate=orn_rate, w_orn=s["w_orn"], n_orn=s["n_orn"])

    kc = NeuronGroup(
        s["n_kc"],
        KC_SFA,
        threshold="v > V_T",
        reset="v = V_reset\ng_adapt += delta_g_adapt",
        refractory="t_ref",
        method="euler",
        namespace=dict(s["kc"]),
        name="kc",
    )
    kc.v = s["kc"]["E_L"]
    apl = NeuronGroup(
        1,
        LIF,
        threshold="v > V_T",
        reset="v = V_reset",
        refractory="t_ref",
        method="exponential_euler",
        namespace=dict(s["apl"]),
        name="apl",
    )
    apl.v = s["apl"]["E_L"]
    mbon = NeuronGroup(
        s["n_mbon"],
        LIF,
        threshold="v > V_T",
        reset="v = V_reset",
        refractory="t_ref",
        method="exponential_euler",
        namespace=dict(s["mbon"]),
        name="mbon",
    )
    mbon.v = s["mbon"]["E_L"]

    pn_kc = Synapses(
        pn, kc, on_pre="g_exc_post += w_pn_kc", namespace={"w_pn_kc": s["w_pn_kc"]}, name="pn_kc"
    )
    pre, post = wiring
    pn_kc.connect(i=pre, j=post)
    kc_apl = Synapses(
        kc,
        apl,
        on_pre="g_exc_post += w_kc_apl",
        namespace={"w_kc_apl": s["w_kc_apl"]},
        name="kc_apl",
    )
    kc_apl.connect()
    apl_kc = Synapses(
        apl,
        kc,
        on_pre="g_inh_post += w_apl_kc",
        namespace={"w_apl_kc": s["w_apl_kc"]},
        name="apl_kc",
    )
    apl_kc.connect()
    kc_mbon = Synapses(
        kc,
        mbon,
        on_pre="g_exc_post += w_kc_mbon",
        namespace={"w_kc_mbon": s["w_kc_mbon"]},
        name="kc_mbon",
    )
    kc_mbon.connect()

    monitors = {
        name: SpikeMonitor(g, name=f"{name}_spikes")
        for name, g in (("pn", pn), ("kc", kc), ("apl", apl), ("mbon", mbon))
    }
    # explicit names: auto-generated ones change while the previous trial's objects are alive,
    # and a changed name is changed code, which Cython compiles again
    net = Network(pn, kc, apl, mbon, pn_kc, kc_apl, apl_kc, kc_mbon, *monitors.values())
    built = time.perf_counter()
    net.run(duration)
    ran = time.perf_counter()

    t_kc = np.asarray(monitors["kc"].t / ms)
    on, off = float(s["baseline"] / ms), float((s["baseline"] + s["odor_duration"]) / ms)
    in_odor = (t_kc >= on) & (t_kc < off)
    kc_counts = np.bincount(np.asarray(monitors["kc"].i)[in_odor], minlength=s["n_kc"])
    spikes = {name: int(m.num_spikes) for name, m in monitors.items()}
    return {
        "odor": int(odor),
        "seed": int(trial_seed),
        "build_s": built - started,
        "run_s": ran - built,
        "wall_s": ran - started,
        "kc_coding_level": float((kc_counts > 0).mean()),
        "kc_odor_spikes": int(kc_counts.sum()),
        "spikes": spikes,
        # spike-triggered synaptic events: each spike times its number of targets
        "synaptic_events": int(
            np.sum(np.bincount(pre, minlength=n_pn)[np.asarray(monitors["pn"].i)])
            + spikes["kc"] * (1 + s["n_mbon"])
            + spikes["apl"] * s["n_kc"]
        ),
    }


def run_trials(
    n_trials: int,
    *,
    target: str = "cython",
    cython_cache: str | None = None,
    preset: str = "drosophila_adult",
    n_odors: int = 10,
    fly_seed: int = 0,
    verbose: bool = False,
) -> dict:
    """Run ``n_trials`` odor trials (odors in turn), one network build and ``run()`` each."""
    prefs.codegen.target = target
    if cython_cache:
        prefs.codegen.runtime.cython.cache_dir = cython_cache
    s = load_setup(preset, n_odors)
    wiring = draw_wiring(s, fly_seed)
    trials = []
    started = time.perf_counter()
    for k in range(n_trials):
        trials.append(run_trial(s, k % n_odors, 1000 + k, wiring))
        if verbose:
            t = trials[-1]
            print(
                f"trial {k}: odor {t['odor']}, build {t['build_s']:.2f} s, run {t['run_s']:.2f}"
                f" s, KC coding {t['kc_coding_level']:.3f}",
                flush=True,
            )
    duration = s["baseline"] + s["odor_duration"] + s["post"]
    return {
        "target": target,
        "preset": preset,
        "n_kc": s["n_kc"],
        "steps_per_trial": int(round(float(duration / s["dt"]))),
        "trial_seconds": float(duration),
        "n_trials": n_trials,
        "wall_s": time.perf_counter() - started,
        "trials": trials,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--target", choices=["cython", "numpy"], default="cython")
    parser.add_argument("--cython-cache", default=None, help="Cython cache dir (fresh = cold)")
    parser.add_argument("--preset", default="drosophila_adult")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    args = parser.parse_args()
    out = run_trials(
        args.trials,
        target=args.target,
        cython_cache=args.cython_cache,
        preset=args.preset,
        verbose=True,
    )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=1)
    print(f"{out['n_trials']} trials ({out['target']}): {out['wall_s']:.1f} s wall")
