"""Ctrl-C and SIGTERM (``flysim.run.interrupt``): one line, the signal's exit status, nothing left.

The subprocess tests start their program in a session of its own and interrupt it while it
works: "ctrl-c" sends SIGINT to the whole process group, as a terminal does (simulation
binaries and dask workers included); "sigterm" sends SIGTERM to the Python process alone, as
``kill PID`` does; "sigterm-job" sends it to every process of the group, as a batch scheduler
may. Then: the exit status, the one line on stderr and no Traceback, no run folder or scratch
store left, and no process of the session left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from flysim.run.interrupt import (
    Terminated,
    exit_status,
    held_signals,
    interruptible,
    report_line,
    run_program,
    sigterm_raises,
)

ROOT = Path(__file__).resolve().parents[2]
#: Python's own exit after an uncaught KeyboardInterrupt is death by SIGINT (a shell shows 130).
CTRL_C_IN_A_SCRIPT = -signal.SIGINT


# -- in this process ------------------------------------------------------------------------------
def test_the_line_and_the_exit_status_of_each_interruption():
    ctrl_c = KeyboardInterrupt()
    assert (report_line(ctrl_c), exit_status(ctrl_c)) == ("flysim: interrupted", 130)
    term = Terminated()
    term.add_note("3 of 8 scan points are stored in s.zarr")
    assert (
        report_line(term) == "flysim: terminated (SIGTERM); 3 of 8 scan points are stored in s.zarr"
    )
    assert exit_status(term) == term.code == 143
    assert isinstance(term, SystemExit) and not isinstance(term, Exception)


def test_sigterm_raises_terminated_during_the_block_only():
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(Terminated), sigterm_raises() as installed:
        assert installed
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_sigterm_handler_of_someone_else_is_left_alone():
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with sigterm_raises() as installed, interruptible():
            assert not installed
            signal.raise_signal(signal.SIGTERM)
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_held_signals_act_at_the_end_or_are_dropped():
    done = []
    with pytest.raises(KeyboardInterrupt), held_signals():
        signal.raise_signal(signal.SIGINT)
        done.append("after the signal")
    assert done == ["after the signal"]
    with held_signals(drop=True):
        signal.raise_signal(signal.SIGINT)
    with pytest.raises(Terminated), sigterm_raises(), held_signals():
        signal.raise_signal(signal.SIGTERM)


def test_run_program_turns_interruptions_into_one_line_and_an_exit_status(capsys):
    def ctrl_c():
        raise KeyboardInterrupt

    def sigterm():
        signal.raise_signal(signal.SIGTERM)

    assert run_program(ctrl_c) == 130
    assert run_program(sigterm) == 143
    assert capsys.readouterr().err.splitlines() == [
        "flysim: interrupted",
        "flysim: terminated (SIGTERM)",
    ]
    assert run_program(lambda: 3) == 3 and run_program(lambda: "done") == 0
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_sigint_ignored_before_brian2_was_imported_stays_ignored(tmp_path):
    """brian2's handler calls the handler it replaced; SIG_IGN is not callable (TypeError)."""
    script = """
        import os, signal
        import flysim.params  # imports brian2, which replaces the SIGINT handler
        from flysim.run.interrupt import interruptible
        with interruptible():
            signal.raise_signal(signal.SIGINT)
        print("ignored")
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # a background job
        timeout=120,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ignored\n", "")


# -- interrupted programs -------------------------------------------------------------------------
class Program:
    """A program started in a session of its own, with its own temporary directory."""

    def __init__(self, args: list[str], tmp_path: Path, cache: str):
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir(exist_ok=True)
        self.cache = Path(cache)
        self.runs_before = self.run_folders()
        env = {**os.environ, "TMPDIR": str(self.tmp), "FLYSIM_CACHE_DIR": cache}
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def run_folders(self) -> set[Path]:
        return {*self.cache.glob("runs/flysim-run-*"), *self.tmp.glob("flysim-run-*")}

    def wait_for(self, condition, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"ended before it was interrupted:\n{self.proc.stderr.read()[-3000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail("the moment to interrupt never came")
            time.sleep(0.02)

    def interrupt(self, how: str) -> tuple[int, str]:
        """Send Ctrl-C or SIGTERM (see the module docstring); wait for the end; return the
        exit status and stderr."""
        if how == "ctrl-c":
            os.killpg(self.proc.pid, signal.SIGINT)
        elif how == "sigterm-job":
            os.killpg(self.proc.pid, signal.SIGTERM)
        else:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise
        return self.proc.returncode, err

    def assert_nothing_left(self) -> None:
        deadline = time.monotonic() + 10
        while self.session_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not self.session_alive(), "a process of the session is still running"
        assert not self.run_folders() - self.runs_before
        left = {p.name for p in self.tmp.iterdir()} - {"dask-scratch-space"}  # dask's locks
        assert not left, f"left in the temporary directory: {sorted(left)}"

    def session_alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True


def _last_line(err: str, starts: str) -> str:
    """The flysim line: the last one, with no Traceback anywhere (a progress bar may precede)."""
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    assert lines and lines[-1].startswith(starts), err[-3000:]
    return lines[-1]


def _only_line(err: str, starts: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(starts), err[-3000:]
    return lines[0]


STATUS = {"ctrl-c": 130, "sigterm": 143, "sigterm-job": 143}
LINE = {
    "ctrl-c": "flysim: interrupted",
    "sigterm": "flysim: terminated (SIGTERM)",
    "sigterm-job": "flysim: terminated (SIGTERM)",
}
SCRIPT_STATUS = {**STATUS, "ctrl-c": CTRL_C_IN_A_SCRIPT}

SIMULATE = """
import flysim
params = flysim.load_params("tiny")
odors = flysim.odors.synthetic_panel(12, n_glomeruli=params.network.n_glomeruli, seed=0)
flysim.simulate(params, odors, n_trials=12, seed=[0, 1, 2])
"""


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigterm-job"])
def test_simulate_in_a_script(how, tmp_path, session_cache):
    program = Program([sys.executable, "-c", SIMULATE], tmp_path, session_cache)
    program.wait_for(lambda: program.run_folders() - program.runs_before)  # a binary runs
    status, err = program.interrupt(how)
    assert status == SCRIPT_STATUS[how]
    assert _only_line(err, LINE[how]) == LINE[how]
    program.assert_nothing_left()


SCAN_FILE = """
preset = "tiny"
seeds = [0, 1, 2]
store = "scan.zarr"

