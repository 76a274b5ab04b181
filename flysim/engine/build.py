"""Compile a circuit structure once into the cache, with a manifest to run it from any process."""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..model.circuit import Circuit, build_network
from ..model.kernels import vectorisable_timestep
from ..model.structure import Structure
from ..params import CircuitParams
from .cache import cache_dir, file_lock

__all__ = ["compile_structure", "compilation_count", "structure_keys_used", "MANIFEST"]

MANIFEST = "flysim_manifest.json"
#: gcc flags of every build; -march=native: the binary is built and run on the same machine
#: (the cache is per host).
COMPILE_ARGS = ("-w", "-O3", "-ffast-math", "-fno-finite-math-only", "-march=native")
#: Read after brian2's makefile: a precompiled header and -O0 for the set-up file (build.mk).
_TEMPLATES = Path(__file__).resolve().parent.parent / "model" / "templates"
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


def _describe(circuit: Circuit) -> dict:
    """The circuit's contract, as the manifest records it: every variable a run can set
    (``settable``) or read (``outputs``) with its dtype, size and result file; the shared
    constants it declared and the per-run inputs it expects (``required``: a run must give
    each), and its stimulus arrays (``timed_arrays``)."""
    from brian2 import device
    from brian2.core.variables import ArrayVariable, DynamicArrayVariable

    settable, outputs, constants = {}, {}, []
    owners = [*circuit.groups.values(), *circuit.synapses.values(), *circuit.monitors.values()]
    for owner in owners:
        for name, var in owner.variables.items():
            if not isinstance(var, ArrayVariable) or var.owner is None:
                continue
            internal = name.startswith("_") and name not in ("_synaptic_pre", "_synaptic_post")
            if var.owner.name != owner.name or internal:
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
            if var.scalar and var.constant and not var.read_only:
                constants.append(f"{owner.name}.{name}")
    timed = {
        name: {
            "shape": list(ta.values.shape),
            "dtype": np.dtype(ta.values.dtype).str,
            "cli_name": device.timed_arrays[ta],
        }
        for name, ta in circuit.timed_arrays.items()
    }
    required = sorted(set(constants) | set(circuit.inputs))
    return {"settable": settable, "outputs": outputs, "timed_arrays": timed, "required": required}


@contextlib.contextmanager
def _standalone_device():
    """brian2's cpp_standalone device with flysim's compiler flags for one build; the device
    and every brian2 preference are put back afterwards, also on error."""
    import brian2
    from brian2 import device, set_device
    from brian2.devices.device import reset_device

    saved = dict(brian2.prefs.prefs)
    set_device("cpp_standalone", build_on_run=False, directory=None)
    brian2.prefs.codegen.cpp.extra_compile_args_gcc = list(COMPILE_ARGS)
    try:
        with vectorisable_timestep():
            yield
    finally:
        device.reinit()
        device.activate()
        reset_device()
        brian2.prefs.prefs.update(saved)


def _compile(params: CircuitParams, structure: Structure, directory: Path) -> dict:
    import brian2
    from brian2 import device

    # brian2 names code objects uniquely among the objects alive: collect the previous build's
    # (kept by reference cycles), so a build's file names never depend on what ran before it.
    gc.collect()
    with _standalone_device():
        circuit = build_network(params, structure)
        circuit.network.run(
            structure.duration_ms * brian2.ms, namespace={}, profile=structure.profile
        )
        device.build(directory=str(directory), compile=False, run=False, with_output=False)
        description = _describe(circuit)
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
