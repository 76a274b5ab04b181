"""A scan's grid: dotted paths and their values, checked and turned into axes."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..params import CircuitParams
from ..params.noise import Noise
from ..params.overrides import apply_overrides, declaration, get_path, plain_value, typed_value
from ..params.units import shown

__all__ = ["Axis", "axis_of", "normalize_grid", "grid_declaration", "check_seeds"]


@dataclass(frozen=True)
class Axis:
    """One grid path: its coordinates (plain values, in ``unit``) and how to rebuild values."""

    path: str
    coords: tuple
    unit: str | None  # TOML unit of a numeric value ("1" if dimensionless), None otherwise
    kind: str | None  # quantity | number | integer | flag | choice (declared), None: a string
    optional: bool = False  # None is a value (its coordinate is NaN)

    def value(self, coord):
        """The value a coordinate stands for (a Quantity for quantities, None for NaN)."""
        return typed_value(self.path, coord)


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


def grid_declaration(path) -> dict:
    """The declaration of a grid path's field; an unknown path is a one-line error."""
    try:
        return declaration(path)
    except ValueError as error:
        raise ValueError(f"grid: {error}") from None


def _coordinate(path, value, base_params: CircuitParams, base_noise: Noise):
    """The plain coordinate of one grid value, checked as an override of its field."""
    if isinstance(value, np.generic):
        value = value.item()
    try:
        params, noise = apply_overrides(base_params, base_noise, {path: value})
    except (TypeError, ValueError) as error:
        message = str(error)
        raise ValueError(message if path in message else f"grid '{path}': {message}") from None
    return plain_value(path, get_path(params, path, noise))


def _refuse_duplicates(path, coords, unit):
    seen = set()
    for coord in coords:
        marker = json.dumps(coord)
        if marker in seen:
            text = f"{coord} {unit}" if unit not in (None, "1") else repr(coord)
            raise ValueError(f"grid '{path}' lists the value {text} twice")
        seen.add(marker)


def axis_of(path: str, coords) -> Axis:
    """The axis of ``path`` with these (checked, plain) coordinates."""
    meta = grid_declaration(path)
    kind = meta.get("kind")  # None for a plain string field such as kc.neuron
    unit = meta.get("unit") if kind in ("quantity", "number") else None
    _refuse_duplicates(path, coords, unit)
    return Axis(
        path=path, coords=tuple(coords), unit=unit, kind=kind, optional=bool(meta.get("optional"))
    )


def _axis(path, values, base_params: CircuitParams, base_noise: Noise) -> Axis:
    grid_declaration(path)  # an unknown path is named before its values are looked at
    values = _values_list(path, values)
    return axis_of(path, [_coordinate(path, value, base_params, base_noise) for value in values])


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
