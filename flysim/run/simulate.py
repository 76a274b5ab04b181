"""``simulate``: odors x trials (x flies) through the compiled circuit, returned as xarray."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from brian2 import ms

from ..inputs.odors import OdorPanel
from ..inputs.stimulus import Slot, odor_window_rates, orn_drive
from ..model.streams import slot_key
from ..model.structure import structure_of
from ..params import CircuitParams, with_overrides
from ..params.noise import Noise
from .pipeline import BatchResult, Prepared, check_request, prepare_run, provenance_attrs, run_slots

__all__ = ["simulate", "simulate_structure", "Trials", "DEFAULT_BATCH"]

#: Trial slots per compiled run. Fixed (not sized to the request) so that requests of any size
#: reuse one compiled network; the last batch is padded with idle slots.
DEFAULT_BATCH = 16

#: Per-neuron spike counts simulate keeps: output name in the circuit -> (name, unit dim, long
#: name) in the Dataset; the odor-window count is the sum of its two halves.
_COUNTS = {
    "kc.count_early": ("kc_spike_count_early", "kc", "KC spikes, first half of odor"),
    "kc.count_late": ("kc_spike_count_late", "kc", "KC spikes, second half of odor"),
    "kc.count_spont": ("kc_spont_count", "kc", "KC spikes in the baseline window"),
    "pn.count_odor": ("pn_spike_count", "pn", "PN spikes in the odor window"),
    "pn.count_spont": ("pn_spont_count", "pn", "PN spikes in the baseline window"),
}


def _time_bins(params: CircuitParams, time_bin) -> np.ndarray:
    duration = float(params.protocol.duration)
    edges = np.arange(0, duration + 1e-12, float(time_bin))
    if edges[-1] < duration - 1e-12:
        edges = np.append(edges, duration)
    return edges


def _bin_spikes(result: BatchResult, monitor: str, per_slot: int, edges) -> np.ndarray:
    """Spike counts of a monitor per (slot, unit within slot, time bin)."""
    indices, times = result[f"{monitor}.i"], result[f"{monitor}.t"]
    counts = np.zeros((result.n_slots, per_slot, len(edges) - 1))
    if len(indices):
        bins = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, len(edges) - 2)
        np.add.at(counts, (indices // per_slot, indices % per_slot, bins), 1)
    return counts


class Trials:
    """The protocol of plain trials: each slot presents one odor to one fly once."""

    def __init__(
        self,
        prepared: Prepared,
        odors: OdorPanel,
        n_trials: int,
        *,
        record_spikes=False,
        time_bin=10 * ms,
    ):
        edges = _time_bins(prepared.params, time_bin)
        self.prepared, self.odors, self.edges = prepared, odors, edges
        s = prepared.structure
        shape = (len(prepared.fly_seeds), odors.n_odors, n_trials)
        self.counts = {
            name: np.zeros(shape + (s.n_pn if name.startswith("pn") else s.n_kc,), dtype=np.int32)
            for name in _COUNTS
        }
        self.mbon_rate = np.zeros(shape + (s.n_mbon, len(edges) - 1))
        self.apl_rate = np.zeros(shape + (len(edges) - 1,))
        self.orn_rate = np.zeros(shape + (odors.n_glomeruli,))
        self._batch_orn_rate = None  # the odor-window ORN rates of the batch drive() built
        self.spikes = {"kc": [], "pn": []} if record_spikes else {}
        self.outputs = [*_COUNTS, "apl_spikes.i", "apl_spikes.t", "mbon_spikes.i", "mbon_spikes.t"]
        self.outputs += [f"{pop}_spikes.{x}" for pop in self.spikes for x in ("i", "t")]

    def fly(self, item: Slot) -> int:
        return item[0]

    def drive(self, padded: list) -> dict:
        p = self.prepared
        slots = [item if item is not None else Slot(0, -1, 0) for item in padded]
        n_bins = p.circuit.timed_arrays["orn_rate"]["shape"][0]
        rate, mean = orn_drive(self.odors, p.params, p.noise, slots, n_bins, p.fly_seeds)
        self._batch_orn_rate = odor_window_rates(rate, p.params, len(slots))
        dan = np.zeros(p.circuit.timed_arrays["dan_drive"]["shape"])
        return {"orn_rate": rate, "orn_mean": mean, "dan_drive": dan}

    def inputs(self, padded: list) -> dict:
        return {}

    def stream_key(self, item: Slot) -> int:
        fly, odor, trial = item
        return slot_key(
            self.prepared.noise.rng("spiking", self.prepared.fly_seeds[fly], odor, trial)
        )

    def describe(self, item: Slot) -> str:
        fly, odor, trial = item
        seed = self.prepared.fly_seeds[fly]
        return f"fly {seed}, odor '{self.odors.names[odor]}', trial {trial}"

    def collect(self, result: BatchResult, batch: list) -> None:
        s = self.prepared.structure
        widths = np.diff(self.edges)
        apl = _bin_spikes(result, "apl_spikes", s.apl_compartments, self.edges)
        mbon = _bin_spikes(result, "mbon_spikes", s.n_mbon, self.edges)
        for k, item in enumerate(batch):
            for name, counts in self.counts.items():
                counts[item] = result.of_slot(name, k)
            self.mbon_rate[item] = mbon[k] / widths
            self.apl_rate[item] = apl[k].mean(axis=0) / widths
            self.orn_rate[item] = self._batch_orn_rate[k]
            for pop, parts in self.spikes.items():
                index, times = result.spikes_of_slot(f"{pop}_spikes", result.sizes[pop], k)
                parts.append((*item, index, times))


def _spike_variables(pop: str, parts: list) -> dict:
    """Flat spike arrays along ``spike_<pop>`` from per-slot (fly, odor, trial, index, time)."""

    def column(k, dtype):
        if not parts:
            return np.zeros(0, dtype=dtype)
        pieces = [p[k] if k >= 3 else np.full(len(p[3]), p[k]) for p in parts]
        return np.concatenate(pieces).astype(dtype)

    dim = f"spike_{pop}"
    return {
        f"{pop}_spike_time": (dim, column(4, float), {"units": "s"}),
        f"{pop}_spike_index": (dim, column(3, np.int32), {"units": "1"}),
        f"{pop}_spike_odor": (dim, column(1, np.int32), {"units": "1"}),
        f"{pop}_spike_trial": (dim, column(2, np.int32), {"units": "1"}),
        f"{pop}_spike_fly": (dim, column(0, np.int32), {"units": "1"}),
    }


def _variables(trials: Trials) -> dict:
    """The Dataset's variables: counts, rates, wiring, input (and spikes)."""
    dims = ("fly", "odor", "trial")
    counts = dict(trials.counts)
    data = {
        "kc_spike_count": (
            dims + ("kc",),
            counts["kc.count_early"] + counts["kc.count_late"],
            {"units": "spikes", "long_name": "KC spikes in the odor window"},
        )
    }
    for output, (name, unit_dim, long_name) in _COUNTS.items():
        data[name] = (
            dims + (unit_dim,),
            counts[output],
            {"units": "spikes", "long_name": long_name},
        )
    wiring = trials.prepared.wiring
    data |= {
        "mbon_rate": (
            dims + ("mbon", "time"),
            trials.mbon_rate,
            {"units": "Hz", "long_name": "MBON firing rate"},
        ),
        "apl_activity": (
            dims + ("time",),
            trials.apl_rate,
            {"units": "Hz", "long_name": "APL firing rate (mean over compartments)"},
        ),
        "orn_rate": (
            dims + ("glomerulus",),
            trials.orn_rate,
            {"units": "Hz", "long_name": "ORN rate in the odor window (the drive applied)"},
        ),
        "kc_claw_pn": (
            ("fly", "kc", "claw"),
            np.stack([w.pn for w in wiring]),
            {"units": "1", "long_name": "PN index of each KC claw (-1: no claw)"},
        ),
        "kc_claw_glomerulus": (
            ("fly", "kc", "claw"),
            np.stack([w.glomerulus for w in wiring]),
            {"units": "1", "long_name": "glomerulus of each KC claw (-1: no claw)"},
        ),
        "kc_claw_weight": (
            ("fly", "kc", "claw"),
            np.stack([w.weight for w in wiring]),
            {"units": "1", "long_name": "weight of each KC claw, relative to weights.pn_kc"},
        ),
        "odor_input": (
            ("odor", "glomerulus"),
            trials.odors.responses,
            {"units": "Hz", "long_name": "ORN response (Δrate) of each odor"},
        ),
    }
    for pop, parts in trials.spikes.items():
        data.update(_spike_variables(pop, parts))
    return data


