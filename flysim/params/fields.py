"""Field declarations that carry a unit and a valid range, and the checks they imply."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from brian2 import Quantity, get_dimensions
from brian2.units.fundamentalunits import DIMENSIONLESS

from .units import UNITS, ParameterError, dimension_name, shown

__all__ = ["quantity", "number", "integer", "flag", "choice", "ParamGroup"]


def quantity(default, unit: str, *, minimum=None, positive=False, optional=False, doc=""):
    """A physical value in ``unit`` (the unit also used when writing TOML); ``optional``: None
    is a valid value too (it means "off", e.g. ``noise.input_tau``)."""
    # Quantities are unhashable arrays, so dataclasses need a factory for them.
    return dataclasses.field(
        default_factory=lambda: default,
        metadata=dict(
            kind="quantity",
            unit=unit,
            minimum=minimum,
            positive=positive,
            optional=optional,
            doc=doc,
        ),
    )


def number(default, *, minimum=None, maximum=None, positive=False, doc=""):
    """A dimensionless real number."""
    return dataclasses.field(
        default=default,
        metadata=dict(
            kind="number", unit="1", minimum=minimum, maximum=maximum, positive=positive, doc=doc
        ),
    )


#: Largest count any integer parameter may take: far above a fly's circuit (~1e5 neurons), so a
#: larger one is a typo that would otherwise surface as an out-of-memory build.
MAX_COUNT = 10**6


def integer(default, *, minimum=1, maximum=MAX_COUNT, doc=""):
    return dataclasses.field(
        default=default, metadata=dict(kind="integer", minimum=minimum, maximum=maximum, doc=doc)
    )


def flag(default, *, doc=""):
    return dataclasses.field(default=default, metadata=dict(kind="flag", doc=doc))


def choice(default, options, *, doc=""):
    return dataclasses.field(
        default=default, metadata=dict(kind="choice", options=tuple(options), doc=doc)
    )


def _check_range(name, value, meta, shown):
    if meta.get("positive") and not value > 0:
        raise ParameterError(f"parameter '{name}' must be > 0, got {shown}")
    minimum = meta.get("minimum")
    if minimum is not None and value < minimum:
        raise ParameterError(f"parameter '{name}' must be >= {minimum}, got {shown}")
    maximum = meta.get("maximum")
    if maximum is not None and value > maximum:
        raise ParameterError(f"parameter '{name}' must be <= {maximum}, got {shown}")


def _check_quantity(name, value, meta):
    unit = UNITS[meta["unit"]]
    if not isinstance(value, Quantity) or get_dimensions(value) != get_dimensions(unit):
        got = (
            dimension_name(get_dimensions(value))
            if isinstance(value, Quantity)
            else ("a plain number" if isinstance(value, (int, float)) else type(value).__name__)
        )
        raise ParameterError(
            f"parameter '{name}' needs units of {dimension_name(get_dimensions(unit))}, "
            f'e.g. {{value = ..., unit = "{meta["unit"]}"}}; got {got}'
        )
    if value.shape != ():  # float() of an array would raise a TypeError naming nothing
        raise ParameterError(
            f"parameter '{name}' must be a single value, got an array of shape {value.shape}"
        )
    raw = float(value / unit)
    if not math.isfinite(raw):
        raise ParameterError(f"parameter '{name}' must be finite, got {value}")
    minimum = meta.get("minimum")
    scaled = dict(meta, minimum=None if minimum is None else float(minimum / unit))
    _check_range(name, raw, scaled, f"{raw} {meta['unit']}")


def check_field(name: str, value, meta: dict):
    """Raise ParameterError naming ``name`` if ``value`` does not fit the declaration ``meta``."""
    kind = meta["kind"]
    if value is None and meta.get("optional"):
        return
    if kind == "quantity":
        _check_quantity(name, value, meta)
    elif kind == "number":
        if isinstance(value, Quantity) and get_dimensions(value) is not DIMENSIONLESS:
            raise ParameterError(f"parameter '{name}' is dimensionless, got {value}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"parameter '{name}' must be a number, got {shown(value)}")
        if abs(value) > 1e308 or not math.isfinite(value):  # abs() first: huge ints overflow
            raise ParameterError(f"parameter '{name}' must be finite, got {value}")
        _check_range(name, value, meta, value)
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"parameter '{name}' must be an integer, got {shown(value)}")
        _check_range(name, value, meta, value)
    elif kind == "flag":
        if not isinstance(value, bool):
            raise ParameterError(f"parameter '{name}' must be true or false, got {shown(value)}")
    elif kind == "choice":
        if value not in meta["options"]:
            raise ParameterError(
                f"parameter '{name}' must be one of {list(meta['options'])}, got {shown(value)}"
            )


def _same(a, b) -> bool:
    if isinstance(a, Quantity) or isinstance(b, Quantity):
        try:
            return bool(abs(a - b) <= 1e-12 * max(abs(a), abs(b)))
        except Exception:  # different dimensions
            return False
    return a == b


class ParamGroup:
    """Base of the frozen parameter groups: validates every field after construction.

    Equality tolerates 1e-12 relative float noise from unit conversion, so that
    ``load(dump(p)) == p`` holds for quantities written in display units.
    """

    #: The dotted-path group of a class that is only ever one group (``noise``), so that its
    #: errors name the full path even when it is built directly. Circuit groups leave it None:
    #: their path depends on where they sit (``NeuronParams`` is ``pn``, ``kc``, ...), and the
    #: code that puts them there adds it.
    GROUP: ClassVar[str | None] = None

    def __post_init__(self):
        prefix = f"{self.GROUP}." if self.GROUP else ""
        for f in dataclasses.fields(self):
            if f.metadata.get("kind"):
                check_field(prefix + f.name, getattr(self, f.name), f.metadata)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(
            _same(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self)
        )

    __hash__ = None
