"""Aversive conditioning at the KC -> MBON synapses, run inside the compiled (plastic) network.

Protocol of every slot, four presentations of ``protocol.duration`` each:

1. CS+ (paired: the DAN of MBON 0 fires at ``learning.dan_rate`` during the odor),
2. CS- (unpaired),
3. test CS+, 4. test CS-.

Half of the slots are *trained*, the other half are *mock-trained* controls of the same flies and
odor pairs (identical except that the DAN stays silent), so the effect of learning is the
difference between the two at the same moment, with the same wiring.

MBON 0 is the approach-promoting MBON whose KC inputs a punishment DAN depresses (MBON-γ1pedc,
Hige et al. 2015); MBON 1 promotes avoidance. An odor's valence is the approach MBON's rate minus
the avoidance MBON's rate; in a test the fly chooses the odor of higher valence (the CS-, if it
learned).
"""

from __future__ import annotations

import json
import time

import numpy as np
import xarray as xr

from .circuit import LEARNING_DT, structure_of
from .engine import CompiledCircuit, compile_structure, parameter_values
from .noise import Noise
from .odors import OdorPanel
from .params import CircuitParams, params_to_dict
from .simulation import _versions, claw_values, prepare
from .stimulus import Slot, orn_drive
from .wiring import draw_claws

__all__ = ["conditioning", "conditioning_structure", "PHASES", "APPROACH_MBON", "AVOID_MBON"]

