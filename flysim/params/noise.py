"""Controlled noise: every source has its own setting and its own seed stream; zero is zero."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from brian2 import Hz, get_dimensions, get_unit, ms, pA

from .fields import ParamGroup, choice, flag, integer, number, quantity
from .tables import group_from_table, group_to_dict
from .units import UNITS, quantity_to_toml

__all__ = ["Noise", "SOURCES"]

#: Seed streams, one per source, so that changing one source never changes another's draws.
SOURCES = {"input_pattern": 0, "background": 1, "onset_jitter": 2, "spiking": 3}

#: When input-pattern noise and the background odor act.
WINDOWS = ("odor", "trial")


@dataclass(frozen=True, kw_only=True, eq=False)
class Noise(ParamGroup):
    """The noise of a simulation: a parameter group (``noise.*`` paths, a ``[noise]`` table).

    Parameters
    ----------
    input_sigma : Quantity (Hz)
        SD of the Gaussian perturbation of each glomerulus's ORN rate while the odor is on:
        frozen for a trial if ``input_tau`` is None, else an Ornstein-Uhlenbeck process in time.
        It preserves the mean (``flysim.inputs.stimulus.mean_preserving_rates``): a glomerulus
        whose noiseless rate is ``r`` fires ``clip(m + input_sigma * z, 0, orn.max_rate)``,
        ``m`` chosen so that the expected rate is ``r`` at every level, so the level changes
        reliability, not input strength. Near 0 (and near ``orn.max_rate``) the rates are
        skewed and their SD is below ``input_sigma``; a glomerulus at 0 or at the maximum
        stays there. Zero is exactly the noiseless drive.
    input_tau : Quantity (ms) or None
        Correlation time of the input noise (None = trial-to-trial pattern noise only).
    background : float
        Weight of a random distractor odor (drawn per trial) added during the odor. Unlike
        ``input_sigma`` it adds input on purpose: its Δrates are part of the noiseless rate.
    poisson_input : bool
        ORN input arrives as Poisson spikes (True) or as its mean conductance (False).
    kc_current_sigma, kc_current_tau : Quantity (pA, ms)
        SD and time constant of an Ornstein-Uhlenbeck membrane current in every KC.
    onset_jitter : Quantity (ms)
        SD of the odor onset time across trials.
    window : str
        When input-pattern noise and the background odor act: ``"odor"`` (only while the odor
        is on) or ``"trial"`` (the whole trial, so neurons can adapt to them before the odor).
    seed : int
        Root of all noise seeds (independent of the wiring seed).
    """

    GROUP = "noise"

    input_sigma: object = quantity(
        0 * Hz, "Hz", minimum=0 * Hz, doc="SD of input-pattern noise per glomerulus"
    )
    input_tau: object = quantity(
        None,
        "ms",
        positive=True,
        optional=True,
        doc="correlation time of input noise; None = frozen for a trial",
    )
    background: float = number(0.0, minimum=0.0, doc="weight of a random distractor odor")
    poisson_input: bool = flag(True, doc="Poisson ORN spikes (else their mean conductance)")
    kc_current_sigma: object = quantity(
        0 * pA, "pA", minimum=0 * pA, doc="SD of OU current noise in KCs"
    )
    kc_current_tau: object = quantity(
        5 * ms, "ms", positive=True, doc="time constant of the KC current noise"
    )
    onset_jitter: object = quantity(0 * ms, "ms", minimum=0 * ms, doc="SD of odor onset time")
    window: str = choice("odor", WINDOWS, doc="when input noise and background act")
    seed: int = integer(0, minimum=0, maximum=2**63 - 1, doc="root of all noise seeds")

    def rng(self, source: str, *keys: int) -> np.random.Generator:
        """The generator of one source for one item (fly, odor, trial); independent of batching."""
        return np.random.default_rng([int(self.seed), SOURCES[source], *map(int, keys)])

    def to_dict(self) -> dict:
        """TOML-style plain values for result attrs (``{value, unit}`` as ``params_to_dict``)."""
        return group_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Noise:
        """Inverse of ``to_dict``; also reads the SI floats of results written before noise
        had units (``"kc_current_sigma": 5e-12``)."""
        return group_from_table(cls, cls.GROUP, _si_floats_as_tables(data))


def _si_floats_as_tables(data: dict) -> dict:
    """``data`` with a plain number of a quantity field (the old SI-float form, unambiguous:
    ``to_dict`` writes quantities as tables) turned into a ``{value, unit}`` table."""
    if not isinstance(data, dict):
        return data  # group_from_mapping names what is wrong
    declared = {f.name: f.metadata for f in dataclasses.fields(Noise)}
    out = dict(data)
    for key, value in data.items():
        meta = declared.get(key, {})
        if (
            meta.get("kind") == "quantity"
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
            and abs(value) <= 1e308  # else left to group_from_mapping's "must be finite"
        ):
            si_unit = get_unit(get_dimensions(UNITS[meta["unit"]]))
            out[key] = quantity_to_toml(value * si_unit, meta["unit"])
    return out
