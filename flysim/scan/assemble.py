"""A scan's points, read back from the store, as one Dataset with a dim per grid path."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..run.provenance import package_versions
from .experiment import STRUCTURES

__all__ = ["assemble"]


def assemble(datasets, axes, seeds, identity) -> xr.Dataset:
    names = [a.path for a in axes] + ["fly"]
    for ds in datasets[:1]:
        clash = set(ds.dims) & set(names)
        if clash:
            raise ValueError(f"experiment results have dims {sorted(clash)}, which the scan uses")
    shape = [len(a.coords) for a in axes] + [len(seeds)]
    try:
        stacked = xr.concat(
            datasets,
            dim="__point",
            data_vars="all",
            coords="different",
            compat="equals",
            join="exact",
            combine_attrs="override",
        )
    except ValueError as error:
        message = str(error).splitlines()[0]
        raise ValueError(
            f"the experiment's results at different points do not line up ({message}); an "
            f"experiment must return the same variables and coordinates at every point"
        ) from None
    variables, coords = {}, {}
    for name, var in stacked.variables.items():
        if "__point" in var.dims:
            var = var.transpose("__point", ...)
            var = xr.Variable(
                names + list(var.dims[1:]),
                var.values.reshape(shape + list(var.shape[1:])),
                var.attrs,
            )
        (coords if name in stacked.coords else variables)[name] = var
    for axis in axes:
        coords[axis.path] = xr.Variable(
            axis.path,
            np.asarray(axis.coords),
            {
                "long_name": axis.path,
                "units": axis.unit if axis.unit is not None else "",
                **({"nan_means": "None"} if axis.optional else {}),
            },
        )
    coords["fly"] = xr.Variable("fly", np.asarray(seeds), {"long_name": "wiring (fly) seed"})
    order = list(datasets[0].data_vars) if datasets else []
    variables = {name: variables[name] for name in order + sorted(set(variables) - set(order))}
    out = xr.Dataset(variables, coords=coords)
    structures = {k for ds in datasets for k in json.loads(ds.attrs.get(STRUCTURES, "[]"))}
    out.attrs = {
        "title": "flysim scan",
        "flysim_scan": json.dumps(identity, sort_keys=True),
        "grid": json.dumps({a.path: list(a.coords) for a in axes}),
        "wiring_seeds": json.dumps(list(seeds)),
        "structure_keys": json.dumps(sorted(structures)),
        "versions": json.dumps(package_versions()),
    }
    return out
