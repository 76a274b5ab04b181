"""The one place a dotted path (``kc.tau_m``, ``noise.input_sigma``) is resolved.

A path names a field of a circuit group (``flysim.params.schema.GROUPS``) or of the noise
(``flysim.Noise``); its declaration (kind, TOML unit, range) is the field's, so grids, files and
overrides check and convert values the same way.
"""

from __future__ import annotations

import dataclasses
import math

from brian2 import Quantity

from .io import PATH_GROUPS, group_from_mapping
from .noise import Noise
from .schema import CircuitParams
from .tables import prefixed
from .units import UNITS, ParameterError, quantity_to_toml, shown

__all__ = [
    "with_overrides",
    "apply_overrides",
    "get_path",
    "known_paths",
    "declaration",
    "plain_value",
    "typed_value",
]


def known_paths() -> list[str]:
    """Every dotted path, e.g. ``kc.tau_m``, ``li.strength``, ``noise.input_sigma``."""
    return [
        f"{group}.{f.name}" for group, cls in PATH_GROUPS.items() for f in dataclasses.fields(cls)
    ]


def _split(path: str) -> tuple[str, str]:
    if not isinstance(path, str) or path.count(".") != 1:
        raise ParameterError(
            f"parameter path {path!r} must look like 'group.name', e.g. 'sfa.tau' or "
            "'noise.input_sigma'"
        )
    group, name = path.split(".")
    if group not in PATH_GROUPS:
        raise ParameterError(f"unknown parameter {path!r} (groups: {', '.join(PATH_GROUPS)})")
    names = [f.name for f in dataclasses.fields(PATH_GROUPS[group])]
    if name not in names:
        raise ParameterError(f"unknown parameter {path!r} (known in [{group}]: {', '.join(names)})")
    return group, name


def declaration(path: str) -> dict:
    """The declaration of the field at a dotted path: ``kind`` (quantity, number, integer, flag,
    choice), ``unit`` (its TOML unit, for quantities and numbers), range, ``optional``."""
    group, name = _split(path)
    field = next(f for f in dataclasses.fields(PATH_GROUPS[group]) if f.name == name)
    return dict(field.metadata)


def get_path(params: CircuitParams, path: str, noise: Noise | None = None):
    """The value at a dotted path (a ``noise.*`` path reads ``noise``, default ``Noise()``)."""
    group, name = _split(path)
    if group == "noise":
        return getattr(Noise() if noise is None else noise, name)
    return getattr(getattr(params, group), name)


def _by_group(overrides) -> dict[str, dict]:
    """``{"group.name": value}`` as ``{group: {name: value}}``, every path checked."""
    if not isinstance(overrides, dict):
        raise ParameterError(
            f"overrides must be a dict of 'group.name' -> value, got {shown(overrides)}"
        )
    by_group: dict[str, dict] = {}
    for path, value in overrides.items():
        group, name = _split(path)
        by_group.setdefault(group, {})[name] = value
    return by_group


def _replaced(current, group: str, values: dict):
    """``current`` (one group) with ``values`` applied: TOML-style ``{value, unit}`` tables are
    read as in a file, everything else is taken as it is; errors name ``group.name``."""
    tables = {k: v for k, v in values.items() if isinstance(v, dict)}
    typed = {k: v for k, v in values.items() if not isinstance(v, dict)}
    if tables:
        current = group_from_mapping(group, tables, current)
    try:
        return dataclasses.replace(current, **typed)
    except ParameterError as error:
        raise prefixed(error, group) from None


def apply_overrides(
    params: CircuitParams, noise: Noise | None, overrides: dict
) -> tuple[CircuitParams, Noise]:
    """Copies of ``params`` and ``noise`` (default ``Noise()``) with ``{"group.name": value}``
    applied and validated; ``noise.*`` paths change the noise, the others the circuit.

    Values are quantities (``5*nS``), numbers, booleans, strings, None (for an optional field)
    or TOML-style ``{"value": 5, "unit": "nS"}`` dicts (as read from a scan file).
    """
    noise = Noise() if noise is None else noise
    by_group = _by_group(overrides)
    if "noise" in by_group:
        noise = _replaced(noise, "noise", by_group.pop("noise"))
    groups = {group: _replaced(getattr(params, group), group, v) for group, v in by_group.items()}
    return dataclasses.replace(params, **groups), noise


def with_overrides(params: CircuitParams, overrides: dict) -> CircuitParams:
    """A copy of ``params`` with ``{"group.name": value}`` applied and validated.

    Values are as for :func:`apply_overrides`; ``noise.*`` paths are refused (they are not part
    of a circuit: give them to ``apply_overrides`` or ``flysim.Noise``).
    """
    noise_paths = [f"noise.{name}" for name in _by_group(overrides).get("noise", {})]
    if noise_paths:
        raise ParameterError(
            f"parameter {noise_paths[0]!r} is a noise setting, not a circuit parameter: give it "
            "to flysim.Noise (or to apply_overrides(params, noise, overrides))"
        )
    return apply_overrides(params, None, overrides)[0]


def plain_value(path: str, value):
    """A typed value of ``path`` as the plain value it has in TOML: a float in the field's
    unit for quantities and numbers (NaN for None), an int, a bool or a string otherwise."""
    meta = declaration(path)
    kind = meta.get("kind")  # None for a plain string such as ``kc.neuron``
    if value is None:
        return math.nan
    if kind == "quantity":
        return quantity_to_toml(value, meta["unit"])["value"]  # representation noise removed
    if kind == "number":
        return float(value)
    if kind == "integer":
        return int(value)
    return value


def typed_value(path: str, plain):
    """Inverse of :func:`plain_value`: a plain number in the field's TOML unit as the value it
    stands for (``typed_value("noise.input_sigma", 10) == 10 * Hz``; NaN is None for an optional
    field)."""
    meta = declaration(path)
    if meta.get("kind") != "quantity" or isinstance(plain, Quantity):
        return plain
    if meta.get("optional") and isinstance(plain, float) and math.isnan(plain):
        return None
    if isinstance(plain, bool) or not isinstance(plain, (int, float)):
        return plain  # not a number: left for the field's own check to name
    return plain * UNITS[meta["unit"]]
