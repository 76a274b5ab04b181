"""The config file of ``flysim run``: read and checked whole before anything is simulated.

::

    preset = "tiny"                 # a preset name (default drosophila_adult)
    n_trials = 2                    # trials per odor (default 1)
    seed = 0                        # wiring seed, or a list of them (flies)
    out = "run.nc"                  # optional: netCDF output, relative to this file
    [overrides]                     # optional: parameter changes, path = value
    "li.strength" = 1.0
    "network.wiring" = "edges.csv"  # a connectome edge list, relative to this file
    [odors]                         # synthetic = N, seed = S; or table = "file.csv" (+ options)
    synthetic = 4
    seed = 1
    [noise]                         # the same table as in a scan file
    input_sigma = { value = 5, unit = "Hz" }

Every problem is one ValueError naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..inputs.connectome import RANDOM
from ..inputs.odors import OdorPanel, from_table, synthetic_panel
from ..params import CircuitParams, Noise, load_params, with_overrides
from ..params.io import noise_from_table

__all__ = ["RunRequest", "read_run_config"]

KNOWN = ("preset", "overrides", "odors", "noise", "n_trials", "seed", "out")
SYNTHETIC_KEYS = ("synthetic", "seed")
TABLE_KEYS = ("table", "coexpressed", "unassigned", "placement")


@dataclass(frozen=True)
class RunRequest:
    """What a run config asks ``simulate`` for."""

    params: CircuitParams
    odors: OdorPanel
    noise: Noise
    n_trials: int
    seed: int | list
    out: Path | None


def _is_count(value, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _checked_seed(value, where: str):
    if _is_count(value, 0):
        return value
    if isinstance(value, list) and value and all(_is_count(s, 0) for s in value):
        if len(set(value)) == len(value):
            return value
    raise ValueError(
        f"{where}: seed must be an integer >= 0 or a list of distinct ones, got {value!r}"
    )


def _read(path: Path) -> dict:
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"config file '{path}' does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"config file '{path}' is not valid TOML: {error}") from None
    unknown = set(config) - set(KNOWN)
    if unknown:
        raise ValueError(f"config '{path}': unknown keys {sorted(unknown)} (known: {list(KNOWN)})")
    return config


def _params(config: dict, path: Path, where: str) -> CircuitParams:
    overrides = config.get("overrides", {})
    if not isinstance(overrides, dict):
        raise ValueError(f"{where}: [overrides] must be a table of path = value, got {overrides!r}")
    wiring = overrides.get("network.wiring")
    if isinstance(wiring, str) and wiring != RANDOM:  # relative to the config, like its tables
        overrides = {**overrides, "network.wiring": str((path.parent / wiring).resolve())}
    try:
        params = load_params(config.get("preset", "drosophila_adult"))
        return with_overrides(params, overrides)
    except ValueError as error:  # same type (ParameterError...), the config named first
        raise type(error)(f"{where}: {error}") from None


def _odors(config: dict, path: Path, params: CircuitParams, where: str) -> OdorPanel:
    odors = config.get("odors", {"synthetic": 10, "seed": 0})
    if not isinstance(odors, dict):
        raise ValueError(
            f"{where}: [odors] must be a table (synthetic = N, seed = S; or table = "
            f'"file.csv"), got {odors!r}'
        )
    known = TABLE_KEYS if "table" in odors else SYNTHETIC_KEYS
    unknown = set(odors) - set(known)
    if unknown:
        raise ValueError(
            f"{where}: unknown keys {sorted(unknown)} in [odors] (known: {', '.join(known)})"
        )
    if "table" in odors:
        options = {k: v for k, v in odors.items() if k != "table"}
        return from_table((path.parent / odors["table"]).resolve(), **options)
    count, seed = odors.get("synthetic", 10), odors.get("seed", 0)
    if not _is_count(count, 1):
        raise ValueError(f"{where}: [odors] synthetic must be an integer >= 1, got {count!r}")
    if not _is_count(seed, 0):
        raise ValueError(f"{where}: [odors] seed must be an integer >= 0, got {seed!r}")
    return synthetic_panel(count, n_glomeruli=params.network.n_glomeruli, seed=seed)


def read_run_config(path) -> RunRequest:
    """Read and check the run config at ``path`` (see the module docstring)."""
    path = Path(path)
    config, where = _read(path), f"config '{path}'"
    n_trials = config.get("n_trials", 1)
    if not _is_count(n_trials, 1):
        raise ValueError(f"{where}: n_trials must be an integer >= 1, got {n_trials!r}")
    seed = _checked_seed(config.get("seed", 0), where)
    params = _params(config, path, where)
    odors = _odors(config, path, params, where)
    try:
        noise = noise_from_table(config.get("noise", {}))
    except ValueError as error:  # same type (ParameterError...), the config named first
        raise type(error)(f"{where}: {error}") from None
    out = config.get("out")
    if out is not None and not (isinstance(out, str) and out):
        raise ValueError(f"{where}: out must be a file name (.nc), got {out!r}")
    out = None if out is None else path.parent / out
    return RunRequest(params, odors, noise, n_trials, seed, out)
