"""Compile a circuit structure once into the cache, with a manifest to run it from any process."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from ..model.circuit import Circuit, build_network
from ..model.kernels import vectorisable_exp, vectorisable_timestep
from ..model.structure import Structure
from ..params import CircuitParams
from .cache import cache_dir, file_lock, private_folder, sweep_dead_folders
from .entry import MANIFEST, entry_problem, write_manifest
from .toolchain import compiler_command, toolchain_fingerprint

__all__ = [
    "compile_args",
    "compile_structure",
    "compilation_count",
    "entry_name",
    "entry_suffix",
    "structure_keys_used",
    "MANIFEST",
]

#: gcc flags of every build. -march=native: a binary runs only where it was built, so the
#: toolchain fingerprint of these flags on this host is part of every entry's name.
COMPILE_ARGS = ("-w", "-O3", "-ffast-math", "-fno-finite-math-only", "-march=native")
#: Flags of a build whose numbers are the same on every x86-64 host with this C library: no
#: CPU-specific instructions, no fast-math reassociation, no vectorised (libmvec) calls.
#: Selected by ``FLYSIM_PORTABLE_BUILD=1`` (the golden-value tests; slower to run).
PORTABLE_COMPILE_ARGS = ("-w", "-O2", "-fno-tree-vectorize", "-march=x86-64", "-mtune=generic")


def compile_args() -> tuple[str, ...]:
    """The flags of this process's builds: :data:`COMPILE_ARGS`, or the portable ones if the
    environment sets ``FLYSIM_PORTABLE_BUILD`` (to anything but "" or "0")."""
    portable = os.environ.get("FLYSIM_PORTABLE_BUILD", "") not in ("", "0")
    return PORTABLE_COMPILE_ARGS if portable else COMPILE_ARGS


#: Read after brian2's makefile: a precompiled header and -O0 for the set-up file (build.mk).
_TEMPLATES = Path(__file__).resolve().parent.parent / "model" / "templates"
_COMPILATIONS = 0
#: Structure keys this process has asked for, in order: scans record them per point, because
#: an experiment's result need not carry the keys of the circuits it ran.
_USED: list[str] = []
#: Entries this process has found whole (checked once per process, not before every run), and
#: caches it has swept.
_VERIFIED: set[str] = set()
_SWEPT: set[str] = set()
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
    brian2.prefs.codegen.cpp.extra_compile_args_gcc = list(compile_args())
    # Without brian2's stop-on-Ctrl-C handler in the binary: a SIGINT that reached only the
    # binary made it stop early and exit 0 with a truncated run.
    brian2.prefs.core.stop_on_keyboard_interrupt = False
    try:
        with vectorisable_timestep(), vectorisable_exp():
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


def _run_make(command: list[str], directory: Path) -> subprocess.CompletedProcess:
    """Run make in a process group of its own, so that the compilers it starts end with it if
    this process is interrupted (killing make alone left them running)."""
    proc = subprocess.Popen(
        command,
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def _make_failed(proc: subprocess.CompletedProcess) -> RuntimeError:
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return RuntimeError(
        f"compiling the circuit failed (make exit {proc.returncode}): " + " | ".join(tail)
    )


def _make(directory: Path) -> None:
    """Compile brian2's generated project with its makefile plus flysim's ``build.mk``; if that
    fails (an old GNU make, a compiler without gcc's precompiled headers), with brian2's makefile
    alone, as brian2 would have. A make killed by a signal is a failure, not a reason to retry."""
    shutil.copyfile(_TEMPLATES / "pch.h", directory / "flysim_pch.h")
    jobs = f"-j{max(2, os.cpu_count() or 1)}"
    fast = ["make", jobs, "-o", "make.deps", "-f", "makefile", "-f", str(_TEMPLATES / "build.mk")]
    proc = _run_make(fast, directory)
    if proc.returncode == 0:
        return
    if proc.returncode < 0:
        raise _make_failed(proc)
    _log.warning("flysim's faster build failed; compiling with brian2's makefile alone")
    for built in [*directory.rglob("*.o"), *directory.glob("*.gch"), directory / "main"]:
        built.unlink(missing_ok=True)
    proc = _run_make(["make", jobs], directory)
    if proc.returncode != 0:
        raise _make_failed(proc)


#: How flysim builds is part of every entry's name too: a change of the build (a brian2
#: preference it sets, how make runs) never reuses an entry built the old way.
_BUILD_HASH = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def entry_suffix() -> str:
    """What follows the structure key in an entry's name: a hash of the toolchain fingerprint
    (compiler, version, :func:`compile_args` and the CPU target they resolve to) and of this
    build code."""
    fingerprint = toolchain_fingerprint(compile_args())
    return hashlib.sha256(f"{fingerprint}-{_BUILD_HASH}".encode()).hexdigest()[:12]


def entry_name(structure: Structure) -> str:
    """The name of ``structure``'s cache entry: its key and the fingerprint of the toolchain that
    compiles it here (compiler, version, :func:`compile_args` and the CPU target they resolve
    to), so hosts that share a cache each build and run their own binaries."""
    return f"{structure.key}-{entry_suffix()}"


def _forget_verified(entry: Path | None = None) -> None:
    """Check ``entry`` (default: every entry and cache) again at its next use in this process:
    after a run of it failed, or in tests that damage an entry after it was verified."""
    if entry is None:
        _VERIFIED.clear()
        _SWEPT.clear()
    else:
        _VERIFIED.discard(str(entry))


def compile_structure(params: CircuitParams, structure: Structure) -> Path:
    """The directory of the compiled network for ``structure``, compiling it if needed.

    The entry is checked against its manifest's checksums at its first use in a process; a
    missing, incomplete or damaged one is (re)built. Safe with several processes: one compiles
    (under a lock) while the others wait and then reuse it; the result is moved into place
    atomically, so a killed build leaves no half state (its folder is swept later).
    """
    root = cache_dir()
    target = root / entry_name(structure)
    _USED.append(structure.key)
    if str(target) in _VERIFIED:
        return target
    if str(root) not in _SWEPT:
        for folder in sweep_dead_folders(root):
            _log.info("removed %s, left by a process that died", folder)
        _SWEPT.add(str(root))
    if entry_problem(target) is not None:
        with file_lock(root / f"{target.name}.lock"):
            problem = entry_problem(target)  # another process may have built it meanwhile
            if problem is not None:
                _build(params, structure, target, problem)
    _VERIFIED.add(str(target))
    return target


def _build(params: CircuitParams, structure: Structure, target: Path, problem: str) -> None:
    """Compile ``structure`` in a private folder and move it to ``target`` (held locked),
    replacing a damaged entry there."""
    global _COMPILATIONS
    if target.exists():
        _log.warning("cache entry %s is damaged (%s); rebuilding it", target.name, problem)
    start = time.perf_counter()
    work = private_folder(target.parent, f"{target.name}.build-")
    try:
        description = _compile(params, structure, work)
        _COMPILATIONS += 1
        manifest = {
            "key": structure.key,
            "entry": target.name,
            "toolchain": {
                "compiler": list(compiler_command()),
                "compile_args": list(compile_args()),
                "fingerprint": toolchain_fingerprint(compile_args()),
            },
            "structure": structure.__dict__ | {"neurons": [list(n) for n in structure.neurons]},
            "compile_seconds": time.perf_counter() - start,
            **description,
        }
        write_manifest(work, manifest)
        if target.exists():  # damaged: renamed away first, so no one sees it half deleted
            trash = private_folder(target.parent, f"{target.name}.trash-")
            os.replace(target, trash / "entry")
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _log.info("compiled circuit %s in %.1f s", target.name, time.perf_counter() - start)
