"""Compile once (cached on disk, keyed by structure), run many times with new values."""

from .build import compilation_count, compile_structure
from .cache import cache_dir
from .entry import CacheEntryError
from .runner import CompiledCircuit, SimulationError
from .values import parameter_values

__all__ = [
    "CacheEntryError",
    "CompiledCircuit",
    "SimulationError",
    "cache_dir",
    "compilation_count",
    "compile_structure",
    "parameter_values",
]
