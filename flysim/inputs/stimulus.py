"""ORN drive of each batch slot over time, from an odor panel and the noise settings.

Input-pattern noise preserves the mean (issue #19). Rates cannot be negative or exceed
``orn.max_rate``, so Gaussian noise added to a rate and clipped raises the mean of weakly
driven glomeruli (and lowers that of saturated ones): noise level and input strength were
confounded. A glomerulus whose noiseless rate is ``r`` now draws
``clip(m + sigma * z, 0, max_rate)``, ``z`` the standard normal draw of its seed stream, with
the location ``m`` chosen so that the expected rate is ``r`` (``location_for_mean``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from ..params import CircuitParams
from ..params.noise import Noise
from .odors import OdorPanel, synthetic_panel

__all__ = [
    "Slot",
    "orn_drive",
    "odor_window_rates",
    "censored_normal_mean",
    "location_for_mean",
    "mean_preserving_rates",
]

#: How far the location's search bracket reaches beyond [0, max_rate], in SDs: a normal tail
#: that far out has probability below 1e-299, so every reachable mean lies inside it.
_BRACKET_SDS = 37.0

#: Bisection steps: halving the bracket (max_rate + 74 SDs wide) 64 times leaves it narrower
#: than the float spacing of the location, so the location is as exact as a float can be.
_BISECTION_STEPS = 64


class Slot(tuple):
    """(fly index, odor index, trial index) of one batch slot; odor -1 = idle padding."""

    __slots__ = ()

    def __new__(cls, fly: int, odor: int, trial: int):
        return super().__new__(cls, (fly, odor, trial))


def _positive_part_mean(u: np.ndarray) -> np.ndarray:
    """E[max(u + Z, 0)] for a standard normal Z: u Φ(u) + φ(u)."""
    return u * ndtr(u) + np.exp(-0.5 * u * u) / np.sqrt(2 * np.pi)


def censored_normal_mean(location, sigma: float, upper: float) -> np.ndarray:
    """The mean of ``clip(location + sigma * Z, 0, upper)``, Z standard normal (closed form).

    ``clip(x, 0, upper) = max(x, 0) - max(x - upper, 0)``, and the mean of the positive part of
    a normal is ``sigma * (u Φ(u) + φ(u))`` with ``u = location / sigma``.
    """
    location = np.asarray(location, dtype=float)
    return sigma * (
        _positive_part_mean(location / sigma) - _positive_part_mean((location - upper) / sigma)
    )


def location_for_mean(rate, sigma: float, upper: float) -> np.ndarray:
    """The location ``m`` with ``E[clip(m + sigma * Z, 0, upper)] = rate``, for 0 < rate < upper.

    The censored mean rises strictly with ``m`` (its slope is ``P(0 < m + sigma Z < upper)``)
    from 0 to ``upper``, so ``m`` is unique; it is found by bisection (vectorised, a fixed number
    of steps, so the same rates always give the same locations). ``m`` lies below ``rate`` near
    0 (far below it as ``rate`` -> 0) and above it near ``upper``; ``m ≈ rate`` when ``rate`` is
    several ``sigma`` from both bounds. A rate so close to a bound that its location would lie
    beyond the bracket (``rate`` below ~1e-300 * sigma) gets the bracket's end: its draws are 0
    (or ``upper``) in practice, off the target by less than ``rate`` itself.
    """
    rate = np.asarray(rate, dtype=float)
    low = np.full(rate.shape, -_BRACKET_SDS * sigma)
    high = np.full(rate.shape, upper + _BRACKET_SDS * sigma)
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        too_low = censored_normal_mean(middle, sigma, upper) < rate
        low = np.where(too_low, middle, low)
        high = np.where(too_low, high, middle)
    return 0.5 * (low + high)


def mean_preserving_rates(noiseless, z, sigma: float, upper: float) -> np.ndarray:
    """Noisy rates whose expectation is the noiseless rate: the input-noise rule (issue #19).

    Parameters
    ----------
    noiseless : ndarray
        Rates without input noise (spontaneous + odor + background), Hz, before clipping;
        clipped to [0, upper] they are the targets ``r``.
    z : ndarray
        Standard normal draws, one per rate.
    sigma : float
        SD of the Gaussian perturbation, Hz (``noise.input_sigma``).
    upper : float
        The highest rate (``orn.max_rate``), Hz.

    Returns
    -------
    ndarray
        ``clip(m + sigma * z, 0, upper)`` with ``E[...] = r`` (``location_for_mean``). A rate at
        0 or at ``upper`` stays there: the only distribution of this family with that mean is
        the point mass (the limit ``m`` -> ∓∞), so such a glomerulus carries no noise. Far from
        both bounds this is ``r + sigma * z``; near 0 it is skewed (a mass at 0 and a tail up)
        and its SD is below ``sigma`` (e.g. ``r`` = 8 Hz at ``sigma`` = 40 Hz: SD ~16 Hz);
        near ``upper`` the mirror image.
    """
    target = np.clip(noiseless, 0.0, upper)
    inside = (target > 0) & (target < upper)
    # rates repeat across bins and trials: solve once per distinct rate
    rates, which = np.unique(target[inside], return_inverse=True)
    location = location_for_mean(rates, sigma, upper)[which.reshape(-1)]
    target[inside] = np.clip(location + sigma * z[inside], 0.0, upper)
    return target


def _unit_ou(rng, n_bins: int, n: int, dt: float, tau: float) -> np.ndarray:
    """Stationary Ornstein-Uhlenbeck paths (exact update) with unit SD."""
    decay = np.exp(-dt / tau)
    out = np.empty((n_bins, n))
    out[0] = rng.standard_normal(n)
    kicks = np.sqrt(1 - decay**2) * rng.standard_normal((n_bins - 1, n))
    for k in range(1, n_bins):
        out[k] = out[k - 1] * decay + kicks[k - 1]
    return out


def _input_noise_draws(noise: Noise, keys, n_bins: int, n_glom: int, dt: float) -> np.ndarray:
    """The standard normal draws of one slot's input-pattern noise, (n_bins, n_glom): frozen
    for the trial, or an OU path in time (the same marginal, so the same rule per bin)."""
    rng = noise.rng("input_pattern", *keys)
    if noise.input_tau is None:
        return np.broadcast_to(rng.standard_normal(n_glom), (n_bins, n_glom))
    return _unit_ou(rng, n_bins, n_glom, dt, float(noise.input_tau))


def _odor_on(params: CircuitParams, noise: Noise, keys, times) -> np.ndarray:
    """Stimulus bins in which the odor is on: [baseline, baseline + odor_duration) + jitter."""
    proto = params.protocol
    jitter = (
        noise.rng("onset_jitter", *keys).normal(0, float(noise.onset_jitter))
        if float(noise.onset_jitter) > 0
        else 0.0
    )
    return (times >= float(proto.baseline) + jitter) & (
        times < float(proto.baseline + proto.odor_duration) + jitter
    )


def _slot_input(panel: OdorPanel, params: CircuitParams, noise: Noise, odor: int, keys, times):
    """One odor slot's Δrates without input noise (odor response + background odor),
    (n_bins, n_glom), and the bins in which input noise and the background act."""
    n_glom = panel.n_glomeruli
    on = _odor_on(params, noise, keys, times)
    acting = on if noise.window == "odor" else np.ones(len(times), dtype=bool)
    odor_delta = np.where(on[:, None], panel.responses[odor], 0.0)
    background = np.zeros((len(times), n_glom))
    if noise.background > 0:  # a distractor odor: it adds input on purpose
        seed = int(noise.rng("background", *keys).integers(2**31))
        distractor = synthetic_panel(1, n_glomeruli=n_glom, seed=seed).responses[0]
        background += noise.background * distractor
        background[~acting] = 0.0
    return odor_delta + background, acting


def _spontaneous(panel: OdorPanel, params: CircuitParams) -> np.ndarray:
    if panel.spontaneous is not None:
        return panel.spontaneous
    return np.full(panel.n_glomeruli, float(params.orn.spontaneous_rate))


def orn_drive(
    panel: OdorPanel, params: CircuitParams, noise: Noise, slots, n_bins: int, fly_seeds
) -> tuple[np.ndarray, np.ndarray]:
    """ORN rates (n_bins, n_slots * n_glomeruli) in Hz and their mean per slot (n_bins, n_slots).

    Odor on in [baseline + jitter, baseline + odor_duration + jitter); input-pattern noise and
    the background odor act while the odor is on (``noise.window == "odor"``) or for the whole
    trial (``"trial"``). Without input noise a rate is spontaneous + odor response (+ the
    background odor) clipped to [0, orn.max_rate]; input noise perturbs it without changing
    its expectation (``mean_preserving_rates``), frozen per trial or in time.
    """
    dt = float(params.protocol.stimulus_dt)
    times = np.arange(n_bins) * dt
    n_glom = panel.n_glomeruli
    sigma = float(noise.input_sigma)  # in Hz, like the rates
    noiseless = np.empty((n_bins, len(slots) * n_glom))
    acting = np.zeros(noiseless.shape, dtype=bool)
    z = np.zeros(noiseless.shape) if sigma > 0 else None
    for s, (fly, odor, trial) in enumerate(slots):
        columns = slice(s * n_glom, (s + 1) * n_glom)
        noiseless[:, columns] = np.broadcast_to(_spontaneous(panel, params), (n_bins, n_glom))
        if odor < 0:
            continue
        keys = (fly_seeds[fly], odor, trial)
        delta, acting_bins = _slot_input(panel, params, noise, odor, keys, times)
        noiseless[:, columns] += delta
        acting[:, columns] = acting_bins[:, None]
        if z is not None:
            z[:, columns] = _input_noise_draws(noise, keys, n_bins, n_glom, dt)
    max_rate = float(params.orn.max_rate)
    rates = np.clip(noiseless, 0.0, max_rate)
    if z is not None:  # one solve for the whole batch (most rates repeat)
        rates[acting] = mean_preserving_rates(noiseless[acting], z[acting], sigma, max_rate)
    mean = rates.reshape(n_bins, len(slots), n_glom).mean(axis=2)
    return rates, mean


def odor_window_rates(rates: np.ndarray, params: CircuitParams, n_slots: int) -> np.ndarray:
    """Mean ORN rate of each slot's glomeruli over the odor window, (n_slots, n_glomeruli), Hz.

    The window is the stimulus bins of [baseline, baseline + odor_duration), the window of the
    circuit's odor spike counts; onset jitter moves the odor, not the window.
    """
    proto = params.protocol
    dt = float(proto.stimulus_dt)
    start = round(float(proto.baseline) / dt)
    stop = round(float(proto.baseline + proto.odor_duration) / dt)
    return rates[start:stop].mean(axis=0).reshape(n_slots, -1)
