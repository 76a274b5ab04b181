"""A scan's grid: dotted paths and their values, checked and turned into axes."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

import numpy as np
from brian2 import Quantity

from ..params import CircuitParams, get_path, known_paths, with_overrides
from ..params.noise import Noise
from ..params.schema import GROUPS
from ..params.units import UNITS, parse_quantity, quantity_to_toml, shown

__all__ = ["Axis", "normalize_grid", "check_path", "check_seeds", "NOISE_UNITS"]

#: TOML unit of each numeric Noise field (coordinates are expressed in it).
NOISE_UNITS = {
    "input_sigma": "Hz",
    "input_tau": "ms",
    "background": "1",
    "kc_current_sigma": "pA",
    "kc_current_tau": "ms",
    "onset_jitter": "ms",
}
_NOISE_QUANTITIES = {"input_tau", "kc_current_sigma", "kc_current_tau", "onset_jitter"}
_NOISE_FIELDS = [f.name for f in dataclasses.fields(Noise)]
@dataclass(frozen=True)
class Axis:
    """One grid path: its coordinates (plain values, in ``unit``) and how to rebuild values."""

    path: str
    coords: tuple
    unit: str | None  # TOML unit of a numeric value ("1" if dimensionless), None otherwise
    kind: str  # quantity | number | integer | flag | choice | noise

    @property
    def is_noise(self) -> bool:
        return self.path.startswith("noise.")

    def value(self, coord):
        """The value a coordinate stands for (a Quantity for quantities, None for a NaN tau)."""
        if self.kind == "quantity" or (self.is_noise and self.path[6:] in _NOISE_QUANTITIES):
            if isinstance(coord, float) and math.isnan(coord):
                return None
            return coord * UNITS[self.unit]
        return coord


def _plain(value, unit):
    """A quantity or number as a plain float in ``unit`` (representation noise removed)."""
    if isinstance(value, Quantity):
        return quantity_to_toml(value, unit)["value"]
    return float(value)


def check_path(path) -> tuple[str, str]:
    if not isinstance(path, str) or path.count(".") != 1:
        raise ValueError(
            f"grid path {path!r} must look like 'group.name' (e.g. 'li.strength') or "
            f"'noise.field' (e.g. 'noise.input_sigma')"
        )
    group, name = path.split(".")
    if group == "noise":
        if name not in _NOISE_FIELDS:
            raise ValueError(
                f"unknown grid path {path!r} (noise fields: {', '.join(_NOISE_FIELDS)})"
            )
    elif group not in GROUPS:
        raise ValueError(f"unknown grid path {path!r} (groups: {', '.join(GROUPS)}, noise)")
    elif path not in known_paths():
        names = [f.name for f in dataclasses.fields(GROUPS[group])]
        raise ValueError(f"unknown grid path {path!r} (known in [{group}]: {', '.join(names)})")
    return group, name


def _values_list(path, values) -> list:
    if isinstance(values, (list, tuple)):
        values = list(values)
    elif isinstance(values, np.ndarray) and values.ndim == 1:
        values = [values[i] for i in range(len(values))]  # keeps units of a Quantity array
    else:
        raise ValueError(
            f"grid '{path}' must be a list of values, got {type(values).__name__} {shown(values)}"
        )
    if not values:
        raise ValueError(f"grid '{path}' has an empty list of values")
    return values


def _axis(path, values, base_params: CircuitParams, base_noise: Noise) -> Axis:
    group, name = check_path(path)
    values = _values_list(path, values)
    coords = []
    if group == "noise":
        unit = NOISE_UNITS.get(name)
        kind = "noise"
        for value in values:
            if isinstance(value, dict):
                value = parse_quantity(path, value)
            if isinstance(value, np.generic):
                value = value.item()
            try:
                noise = dataclasses.replace(base_noise, **{name: value})
            except (TypeError, ValueError) as error:
                raise ValueError(f"grid '{path}': value {shown(value)}: {error}") from None
            typed = getattr(noise, name)
            if typed is None:
                coords.append(float("nan"))
            elif unit is not None:
                coords.append(_plain(typed, unit))
            else:
                coords.append(typed if isinstance(typed, (bool, str)) else int(typed))
    else:
        meta = next(f for f in dataclasses.fields(GROUPS[group]) if f.name == name).metadata
        kind = meta.get("kind")
        unit = meta.get("unit") if kind in ("quantity", "number") else None
        for value in values:
            if isinstance(value, np.generic):
                value = value.item()
            try:
                typed = get_path(with_overrides(base_params, {path: value}), path)
            except (TypeError, ValueError) as error:
                message = str(error)
                raise ValueError(
                    message if path in message else f"grid '{path}': {message}"
                ) from None
            if kind in ("quantity", "number"):
                coords.append(_plain(typed, unit))
            elif kind == "integer":
                coords.append(int(typed))
            else:
                coords.append(typed)
    seen = set()
    for coord in coords:
        marker = json.dumps(coord)
        if marker in seen:
            text = f"{coord} {unit}" if unit not in (None, "1") else repr(coord)
            raise ValueError(f"grid '{path}' lists the value {text} twice")
        seen.add(marker)
    return Axis(path=path, coords=tuple(coords), unit=unit, kind=kind)


def normalize_grid(grid, base_params: CircuitParams, base_noise: Noise | None = None):
    """Check a grid and turn it into a list of ``Axis`` (one per path, in the grid's order).

    Raises a one-line ``ValueError`` for a non-dict grid, unknown paths, non-list or empty value
    lists, invalid values (units, ranges) and duplicated values.
    """
    base_noise = Noise() if base_noise is None else base_noise
    if not isinstance(grid, dict):
        raise ValueError(f"grid must be a dict of path -> list of values, got {shown(grid)}")
    return [_axis(path, values, base_params, base_noise) for path, values in grid.items()]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_seeds(seeds) -> list[int]:
    given = [seeds] if _is_int(seeds) else seeds
    if isinstance(given, (str, bytes, dict)) or not isinstance(
        given, (list, tuple, range, np.ndarray)
    ):
        given = None
    if (
        given is None
        or not len(given)
        or not all(_is_int(s) and s >= 0 for s in given)
        or len(set(map(int, given))) != len(given)
    ):
        raise ValueError(
            f"seeds must be a non-empty list of distinct integers >= 0, got {shown(seeds)}"
        )
    return [int(s) for s in given]


