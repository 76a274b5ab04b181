"""Noise levels matched between the circuit and the adapters by the input correlation they cost.

A noise level in Hz means nothing for an image, so the adapters' noise is matched to the
circuit's by its effect on the input: the *trial-to-trial correlation* of the input pattern,
``flysim.analysis.trial_reliability`` (mean Pearson correlation across inputs between two trials
of the same stimulus, averaged over stimuli).

- **Circuit.** At each input-noise level ``simulate`` runs the pair panel; the reliability of
  the PN spike counts (across PNs) is what the KCs receive: it includes the input-pattern noise,
  the ORN and PN spiking (Poisson) noise and the PNs' saturation, so it is below 1 even at 0 Hz.
  The reliability of the ORN input pattern itself (``orn_rate``) is recorded too.
- **Adapter.** Its noise is additive Gaussian, ``x + sd * z`` with ``z`` standard normal per
  input, stimulus and trial (frozen over the glimpses of a trial, as the circuit's pattern noise
  is frozen over a trial), not clipped: the mean input stays fixed and only reliability changes,
  as with the circuit's mean-preserving noise. ``sd`` is chosen (bisection, with the same ``z``
  for every candidate, so the reliability falls monotonically with ``sd``) so that the noisy
  adapter inputs have the circuit's PN reliability at that level.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..analysis import adaptation_ratio, trial_reliability

__all__ = ["add_input_noise", "input_reliability", "matched_noise_sd", "circuit_input_measures"]

#: Bisection steps of :func:`matched_noise_sd` (the bracket shrinks 2^-60 in log sd).
_BISECTION_STEPS = 60


def add_input_noise(clean: xr.DataArray, sd: float, n_trials: int, seed) -> xr.DataArray:
    """``n_trials`` noisy presentations of each stimulus, ``(odor, trial, <input dim>)``.

    ``clean`` is ``(odor, <input dim>)``; the noise is ``sd * z``, ``z`` standard normal from
    ``numpy.random.default_rng(seed)`` (the same ``z`` whatever ``sd``).
    """
    odor, feature = clean.dims
    z = np.random.default_rng(seed).standard_normal(
        (clean.sizes[odor], n_trials, clean.sizes[feature])
    )
    noisy = clean.values[:, None, :] + float(sd) * z
    coords = {name: coord for name, coord in clean.coords.items()}
    return xr.DataArray(
        noisy, dims=(odor, "trial", feature), coords={**coords, "trial": np.arange(n_trials)}
    )


def input_reliability(presentations: xr.DataArray, feature_dim: str) -> float:
    """Mean over stimuli of the trial-to-trial reliability across ``feature_dim``."""
    return float(trial_reliability(presentations, dim=feature_dim, trial_dim="trial").mean())


def matched_noise_sd(
    clean: xr.DataArray, target: float, *, n_trials: int = 8, seed=0
) -> tuple[float, float]:
    """The noise SD whose presentations of ``clean`` have reliability ``target``, and the
    reliability reached: ``(sd, reliability)``. ``target >= 1`` gives ``(0, 1)``.
    """
    feature = clean.dims[1]

    def reliability(sd):
        return input_reliability(add_input_noise(clean, sd, n_trials, seed), feature)

    if target >= 1:
        return 0.0, 1.0
    scale = float(clean.std())
    low, high = np.log(1e-6 * scale), np.log(1e3 * scale)
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if reliability(np.exp(middle)) > target else (low, middle)
    sd = float(np.exp(0.5 * (low + high)))
    return sd, reliability(sd)


def circuit_input_measures(params, panel, noise_levels, *, seed: int = 0, n_trials: int = 8):
    """What the circuit's input noise costs, and its SFA's time course, per noise level.

    One ``simulate`` run of ``panel`` per level (``n_trials`` trials, one fly ``seed``) with SFA
    on and LI off (the PNs do not depend on either with LI at the APL), and one with both off at
    the lowest level.

    Returns
    -------
    xarray.Dataset
        ``pn_reliability(noise)`` and ``orn_reliability(noise)`` (trial-to-trial correlation of
        the PN spike counts across PNs and of the ORN input pattern across glomeruli, mean over
        odors), and attrs ``late_early_sfa`` / ``late_early_none``: the KC spikes in the second
        half of the odor window over the first, with SFA and without any mechanism, at the
        lowest level.
    """
    from ..params import with_overrides
    from ..run.simulate import simulate
    from .discrimination import input_noise

    sfa = with_overrides(params, {"li.enabled": False, "sfa.enabled": True})
    pn, orn, ratios = [], [], {}
    for level in noise_levels:
        ds = simulate(
            sfa, panel, n_trials=n_trials, noise=input_noise(float(level), seed), seed=seed
        )
        pn.append(input_reliability(ds.pn_spike_count.astype(float), "pn"))
        orn.append(input_reliability(ds.orn_rate, "glomerulus"))
        if level == min(noise_levels):
            ratios["late_early_sfa"] = _late_early(ds)
    none = with_overrides(params, {"li.enabled": False, "sfa.enabled": False})
    lowest = input_noise(float(min(noise_levels)), seed)
    ratios["late_early_none"] = _late_early(
        simulate(none, panel, n_trials=n_trials, noise=lowest, seed=seed)
    )
    levels = np.asarray(noise_levels, dtype=float)
    return xr.Dataset(
        {
            "pn_reliability": ("noise", np.array(pn), {"units": "1"}),
            "orn_reliability": ("noise", np.array(orn), {"units": "1"}),
        },
        coords={"noise": ("noise", levels, {"units": "Hz"})},
        attrs=ratios,
    )


def _late_early(ds: xr.Dataset) -> float:
    """KC spikes in the late half of the odor window over the early half (all odors, trials)."""
    return float(adaptation_ratio(ds.kc_spike_count_early.sum(), ds.kc_spike_count_late.sum()))
