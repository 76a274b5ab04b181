"""A cache that cannot return wrong numbers (issue #18): a damaged entry is found before it runs
and rebuilt, the binary's own error output is a failure, leftovers of dead processes are swept,
and an entry's name pins the toolchain and CPU target its binary was built for."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import flysim
from flysim.engine import SimulationError, build, compilation_count, toolchain
from flysim.engine import cache as cache_module
from flysim.engine.build import COMPILE_ARGS, entry_name, entry_suffix
from flysim.engine.cache import RUNS, _host, cache_dir, run_folder
from flysim.engine.entry import MANIFEST, entry_problem
from flysim.engine.runner import binary_failure
from flysim.model.structure import structure_of
from flysim.odors import synthetic_panel

PANEL = synthetic_panel(2, n_glomeruli=20, seed=0)
#: What a run needs of an entry; the rest (sources, object files: 50 MB) is left out of copies.
NOT_RUN = shutil.ignore_patterns("*.o", "*.gch", "code_objects", "brianlib")


def _run(params):
    return flysim.simulate(params, PANEL, seed=0, batch_size=2)


def _entry_of(key: str):
    return cache_dir() / f"{key}-{entry_suffix()}"


@pytest.fixture(scope="module")
def pristine(tiny):
    """The session cache's entry of the small run, and the KC counts it gives."""
    ds = _run(tiny)
    return _entry_of(ds.attrs["structure_key"]), ds.kc_spike_count.values


@pytest.fixture
def copied(pristine, tmp_path, monkeypatch):
    """A fresh cache holding a copy of the pristine entry; nothing verified in this process."""
    source, _ = pristine
    cache = tmp_path / "cache"
    shutil.copytree(source, cache / source.name, ignore=NOT_RUN)
    monkeypatch.setenv("FLYSIM_CACHE_DIR", str(cache))
    build._forget_verified()
    yield cache / source.name
    build._forget_verified()


@pytest.fixture
def copy_compile(pristine, monkeypatch):
    """Compiling copies the pristine entry (a real compile takes ~10 s; one test does it)."""
    source, _ = pristine
    manifest = json.loads((source / MANIFEST).read_text())

    def _compile(params, structure, directory):
        shutil.copytree(source, directory, dirs_exist_ok=True, ignore=NOT_RUN)
        (directory / MANIFEST).unlink()
        return {k: manifest[k] for k in ("settable", "outputs", "timed_arrays", "required")}

    monkeypatch.setattr(build, "_compile", _compile)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _a_static_array(entry):
    return max((entry / "static_arrays").iterdir(), key=lambda p: p.stat().st_size)


def _edit_manifest(entry):  # still valid JSON, one dtype changed
    manifest = json.loads((entry / MANIFEST).read_text())
    next(iter(manifest["outputs"].values()))["dtype"] = "<f4"
    (entry / MANIFEST).write_text(json.dumps(manifest))


DAMAGE = {
    "static arrays deleted": lambda e: shutil.rmtree(e / "static_arrays"),
    "static array truncated": lambda e: _truncate(_a_static_array(e)),
    "static array byte flipped": lambda e: _flip_a_byte(_a_static_array(e)),
    "binary truncated": lambda e: _truncate(e / "main"),
    "binary deleted": lambda e: (e / "main").unlink(),
    "binary byte flipped": lambda e: _flip_a_byte(e / "main"),
    "binary not executable": lambda e: (e / "main").chmod(0o644),
    "manifest truncated": lambda e: _truncate(e / MANIFEST),
    "manifest deleted": lambda e: (e / MANIFEST).unlink(),
    "manifest edited": _edit_manifest,
}


