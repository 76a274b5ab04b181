"""Who wrote a saved result, and whether this flysim may read it: ``open_result``.

Every result (``simulate``, ``scan``, the redundancy experiment) stores ``attrs["versions"]``, a
JSON dict of the flysim, brian2 and numpy (and xarray) versions that made it. A result written
by another flysim *major.minor* is refused: layouts and attrs may differ between them, and a
silently misread result is worse than an error. A result without versions gets a warning.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

__all__ = [
    "open_result",
    "check_version",
    "VersionMismatchError",
    "package_versions",
    "stored_versions",
    "VERSIONS",
]

#: The attribute (of a Dataset, or of a zarr store's root group) that records the versions.
VERSIONS = "versions"


def package_versions() -> dict:
    """Installed versions of flysim and the packages a stored result depends on."""
    from importlib import metadata

    out = {}
    for package in ("flysim", "brian2", "numpy", "xarray", "zarr"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out


def stored_versions(path) -> dict:
    """The package versions a zarr store (a scan's) records in its root group ({} if none)."""
    try:
        attrs = json.loads((Path(path) / "zarr.json").read_text()).get("attributes", {})
    except (OSError, ValueError):
        return {}
    versions = attrs.get(VERSIONS)
    return versions if isinstance(versions, dict) else {}


class VersionMismatchError(ValueError):
    """A result or store was written by a flysim of another major.minor version."""


def _major_minor(version: str) -> tuple:
    return tuple(str(version).split(".")[:2])


def check_version(written, what: str, error=VersionMismatchError):
    """Refuse ``what`` (e.g. "result 'run.nc'") if written by another flysim major.minor.

    ``written`` is the flysim version recorded in it, or None if it records none (a warning).
    """
    from .. import __version__

    if written is None:
        warnings.warn(
            f"{what} records no flysim version; reading it as if written by flysim {__version__}",
            stacklevel=3,
        )
        return
    if _major_minor(written) != _major_minor(__version__):
        raise error(
            f"{what} was written by flysim {written}, this is flysim {__version__} "
            f"(major.minor differ): re-create it with this version, or read it with flysim "
            f"{'.'.join(_major_minor(written))}.x"
        )


def recorded_flysim_version(attrs: dict):
    """The flysim version in ``attrs["versions"]`` (a JSON string or a dict), or None."""
    versions = attrs.get(VERSIONS)
    if isinstance(versions, str):
        try:
            versions = json.loads(versions)
        except ValueError:
            return None
    return versions.get("flysim") if isinstance(versions, dict) else None


def open_result(path):
    """Load a saved result (netCDF file or zarr directory) into memory, checking its version.

    Raises a one-line ``ValueError`` if the file is missing or unreadable, and
    ``VersionMismatchError`` (a ValueError) if another flysim major.minor wrote it: while
    flysim is 0.x a minor version may change what a stored variable means (the compatibility
    policy; from 1.0 on, results of the same major version will be read). A scan's store is
    read with ``flysim.open_scan``.
    """
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise ValueError(f"result '{path}' does not exist")
    if path.is_dir() and (path / "points").is_dir():
        check_version(stored_versions(path).get("flysim"), f"scan store '{path}'")
        raise ValueError(f"'{path}' is a scan store: read it with flysim.open_scan('{path}')")
    try:
        if path.is_dir():
            with warnings.catch_warnings():  # "no consolidated metadata" is not the user's problem
                warnings.filterwarnings("ignore", message=".*consolidated.*")
                with xr.open_zarr(path, consolidated=None) as opened:
                    ds = opened.load()
        else:
            with xr.open_dataset(path) as opened:
                ds = opened.load()
    except Exception as error:  # noqa: BLE001 - any failure means "not a readable result"
        first = (str(error).splitlines() or [type(error).__name__])[0]
        raise ValueError(f"result '{path}' cannot be read as netCDF or zarr: {first}") from None
    check_version(recorded_flysim_version(ds.attrs), f"result '{path}'")
    return ds
