"""Reading and writing quantities as ``{value = 50, unit = "ms"}`` without ``eval``."""

from __future__ import annotations

import math

import brian2.units.allunits as _allunits
import brian2.units.stdunits as _stdunits
from brian2 import Quantity, Unit, get_dimensions
from brian2.units.fundamentalunits import DIMENSIONLESS

__all__ = [
    "UNITS",
    "parse_quantity",
    "quantity_to_toml",
    "dimension_name",
    "ParameterError",
    "shown",
]


def shown(value, limit: int = 80) -> str:
    """``repr(value)`` on one line and at most ``limit`` characters, for error messages (the repr
    of a numpy array spans several lines, and an error must stay one line)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ParameterError(ValueError):
    """A parameter file, override or value is invalid; the message names the parameter."""


def _unit_table() -> dict[str, Unit]:
    table = {}
    for module in (_allunits, _stdunits):
        for name, value in vars(module).items():
            if isinstance(value, Unit) and not name.startswith("_"):
                table[name] = value
    return table


#: Every unit name brian2 knows (``ms``, ``mV``, ``nS``, ``pF``, ``Hz``, ``msecond`` ...).
UNITS: dict[str, Unit] = _unit_table()


def dimension_name(dim) -> str:
    """Readable name of a physical dimension, e.g. 'time (s)'."""
    names = {
        get_dimensions(_allunits.second): "time (s)",
        get_dimensions(_allunits.volt): "voltage (V)",
        get_dimensions(_allunits.siemens): "conductance (S)",
        get_dimensions(_allunits.farad): "capacitance (F)",
        get_dimensions(_allunits.amp): "current (A)",
        get_dimensions(_allunits.hertz): "rate (Hz)",
        DIMENSIONLESS: "dimensionless",
    }
    return names.get(dim, str(dim))


def parse_quantity(key: str, raw) -> Quantity | float:
    """Turn a TOML value ``{value = 5, unit = "nS"}`` (or a plain number) into a quantity."""
    if isinstance(raw, dict):
        extra = set(raw) - {"value", "unit"}
        if extra or "value" not in raw:
            raise ParameterError(
                f"parameter '{key}': expected {{value = ..., unit = \"...\"}}, "
                f"got keys {sorted(raw)}"
            )
        value = raw["value"]
        unit_name = raw.get("unit", "1")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ParameterError(f"parameter '{key}': value must be a number, got {shown(value)}")
        if abs(value) > 1e308:  # a huge int would overflow float()
            raise ParameterError(f"parameter '{key}': value must be finite, got {shown(value)}")
        if unit_name in ("1", ""):
            return float(value)
        if not isinstance(unit_name, str) or unit_name not in UNITS:
            raise ParameterError(f"parameter '{key}': unknown unit {unit_name!r}")
        return float(value) * UNITS[unit_name]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if abs(raw) > 1e308:
            raise ParameterError(f"parameter '{key}': value must be finite, got {shown(raw)}")
        return float(raw)
    raise ParameterError(f"parameter '{key}': expected a number with a unit, got {shown(raw)}")


def quantity_to_toml(value, unit_name: str) -> dict:
    """``{value, unit}`` for TOML, expressed in ``unit_name`` (``"1"`` for dimensionless)."""
    if unit_name == "1":
        return {"value": float(value), "unit": "1"}
    number = float(value / UNITS[unit_name])
    # Undo representation noise from the unit conversion (289.5 pF -> 289.49999999999997).
    rounded = float(f"{number:.12g}")
    return {
        "value": rounded if math.isclose(rounded, number, rel_tol=1e-12) else number,
        "unit": unit_name,
    }