def _dataset(trials: Trials, n_trials: int) -> xr.Dataset:
    p, odors, edges = trials.prepared, trials.odors, trials.edges
    net, proto = p.params.network, p.params.protocol
    coords = {
        "fly": p.fly_seeds,
        "odor": list(odors.names),
        "trial": np.arange(n_trials),
        "kc": np.arange(net.n_kc),
        "pn": np.arange(p.params.n_pn),
        "mbon": np.arange(net.n_mbon),
        "time": (edges[:-1] + edges[1:]) / 2,
        "claw": np.arange(p.structure.kc_in_degree),
        "pn_glomerulus": ("pn", np.repeat(np.arange(net.n_glomeruli), net.pns_per_glomerulus)),
        "glomerulus": list(odors.glomeruli),
    }
    variables = {k: xr.Variable(d, v, a) for k, (d, v, a) in _variables(trials).items()}
    ds = xr.Dataset(variables, coords=coords)
    ds["time"].attrs.update(units="s", long_name="time bin centre")
    odor_on, odor_off = float(proto.baseline), float(proto.baseline + proto.odor_duration)
    ds.attrs.update(provenance_attrs(p, "flysim simulation"))
    ds.attrs.update(
        n_trials=n_trials,
        odor_panel=json.dumps(odors.info, default=str),
        odor_window_s=json.dumps([odor_on, odor_off]),
        baseline_window_s=json.dumps([0.0, odor_on]),
    )
    return ds


