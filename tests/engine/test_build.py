"""How a circuit is compiled: brian2's project built with flysim's build.mk (engine/build.py)."""

import shutil
import subprocess

import pytest

from flysim import simulate
from flysim.engine.build import _TEMPLATES, _make, entry_suffix, structure_keys_used
from flysim.engine.cache import cache_dir


@pytest.fixture(scope="module")
def build_dir(tiny, tiny_panel):
    """The session's build of the tiny circuit (compiled here if no test has yet); its entry is
    named by the structure key and this host's toolchain."""
    simulate(tiny, tiny_panel, n_trials=1, seed=0)
    return cache_dir() / f"{structure_keys_used()[-1]}-{entry_suffix()}"


def test_code_objects_use_the_precompiled_header(build_dir):
    """gcc ignores an unusable precompiled header without a word under -w, so ask it with
    -Winvalid-pch (and without -w) whether it would use it for one code object."""
    assert (build_dir / "flysim_pch.h.gch").is_file()
    source = build_dir / "code_objects" / "kc_stateupdater_codeobject.cpp"
    flags = subprocess.run(
        ["make", "-s", "-f", "makefile", "-f", "/dev/stdin", "print"],
        input="print:\n\t@echo $(CXXFLAGS)\n",
        cwd=build_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    flags = [f for f in flags if f != "-w"]
    proc = subprocess.run(
        [
            "g++",
            *flags,
            "-include",
            "flysim_pch.h",
            "-Winvalid-pch",
            str(source),
            "-o",
            "/dev/null",
        ],
        cwd=build_dir,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "pch" not in proc.stderr.lower(), proc.stderr


def test_objects_file_is_compiled_at_O0_the_rest_as_asked(build_dir):
    commands = subprocess.run(
        [
            "make",
            "-n",
            "-B",
            "-o",
            "make.deps",
            "-f",
            "makefile",
            "-f",
            str(_TEMPLATES / "build.mk"),
        ],
        cwd=build_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    objects = [c for c in commands if " objects.cpp " in c]
    stateupdater = [c for c in commands if "kc_stateupdater_codeobject.cpp" in c]
    assert len(objects) == 1 and " -O0 " in objects[0] and " -O3 " not in objects[0]
    assert " -O3 " in stateupdater[0] and "-include flysim_pch.h" in stateupdater[0]


def _fresh_copy(build_dir, path):
    shutil.copytree(build_dir, path)
    for built in [*path.rglob("*.o"), path / "main", path / "flysim_pch.h.gch"]:
        built.unlink()
    return path


def test_a_failing_faster_build_falls_back_to_brian2s_makefile(build_dir, tmp_path, monkeypatch):
    from flysim.engine import build

    templates = tmp_path / "templates"
    templates.mkdir()
    shutil.copyfile(_TEMPLATES / "pch.h", templates / "pch.h")
    (templates / "build.mk").write_text("$(error as an old make or another compiler might)\n")
    monkeypatch.setattr(build, "_TEMPLATES", templates)
    copy = _fresh_copy(build_dir, tmp_path / "copy")
    _make(copy)
    assert (copy / "main").is_file() and (copy / "make.deps").is_file()  # brian2's own make
    assert not (copy / "flysim_pch.h.gch").exists()


def test_a_failing_compile_is_one_clear_line(build_dir, tmp_path):
    broken = _fresh_copy(build_dir, tmp_path / "broken")
    (broken / "code_objects" / "kc_stateupdater_codeobject.cpp").write_text("not C++ at all\n")
    with pytest.raises(RuntimeError, match=r"^compiling the circuit failed \(make exit \d+\): "):
        _make(broken)
