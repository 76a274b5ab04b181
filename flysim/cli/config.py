"""Scan description files (TOML) and ``run_scan_file``, which the ``flysim scan`` command calls.

.. code-block:: toml

    preset = "tiny"                 # a preset name or a parameter .toml (relative to this file)
    seeds = [0, 1]                  # wiring (fly) seeds
    store = "scan_small.zarr"       # relative to this file

    [overrides]                     # optional: base parameter changes
    "sfa.tau" = { value = 200, unit = "ms" }

    [experiment]                    # a name from flysim.experiments.EXPERIMENTS (or a class of
    name = "summary"                # your own, "package.module:Class") and its settings
    n_odors = 4

    [grid]                          # path -> list of values
    "li.strength" = [0.5, 1.0]
    "noise.input_sigma" = { value = [0, 10], unit = "Hz" }
    "sfa.tau" = { value = [100, 200], unit = "ms" }          # or a list of {value, unit}

    [noise]                         # optional: base noise, as in a ``flysim run`` file
    seed = 3
    kc_current_sigma = { value = 5, unit = "pA" }

Unquoted dotted keys (``li.strength = [...]``) are read as the path ``li.strength`` too.
Every error is one line naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..params import CircuitParams, load_params, with_overrides
from ..params.io import noise_from_table
from ..params.noise import Noise
from ..params.units import parse_quantity

__all__ = ["ScanConfig", "ScanConfigError", "load_scan_config", "run_scan_file"]

KNOWN_KEYS = ("preset", "overrides", "grid", "seeds", "experiment", "noise", "store")


class ScanConfigError(ValueError):
    """A scan file is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class ScanConfig:
    """A scan file, read and checked: everything ``flysim.scan.scan`` needs."""

    path: Path
    params: CircuitParams
    grid: dict
    seeds: list
    experiment: object
    noise: Noise
    store: Path | None


def _flatten(table: dict, prefix: str = "") -> dict:
    """``{"li": {"strength": [...]}}`` (unquoted dotted keys) -> ``{"li.strength": [...]}``."""
    out = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not ({"value", "unit"} & set(value)):
            out.update(_flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def _grid_values(path: str, raw, fail) -> list:
    from ..scan.grid import grid_declaration

    try:
        grid_declaration(path)  # the path exists
    except ValueError as error:
        fail(str(error))
    if isinstance(raw, dict):
        extra = set(raw) - {"value", "unit"}
        if extra or "value" not in raw:
            fail(
                f"grid '{path}': a quantity is {{value = [...], unit = \"...\"}}, "
                f"got keys {sorted(raw)}"
            )
        if not isinstance(raw["value"], list):
            fail(f"grid '{path}': value must be a list, got {raw['value']!r}")
        raw = [{"value": v, "unit": raw.get("unit", "1")} for v in raw["value"]]
    if not isinstance(raw, list):
        fail(f"grid '{path}' must be a list of values, got {raw!r}")
    if not raw:
        fail(f"grid '{path}' has an empty list of values")
    values = []
    for item in raw:
        if isinstance(item, dict):
            try:
                item = parse_quantity(path, item)
            except ValueError as error:
                fail(str(error))
        elif isinstance(item, list):
            fail(
                f"grid '{path}': values must be numbers, booleans, strings or "
                f"{{value, unit}} tables, got the list {item!r}"
            )
        values.append(item)
    return values


def _noise(table, fail) -> Noise:
    try:
        return noise_from_table(table)
    except ValueError as error:
        fail(str(error))


def _experiment_class(name, fail):
    """A registered experiment, or a user's ``"package.module:Class"``."""
    import importlib

    from ..experiments import EXPERIMENTS

    if not isinstance(name, str):
        fail(f"experiment.name must be a string, got {name!r}")
    if ":" not in name:
        if name not in EXPERIMENTS:
            fail(
                f"unknown experiment {name!r} (known: {', '.join(EXPERIMENTS)}; or a class as "
                f"'package.module:Class')"
            )
        return EXPERIMENTS[name]
    module_name, _, attribute = name.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attribute)
    except ImportError as error:
        fail(f"experiment {name!r}: cannot import module {module_name!r} ({error})")
    except AttributeError:
        fail(f"experiment {name!r}: module {module_name!r} has no {attribute!r}")
    if not callable(cls):
        fail(f"experiment {name!r} is not a class or function")
    return cls


