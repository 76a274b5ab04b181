"""The run-time values of a circuit's constants, computed from its parameters and noise."""

from __future__ import annotations

from ..model.constants import run_time_constants
from ..model.structure import Structure
from ..params import CircuitParams
from ..params.noise import Noise

__all__ = ["parameter_values"]


def parameter_values(
    params: CircuitParams, structure: Structure, noise: Noise | None = None
) -> dict[str, float]:
    """{'group.variable': SI float} for every constant the compiled ``structure`` reads at run
    time (``flysim.model.constants``)."""
    return {name: c.value for name, c in run_time_constants(params, structure, noise).items()}