PHASES = ("train_cs_plus", "train_cs_minus", "test_cs_plus", "test_cs_minus")
APPROACH_MBON, AVOID_MBON = 0, 1


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

    Returns
    -------
    Dataset with ``mbon_response(fly, pair, group, trial, phase, mbon)`` (Hz, mean rate in each
    presentation's odor window), ``group`` in (trained, control); ``valence`` and ``choice``
    (1 = chose the CS-) of the test phases; ``kc_mbon_weight_change`` of the trained slots;
    with ``kc_counts``, ``kc_spike_count(fly, pair, group, trial, phase, kc)`` and
    ``pn_spike_count(..., pn)``.
    """
    noise = Noise() if noise is None else noise
    flies = [int(s) for s in (seed if isinstance(seed, (list, tuple)) else [seed])]
    params, adapted = prepare(params, odors)
    pair_index = _pairs_of(odors, pairs)
    if batch_size % 2:
        raise ValueError("batch_size must be even (trained and control slots come in pairs)")
    proto = params.protocol
    present = float(proto.duration)
    started = time.perf_counter()
    structure = conditioning_structure(params, noise, batch_size=batch_size)
    circuit = CompiledCircuit(compile_structure(params, structure))
    values0 = parameter_values(
        params,
        noise_sigma=noise.kc_current_sigma,
        noise_tau=noise.kc_current_tau,
        poisson_input=noise.poisson_input,
        plastic=True,
    )
    values0["kc.t_presentation"] = values0["pn.t_presentation"] = present
    # one trained + one control slot per (fly, pair, trial)
    units = [
        (f, p, t)
        for f in range(len(flies))
        for p in range(len(pair_index))
        for t in range(n_trials)
    ]
    groups = (0, 1) if controls else (0,)
    per_run = batch_size // len(groups)
    net = params.network
    B, n_kc, n_pn, n_mbon = batch_size, net.n_kc, params.n_pn, net.n_mbon
    wiring = [draw_claws(params, s)[1] for s in flies]
    n_stim, n_columns = circuit.timed_arrays["orn_rate"]["shape"]
    bins_per_presentation = int(round(present / float(proto.stimulus_dt)))
    response = np.full((len(flies), len(pair_index), 2, n_trials, len(PHASES), n_mbon), np.nan)
    weight_change = np.zeros((len(flies), len(pair_index), n_trials))
    counted = {"kc": n_kc, "pn": n_pn} if kc_counts else {}
    window_counts = {
        pop: np.zeros((len(flies), len(pair_index), 2, n_trials, len(PHASES), n), np.int32)
        for pop, n in counted.items()
    }
    count_outputs = [f"{pop}.count_window{k}" for pop in counted for k in range(len(PHASES))]
    windows = [
        (
            k * present + float(proto.baseline),
            k * present + float(proto.baseline + proto.odor_duration),
        )
        for k in range(len(PHASES))
    ]

    chunks = [units[i : i + per_run] for i in range(0, len(units), per_run)]
    if progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc="conditioning", unit="batch")
    for chunk in chunks:
        slots = [(u, group) for group in groups for u in chunk]
        slots += [(None, 1)] * (B - len(slots))
        values = dict(values0)
        values.update(claw_values([wiring[u[0] if u else 0] for u, _ in slots], n_pn))
        first = chunk[0]
        values["kc.rng_seed"] = int(
            noise.rng("spiking", flies[first[0]], 1_000_003, *first[1:]).integers(2**31 - 1)
        )
        rates = np.zeros((n_stim, n_columns))
        means = np.zeros((n_stim, B))
        for k in range(len(PHASES)):
            odor_of = [
                (
                    Slot(u[0], pair_index[u[1]][k % 2], len(PHASES) * u[2] + k)
                    if u
                    else Slot(0, -1, 0)
                )
                for u, _ in slots
            ]
            r, m = orn_drive(odors, params, noise, odor_of, bins_per_presentation + 1, flies)
            stop = min(n_stim, (k + 1) * bins_per_presentation + 1)
            rates[k * bins_per_presentation : stop] = r[: stop - k * bins_per_presentation]
            means[k * bins_per_presentation : stop] = m[: stop - k * bins_per_presentation]
        values["orn_rate"], values["orn_mean"] = rates, means
        dan = np.zeros(circuit.timed_arrays["dan_drive"]["shape"])
        on, off = (int(round(w / float(LEARNING_DT))) for w in windows[0])
        for s, (unit, group) in enumerate(slots):
            if unit is not None and group == 0:
                dan[on:off, s * n_mbon + APPROACH_MBON] = float(params.learning.dan_rate)
        values["dan_drive"] = dan
        result = circuit.run(
            values, ["mbon_spikes.i", "mbon_spikes.t", "kc_mbon.w", *count_outputs]
        )
        i, t = result["mbon_spikes.i"], result["mbon_spikes.t"]
        w = result["kc_mbon.w"].reshape(B, n_kc, n_mbon)
        for s, (unit, group) in enumerate(slots):
            if unit is None:
                continue
            mine = (i // n_mbon) == s
            for k, (a, b) in enumerate(windows):
                in_window = mine & (t >= a) & (t < b)
                counts = np.bincount(i[in_window] % n_mbon, minlength=n_mbon)
                response[unit[0], unit[1], group, unit[2], k] = counts / (b - a)
            for pop, n in counted.items():
                for k in range(len(PHASES)):
                    window = result[f"{pop}.count_window{k}"][s * n : (s + 1) * n]
                    window_counts[pop][unit[0], unit[1], group, unit[2], k] = window
            if group == 0:
                w0 = values0["mbon.w_kc_mbon"]
                weight_change[unit] = float(w[s, :, APPROACH_MBON].mean() / w0 - 1)

    coords = {
        "fly": flies,
        "pair": np.arange(len(pair_index)),
        "group": ["trained", "control"],
        "trial": np.arange(n_trials),
        "phase": list(PHASES),
        "mbon": np.arange(n_mbon),
        "cs_plus": ("pair", [odors.names[a] for a, _ in pair_index]),
        "cs_minus": ("pair", [odors.names[b] for _, b in pair_index]),
        "mbon_role": ("mbon", ["approach", "avoid"] + ["other"] * (n_mbon - 2)),
    }
    if kc_counts:
        coords.update(kc=np.arange(n_kc), pn=np.arange(n_pn))
    ds = xr.Dataset(coords=coords)
    ds["mbon_response"] = (
        ("fly", "pair", "group", "trial", "phase", "mbon"),
        response,
        {"units": "Hz", "long_name": "MBON rate in the odor window"},
    )
    valence = response[..., APPROACH_MBON] - (response[..., AVOID_MBON] if n_mbon > 1 else 0)
    ds["valence"] = (
        ("fly", "pair", "group", "trial", "phase"),
        valence,
        {"units": "Hz", "long_name": "approach minus avoid MBON rate"},
    )
    test_plus = ds["valence"].sel(phase="test_cs_plus")
    test_minus = ds["valence"].sel(phase="test_cs_minus")
    # chose the CS- (1), the CS+ (0), or a tie (0.5, a coin flip on average)
    choice = xr.where(test_minus > test_plus, 1.0, xr.where(test_minus < test_plus, 0.0, 0.5))
    ds["choice"] = choice.where(test_plus.notnull() & test_minus.notnull())  # NaN: not run
    ds["choice"].attrs.update(units="1", long_name="chose the CS- in the test (1 = correct)")
    for pop, counts in window_counts.items():
        if not controls:
            counts = counts.astype(float)
            counts[:, :, 1] = np.nan  # the control group was not run
        ds[f"{pop}_spike_count"] = (
            ("fly", "pair", "group", "trial", "phase", pop),
            counts,
            {"units": "1", "long_name": f"{pop.upper()} spikes in the presentation's odor window"},
        )
    ds["kc_mbon_weight_change"] = (
        ("fly", "pair", "trial"),
        weight_change,
        {"units": "1", "long_name": "relative change of mean KC->approach-MBON weight"},
    )
    ds.attrs.update(
        {
            "title": "flysim conditioning",
            "params": json.dumps(params_to_dict(params)),
            "noise": json.dumps(noise.to_dict()),
            "wiring_seeds": json.dumps(flies),
            "structure_key": structure.key,
            "versions": json.dumps(_versions()),
            "adapted": adapted,
            "protocol": "CS+ paired with DAN of MBON 0, CS-, test CS+, test CS-",
            "wall_seconds": round(time.perf_counter() - started, 3),
        }
    )
    return ds
