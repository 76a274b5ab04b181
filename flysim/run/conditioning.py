"""Conditioning at the KC -> MBON synapses, run inside the compiled (plastic) network.

Protocol of every slot, four presentations of ``protocol.duration`` each, back to back:

1. CS+ (paired: the DANs of the reinforced compartments fire at ``learning.dan_rate`` during
   the odor: the approach MBONs' under punishment, the avoidance MBONs' under reward),
2. CS- (unpaired),
3. test CS+, 4. test CS-.

Half of the slots are *trained*, the other half are *mock-trained* controls of the same flies and
odor pairs (identical except that the DANs stay silent), so the effect of learning is the
difference between the two at the same moment, with the same wiring and noise.

The first half of the MBONs promote approach (e.g. MBON-γ1pedc, whose CS+ response drops ~80 %
after one odor-punishment pairing: Hige et al. 2015), the second half avoidance. Each KC -> MBON
weight is the MBON's scale (``mbon_scale``; ``flysim.readout`` computes a homeostatic one) times
the fly's factor for the pair (``flysim.inputs.wiring.weight_factors``); after the CS+
presentation each reinforced weight of a KC that responded in that odor window is depressed
once, ``w *= exp(-learning.learning_rate)`` (``flysim.model.circuit``). An odor's valence is
the mean approach rate minus the mean avoidance rate; in a test the fly chooses the odor of
higher valence. ``flysim.readout`` computes the same learning and responses in numpy from KC
spikes simulated once; this network is its reference.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from brian2 import siemens

from ..inputs.odors import OdorPanel
from ..inputs.stimulus import Slot, orn_drive
from ..inputs.wiring import depressed_mbons, mbon_roles, valence, weight_factors
from ..model.circuit import mbon_factor_input, window_counter
from ..model.constants import LEARNING_DT
from ..model.streams import slot_key
from ..model.structure import structure_of
from ..params import CircuitParams
from ..params.noise import Noise
from .pipeline import BatchResult, Prepared, check_request, prepare_run, provenance_attrs, run_slots

__all__ = ["conditioning", "conditioning_structure", "PHASES"]

PHASES = ("train_cs_plus", "train_cs_minus", "test_cs_plus", "test_cs_minus")
GROUPS = ("trained", "control")
#: Marks conditioning's stream keys apart from plain trials' (fly, odor, trial) keys.
_CONDITIONING = 1_000_003


def _pairs_of(odors: OdorPanel, pairs):
    if pairs is None:
        if odors.n_odors % 2:
            raise ValueError(
                f"odors must hold CS+/CS- pairs (an even number of odors), got {odors.n_odors}"
            )
        return [(2 * k, 2 * k + 1) for k in range(odors.n_odors // 2)]
    index = {name: i for i, name in enumerate(odors.names)}
    try:
        return [(index[a], index[b]) for a, b in pairs]
    except KeyError as error:
        raise ValueError(f"odor {error} of the pairs is not in the panel") from None


def conditioning_structure(params: CircuitParams, noise: Noise, *, batch_size: int = 16):
    """The structure of the plastic network that :func:`conditioning` runs for ``params``
    (already adapted to the odor panel) and ``noise``; ``compile_structure`` builds it."""
    return structure_of(
        params,
        batch=batch_size,
        duration=len(PHASES) * params.protocol.duration,
        plastic=True,
        presentations=len(PHASES),
        kc_current_noise=float(noise.kc_current_sigma) > 0,
    )


class Conditioning:
    """The protocol of conditioning: each slot is one (fly, pair, repetition) of one group,
    trained or mock-trained, through the four presentations of :data:`PHASES`.

    An item is ``((fly, pair, repetition), group)``; a batch holds a chunk of units as trained
    slots followed by the same units as controls."""

    def __init__(
        self, prepared: Prepared, odors: OdorPanel, pair_index, n_trials, kc_counts, mbon_scale
    ):
        self.prepared, self.odors, self.pair_index = prepared, odors, pair_index
        self.mbon_scale = mbon_scale  # (fly, MBON), siemens
        s, learning = prepared.structure, prepared.params.learning
        self.factors = [
            weight_factors(seed, s.n_kc, s.n_mbon, learning.weight_sd)
            for seed in prepared.fly_seeds
        ]
        self.reinforced = list(np.flatnonzero(depressed_mbons(s.n_mbon, learning.protocol)))
        proto = prepared.params.protocol
        self.present = float(proto.duration)
        self.windows = [
            (
                k * self.present + float(proto.baseline),
                k * self.present + float(proto.baseline + proto.odor_duration),
            )
            for k in range(len(PHASES))
        ]
        s = prepared.structure
        shape = (len(prepared.fly_seeds), len(pair_index), len(GROUPS), n_trials, len(PHASES))
        self.response = np.full(shape + (s.n_mbon,), np.nan)
        self.weight_change = np.zeros((len(prepared.fly_seeds), len(pair_index), n_trials))
        counted = {"kc": s.n_kc, "pn": s.n_pn} if kc_counts else {}
        self.window_counts = {pop: np.zeros(shape + (n,), np.int32) for pop, n in counted.items()}
        self.outputs = ["mbon_spikes.i", "mbon_spikes.t", "kc_mbon.w"]
        self.outputs += [window_counter(pop, k) for pop in counted for k in range(len(PHASES))]

    def fly(self, item) -> int:
        return item[0][0]

    def inputs(self, padded: list) -> dict:
        """Each slot's plastic weights: its fly's factors (per KC) and scales (per MBON)."""
        flies = [item[0][0] if item is not None else 0 for item in padded]
        factors = np.concatenate([self.factors[f] for f in flies])
        values = {mbon_factor_input(m): factors[:, m] for m in range(factors.shape[1])}
        values["mbon.scale"] = np.concatenate([self.mbon_scale[f] for f in flies])
        return values

    def stream_key(self, item) -> int:
        # Trained and control slots of a unit share their key: the same noise, so the two
        # differ only by learning (until learning changes the MBONs' spikes).
        fly, pair, trial = item[0]
        seed = self.prepared.fly_seeds[fly]
        return slot_key(self.prepared.noise.rng("spiking", seed, _CONDITIONING, pair, trial))

    def describe(self, item) -> str:
        (fly, pair, trial), group = item
        plus, minus = (self.odors.names[i] for i in self.pair_index[pair])
        seed = self.prepared.fly_seeds[fly]
        return f"fly {seed}, pair '{plus}'/'{minus}', repetition {trial}, {GROUPS[group]}"

    def drive(self, padded: list) -> dict:
        p = self.prepared
        n_stim, n_columns = p.circuit.timed_arrays["orn_rate"]["shape"]
        per = int(round(self.present / float(p.params.protocol.stimulus_dt)))
        rates, means = np.zeros((n_stim, n_columns)), np.zeros((n_stim, len(padded)))
        for k in range(len(PHASES)):
            odor_of = [self._presentation(item, k) for item in padded]
            r, m = orn_drive(self.odors, p.params, p.noise, odor_of, per + 1, p.fly_seeds)
            stop = min(n_stim, (k + 1) * per + 1)
            rates[k * per : stop] = r[: stop - k * per]
            means[k * per : stop] = m[: stop - k * per]
        return {"orn_rate": rates, "orn_mean": means, "dan_drive": self._dan_drive(padded)}

    def _presentation(self, item, k: int) -> Slot:
        """The (fly, odor, trial) of presentation ``k`` of a slot: the pair's CS+ in even
        phases, its CS- in odd ones; each presentation has its own input-noise trial."""
        if item is None:
            return Slot(0, -1, 0)
        fly, pair, trial = item[0]
        return Slot(fly, self.pair_index[pair][k % 2], len(PHASES) * trial + k)

    def _dan_drive(self, padded: list) -> np.ndarray:
        """The DANs of the reinforced compartments fire during the trained slots' CS+."""
        p = self.prepared
        dan = np.zeros(p.circuit.timed_arrays["dan_drive"]["shape"])
        on, off = (int(round(w / float(LEARNING_DT))) for w in self.windows[0])
        n_mbon = p.structure.n_mbon
        for s, item in enumerate(padded):
            if item is not None and item[1] == 0:
                for m in self.reinforced:
                    dan[on:off, s * n_mbon + m] = float(p.params.learning.dan_rate)
        return dan

    def collect(self, result: BatchResult, batch: list) -> None:
        s = self.prepared.structure
        w = result["kc_mbon.w"].reshape(s.batch, s.n_kc, s.n_mbon)
        for k, (unit, group) in enumerate(batch):
            index, times = result.spikes_of_slot("mbon_spikes", s.n_mbon, k)
            for phase, (a, b) in enumerate(self.windows):
                in_window = (times >= a) & (times < b)
                counts = np.bincount(index[in_window], minlength=s.n_mbon)
                self.response[unit[0], unit[1], group, unit[2], phase] = counts / (b - a)
            for pop, counts in self.window_counts.items():
                for phase in range(len(PHASES)):
                    counts[unit[0], unit[1], group, unit[2], phase] = result.of_slot(
                        window_counter(pop, phase), k
                    )
            if group == 0:
                naive = self.mbon_scale[unit[0]] * self.factors[unit[0]]
                depressed = w[k][:, self.reinforced].mean() / naive[:, self.reinforced].mean()
                self.weight_change[unit] = float(depressed - 1)


