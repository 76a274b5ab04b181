"""Packaging: every package flysim imports is declared; licence and citation files agree."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Import name -> distribution name where they differ.
DISTRIBUTION = {"netCDF4": "netcdf4", "dask_jobqueue": "dask-jobqueue", "sklearn": "scikit-learn"}
#: Imports documented as optional (in a docstring's example or an extra).
OPTIONAL = {"dask_jobqueue"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + sum(project["optional-dependencies"].values(), [])
    names = set()
    for requirement in requirements:
        name = requirement.split(";")[0]
        for stop in "<>=!~[ ":
            name = name.split(stop)[0]
        names.add(name.strip().lower())
    return names


def _imported() -> set[str]:
    modules = set()
    for path in (ROOT / "flysim").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"flysim"}


def test_every_imported_package_is_declared():
    declared = _declared()
    missing = {
        name
        for name in _imported() - OPTIONAL
        if DISTRIBUTION.get(name, name).lower() not in declared
    }
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"


def test_licence_and_citation_match_the_package():
    import flysim

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == flysim.__version__
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert project["license"]["text"] == "MIT"
    citation = (ROOT / "CITATION.cff").read_text()
    assert f"version: {flysim.__version__}\n" in citation and "license: MIT" in citation
