"""What a scan needs of its experiment: a description for the store, and one point's task."""

from __future__ import annotations

import functools
import inspect
import json

import numpy as np
import xarray as xr
from brian2 import Quantity

__all__ = ["describe_experiment", "run_point", "STRUCTURES"]

#: Point attr: the compiled structures (``simulate``'s ``structure_key``) a point ran.
STRUCTURES = "structure_keys"


def _jsonable(value):
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    return repr(value)


def describe_experiment(experiment) -> dict:
    """What a store records about an experiment (a JSON-able dict)."""
    if not callable(experiment):
        raise TypeError(
            f"experiment must be callable as experiment(params, noise, seed), got {experiment!r}"
        )
    if hasattr(experiment, "describe"):
        description = experiment.describe()
        if not isinstance(description, dict):
            raise TypeError(f"{experiment!r}.describe() must return a dict")
    elif isinstance(experiment, functools.partial):
        description = {
            "function": _jsonable(experiment.func),
            "args": list(experiment.args),
            "kwargs": dict(experiment.keywords),
        }
    elif inspect.isfunction(experiment) or inspect.ismethod(experiment):
        description = {"function": _jsonable(experiment)}
    else:
        cls = type(experiment)
        description = {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "settings": dict(getattr(experiment, "__dict__", {})),
        }
    return json.loads(json.dumps(description, sort_keys=True, default=_jsonable))


def run_point(experiment, params, noise, seed) -> xr.Dataset:
    """The task of one (grid point, fly): runs on a worker, returns the Dataset (never writes)."""
    from ..engine.build import structure_keys_used

    before = len(structure_keys_used())
    ds = experiment(params, noise, seed)
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"experiment must return an xarray.Dataset, got {type(ds).__name__}")
    keys = sorted(set(structure_keys_used()[before:]))
    return ds.assign_attrs({STRUCTURES: json.dumps(keys)}) if keys else ds
