"""Controlled noise: every source has its own setting and its own seed stream; zero is zero."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from brian2 import Quantity, amp, get_dimensions, ms, pA, second

from .units import shown

__all__ = ["Noise", "SOURCES"]

#: Seed streams, one per source, so that changing one source never changes another's draws.
SOURCES = {"input_pattern": 0, "background": 1, "onset_jitter": 2, "spiking": 3}

#: When input-pattern noise and the background odor act.
WINDOWS = ("odor", "trial")


def _check_quantity(name, value, unit, allow_none=False):
    if allow_none and value is None:
        return
    if not isinstance(value, Quantity) or get_dimensions(value) != get_dimensions(unit):
        raise ValueError(
            f"Noise.{name} needs units like {unit!r} (e.g. 5*{unit}), got {shown(value)}"
        )
    if value.shape != ():  # float() of an array would raise a TypeError naming nothing
        raise ValueError(f"Noise.{name} must be a single value, got shape {value.shape}")
    if not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"Noise.{name} must be finite and >= 0, got {value}")


@dataclass(frozen=True, kw_only=True)
class Noise:
    """The noise of a simulation.

    Parameters
    ----------
    input_sigma : float
        SD (Hz) of Gaussian noise added to each glomerulus's ORN Δrate while the odor is on:
        frozen for a trial if ``input_tau`` is None, else an Ornstein-Uhlenbeck process in time.
    input_tau : Quantity or None
        Correlation time of the input noise (None = trial-to-trial pattern noise only).
    background : float
        Weight of a random distractor odor (drawn per trial) added during the odor.
    poisson_input : bool
        ORN input arrives as Poisson spikes (True) or as its mean conductance (False).
    kc_current_sigma, kc_current_tau : Quantity
        SD and time constant of an Ornstein-Uhlenbeck membrane current in every KC.
    onset_jitter : Quantity
        SD of the odor onset time across trials.
    window : str
        When input-pattern noise and the background odor act: ``"odor"`` (only while the odor
        is on) or ``"trial"`` (the whole trial, so neurons can adapt to them before the odor).
    seed : int
        Root of all noise seeds (independent of the wiring seed).
    """

    input_sigma: float = 0.0
    input_tau: Quantity | None = None
    background: float = 0.0
    poisson_input: bool = True
    kc_current_sigma: Quantity = dataclasses.field(default_factory=lambda: 0 * pA)
    kc_current_tau: Quantity = dataclasses.field(default_factory=lambda: 5 * ms)
    onset_jitter: Quantity = dataclasses.field(default_factory=lambda: 0 * ms)
    window: str = "odor"
    seed: int = 0

    def __post_init__(self):
        for name in ("input_sigma", "background"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1e308  # also NaN, inf and ints too big for a float
            ):
                raise ValueError(f"Noise.{name} must be a finite number >= 0, got {shown(value)}")
        if not isinstance(self.poisson_input, bool):
            raise ValueError(
                f"Noise.poisson_input must be True or False, got {shown(self.poisson_input)}"
            )
        _check_quantity("input_tau", self.input_tau, ms, allow_none=True)
        if self.input_tau is not None and float(self.input_tau) <= 0:
            raise ValueError("Noise.input_tau must be > 0 (or None for frozen pattern noise)")
        _check_quantity("kc_current_sigma", self.kc_current_sigma, pA)
        _check_quantity("kc_current_tau", self.kc_current_tau, ms)
        if float(self.kc_current_tau) <= 0:
            raise ValueError("Noise.kc_current_tau must be > 0")
        _check_quantity("onset_jitter", self.onset_jitter, ms)
        if self.window not in WINDOWS:
            raise ValueError(f"Noise.window must be one of {WINDOWS}, got {shown(self.window)}")
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, (int, np.integer))
            or self.seed < 0
        ):
            raise ValueError(f"Noise.seed must be an integer >= 0, got {shown(self.seed)}")

    def rng(self, source: str, *keys: int) -> np.random.Generator:
        """The generator of one source for one item (fly, odor, trial); independent of batching."""
        return np.random.default_rng([int(self.seed), SOURCES[source], *map(int, keys)])

    def to_dict(self) -> dict:
        """Plain values (SI floats) for result attrs."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = (
                None if value is None else (float(value) if isinstance(value, Quantity) else value)
            )
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Noise:
        """Inverse of ``to_dict``."""
        units = {
            "input_tau": second,
            "kc_current_sigma": amp,
            "kc_current_tau": second,
            "onset_jitter": second,
        }
        kwargs = {}
        for key, value in data.items():
            kwargs[key] = value * units[key] if key in units and value is not None else value
        return cls(**kwargs)