# -- a damaged entry is rebuilt before it runs ----------------------------------------------------
def test_a_whole_entry_is_verified_once_and_not_rebuilt(tiny, pristine, copied, monkeypatch):
    checks = []
    monkeypatch.setattr(build, "entry_problem", lambda e: checks.append(e) or entry_problem(e))
    before = compilation_count()
    for _ in range(2):
        np.testing.assert_array_equal(_run(tiny).kc_spike_count.values, pristine[1])
    assert compilation_count() == before and checks == [copied]


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_entry_is_rebuilt_and_gives_the_same_numbers(
    damage, tiny, pristine, copied, copy_compile, caplog
):
    DAMAGE[damage](copied)
    problem = entry_problem(copied)
    assert problem and "\n" not in problem and str(copied) in problem
    before = compilation_count()
    ds = _run(tiny)
    assert compilation_count() == before + 1
    np.testing.assert_array_equal(ds.kc_spike_count.values, pristine[1])
    assert entry_problem(copied) is None
    assert f"cache entry {copied.name} is damaged" in caplog.text
    assert not list(copied.parent.glob("*.build-*")) and not list(copied.parent.glob("*.trash-*"))


def test_a_real_rebuild_gives_identical_results(tiny, pristine, copied):
    shutil.rmtree(copied / "static_arrays")
    before = compilation_count()
    ds = _run(tiny)
    assert compilation_count() == before + 1
    np.testing.assert_array_equal(ds.kc_spike_count.values, pristine[1])
    assert ds.attrs["structure_key"] == copied.name.split("-")[0]


def test_damage_after_verification_fails_the_run_then_is_repaired(
    tiny, pristine, copied, copy_compile
):
    """Verified once per process: damage after that is caught by the binary's own error output
    (it exits 0), and the next use checks the entry again and rebuilds it."""
    _run(tiny)
    shutil.rmtree(copied / "static_arrays")
    with pytest.raises(SimulationError, match="Error opening static array") as info:
        _run(tiny)
    message = str(info.value)
    assert str(copied) in message and "exit 0" in message and "\n" not in message
    assert not any((copied.parent / RUNS).iterdir())  # the failed run's folder is gone too
    before = compilation_count()
    np.testing.assert_array_equal(_run(tiny).kc_spike_count.values, pristine[1])
    assert compilation_count() == before + 1


def test_the_binarys_failures_are_one_line():
    def proc(code, out="", err=""):
        return subprocess.CompletedProcess(["main"], code, out, err)

    assert binary_failure(proc(0, "")) is None
    lines = "".join(f"Error opening static array a{k}.\n" for k in range(5))
    assert binary_failure(proc(0, lines)) == (
        "exit 0 after reporting errors: Error opening static array a0. | "
        "Error opening static array a1. | Error opening static array a2. (+2 more)"
    )
    short = "Error reading '/r/x.bin': file size 8 does not match expected size 16\n"
    assert binary_failure(proc(0, "", short)).startswith("exit 0 after reporting errors: Error")
    assert binary_failure(proc(-11)) == "killed by SIGSEGV"
    assert binary_failure(proc(3, "", "boom\n")) == "exit 3: boom"


@pytest.mark.parametrize("moment", ["made", "removing"])
def test_a_ctrl_c_while_the_run_folder_is_made_or_removed_leaves_no_folder(
    moment, tmp_path, monkeypatch
):
    """Ctrl-C (SIGINT raised by the process itself) right after ``mkdtemp`` made the folder, or
    as its removal starts: the folder is gone and the KeyboardInterrupt still arrives. Mutation:
    run_folder without deferred interruptions -> the folder is left (fails)."""
    real_folder, real_rmtree = cache_module.private_folder, cache_module.shutil.rmtree

    def made(*args):
        folder = real_folder(*args)
        if moment == "made":
            signal.raise_signal(signal.SIGINT)
        return folder

    def removing(path, *args, **kwargs):
        if moment == "removing":
            signal.raise_signal(signal.SIGINT)
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(cache_module, "private_folder", made)
    monkeypatch.setattr(cache_module.shutil, "rmtree", removing)
    with pytest.raises(KeyboardInterrupt):
        with run_folder(tmp_path):
            pass
    assert list((tmp_path / RUNS).iterdir()) == []


