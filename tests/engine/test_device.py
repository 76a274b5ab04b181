"""A build leaves brian2 as it found it (issue #18): its device and every preference."""

from __future__ import annotations


def test_a_build_restores_brian2s_device_and_preferences(tiny, tmp_path, monkeypatch):
    import brian2
    from brian2 import get_device

    from flysim.engine.build import _compile
    from flysim.model.structure import structure_of

    monkeypatch.setenv("FLYSIM_CACHE_DIR", str(tmp_path / "cache"))
    before_prefs = dict(brian2.prefs.prefs)
    before_device = get_device()
    brian2.prefs.codegen.cpp.extra_compile_args_gcc = ["-O1", "-flag-of-the-user"]
    mine = dict(brian2.prefs.prefs)
    try:
        _compile(tiny, structure_of(tiny, batch=1), tmp_path / "build")
        assert dict(brian2.prefs.prefs) == mine  # the user's flags are back
        assert get_device() is before_device
    finally:
        brian2.prefs.prefs.update(before_prefs)
