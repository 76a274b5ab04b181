"""Noise-induced KC spikes: how many KC spikes input noise drives with no odor, next to the spikes
odors drive, per KC model (issue #20, item 5: KvLIF's claimed suppression of noise-induced
spikes, Yang et al. 2026, in flysim's reading of KvLIF).

:func:`noise_induced_spikes` presents a panel of odors and one blank (every glomerulus at its
spontaneous rate) in the same runs, at each input-noise level, for several flies per circuit. The
circuits are meant to be matched in odor-evoked KC rate beforehand (``calibrate_arm`` with the
``kc_rate`` statistic), so that a lower noise-induced rate is suppression, not a less excitable
cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from brian2 import Hz

from ..inputs.panel import OdorPanel
from ..params import CircuitParams, with_overrides
from ..params.noise import Noise
from .calibrate import kc_coding_level, kc_rate
from .matched import PN_KC_BRACKET, Arm, calibrate_arm

__all__ = ["NOISE_SPIKE_MEASURES", "noise_induced_spikes", "rate_matched", "with_blank"]

BLANK = "blank"

#: Variables of the result, with their attrs.
NOISE_SPIKE_MEASURES = {
    "evoked_rate": {"units": "Hz", "long_name": "KC rate in the odor window, odors"},
    "noise_rate": {"units": "Hz", "long_name": "KC rate in the odor window, blank (noise only)"},
    "evoked_coding_level": {"units": "1", "long_name": "KC coding level, odors"},
    "noise_coding_level": {
        "units": "1",
        "long_name": "fraction of KCs with a spike in the window, blank (noise only)",
    },
    "noise_to_evoked": {
        "units": "1",
        "long_name": "noise-induced over odor-evoked KC spikes (rate ratio)",
    },
}


def with_blank(odors: OdorPanel) -> OdorPanel:
    """``odors`` and a blank odor (no response: every glomerulus at its spontaneous rate)."""
    if BLANK in odors.names:
        raise ValueError(f"with_blank: the panel already has an odor named {BLANK!r}")
    responses = np.vstack([odors.responses, np.zeros((1, odors.responses.shape[1]))])
    return OdorPanel(
        responses=responses,
        names=(*odors.names, BLANK),
        glomeruli=odors.glomeruli,
        spontaneous=odors.spontaneous,
        info={**odors.info, "blank": "last odor: no response, noise only"},
    )


def rate_matched(
    params: CircuitParams,
    models: dict,
    *,
    odors: OdorPanel,
    reference: str,
    n_trials: int = 4,
    seed: int = 0,
    tolerance: float = 0.02,
    store_dir=None,
):
    """``({name: circuit}, {name: Calibration or None}, target rate in Hz)``: ``models`` maps a
    name to overrides; the ``reference`` model keeps its PN -> KC weight and every other model's
    ``weights.pn_kc`` is calibrated so that its odor-evoked KC rate (noise-free input, the
    ``kc_rate`` statistic) equals the reference's within ``tolerance`` (relative)."""
    from ..run.simulate import simulate

    if reference not in models:
        raise ValueError(f"rate_matched: reference {reference!r} is not among {list(models)}")
    circuits = {name: with_overrides(params, dict(o)) for name, o in models.items()}
    noise = Noise(input_sigma=0.0 * Hz)
    target = kc_rate(
        simulate(circuits[reference], odors, n_trials=n_trials, noise=noise, seed=seed)
    )
    found = {reference: None}
    for name, overrides in models.items():
        if name == reference:
            continue
        arm = Arm(name, dict(overrides), "weights.pn_kc", PN_KC_BRACKET, target, "kc_rate")
        store = None if store_dir is None else Path(store_dir) / f"rate-{name}-calibration.json"
        circuits[name], found[name] = calibrate_arm(
            params,
            arm,
            odors=odors,
            noise=noise,
            n_trials=n_trials,
            seed=seed,
            tolerance=tolerance * target,
            store=store,
        )
    return circuits, found, target


def _measures(ds: xr.Dataset) -> dict:
    """The measures of one run: odors against the blank (calibrate's statistics, so that
    "responding" and the rate are defined once)."""
    blank, odors = ds.sel(odor=[BLANK]), ds.drop_sel(odor=BLANK)
    evoked, noise = kc_rate(odors), kc_rate(blank)
    return {
        "evoked_rate": evoked,
        "noise_rate": noise,
        "evoked_coding_level": kc_coding_level(odors),
        "noise_coding_level": kc_coding_level(blank),
        "noise_to_evoked": noise / evoked if evoked > 0 else np.nan,
    }


def noise_induced_spikes(
    circuits: dict, odors: OdorPanel, noise_levels, *, seeds=(0, 1, 2, 3, 4), n_trials: int = 8
) -> xr.Dataset:
    """``(circuit, noise, fly)`` measures of :data:`NOISE_SPIKE_MEASURES`: ``circuits`` maps a
    name to a ``CircuitParams``; ``noise_levels`` are input-noise SDs in Hz (trial-frozen
    pattern noise, ``Noise.input_sigma``); each fly is its wiring seed, and the same seed draws
    the same input noise in every circuit."""
    from ..run.simulate import simulate

    levels = [float(v) for v in noise_levels]
    if not circuits or not levels:
        raise ValueError("noise_induced_spikes: need at least one circuit and one noise level")
    panel = with_blank(odors)
    values = {
        name: np.full((len(circuits), len(levels), len(seeds)), np.nan)
        for name in NOISE_SPIKE_MEASURES
    }
    for c, circuit in enumerate(circuits.values()):
        for n, level in enumerate(levels):
            ds = simulate(
                circuit,
                panel,
                n_trials=n_trials,
                noise=Noise(input_sigma=level * Hz),
                seed=list(seeds),
            )
            for f in range(len(seeds)):
                for name, value in _measures(ds.isel(fly=f)).items():
                    values[name][c, n, f] = value
    coords = {
        "circuit": pd.Index(list(circuits), name="circuit"),
        "noise": ("noise", levels, {"units": "Hz", "long_name": "input noise SD per glomerulus"}),
        "fly": list(seeds),
    }
    return xr.Dataset(
        {
            name: (("circuit", "noise", "fly"), v, dict(NOISE_SPIKE_MEASURES[name]))
            for name, v in values.items()
        },
        coords=coords,
        attrs={"odors": ", ".join(odors.names), "n_trials": n_trials},
    )
