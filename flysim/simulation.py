"""``simulate``: odors x trials (x flies) through the compiled circuit, returned as xarray."""

from __future__ import annotations

import json
import time
from importlib import metadata

import numpy as np
import xarray as xr
from brian2 import ms

from .circuit import POPULATIONS, structure_of
from .engine import CompiledCircuit, SimulationError, compile_structure, parameter_values
from .noise import Noise
from .odors import OdorPanel
from .params import CircuitParams, params_to_dict, with_overrides
from .stimulus import Slot, orn_drive
from .wiring import draw_claws

__all__ = ["simulate", "DEFAULT_BATCH", "prepare", "check_finite_state"]

#: Trial slots per compiled run. Fixed (not sized to the request) so that requests of any size
#: reuse one compiled network; the last batch is padded with idle slots.
DEFAULT_BATCH = 16


def prepare(params: CircuitParams, odors: OdorPanel):
    """Adapt ``params`` to the panel's glomeruli (PN count scales, KC in-degree kept)."""
    if not isinstance(odors, OdorPanel):
        raise TypeError(
            f"odors must be an OdorPanel (see flysim.odors), got {type(odors).__name__}"
        )
    note = ""
    if odors.n_glomeruli != params.network.n_glomeruli:
        note = (
            f"panel has {odors.n_glomeruli} glomeruli; circuit adapted from "
            f"{params.network.n_glomeruli} glomeruli ({params.n_pn} PNs) to "
            f"{odors.n_glomeruli} glomeruli "
            f"({odors.n_glomeruli * params.network.pns_per_glomerulus} PNs), "
            f"KC in-degree kept at {params.network.kc_in_degree}"
        )
        params = with_overrides(params, {"network.n_glomeruli": odors.n_glomeruli})
    return params, note


def claw_values(pn_claws_per_slot: list, n_pn: int) -> dict:
    """Run-time claw variables (``kc.claw0``...) of a batch: each slot's KC claws, as global PN
    indices (slot s's PNs are s * n_pn ... (s + 1) * n_pn - 1)."""
    claws = np.concatenate([c + s * n_pn for s, c in enumerate(pn_claws_per_slot)])
    return {f"kc.claw{c}": claws[:, c] for c in range(claws.shape[1])}


def batch_values(
    circuit, params, constants, pn_claws_per_slot, odors, noise, slots, fly_seeds, rng_seed
) -> dict:
    """Every run-time value of one batch of a non-plastic run: constants, wiring, seed, drive."""
    values = dict(constants)
    values.update(claw_values(pn_claws_per_slot, params.n_pn))
    values["kc.rng_seed"] = int(rng_seed)
    n_stim_bins = circuit.timed_arrays["orn_rate"]["shape"][0]
    values["orn_rate"], values["orn_mean"] = orn_drive(
        odors, params, noise, slots, n_stim_bins, fly_seeds
    )
    values["dan_drive"] = np.zeros(circuit.timed_arrays["dan_drive"]["shape"])
    return values


