"""``with_overrides``: the one place a dotted parameter path is resolved."""

from __future__ import annotations

import dataclasses

from brian2 import Quantity

from .io import group_from_mapping
from .schema import GROUPS, CircuitParams
from .units import ParameterError, shown

__all__ = ["with_overrides", "get_path", "known_paths"]


def known_paths() -> list[str]:
    """Every overridable dotted path, e.g. ``kc.tau_m``, ``li.strength``."""
    return [f"{group}.{f.name}" for group, cls in GROUPS.items() for f in dataclasses.fields(cls)]


def _split(path: str) -> tuple[str, str]:
    if not isinstance(path, str) or path.count(".") != 1:
        raise ParameterError(f"parameter path {path!r} must look like 'group.name', e.g. 'sfa.tau'")
    group, name = path.split(".")
    if group not in GROUPS:
        raise ParameterError(f"unknown parameter {path!r} (groups: {', '.join(GROUPS)})")
    names = [f.name for f in dataclasses.fields(GROUPS[group])]
    if name not in names:
        raise ParameterError(f"unknown parameter {path!r} (known in [{group}]: {', '.join(names)})")
    return group, name


def get_path(params: CircuitParams, path: str):
    """The value at a dotted path."""
    group, name = _split(path)
    return getattr(getattr(params, group), name)


def with_overrides(params: CircuitParams, overrides: dict) -> CircuitParams:
    """A copy of ``params`` with ``{"group.name": value}`` applied and validated.

    Values are quantities (``5*nS``), numbers, booleans, strings, or TOML-style
    ``{"value": 5, "unit": "nS"}`` dicts (as read from a scan file).
    """
    if not isinstance(overrides, dict):
        raise ParameterError(
            f"overrides must be a dict of 'group.name' -> value, got {shown(overrides)}"
        )
    by_group: dict[str, dict] = {}
    for path, value in overrides.items():
        group, name = _split(path)
        by_group.setdefault(group, {})[name] = value
    replaced = {}
    for group, values in by_group.items():
        current = getattr(params, group)
        plain = {k: v for k, v in values.items() if isinstance(v, dict)}
        typed = {k: v for k, v in values.items() if not isinstance(v, dict)}
        if plain:
            current = group_from_mapping(group, plain, current)
        try:
            for name, value in typed.items():
                if isinstance(value, Quantity) and value.shape != ():
                    raise ParameterError(
                        f"parameter '{name}' must be a scalar, got an array of shape {value.shape}"
                    )
            replaced[group] = dataclasses.replace(current, **typed)
        except ParameterError as error:
            raise ParameterError(
                str(error).replace("parameter '", f"parameter '{group}.", 1)
            ) from None
    return dataclasses.replace(params, **replaced)
