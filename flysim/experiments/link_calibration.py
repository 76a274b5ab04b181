"""Calibrating an adapter's mechanisms per condition, on noise-free inputs, before any noise.

As the circuit's weights are calibrated once and then exposed to noise, every adapter is set
up on the noise-free presentations of its stimuli (all of them: test pairs and references, one
presentation of ``T`` glimpses each) and then kept fixed across noise levels:

- **Scales.** ``input_level`` (the normalisation's reference) and ``drive_scale`` (the unit of
  the adaptation and balancing steps) are those of the noise-free inputs.
- **Adaptation strength** (SFA): the strength at which the adapter's late / early activity ratio
  (units' spikes, ``link_readout.codes_to_counts``, in glimpses ``T/2..T`` over ``0..T/2``) in
  the SFA condition equals the circuit's (its KC spikes in the late half of the odor window
  over the early half with SFA, divided by the same ratio without SFA, since an adapter without
  adaptation has a ratio of exactly 1). Its time constant is the circuit's ``sfa.tau`` in
  glimpses.
- **Coding level per condition.** Each condition's one free parameter -- the fixed threshold
  ``theta`` (no LI), ``k`` (top-k) or the graded inhibition's strength (with ``theta`` the
  no-LI condition's: the APL adds inhibition to the KCs' own threshold) -- is set so that the
  fraction of units active in at least one glimpse of a noise-free presentation (the circuit's
  "responded": >= 1 spike in the odor window) is that condition's target level.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from ..adapters import FlyAdapter
from ..adapters.mechanisms import input_level
from .circuit_vs_adapter import adapter_switches
from .link_readout import GLIMPSE, codes_to_counts

__all__ = ["CalibratedAdapter", "calibrate_conditions", "late_early_ratio"]

#: Bisection steps for real-valued parameters (threshold, strengths).
_STEPS = 40


@dataclasses.dataclass
class CalibratedAdapter:
    """One condition's adapter and its ``encode`` arguments (switches, threshold, sequence)."""

    adapter: FlyAdapter
    arguments: dict


def _presentation_coding(codes: xr.DataArray) -> float:
    """Fraction of (presentation, unit) active in at least one glimpse."""
    return float((codes > 0).any(GLIMPSE).mean())


def late_early_ratio(codes: xr.DataArray) -> float:
    """The units' spikes in the late half of the glimpses over the early half."""
    counts = codes_to_counts(codes)
    half = counts.sizes[GLIMPSE] // 2
    early = float(counts.isel({GLIMPSE: slice(0, half)}).sum())
    late = float(counts.isel({GLIMPSE: slice(counts.sizes[GLIMPSE] - half, None)}).sum())
    return late / early if early > 0 else np.nan


def _bisect(function, low, high, target, *, decreasing=True, log=False, steps=_STEPS):
    """The argument in [low, high] where a monotone ``function`` crosses ``target``."""
    a, b = (np.log(low), np.log(high)) if log else (low, high)
    for _ in range(steps):
        middle = 0.5 * (a + b)
        value = function(np.exp(middle) if log else middle)
        if (value > target) == decreasing:
            a = middle
        else:
            b = middle
    middle = 0.5 * (a + b)
    return float(np.exp(middle) if log else middle)


class _Encoder:
    """Encodes the noise-free presentations with one condition's switches."""

    def __init__(self, adapter, clean, condition, analogues, binary):
        self.adapter, self.clean, self.condition = adapter, clean, condition
        self.analogues, self.binary = analogues, binary

    def arguments(self, strengths, threshold=None) -> dict:
        switches = adapter_switches(self.condition, **self.analogues, strengths=strengths)
        arguments = {**switches, "sequence_dim": GLIMPSE, "binary": self.binary}
        arguments["stream_order"] = ("trial", "odor", GLIMPSE)
        if not switches["topk"]:
            arguments["threshold"] = threshold
        return arguments

    def codes(self, strengths, threshold=None, k=None) -> xr.DataArray:
        adapter = self.adapter if k is None else dataclasses.replace(self.adapter, k=int(k))
        return adapter.encode(self.clean, **self.arguments(strengths, threshold))