[experiment]
name = "summary"
n_odors = 4
n_trials = 4
odor_seed = 0

[grid]
"li.strength" = [0.25, 0.5, 0.75, 1.0]
"""


def _stored(store: Path) -> dict[str, float]:
    """The points of a store, each with the time it was written."""
    points = store / "points"
    if not points.is_dir():
        return {}
    return {
        p.name: (p / "zarr.json").stat().st_mtime
        for p in points.iterdir()
        if not p.name.startswith(".") and (p / "zarr.json").is_file()
    }


@pytest.mark.parametrize(
    "how", ["ctrl-c", "sigterm", pytest.param("sigterm-job", marks=pytest.mark.long)]
)
def test_flysim_scan_with_workers_then_a_rerun_resumes(how, tmp_path, session_cache):
    scan_file = tmp_path / "scan.toml"
    scan_file.write_text(SCAN_FILE)
    store = tmp_path / "scan.zarr"
    command = [sys.executable, "-m", "flysim.cli", "scan", str(scan_file), "--no-progress"]
    program = Program([*command, "--workers", "2"], tmp_path, session_cache)
    program.wait_for(lambda: _stored(store))
    status, err = program.interrupt(how)
    assert status == STATUS[how]
    line = _only_line(err, LINE[how])
    stored = _stored(store)
    assert 1 <= len(stored) < 12
    assert line == (
        f"{LINE[how]}; {len(stored)} of 12 scan points are stored in {store}: "
        "rerunning the scan computes only the others"
    )
    program.assert_nothing_left()
    if how != "ctrl-c":
        return  # the same store as after Ctrl-C: resuming it is tested once

    rerun = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "FLYSIM_CACHE_DIR": session_cache},
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after = _stored(store)
    assert len(after) == 12
    assert {key: after[key] for key in stored} == stored  # the stored points were not redone


SCAN_SCRIPT = """
import sys
import flysim
from flysim.experiments import summary_experiment
from flysim.scan import scan

if __name__ == "__main__":
    scan(
        summary_experiment(n_odors=4, n_trials=4, odor_seed=0),
        flysim.load_params("tiny"),
        {"li.strength": [0.25, 0.5, 0.75, 1.0]},
        seeds=[0, 1, 2],
        store=sys.argv[1],
        workers=int(sys.argv[2]) or None,
        progress=False,
    )
"""


@pytest.mark.parametrize(
    "how, workers",
    [
        ("sigterm", 0),
        ("ctrl-c", 0),
        pytest.param("ctrl-c", 2, marks=pytest.mark.long),  # the CLI test covers workers
        pytest.param("sigterm", 2, marks=pytest.mark.long),
    ],
)
def test_a_scan_in_a_script(how, workers, tmp_path, session_cache):
    script, store = tmp_path / "scan_script.py", tmp_path / "s.zarr"
    script.write_text(SCAN_SCRIPT)
    program = Program(
        [sys.executable, str(script), str(store), str(workers)], tmp_path, session_cache
    )
    program.wait_for(lambda: _stored(store))
    status, err = program.interrupt(how)
    assert status == SCRIPT_STATUS[how]
    line = _only_line(err, LINE[how])
    assert line == (
        f"{LINE[how]}; {len(_stored(store))} of 12 scan points are stored in {store}: "
        "rerunning the scan computes only the others"
    )
    program.assert_nothing_left()


DEMO = """
import sys
from flysim.cli.demo import run_demo
from flysim.run.interrupt import run_program

TINY = {"preset": "tiny", "noise_levels": [0.0, 30.0], "seeds": (0, 1), "n_pairs": 1,
        "n_trials": 4, "mbon_trials": 2, "n_reference": 2}
if __name__ == "__main__":  # as `flysim demo` runs it, at the scale of tests/cli/test_demo.py
    sys.exit(run_program(run_demo, sys.argv[1], workers=2, scale=TINY))
"""


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_the_demo_removes_its_scratch_store(how, tmp_path, session_cache):
    script, out = tmp_path / "demo.py", tmp_path / "demo.nc"
    script.write_text(DEMO)
    program = Program([sys.executable, str(script), str(out)], tmp_path, session_cache)
    program.wait_for(lambda: any(program.tmp.glob("flysim_demo_*/scan*.zarr/points/[0-9a-f]*")))
    status, err = program.interrupt(how)
    assert status == STATUS[how]
    assert _last_line(err, LINE[how]) == (
        f"{LINE[how]}; the demo's scratch store is removed (--store PATH keeps it)"
    )
    program.assert_nothing_left()  # the scratch store included
    assert not out.exists()