# -- leftovers of dead processes are swept, those of live ones kept -------------------------------
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_folders_of_dead_processes_are_swept_and_of_live_ones_kept(tiny, pristine, copied):
    cache, host = copied.parent, _host()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        dead, alive = _dead_pid(), live.pid
        names = {
            "dead build": f"{copied.name}.build-p{dead}@{host}-abc123",
            "dead trash": f"{copied.name}.trash-p{dead}@{host}-def456",
            "dead run": f"{RUNS}/flysim-run-p{dead}@{host}-ghi789",
            "live build": f"{copied.name}.build-p{alive}@{host}-jkl012",
            "live run": f"{RUNS}/flysim-run-p{alive}@{host}-mno345",
            "own run": f"{RUNS}/flysim-run-p{os.getpid()}@{host}-pqr678",
            "other host": f"{RUNS}/flysim-run-p{dead}@not-{host}-stu901",
        }
        for name in names.values():
            (cache / name).mkdir(parents=True)
            (cache / name / "data.bin").write_bytes(b"\0" * 1000)
        np.testing.assert_array_equal(_run(tiny).kc_spike_count.values, pristine[1])
        left = {what for what, name in names.items() if (cache / name).exists()}
        assert left == {"live build", "live run", "own run", "other host"}
        assert sorted(p.name for p in (cache / RUNS).iterdir()) == sorted(
            names[k].split("/")[1] for k in ("live run", "own run", "other host")
        )
    finally:
        live.kill()
        live.wait()


def test_a_killed_build_is_swept(tiny, pristine, copied, tmp_path):
    """A process killed while compiling leaves its build folder; the next process removes it."""
    script = (
        "import os, signal, flysim\n"
        "from flysim.engine import build\n"
        "def _compile(params, structure, directory):\n"
        "    (directory / 'half.o').write_bytes(bytes(1000))\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "build._compile = _compile\n"
        "flysim.simulate(flysim.load_params('tiny'), flysim.odors.synthetic_panel(2, "
        "n_glomeruli=20, seed=0), seed=0, batch_size=2)\n"
    )
    shutil.rmtree(copied)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert len(list(copied.parent.glob(f"{copied.name}.build-p*"))) == 1
    build._forget_verified()
    shutil.copytree(pristine[0], copied, ignore=NOT_RUN)
    _run(tiny)
    assert not list(copied.parent.glob(f"{copied.name}.build-p*"))


# -- the entry's name pins the toolchain ----------------------------------------------------------
def test_the_entry_name_pins_flags_and_toolchain(tiny, tmp_path, monkeypatch):
    structure = structure_of(tiny, batch=2)
    name = entry_name(structure)
    assert name.startswith(f"{structure.key}-") and entry_name(structure) == name
    hits = toolchain._probe.cache_info().hits
    toolchain.toolchain_fingerprint(COMPILE_ARGS)
    assert toolchain._probe.cache_info().hits == hits + 1  # computed once per process

    monkeypatch.setattr(build, "COMPILE_ARGS", (*COMPILE_ARGS[:-1], "-march=x86-64"))
    assert entry_name(structure) != name
    monkeypatch.undo()

    other = tmp_path / "other-g++"  # another compiler: its version and target answers differ
    other.write_text("#!/bin/sh\necho 'g++ (Other) 99.1'\n")
    other.chmod(0o755)
    monkeypatch.setenv("CXX", str(other))
    assert entry_name(structure) != name
    monkeypatch.setattr(toolchain, "_probe", lambda compiler, args: "another-cpu")
    another = entry_name(structure)
    assert another != name and another.startswith(f"{structure.key}-")
    monkeypatch.setattr(build, "_BUILD_HASH", "another-build")  # how flysim builds counts too
    assert entry_name(structure) not in (name, another)
    assert structure.key == structure_of(tiny, batch=2).key  # the model's key is unchanged