def _versions() -> dict:
    out = {}
    for package in ("flysim", "brian2", "numpy", "xarray"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out


def _bin_spikes(result: dict, monitor: str, per_slot: int, n_slots: int, edges) -> np.ndarray:
    """Spike counts of a monitor per (slot, unit within slot, time bin)."""
    indices, times = result[f"{monitor}.i"], result[f"{monitor}.t"]
    counts = np.zeros((n_slots, per_slot, len(edges) - 1))
    if len(indices):
        bins = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, len(edges) - 2)
        np.add.at(counts, (indices // per_slot, indices % per_slot, bins), 1)
    return counts


def _spike_variables(pop: str, parts: list) -> dict:
    """Flat spike arrays along ``spike_<pop>`` from per-slot (fly, odor, trial, index, time)."""

    def column(k, dtype):
        if not parts:
            return np.zeros(0, dtype=dtype)
        return np.concatenate([p[k] if k >= 3 else np.full(len(p[3]), p[k]) for p in parts]).astype(
            dtype
        )

    dim = f"spike_{pop}"
    return {
        f"{pop}_spike_time": (dim, column(4, float), {"units": "s"}),
        f"{pop}_spike_index": (dim, column(3, np.int32), {"units": "1"}),
        f"{pop}_spike_odor": (dim, column(1, np.int32), {"units": "1"}),
        f"{pop}_spike_trial": (dim, column(2, np.int32), {"units": "1"}),
        f"{pop}_spike_fly": (dim, column(0, np.int32), {"units": "1"}),
    }


def _check_rates(counts: np.ndarray, window: float, refractory: float, name: str):
    """Refuse impossible output instead of returning it (runaway or NaN state)."""
    limit = 1.0 / max(refractory, 1e-4) * window * 1.001 + 1
    if counts.size and counts.max() > limit:
        raise SimulationError(
            f"{name} fired {int(counts.max())} spikes in {window:.3g} s, "
            f"above the refractory limit: the state diverged (check dt and "
            f"parameters)"
        )


def state_outputs(circuit) -> list[str]:
    """Every floating-point neuron variable (v, conductances, ...) the binary writes at the end."""
    return [
        name
        for name, spec in circuit.outputs.items()
        if name.split(".")[0] in POPULATIONS and np.dtype(spec["dtype"]).kind == "f"
    ]


def check_finite_state(result: dict, names: list[str]):
    """Refuse a run whose state went NaN/inf: a NaN membrane never crosses threshold, so the
    neuron would fall silent and the counts would look like plausible numbers."""
    for name in names:
        values = result[name]
        if not np.all(np.isfinite(values)):
            bad = int(np.count_nonzero(~np.isfinite(values)))
            raise SimulationError(
                f"state '{name}' became NaN/inf in {bad} of {values.size} neurons: the "
                f"integration diverged (check dt and extreme parameter values)"
            )


def simulate(
    params: CircuitParams,
    odors: OdorPanel,
    *,
    n_trials: int = 1,
    noise: Noise | None = None,
    seed: int | list = 0,
    batch_size: int = DEFAULT_BATCH,
    record_spikes: bool = False,
    time_bin=10 * ms,
    progress: bool = False,
) -> xr.Dataset:
    """Simulate every odor of ``odors`` for ``n_trials`` trials in the circuit ``params``.

    Parameters
    ----------
    params : CircuitParams
        The circuit (``flysim.load_params``); its neuron models and sizes choose the compiled
        network, its values are applied at run time.
    odors : OdorPanel
        Odors to present (``flysim.odors``). A panel with another number of glomeruli than the
        preset is simulated with the panel's glomeruli (recorded in ``attrs["adapted"]``).
    n_trials : int
        Trials per odor (and per fly).
    noise : Noise
        Noise settings and seed (default: Poisson input only, seed 0).
    seed : int or list of int
        Wiring ("fly") seed; a list simulates several flies along a ``fly`` dim.
    batch_size : int
        Trials run side by side in one compiled network.
    record_spikes : bool
        Also return every KC and PN spike (flat arrays along a ``spike`` dim).
    time_bin : Quantity
        Bin width of ``mbon_rate`` and ``apl_activity``.

    Returns
    -------
    xarray.Dataset
        ``kc_spike_count(odor, trial, kc)`` (odor window), its early and late halves,
        ``kc_spont_count`` (baseline window), ``pn_spike_count(odor, trial, pn)``,
        ``mbon_rate(odor, trial, mbon, time)``, ``apl_activity(odor, trial, time)``, the wiring,
        and attrs with the parameters, noise, seeds and versions needed to reproduce it.
    """
    noise = Noise() if noise is None else noise
    if not isinstance(noise, Noise):
        raise TypeError(f"noise must be a flysim.Noise, got {type(noise).__name__}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    several_flies = isinstance(seed, (list, tuple, np.ndarray))
    fly_seeds = [int(s) for s in (seed if several_flies else [seed])]
    if not fly_seeds or any(s < 0 for s in fly_seeds) or len(set(fly_seeds)) != len(fly_seeds):
        raise ValueError(
            f"seed must be a non-negative integer or a list of distinct ones, got {seed!r}"
        )
    params, adapted = prepare(params, odors)

    started = time.perf_counter()
    structure = structure_of(
        params,
        batch=batch_size,
        record_spikes=record_spikes,
        kc_current_noise=float(noise.kc_current_sigma) > 0,
    )
    circuit = CompiledCircuit(compile_structure(params, structure))
    compiled_at = time.perf_counter()

    net, proto = params.network, params.protocol
    B, n_kc, n_pn, n_mbon = batch_size, net.n_kc, params.n_pn, net.n_mbon
    n_comp = params.li.apl_compartments
    constants = parameter_values(
        params,
        noise_sigma=noise.kc_current_sigma,
        noise_tau=noise.kc_current_tau,
        poisson_input=noise.poisson_input,
    )
    wiring = [draw_claws(params, s) for s in fly_seeds]
    slots = [
        Slot(f, o, t)
        for f in range(len(fly_seeds))
        for o in range(odors.n_odors)
        for t in range(n_trials)
    ]
    batches = [slots[i : i + B] for i in range(0, len(slots), B)]
    duration = float(proto.duration)
    edges = np.arange(0, duration + 1e-12, float(time_bin))
    if edges[-1] < duration - 1e-12:
        edges = np.append(edges, duration)
    n_bins = len(edges) - 1

    shape = (len(fly_seeds), odors.n_odors, n_trials)
    out = {
        name: np.zeros(shape + (n,), dtype=np.int32)
        for name, n in [
            ("kc_early", n_kc),
            ("kc_late", n_kc),
            ("kc_spont", n_kc),
            ("pn_odor", n_pn),
            ("pn_spont", n_pn),
        ]
    }
    mbon_rate = np.zeros(shape + (n_mbon, n_bins))
    apl_rate = np.zeros(shape + (n_bins,))
    spikes = {"kc": [], "pn": []}
    outputs = [
        "kc.count_early",
        "kc.count_late",
        "kc.count_spont",
        "pn.count_odor",
        "pn.count_spont",
        "apl_spikes.i",
        "apl_spikes.t",
        "mbon_spikes.i",
        "mbon_spikes.t",
    ]
    if record_spikes:
        outputs += ["kc_spikes.i", "kc_spikes.t", "pn_spikes.i", "pn_spikes.t"]
    state = state_outputs(circuit)
    outputs += state

    iterator = batches
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(batches, desc="simulate", unit="batch")
    for batch in iterator:
        padded = batch + [Slot(0, -1, 0)] * (B - len(batch))
        # One brian2 seed per batch, from the noise seed and the batch's first trial.
        first = batch[0]
        rng_seed = noise.rng("spiking", fly_seeds[first[0]], *first[1:], len(batch))
        values = batch_values(
            circuit,
            params,
            constants,
            [wiring[f][1] for f, _, _ in padded],
            odors,
            noise,
            padded,
            fly_seeds,
            rng_seed.integers(2**31 - 1),
        )
        result = circuit.run(values, outputs)
        check_finite_state(result, state)

        window = float(proto.odor_duration)
        _check_rates(
            result["kc.count_early"] + result["kc.count_late"],
            window,
            float(params.kc.refractory),
            "a KC",
        )
        apl_counts = _bin_spikes(result, "apl_spikes", n_comp, B, edges)
        mbon_counts = _bin_spikes(result, "mbon_spikes", n_mbon, B, edges)
        widths = np.diff(edges)
        for s, (fly, odor, trial) in enumerate(batch):
            index = (fly, odor, trial)
            sl_kc, sl_pn = slice(s * n_kc, (s + 1) * n_kc), slice(s * n_pn, (s + 1) * n_pn)
            out["kc_early"][index] = result["kc.count_early"][sl_kc]
            out["kc_late"][index] = result["kc.count_late"][sl_kc]
            out["kc_spont"][index] = result["kc.count_spont"][sl_kc]
            out["pn_odor"][index] = result["pn.count_odor"][sl_pn]
            out["pn_spont"][index] = result["pn.count_spont"][sl_pn]
            mbon_rate[index] = mbon_counts[s] / widths
            apl_rate[index] = apl_counts[s].mean(axis=0) / widths
            if record_spikes:
                for pop, n in (("kc", n_kc), ("pn", n_pn)):
                    i, t = result[f"{pop}_spikes.i"], result[f"{pop}_spikes.t"]
                    mine = (i >= s * n) & (i < (s + 1) * n)
                    spikes[pop].append((fly, odor, trial, i[mine] - s * n, t[mine]))

    dims = ("fly", "odor", "trial")
    coords = {
        "fly": fly_seeds,
        "odor": list(odors.names),
        "trial": np.arange(n_trials),
        "kc": np.arange(n_kc),
        "pn": np.arange(n_pn),
        "mbon": np.arange(n_mbon),
        "time": (edges[:-1] + edges[1:]) / 2,
        "claw": np.arange(net.kc_in_degree),
        "pn_glomerulus": ("pn", np.repeat(np.arange(net.n_glomeruli), net.pns_per_glomerulus)),
        "glomerulus": list(odors.glomeruli),
    }
    spike_counts = [  # name, counts, unit dim, long name
        ("kc_spike_count", out["kc_early"] + out["kc_late"], "kc", "KC spikes in the odor window"),
        ("kc_spike_count_early", out["kc_early"], "kc", "KC spikes, first half of odor"),
        ("kc_spike_count_late", out["kc_late"], "kc", "KC spikes, second half of odor"),
        ("kc_spont_count", out["kc_spont"], "kc", "KC spikes in the baseline window"),
        ("pn_spike_count", out["pn_odor"], "pn", "PN spikes in the odor window"),
        ("pn_spont_count", out["pn_spont"], "pn", "PN spikes in the baseline window"),
    ]
    data = {
        name: (dims + (unit,), counts, {"units": "spikes", "long_name": long_name})
        for name, counts, unit, long_name in spike_counts
    }
    data |= {
        "mbon_rate": (
            dims + ("mbon", "time"),
            mbon_rate,
            {"units": "Hz", "long_name": "MBON firing rate"},
        ),
        "apl_activity": (
            dims + ("time",),
            apl_rate,
            {"units": "Hz", "long_name": "APL firing rate (mean over compartments)"},
        ),
        "kc_claw_pn": (
            ("fly", "kc", "claw"),
            np.stack([w[1] for w in wiring]),
            {"units": "1", "long_name": "PN index of each KC claw"},
        ),
        "kc_claw_glomerulus": (
            ("fly", "kc", "claw"),
            np.stack([w[0] for w in wiring]),
            {"units": "1", "long_name": "glomerulus of each KC claw"},
        ),
        "odor_input": (
            ("odor", "glomerulus"),
            odors.responses,
            {"units": "Hz", "long_name": "ORN response (Δrate) of each odor"},
        ),
    }
    if record_spikes:
        for pop in ("kc", "pn"):
            data.update(_spike_variables(pop, spikes[pop]))
    ds = xr.Dataset({k: xr.Variable(d, v, a) for k, (d, v, a) in data.items()}, coords=coords)
    ds["time"].attrs.update(units="s", long_name="time bin centre")
    ds.attrs.update(
        {
            "title": "flysim simulation",
            "params": json.dumps(params_to_dict(params)),
            "noise": json.dumps(noise.to_dict()),
            "wiring_seeds": json.dumps(fly_seeds),
            "n_trials": n_trials,
            "structure_key": structure.key,
            "versions": json.dumps(_versions()),
            "odor_panel": json.dumps(odors.info, default=str),
            "adapted": adapted,
            "odor_window_s": json.dumps(
                [float(proto.baseline), float(proto.baseline + proto.odor_duration)]
            ),
            "baseline_window_s": json.dumps([0.0, float(proto.baseline)]),
            "compile_seconds": round(compiled_at - started, 3),
            "wall_seconds": round(time.perf_counter() - started, 3),
        }
    )
    if not several_flies:
        ds = ds.squeeze("fly", drop=False)
    return ds
