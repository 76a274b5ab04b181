"""Input checks and output labelling shared by the analysis modules (private).

Every public analysis function validates its inputs with these helpers so that the error
messages have one shape: ``<function>: <what is wrong>; <what is there>``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "aligned",
    "apply_kernel",
    "as_dims",
    "check_dataarray",
    "coords_on",
    "labelled",
    "require_dims",
    "require_size",
]


def check_dataarray(obj: Any, func: str, arg: str = "responses") -> None:
    """Raise TypeError unless ``obj`` is an ``xarray.DataArray``."""
    if not isinstance(obj, xr.DataArray):
        raise TypeError(f"{func}: {arg} must be an xarray.DataArray, got {type(obj).__name__}")


def as_dims(dims: Hashable | Iterable[Hashable]) -> tuple[Hashable, ...]:
    """A single dim name or a sequence of names, as a tuple of names."""
    if isinstance(dims, str) or not isinstance(dims, Iterable):
        return (dims,)
    return tuple(dims)


def require_dims(
    da: xr.DataArray, dims: Hashable | Iterable[Hashable], func: str, arg: str = "responses"
) -> None:
    """Raise a one-line ValueError naming a missing dim and the dims present."""
    check_dataarray(da, func, arg)
    for dim in as_dims(dims):
        if dim not in da.dims:
            raise ValueError(
                f"{func}: dim {dim!r} not found in {arg}; dims present: {tuple(da.dims)}"
            )


def require_size(
    da: xr.DataArray, dim: Hashable, minimum: int, func: str, what: str = "entries"
) -> None:
    """Raise ValueError if ``da`` has fewer than ``minimum`` entries along ``dim``."""
    size = da.sizes[dim]
    if size < minimum:
        raise ValueError(f"{func}: needs at least {minimum} {what} along dim {dim!r}, got {size}")


def coords_on(da: xr.DataArray, dims: Iterable[Hashable]) -> dict[Hashable, xr.DataArray]:
    """The coordinates of ``da`` that live only on ``dims`` (to carry over to a reduced result)."""
    keep = set(dims)
    return {name: coord for name, coord in da.coords.items() if set(coord.dims) <= keep}


def labelled(
    da: xr.DataArray,
    name: str,
    long_name: str,
    units: str = "1",
    extra: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Give a freshly computed result its name and a new attrs dict (never the input's)."""
    attrs: dict[str, Any] = {"long_name": long_name, "units": units}
    for key, value in (extra or {}).items():
        # netCDF cannot store booleans or None; keep attrs serialisable.
        if isinstance(value, (bool, np.bool_)):
            value = int(value)
        if value is not None:
            attrs[key] = value
    da.name = name
    da.attrs = attrs
    return da


def aligned(
    a: xr.DataArray,
    b: xr.DataArray,
    func: str,
    names: tuple[str, str],
    exclude: Iterable[Hashable] = (),
) -> tuple[xr.DataArray, xr.DataArray]:
    """``a`` and ``b`` with exactly matching coordinates, or a one-line ValueError."""
    try:
        a, b = xr.align(a, b, join="exact", exclude=list(exclude))
        shared = (set(a.dims) & set(b.dims)) - set(exclude)
        for dim in shared:
            if a.sizes[dim] != b.sizes[dim]:
                raise ValueError(f"sizes along {dim!r} differ: {a.sizes[dim]} != {b.sizes[dim]}")
    except ValueError as error:
        message = " ".join(str(error).split())
        raise ValueError(f"{func}: {names[0]} and {names[1]} do not align ({message})") from None
    return a, b


def apply_kernel(
    kernel,
    *args: xr.DataArray,
    input_core_dims: list[list[Hashable]],
    output_core_dims: list[list[Hashable]] | None = None,
    output_sizes: Mapping[Hashable, int] | None = None,
    exclude_dims: Iterable[Hashable] = (),
    kwargs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """``xarray.apply_ufunc`` of a numpy kernel over the core dims, broadcasting the rest.

    The kernel gets float64 arrays with the core dims last. Dask-backed inputs stay lazy: the
    kernel runs per block of the broadcast dims (core dims are merged into one chunk).
    """
    gufunc_kwargs: dict[str, Any] = {"allow_rechunk": True}
    if output_sizes:
        gufunc_kwargs["output_sizes"] = dict(output_sizes)
    return xr.apply_ufunc(
        kernel,
        *args,
        input_core_dims=input_core_dims,
        output_core_dims=output_core_dims or [[]],
        exclude_dims=set(exclude_dims),
        kwargs=dict(kwargs or {}),
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs=gufunc_kwargs,
        keep_attrs=False,
    )