def _choice(ds: xr.Dataset, protocol: str) -> xr.DataArray:
    """1 if the fly chose the learned-correct odor (the CS- after punishment, the CS+ after
    reward: the odor of higher valence), 0 if not, 0.5 on a tie (a coin flip on average); NaN
    where the group was not run."""
    plus = ds["valence"].sel(phase="test_cs_plus")
    minus = ds["valence"].sel(phase="test_cs_minus")
    better, worse = (minus, plus) if protocol == "punishment" else (plus, minus)
    choice = xr.where(better > worse, 1.0, xr.where(better < worse, 0.0, 0.5))
    choice = choice.where(plus.notnull() & minus.notnull())
    correct = "CS-" if protocol == "punishment" else "CS+"
    choice.attrs.update(units="1", long_name=f"chose the {correct} in the test (1 = correct)")
    return choice


def _dataset(protocol: Conditioning, n_trials: int, controls: bool) -> xr.Dataset:
    p, odors, pairs = protocol.prepared, protocol.odors, protocol.pair_index
    n_mbon = p.structure.n_mbon
    dims = ("fly", "pair", "group", "trial", "phase")
    ds = xr.Dataset(
        coords={
            "fly": p.fly_seeds,
            "pair": np.arange(len(pairs)),
            "group": list(GROUPS),
            "trial": np.arange(n_trials),
            "phase": list(PHASES),
            "mbon": np.arange(n_mbon),
            "cs_plus": ("pair", [odors.names[a] for a, _ in pairs]),
            "cs_minus": ("pair", [odors.names[b] for _, b in pairs]),
            "mbon_role": ("mbon", mbon_roles(n_mbon)),
        }
    )
    response = protocol.response
    ds["mbon_response"] = (
        dims + ("mbon",),
        response,
        {"units": "Hz", "long_name": "MBON rate in the odor window"},
    )
    ds["valence"] = (
        dims,
        valence(response),
        {"units": "Hz", "long_name": "mean approach minus mean avoidance MBON rate"},
    )
    learning = p.params.learning.protocol
    ds["choice"] = _choice(ds, learning)
    for pop, counts in protocol.window_counts.items():
        if not controls:
            counts = counts.astype(float)
            counts[:, :, 1] = np.nan  # the control group was not run
        ds = ds.assign_coords({pop: np.arange(counts.shape[-1])})
        ds[f"{pop}_spike_count"] = (
            dims + (pop,),
            counts,
            {"units": "1", "long_name": f"{pop.upper()} spikes in the presentation's odor window"},
        )
    ds["kc_mbon_weight_change"] = (
        ("fly", "pair", "trial"),
        protocol.weight_change,
        {"units": "1", "long_name": "relative change of the reinforced MBONs' mean KC weight"},
    )
    ds["mbon_scale"] = (
        ("fly", "mbon"),
        np.asarray(protocol.mbon_scale) * 1e9,
        {"units": "nS", "long_name": "scale of each MBON's KC weights"},
    )
    ds.attrs.update(provenance_attrs(p, "flysim conditioning"))
    ds.attrs["protocol"] = f"{learning}: CS+ paired with DANs, CS-, test CS+, test CS-"
    return ds


