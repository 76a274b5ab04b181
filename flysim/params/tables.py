"""One parameter group as a TOML table and back: what the circuit's groups and the noise share.

A table holds ``{value = 5, unit = "nS"}`` for quantities, numbers (plain or ``{value, unit =
"1"}``), flags, strings and integers; the field declarations say which is which.
"""

from __future__ import annotations

import dataclasses

from .units import ParameterError, parse_quantity, quantity_to_toml, shown

__all__ = ["group_from_table", "group_to_dict", "prefixed"]


def prefixed(error: ParameterError, group: str) -> ParameterError:
    """``error`` naming ``group.name`` instead of ``name`` (unless its group already named it)."""
    message = str(error)
    if f"parameter '{group}." in message:
        return error
    return ParameterError(message.replace("parameter '", f"parameter '{group}.", 1))


def _typed(group: str, key: str, raw, meta):
    """A TOML value as the field declared by ``meta`` takes it."""
    if raw is None and meta.get("optional"):  # JSON null (TOML has none): the field is off
        return None
    if meta.get("kind") in ("quantity", "number"):
        return parse_quantity(f"{group}.{key}", raw)
    return raw


def group_from_table(cls, group: str, mapping: dict, base=None):
    """The group class ``cls``, named ``group`` in paths and errors, built from TOML-style
    values on top of ``base`` (or the defaults)."""
    if not isinstance(mapping, dict):
        raise ParameterError(f"parameter group '{group}' must be a table, got {shown(mapping)}")
    base = base if base is not None else cls()
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, raw in mapping.items():
        if key not in fields:
            raise ParameterError(
                f"unknown parameter {f'{group}.{key}'!r} (known in [{group}]: {', '.join(fields)})"
            )
        values[key] = _typed(group, key, raw, fields[key].metadata)
    try:
        return dataclasses.replace(base, **values)
    except ParameterError as error:
        raise prefixed(error, group) from None


def group_to_dict(group) -> dict:
    """A group's fields as TOML-style plain values (``group_from_table`` reads them back)."""
    out = {}
    for f in dataclasses.fields(group):
        value = getattr(group, f.name)
        kind = f.metadata.get("kind")
        if value is None:  # an optional field that is off
            out[f.name] = None
        elif kind == "quantity":
            out[f.name] = quantity_to_toml(value, f.metadata["unit"])
        elif kind == "number":
            out[f.name] = {"value": float(value), "unit": "1"}
        else:
            out[f.name] = value
    return out