def _experiment(table, fail):
    from ..experiments import EXPERIMENTS

    if not isinstance(table, dict) or "name" not in table:
        fail(f"[experiment] must be a table with a name (one of: {', '.join(EXPERIMENTS)})")
    settings = dict(table)
    name = settings.pop("name")
    cls = _experiment_class(name, fail)
    import inspect

    known = [p for p in inspect.signature(cls).parameters if p != "self"]
    for key in settings:
        if key not in known:
            fail(f"unknown setting 'experiment.{key}' of {name!r} (known: {', '.join(known)})")
    try:
        return cls(**settings)
    except (TypeError, ValueError) as error:
        fail(str(error))


def load_scan_config(path, *, store=None) -> ScanConfig:
    """Read and check a scan file; ``store`` (if given) replaces the file's ``store``."""
    path = Path(path)

    def fail(message):
        raise ScanConfigError(f"scan file '{path}': {message}")

    config = _read_toml(path)
    unknown = sorted(set(config) - set(KNOWN_KEYS))
    if unknown:
        fail(f"unknown keys {unknown} (known: {', '.join(KNOWN_KEYS)})")
    for key in ("grid", "seeds", "experiment"):
        if key not in config:
            fail(f"missing '{key}'")
    params = _params(config, path, fail)
    grid = config["grid"]
    if not isinstance(grid, dict) or not grid:
        fail(f"[grid] must be a table of path = [values], got {grid!r}")
    grid = {p: _grid_values(p, v, fail) for p, v in _flatten(grid).items()}
    seeds = _seeds(config["seeds"], fail)
    experiment = _experiment(config["experiment"], fail)
    noise = _noise(config.get("noise", {}), fail)
    store = _store(config, path, fail) if store is None else store
    config = ScanConfig(
        path=path,
        params=params,
        grid=grid,
        seeds=seeds,
        experiment=experiment,
        noise=noise,
        store=Path(store),
    )
    # Check the grid now (paths, units, ranges, duplicates) so errors name the file.
    from ..scan.grid import normalize_grid

    try:
        normalize_grid(config.grid, config.params, config.noise)
    except ValueError as error:
        fail(str(error))
    return config


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScanConfigError(f"scan file '{path}' does not exist") from None
    except UnicodeDecodeError:
        raise ScanConfigError(f"scan file '{path}' is not UTF-8 text") from None
    except OSError as error:  # a directory, no permission...
        raise ScanConfigError(f"scan file '{path}' cannot be read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ScanConfigError(f"scan file '{path}' is not valid TOML: {error}") from None


def _params(config: dict, path: Path, fail) -> CircuitParams:
    """The preset (a name, or a .toml path relative to the scan file) with [overrides]."""
    preset = config.get("preset", "drosophila_adult")
    if not isinstance(preset, str):
        fail(f"preset must be a preset name or a .toml path, got {preset!r}")
    if preset.endswith(".toml"):
        preset = str((path.parent / preset).resolve())
    overrides = config.get("overrides", {})
    try:
        params = load_params(preset)
        if not isinstance(overrides, dict):
            fail(f"[overrides] must be a table of path = value, got {overrides!r}")
        return with_overrides(params, _flatten(overrides))
    except ValueError as error:
        if isinstance(error, ScanConfigError):
            raise
        fail(str(error))


def _seeds(seeds, fail) -> list:
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
        or len(set(seeds)) != len(seeds)
    ):
        fail(f"seeds must be a non-empty list of distinct integers >= 0, got {seeds!r}")
    return list(seeds)


def _store(config: dict, path: Path, fail) -> Path:
    """The file's ``store``, relative to the file."""
    raw = config.get("store")
    if raw is None:
        fail("missing 'store' (or give a store path when running it)")
    if not isinstance(raw, str) or not raw:
        fail(f"store must be a directory path, got {raw!r}")
    return path.parent / raw


def run_scan_file(path, *, workers=None, scheduler=None, store=None, progress=True):
    """Run the scan a TOML file describes (``flysim scan FILE``); returns the result Dataset.

    ``workers``/``scheduler`` choose the executor (see ``flysim.scan.scan``); ``store``
    replaces the file's store path.
    """
    from ..scan import scan

    config = load_scan_config(path, store=store)
    return scan(
        config.experiment,
        config.params,
        config.grid,
        seeds=config.seeds,
        store=config.store,
        noise=config.noise,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
