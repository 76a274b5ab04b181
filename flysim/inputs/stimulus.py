"""ORN drive of each batch slot over time, from an odor panel and the noise settings."""

from __future__ import annotations

import numpy as np

from ..params import CircuitParams
from ..params.noise import Noise
from .odors import OdorPanel, synthetic_panel

__all__ = ["Slot", "orn_drive"]


class Slot(tuple):
    """(fly index, odor index, trial index) of one batch slot; odor -1 = idle padding."""

    __slots__ = ()

    def __new__(cls, fly: int, odor: int, trial: int):
        return super().__new__(cls, (fly, odor, trial))


def _ou(rng, n_bins: int, n: int, sigma: float, tau: float, dt: float) -> np.ndarray:
    """Stationary Ornstein-Uhlenbeck paths (exact update), SD ``sigma``."""
    decay = np.exp(-dt / tau)
    out = np.empty((n_bins, n))
    out[0] = rng.normal(0, sigma, n)
    kicks = rng.normal(0, sigma * np.sqrt(1 - decay**2), (n_bins - 1, n))
    for k in range(1, n_bins):
        out[k] = out[k - 1] * decay + kicks[k - 1]
    return out


def orn_drive(
    panel: OdorPanel, params: CircuitParams, noise: Noise, slots, n_bins: int, fly_seeds
) -> tuple[np.ndarray, np.ndarray]:
    """ORN rates (n_bins, n_slots * n_glomeruli) in Hz and their mean per slot (n_bins, n_slots).

    Odor on in [baseline + jitter, baseline + odor_duration + jitter); input-pattern noise and
    the background odor act while the odor is on (``noise.window == "odor"``) or for the whole
    trial (``"trial"``); rates are clipped to [0, orn.max_rate].
    """
    proto = params.protocol
    dt = float(proto.stimulus_dt)
    times = np.arange(n_bins) * dt
    n_glom = panel.n_glomeruli
    spont = (
        panel.spontaneous
        if panel.spontaneous is not None
        else np.full(n_glom, float(params.orn.spontaneous_rate))
    )
    max_rate = float(params.orn.max_rate)
    rates = np.empty((n_bins, len(slots) * n_glom))
    for s, (fly, odor, trial) in enumerate(slots):
        block = np.broadcast_to(spont, (n_bins, n_glom)).copy()
        if odor >= 0:
            keys = (fly_seeds[fly], odor, trial)
            jitter = (
                noise.rng("onset_jitter", *keys).normal(0, float(noise.onset_jitter))
                if float(noise.onset_jitter) > 0
                else 0.0
            )
            on = (times >= float(proto.baseline) + jitter) & (
                times < float(proto.baseline + proto.odor_duration) + jitter
            )
            odor_delta = np.where(on[:, None], panel.responses[odor], 0.0)
            delta = np.zeros((n_bins, n_glom))
            sigma = float(noise.input_sigma)  # in Hz, like the rates
            if sigma > 0:
                rng = noise.rng("input_pattern", *keys)
                if noise.input_tau is None:
                    delta += rng.normal(0, sigma, n_glom)
                else:
                    delta += _ou(rng, n_bins, n_glom, sigma, float(noise.input_tau), dt)
            if noise.background > 0:
                seed = int(noise.rng("background", *keys).integers(2**31))
                distractor = synthetic_panel(1, n_glomeruli=n_glom, seed=seed).responses[0]
                delta += noise.background * distractor
            if noise.window == "odor":
                delta[~on] = 0.0
            block += odor_delta + delta
        rates[:, s * n_glom : (s + 1) * n_glom] = np.clip(block, 0.0, max_rate)
    mean = rates.reshape(n_bins, len(slots), n_glom).mean(axis=2)
    return rates, mean