def simulate_structure(
    params: CircuitParams, noise: Noise, *, batch_size: int = DEFAULT_BATCH, record_spikes=False
):
    """The structure of the network that :func:`simulate` runs for ``params`` (already adapted
    to the odor panel) and ``noise``; ``compile_structure`` builds it."""
    return structure_of(
        params,
        batch=batch_size,
        record_spikes=record_spikes,
        kc_current_noise=float(noise.kc_current_sigma) > 0,
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
    wiring=None,
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
    wiring : str or path, optional
        PN -> KC wiring: ``"random"`` or the path of a connectome edge list
        (``flysim.inputs.connectome``); shorthand for the parameter ``network.wiring``, which
        is how scans, experiments and run configs choose it. Default: the parameter's value.

    Returns
    -------
    xarray.Dataset
        ``kc_spike_count(odor, trial, kc)`` (odor window), its early and late halves,
        ``kc_spont_count`` (baseline window), ``pn_spike_count(odor, trial, pn)``,
        ``mbon_rate(odor, trial, mbon, time)``, ``apl_activity(odor, trial, time)``,
        ``orn_rate(odor, trial, glomerulus)`` (the drive applied: each glomerulus's ORN rate
        averaged over the odor window, noise included), the wiring, and attrs with the
        parameters, noise, seeds and versions needed to reproduce it.
    """
    noise, fly_seeds = check_request(noise, seed, n_trials=n_trials, batch_size=batch_size)
    if wiring is not None:
        params = with_overrides(params, {"network.wiring": str(wiring)})
    several_flies = isinstance(seed, (list, tuple, np.ndarray, range))
    prepared = prepare_run(
        params,
        odors,
        noise,
        fly_seeds,
        lambda adapted: simulate_structure(
            adapted, noise, batch_size=batch_size, record_spikes=record_spikes
        ),
    )
    trials = Trials(prepared, odors, n_trials, record_spikes=record_spikes, time_bin=time_bin)
    items = [
        Slot(f, o, t)
        for f in range(len(fly_seeds))
        for o in range(odors.n_odors)
        for t in range(n_trials)
    ]
    run_slots(prepared, items, trials, progress=progress, desc="simulate")
    ds = _dataset(trials, n_trials)
    return ds if several_flies else ds.squeeze("fly", drop=False)
