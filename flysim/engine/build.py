"""Compile a circuit structure once into the cache, with a manifest to run it from any process."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..circuit import Structure, build_network
from ..kernels import vectorisable_timestep
from ..params import CircuitParams
from .cache import cache_dir, file_lock

__all__ = ["compile_structure", "compilation_count", "structure_keys_used", "MANIFEST"]

MANIFEST = "flysim_manifest.json"
#: gcc flags of every build; -march=native: the binary is built and run on the same machine
#: (the cache is per host).
COMPILE_ARGS = ("-w", "-O3", "-ffast-math", "-fno-finite-math-only", "-march=native")
#: Read after brian2's makefile: a precompiled header and -O0 for the set-up file (build.mk).
_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_COMPILATIONS = 0
#: Structure keys this process has asked for, in order: scans record them per point, because
#: an experiment's result need not carry the keys of the circuits it ran.
_USED: list[str] = []
_log = logging.getLogger("flysim")


def compilation_count() -> int:
    """How many times this process has compiled a network (tests count recompilations)."""
    return _COMPILATIONS


def structure_keys_used() -> list[str]:
    """Keys of every structure ``compile_structure`` returned in this process, in order."""
    return list(_USED)


def _describe(network, handles) -> dict:
    """Names, dtypes and result-file names of every variable a run sets or reads."""
    from brian2 import device
    from brian2.core.variables import ArrayVariable, DynamicArrayVariable

    settable, outputs = {}, {}
    owners = [
        *handles["groups"].values(),
        *handles["synapses"].values(),
        *handles["monitors"].values(),
    ]
    for owner in owners:
        for name, var in owner.variables.items():
            if not isinstance(var, ArrayVariable) or var.owner is None:
                continue
            if (
                var.owner.name != owner.name
                or name.startswith("_")
                and name not in ("_synaptic_pre", "_synaptic_post")
            ):
                continue
            entry = {
                "dtype": np.dtype(var.dtype).str,
                "size": int(var.size),
                "dynamic": isinstance(var, DynamicArrayVariable),
                "file": device.get_array_filename(var),
            }
            outputs[f"{owner.name}.{name}"] = entry
            if not var.read_only and not entry["dynamic"]:
                settable[f"{owner.name}.{name}"] = entry
    timed = {
        name: {
            "shape": list(ta.values.shape),
            "dtype": np.dtype(ta.values.dtype).str,
            "cli_name": device.timed_arrays[ta],
        }
        for name, ta in handles["timed_arrays"].items()
    }
    return {"settable": settable, "outputs": outputs, "timed_arrays": timed}


def _compile(params: CircuitParams, structure: Structure, directory: Path) -> dict:
    import brian2
    from brian2 import device, set_device

    set_device("cpp_standalone", build_on_run=False, directory=None)
    brian2.prefs.codegen.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)
    try:
        with vectorisable_timestep():
            network, handles = build_network(params, structure)
            network.run(structure.duration_ms * brian2.ms, namespace={}, profile=structure.profile)
            device.build(directory=str(directory), compile=False, run=False, with_output=False)
        description = _describe(network, handles)
    finally:
        device.reinit()
        device.activate()
        set_device("runtime")
    _make(directory)
    return description


def _make(directory: Path) -> None:
    """Compile brian2's generated project with its makefile plus flysim's ``build.mk``; if that
    fails (an old GNU make, a compiler without gcc's precompiled headers), with brian2's makefile
    alone, as brian2 would have."""
    shutil.copyfile(_TEMPLATES / "pch.h", directory / "flysim_pch.h")
    jobs = f"-j{max(2, os.cpu_count() or 1)}"
    fast = ["make", jobs, "-o", "make.deps", "-f", "makefile", "-f", str(_TEMPLATES / "build.mk")]
    proc = subprocess.run(fast, cwd=directory, capture_output=True, text=True)
    if proc.returncode == 0:
        return
    _log.warning("flysim's faster build failed; compiling with brian2's makefile alone")
    for built in [*directory.rglob("*.o"), *directory.glob("*.gch"), directory / "main"]:
        built.unlink(missing_ok=True)
    proc = subprocess.run(["make", jobs], cwd=directory, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(
            f"compiling the circuit failed (make exit {proc.returncode}): " + " | ".join(tail)
        )


def compile_structure(params: CircuitParams, structure: Structure) -> Path:
    """The directory of the compiled network for ``structure``, compiling it if needed.

    Safe with several processes: one compiles (under a lock) while the others wait and then
    reuse it; the result is moved into place atomically, so a killed build leaves no half state.
    """
    global _COMPILATIONS
    root = cache_dir()
    target = root / structure.key
    _USED.append(structure.key)
    if (target / MANIFEST).is_file():
        return target
    with file_lock(root / f"{structure.key}.lock"):
        if (target / MANIFEST).is_file():
            return target
        start = time.perf_counter()
        work = Path(tempfile.mkdtemp(prefix=f"{structure.key}.build-", dir=root))
        try:
            description = _compile(params, structure, work)
            _COMPILATIONS += 1
            manifest = {
                "key": structure.key,
                "structure": structure.__dict__ | {"neurons": [list(n) for n in structure.neurons]},
                "compile_seconds": time.perf_counter() - start,
                **description,
            }
            (work / MANIFEST).write_text(json.dumps(manifest, indent=1))
            if target.exists():  # a stale, manifest-less leftover
                shutil.rmtree(target)
            os.replace(work, target)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        _log.info("compiled circuit %s in %.1f s", structure.key, time.perf_counter() - start)
    return target