def _checked_scale(mbon_scale, prepared: Prepared) -> np.ndarray:
    """The MBON scales as an SI array (fly, MBON): given, or ``weights.kc_mbon`` everywhere."""
    shape = (len(prepared.fly_seeds), prepared.structure.n_mbon)
    if mbon_scale is None:
        return np.full(shape, float(prepared.params.weights.kc_mbon))
    scale = np.asarray(mbon_scale / siemens if hasattr(mbon_scale, "dim") else mbon_scale, float)
    if scale.shape != shape or not np.all(np.isfinite(scale)) or np.any(scale < 0):
        raise ValueError(
            f"mbon_scale must be {shape[0]} fly x {shape[1]} MBON finite conductances >= 0, "
            f"got shape {scale.shape}"
        )
    return scale


def conditioning(
    params: CircuitParams,
    odors: OdorPanel,
    *,
    pairs=None,
    n_trials: int = 4,
    noise: Noise | None = None,
    seed=0,
    batch_size: int = 16,
    controls: bool = True,
    kc_counts: bool = False,
    mbon_scale=None,
    progress: bool = False,
) -> xr.Dataset:
    """Train CS+ against CS- for every odor pair, fly and trial; return MBON responses.

    Parameters
    ----------
    odors : OdorPanel
        Odors; by default consecutive odors are (CS+, CS-) pairs (as ``similar_pairs`` makes).
    pairs : list of (cs_plus_name, cs_minus_name), optional
    n_trials : int
        Independent conditioning repetitions (each a fresh fly copy with fresh noise).
    seed : int or list of int
        Wiring seeds of the flies.
    controls : bool
        Also run a mock-trained copy of every slot (no DAN signal). Without them the ``control``
        group is NaN and each compiled run holds twice as many trained slots.
    kc_counts : bool
        Also return the KC and PN spike counts in the odor window of every presentation
        (learning does not act on KCs, so the test presentations are ordinary noisy trials of
        the CS+ and CS-: a KC decoder can read them instead of running trials of its own).
    mbon_scale : array (fly, MBON) of siemens, optional
        Each fly's MBON weight scales (e.g. ``flysim.readout``'s homeostatic ones); default
        ``weights.kc_mbon`` for every MBON.

    Returns
    -------
    Dataset with ``mbon_response(fly, pair, group, trial, phase, mbon)`` (Hz, mean rate in each
    presentation's odor window), ``group`` in (trained, control); ``valence`` and ``choice``
    (1 = chose the learned-correct odor) of the test phases; ``kc_mbon_weight_change`` of the
    trained slots; with ``kc_counts``, ``kc_spike_count(fly, pair, group, trial, phase, kc)`` and
    ``pn_spike_count(..., pn)``.
    """
    noise, flies = check_request(noise, seed, n_trials=n_trials, batch_size=batch_size)
    if batch_size % 2:
        raise ValueError("batch_size must be even (trained and control slots come in pairs)")
    pair_index = _pairs_of(odors, pairs)
    prepared = prepare_run(
        params,
        odors,
        noise,
        flies,
        lambda adapted: conditioning_structure(adapted, noise, batch_size=batch_size),
    )
    scale = _checked_scale(mbon_scale, prepared)
    protocol = Conditioning(prepared, odors, pair_index, n_trials, kc_counts, scale)
    groups = (0, 1) if controls else (0,)
    per_run = batch_size // len(groups)
    units = [
        (f, p, t)
        for f in range(len(flies))
        for p in range(len(pair_index))
        for t in range(n_trials)
    ]
    items = [
        (unit, group)
        for start in range(0, len(units), per_run)
        for group in groups
        for unit in units[start : start + per_run]
    ]
    run_slots(prepared, items, protocol, progress=progress, desc="conditioning")
    return _dataset(protocol, n_trials, controls)