def _adaptation_strength(encoder: _Encoder, threshold: float, target: float, tau: float):
    """Adaptation strength giving the late / early ratio ``target`` in the SFA condition."""
    if not target < 1:
        return 0.0

    def ratio(strength):
        strengths = {"adaptation": strength, "adaptation_tau": tau}
        return late_early_ratio(encoder.codes(strengths, threshold))

    return _bisect(ratio, 1e-4, 1e2, target, log=True)


def _free_parameter(encoder: _Encoder, strengths: dict, theta_none: float, drive, level: float):
    """``(adapter, arguments)`` of a condition at the presentation coding level ``level``."""
    coding = _presentation_coding
    switches = encoder.arguments(strengths)
    if switches["topk"]:
        n_units = encoder.adapter.n_kc
        low, high = 1, max(1, int(round(level * n_units)))
        while low < high:  # the largest k whose presentation coding does not exceed level
            middle = (low + high + 1) // 2
            if coding(encoder.codes(strengths, k=middle)) <= level:
                low = middle
            else:
                high = middle - 1
        adapter = dataclasses.replace(encoder.adapter, k=low, coding_level=level)
        return adapter, encoder.arguments(strengths)
    if "inhibition" in switches:

        def inhibited(strength):
            return coding(encoder.codes({**strengths, "inhibition": strength}, theta_none))

        strength = _bisect(inhibited, 1e-4, 1e4, level, log=True)
        strengths = {**strengths, "inhibition": strength}
        return encoder.adapter, encoder.arguments(strengths, theta_none)
    span = float(drive.max() - drive.min())  # normalisation may move the drives somewhat
    theta = _bisect(
        lambda t: coding(encoder.codes(strengths, t)),
        float(drive.min()) - span,
        float(drive.max()) + span,
        level,
    )
    return encoder.adapter, encoder.arguments(strengths, theta)


def calibrate_conditions(
    adapter: FlyAdapter,
    clean: xr.DataArray,
    levels: dict,
    *,
    analogues: dict,
    late_early_target: float,
    adaptation_tau: float,
    binary: bool = False,
) -> tuple[dict, dict]:
    """Each condition's calibrated adapter and ``encode`` arguments.

    Parameters
    ----------
    adapter : FlyAdapter
        The adapter (its projection); ``input_level`` and ``drive_scale`` are set here.
    clean : xarray.DataArray
        Noise-free presentations ``(odor, trial, glimpse, <input dim>)`` (one trial).
    levels : dict
        Target presentation coding level of each condition (none, LI, SFA, LI+SFA).
    analogues : dict
        ``{"li": ..., "sfa": ...}``, the analogues (``circuit_vs_adapter.ANALOGUES``).
    late_early_target : float
        The circuit's late / early ratio with SFA over that without.
    adaptation_tau : float
        Adaptation time constant in glimpses.
    binary : bool
        Binary codes (the adapter's own tag).

    Returns
    -------
    calibrated : dict
        ``{condition: CalibratedAdapter}``.
    info : dict
        The calibrated values (thresholds, k, strengths), for the result's attrs.
    """
    first = clean.isel({GLIMPSE: 0}).transpose(..., adapter.input_dim).values
    first = first.reshape(-1, adapter.n_glomeruli)
    adapter = dataclasses.replace(adapter, input_level=float(input_level(first).mean()))
    drive = adapter.drive(first)
    adapter.drive_scale = float(np.std(drive))
    strengths = {"adaptation_tau": float(adaptation_tau)}
    encoders = {c: _Encoder(adapter, clean, c, analogues, binary) for c in levels}
    theta_none = adapter.threshold(drive, levels["none"])
    sfa_theta = adapter.threshold(drive, levels["SFA"])
    if analogues["sfa"] == "adaptation":
        strengths["adaptation"] = _adaptation_strength(
            encoders["SFA"], sfa_theta, late_early_target, float(adaptation_tau)
        )
    calibrated, info = {}, {"adaptation": strengths.get("adaptation", 0.0)}
    for condition, level in levels.items():
        fitted, arguments = _free_parameter(
            encoders[condition], strengths, theta_none, drive, level
        )
        calibrated[condition] = CalibratedAdapter(fitted, arguments)
        info[condition] = {
            "k": fitted.k,
            "threshold": arguments.get("threshold"),
            "inhibition": arguments.get("inhibition", 0.0),
            "presentation_coding": _presentation_coding(fitted.encode(clean, **arguments)),
        }
    return calibrated, info
