"""Presets and parameter files: TOML in, TOML out, plus plain dicts for result attrs."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from importlib import resources
from pathlib import Path

from brian2 import Quantity

from .noise import Noise
from .schema import GROUPS, CircuitParams
from .tables import group_from_table, group_to_dict
from .units import UNITS, ParameterError, shown

__all__ = [
    "load_params",
    "dump_params",
    "params_to_dict",
    "params_from_dict",
    "list_presets",
    "group_from_mapping",
    "noise_from_table",
    "PATH_GROUPS",
]

#: Every group a dotted path or a TOML table can name: the circuit's groups and the noise.
PATH_GROUPS = {**GROUPS, "noise": Noise}


def list_presets() -> list[str]:
    """Names of the presets shipped in ``models/``."""
    return sorted(
        p.name[:-5] for p in resources.files("flysim.models").iterdir() if p.name.endswith(".toml")
    )


def group_from_mapping(group: str, mapping: dict, base=None):
    """Build the group ``group`` (a circuit group or ``noise``) from TOML-style values, on top of
    ``base`` (or the defaults)."""
    return group_from_table(PATH_GROUPS[group], group, mapping, base)


def _refuse_unit_suffixed_keys(table: dict):
    """``kc_current_sigma_pA = 5`` (the old ``flysim run`` form) names the new one."""
    fields = {f.name for f in dataclasses.fields(Noise)}
    for key, raw in table.items():
        stem, _, unit = str(key).rpartition("_")
        if key not in fields and stem in fields and unit in UNITS:
            raise ParameterError(
                f"parameter 'noise.{key}' is the old form: write "
                f'{stem} = {{value = {shown(raw)}, unit = "{unit}"}}'
            )


def noise_from_table(table, base: Noise | None = None) -> Noise:
    """The ``[noise]`` table of a ``flysim run`` or scan file: ``{value = 5, unit = "pA"}`` for
    quantities, plain values for numbers, flags, strings and integers."""
    if not isinstance(table, dict):
        raise ParameterError(f"[noise] must be a table, got {shown(table)}")
    _refuse_unit_suffixed_keys(table)
    return group_from_mapping("noise", table, base)


def params_from_dict(data: dict, base: CircuitParams | None = None) -> CircuitParams:
    """A CircuitParams from a nested TOML-style dict; unknown keys are errors."""
    base = base if base is not None else CircuitParams()
    top = {}
    for key, value in data.items():
        if key in ("name", "notes"):
            if not isinstance(value, str):
                raise ParameterError(f"parameter '{key}' must be a string, got {value!r}")
            top[key] = value
        elif key in GROUPS:
            if not isinstance(value, dict):
                raise ParameterError(f"parameter group '{key}' must be a table, got {value!r}")
            top[key] = group_from_mapping(key, value, getattr(base, key))
        else:
            raise ParameterError(
                f"unknown parameter group {key!r} (known: name, notes, {', '.join(GROUPS)})"
            )
    return dataclasses.replace(base, **top)


def load_params(path_or_preset: str | Path = "drosophila_adult") -> CircuitParams:
    """Load a preset by name (see ``list_presets()``) or a TOML file by path."""
    path = Path(path_or_preset)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ParameterError(f"parameter file '{path}' does not exist")
        try:
            text, label = path.read_text(encoding="utf-8"), str(path)
        except UnicodeDecodeError:
            raise ParameterError(f"parameter file '{path}' is not UTF-8 text") from None
    else:
        name = str(path_or_preset)
        if name not in list_presets():
            raise ParameterError(
                f"unknown preset '{name}' (presets: {', '.join(list_presets())}; "
                "or give a .toml path)"
            )
        text = resources.files("flysim.models").joinpath(f"{name}.toml").read_text(encoding="utf-8")
        label = name
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ParameterError(f"parameter file '{label}' is not valid TOML: {error}") from None
    return params_from_dict(data)


def params_to_dict(params: CircuitParams) -> dict:
    """Nested plain dict (TOML/JSON-ready) that ``params_from_dict`` reads back to ``params``."""
    out = {"name": params.name, "notes": params.notes}
    for group in GROUPS:
        out[group] = group_to_dict(getattr(params, group))
    return out


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Quantity):
        raise TypeError("quantities are converted before writing")
    raise TypeError(f"cannot write {value!r} to TOML")


def dump_params(params: CircuitParams, path: str | Path | None = None) -> str:
    """TOML text of ``params`` (written to ``path`` if given); ``load_params`` reads it back."""
    data = params_to_dict(params)
    lines = [f"name = {_toml_value(data.pop('name'))}", f"notes = {_toml_value(data.pop('notes'))}"]
    for group, values in data.items():
        lines.append(f"\n[{group}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
    text = "\n".join(lines) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
