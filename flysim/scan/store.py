"""The on-disk store of a scan: one zarr group per (grid point, fly), each renamed into place.

Layout of a store directory (a zarr v3 hierarchy)::

    STORE/
      zarr.json                 root group; attrs["flysim_scan"] = what scan this store belongs to
                                (the one driver writing to the store holds a flock on this file)
      request.json              the grid (paths, values in order) and fly seeds of the latest
                                scan call, so that ``flysim.scan.open_scan`` rebuilds its Dataset
      points/
        zarr.json
        <key>/                  one finished point (an xarray Dataset written with to_zarr)
        .tmp-<key>-<random>/    a point being written; never read, deleted when the store opens

A point is written under a temporary name, flushed (fsync) and renamed to ``<key>`` in one
``rename(2)``, so a driver killed at any moment (even by SIGKILL) leaves only whole points under
their final names. Only the driver process writes; the lock refuses a second driver instead of
letting two scans interleave on one store.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from ..params.noise import Noise
from ..run.provenance import VERSIONS, check_version, package_versions, stored_versions

__all__ = [
    "ScanStore",
    "MemoryStore",
    "StoreMismatchError",
    "FORMAT",
    "read_store",
    "stored_versions",
]

#: Written into the store; bump when the layout changes.
FORMAT = "flysim-scan/1"
_ATTR = "flysim_scan"
_POINT_ATTR = "flysim_scan_point"
_TMP = ".tmp-"
_REQUEST = "request.json"


class StoreMismatchError(ValueError):
    """The store belongs to another scan (other experiment, base parameters, noise or paths)."""


def _normal(data):
    """JSON round trip: tuples become lists, so stored and current descriptions compare."""
    return json.loads(json.dumps(data, sort_keys=True))


def _base_noise_as_now(stored: dict, current: dict) -> dict:
    """``stored`` with its base noise as this flysim writes it: stores made before noise had
    units hold SI floats (``"kc_current_sigma": 5e-12``) and still resume."""
    try:
        noise = Noise.from_dict(stored["base_noise"])
        same = noise == Noise.from_dict(current["base_noise"])
    except (KeyError, TypeError, ValueError):
        return stored  # compared as it is: the mismatch names what differs
    return {**stored, "base_noise": current["base_noise"] if same else _normal(noise.to_dict())}


def _differences(stored, current, prefix="", limit=3) -> list[str]:
    """Dotted paths where two JSON-like trees differ (first few)."""
    if isinstance(stored, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(stored) | set(current), key=str):
            if key not in stored or key not in current:
                out.append(f"{prefix}{key}")
            else:
                out += _differences(stored[key], current[key], f"{prefix}{key}.", limit)
            if len(out) >= limit:
                break
        return out[:limit]
    if stored != current:
        shown = f"{stored!r} -> {current!r}"
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        return [f"{prefix.rstrip('.') or 'value'} ({shown})"]
    return []


def _fsync_tree(root: Path):
    """Flush every file and directory under ``root`` (so a rename never names half a point)."""
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _to_zarr(ds: xr.Dataset, path: Path):
    with warnings.catch_warnings():
        # Fixed-width strings (odor names) have no zarr v3 spec yet; zarr-python reads them back.
        warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 specification.*")
        ds.to_zarr(path, mode="w-", consolidated=False, zarr_format=3)


class MemoryStore:
    """A store that keeps points in memory (``scan(..., store=None)``): nothing is persisted."""

    path = None

    def __init__(self, identity: dict):
        self.identity = _normal(identity)
        self._points: dict[str, xr.Dataset] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self) -> set[str]:
        return set(self._points)

    def write_request(self, request: dict):
        pass  # nothing outlives the scan call

    def write(self, key: str, ds: xr.Dataset, point: dict):
        self._points.setdefault(key, ds.assign_attrs({_POINT_ATTR: json.dumps(point)}))

    def read(self, key: str, point: dict) -> xr.Dataset:
        ds = self._points[key].copy()
        ds.attrs.pop(_POINT_ATTR, None)
        return ds


class ScanStore:
    """A scan's directory store; use as a context manager (takes the lock, clears debris).

    Parameters
    ----------
    path : str or Path
        The store directory (created if missing or empty).
    identity : dict
        What scan the store belongs to (JSON-able). A new store records it; an existing store
        must have been made with an equal identity, else ``StoreMismatchError``.
    """

    def __init__(self, path, identity: dict):
        self.path = Path(path).expanduser()
        self.identity = _normal(identity)
        self.points = self.path / "points"
        self._lock_fd = None

    # -- opening -------------------------------------------------------------------------------
    def _create(self):
        import zarr

        tmp = self.path.parent / f".{self.path.name}{_TMP}{uuid.uuid4().hex[:8]}"
        root = zarr.create_group(
            store=str(tmp),
            zarr_format=3,
            attributes={_ATTR: self.identity, VERSIONS: package_versions()},
        )
        root.create_group("points")
        _fsync_tree(tmp)
        try:
            os.rename(tmp, self.path)  # also replaces an empty directory
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (self.path / "zarr.json").is_file():
                raise

    def _check(self):
        meta = self.path / "zarr.json"
        try:
            stored = json.loads(meta.read_text()).get("attributes", {}).get(_ATTR)
        except (OSError, ValueError):
            stored = None
        if not isinstance(stored, dict):
            raise StoreMismatchError(
                f"'{self.path}' exists and is not a flysim scan store (choose another store path)"
            )
        # Points written by another flysim major.minor may not mean the same thing.
        check_version(
            stored_versions(self.path).get("flysim"),
            f"store '{self.path}'",
            error=StoreMismatchError,
        )
        if stored.get("format") != FORMAT:
            raise StoreMismatchError(
                f"store '{self.path}' has format {stored.get('format')!r}, this flysim writes "
                f"{FORMAT!r}"
            )
        stored = _base_noise_as_now(stored, self.identity)
        for part, label in (
            ("experiment", "experiment"),
            ("grid_paths", "grid paths"),
            ("base_params", "base parameters"),
            ("base_noise", "base noise"),
        ):
            if stored.get(part) != self.identity.get(part):
                where = "; ".join(_differences(stored.get(part), self.identity.get(part)))
                raise StoreMismatchError(
                    f"store '{self.path}' belongs to a different scan: its {label} differ "
                    f"({where}); use another store path to run this scan"
                )

    def __enter__(self):
        if self.path.exists() and not self.path.is_dir():
            raise StoreMismatchError(f"store '{self.path}' exists and is not a directory")
        if not self.path.exists() or not any(self.path.iterdir()):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._create()
        self._check()
        self._lock_fd = os.open(self.path / "zarr.json", os.O_RDONLY)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise RuntimeError(f"store '{self.path}' is in use by another running scan") from None
        self.points.mkdir(exist_ok=True)
        # Debris of a driver killed while writing a point: never renamed, so never a point.
        for child in [*self.points.iterdir(), *self.path.glob(f"{_TMP}{_REQUEST}-*")]:
            if child.name.startswith(_TMP):
                shutil.rmtree(child, ignore_errors=True)
        return self

    def __exit__(self, *exc):
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
        return False

    # -- the latest request ----------------------------------------------------------------------
    def write_request(self, request: dict):
        """Record the grid and seeds of this scan call (atomically: temporary file, rename)."""
        tmp = self.path / f"{_TMP}{_REQUEST}-{uuid.uuid4().hex[:8]}"
        tmp.write_text(json.dumps(request, sort_keys=True))
        os.rename(tmp, self.path / _REQUEST)

    # -- points --------------------------------------------------------------------------------
    def keys(self) -> set[str]:
        """Keys of the finished points."""
        return {
            child.name
            for child in self.points.iterdir()
            if not child.name.startswith(".") and (child / "zarr.json").is_file()
        }

    def write(self, key: str, ds: xr.Dataset, point: dict):
        """Write one point atomically (temporary name, fsync, rename)."""
        final = self.points / key
        if final.exists():
            return
        tmp = self.points / f"{_TMP}{key}-{uuid.uuid4().hex[:8]}"
        try:
            _to_zarr(ds.assign_attrs({_POINT_ATTR: json.dumps(point)}), tmp)
            _fsync_tree(tmp)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fd = os.open(self.points, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self, key: str, point: dict) -> xr.Dataset:
        """The Dataset of one point, loaded into memory."""
        path = self.points / key
        try:
            with xr.open_zarr(path, consolidated=False, zarr_format=3) as opened:
                ds = opened.load()
        except Exception as error:  # noqa: BLE001 - any failure means an unreadable point
            raise ValueError(
                f"store '{self.path}': point {key} cannot be read ({error}); delete "
                f"'{path}' to recompute it"
            ) from None
        stored = ds.attrs.pop(_POINT_ATTR, None)
        if stored is None or _normal(json.loads(stored)) != _normal(point):
            raise ValueError(
                f"store '{self.path}': point {key} holds {stored}, expected {json.dumps(point)}; "
                f"delete '{path}' to recompute it"
            )
        for name, var in ds.variables.items():  # zarr may hand back numpy StringDType
            if var.dtype.kind == "T":
                ds[name] = var.copy(data=np.asarray(var.values, dtype=str))
        return ds


def read_store(path) -> tuple[dict, dict]:
    """(identity, latest request) of the store at ``path``, checked: a one-line ``ValueError``
    if it is not a flysim scan store, was written by another flysim major.minor, or records no
    request (a store made before requests were recorded: rerun its scan call once)."""
    path = Path(path).expanduser()
    try:
        identity = json.loads((path / "zarr.json").read_text())["attributes"][_ATTR]
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"'{path}' is not a flysim scan store") from None
    check_version(stored_versions(path).get("flysim"), f"store '{path}'", error=StoreMismatchError)
    if identity.get("format") != FORMAT:
        raise StoreMismatchError(
            f"store '{path}' has format {identity.get('format')!r}, this flysim reads {FORMAT!r}"
        )
    try:
        request = json.loads((path / _REQUEST).read_text())
    except (OSError, ValueError):
        raise ValueError(
            f"store '{path}' records no scan request (made by an older flysim): run its scan "
            "call once more (finished points are not recomputed) to record it"
        ) from None
    return identity, request
