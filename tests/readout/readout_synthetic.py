"""Synthetic KC spikes in the layout of ``simulate(..., record_spikes=True)``, for readout tests.

Each odor activates its own random set of KCs; in each trial an active KC responds with
probability ``reliability`` and then fires Poisson(``spikes_per_kc``) spikes at random steps of
the odor window (distinct steps: brian2's SpikeGeneratorGroup allows one spike per step).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr


def odor_window(params) -> tuple[int, int]:
    dt, proto = float(params.network.dt), params.protocol
    start = round(float(proto.baseline) / dt)
    return start, round(float(proto.baseline + proto.odor_duration) / dt)


def active_sets(rng, n_odors: int, n_kc: int, fraction: float) -> list[np.ndarray]:
    """An independent random set of ``fraction * n_kc`` KCs per odor."""
    return [rng.choice(n_kc, int(round(fraction * n_kc)), replace=False) for _ in range(n_odors)]


def trial_spikes(rng, active, window, spikes_per_kc: float = 2.0, reliability: float = 0.9):
    """(steps, kcs) of one presentation of an odor whose active KCs are ``active``."""
    responding = active[rng.random(len(active)) < reliability]
    n = rng.poisson(spikes_per_kc, len(responding))
    kc = np.repeat(responding, n)
    step = rng.integers(window[0], window[1], len(kc))
    unique = np.unique(np.stack([kc, step]), axis=1)  # one spike per KC and step
    return unique[1], unique[0]


def spike_dataset(params, sets, *, n_trials, seed=0, fly_seeds=None, **trial_kwargs):
    """A Dataset like simulate's with the KC spikes of odors ``sets`` (name -> active KCs, or
    name -> None for an odor without any spike), ``n_trials`` each, for one fly (``fly_seeds``
    None: the fly seed 0, no ``fly`` dim) or several."""
    rng = np.random.default_rng(seed)
    window = odor_window(params)
    dt = float(params.network.dt)
    flies = [0] if fly_seeds is None else list(fly_seeds)
    columns = {name: [] for name in ("time", "index", "odor", "trial", "fly")}
    for f in range(len(flies)):
        for o, active in enumerate(sets.values()):
            for t in range(n_trials):
                if active is None:
                    continue
                step, kc = trial_spikes(rng, np.asarray(active), window, **trial_kwargs)
                parts = (step * dt, kc, [o] * len(kc), [t] * len(kc), [f] * len(kc))
                for name, values in zip(columns, parts, strict=True):
                    columns[name].append(np.asarray(values))
    return _dataset(params, columns, list(sets), n_trials, flies, fly_seeds is not None)


def _dataset(params, columns, names, n_trials, flies, several):
    proto = params.protocol
    data = {
        f"kc_spike_{name}": (
            "spike_kc",
            np.concatenate(parts) if parts else np.zeros(0),
        )
        for name, parts in columns.items()
    }
    ds = xr.Dataset(
        data,
        coords={
            "fly": flies,
            "odor": names,
            "trial": np.arange(n_trials),
            "kc": np.arange(params.network.n_kc),
        },
    )
    on = float(proto.baseline)
    ds.attrs["odor_window_s"] = json.dumps([on, on + float(proto.odor_duration)])
    return ds if several else ds.squeeze("fly", drop=False)
