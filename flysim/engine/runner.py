"""Run a compiled circuit with new values: write the values, call the binary, read the results."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import numpy as np

from .cache import run_folder
from .entry import read_manifest

__all__ = ["CompiledCircuit", "SimulationError"]

#: What brian2's generated main prints when it cannot open a static array, read a value file or
#: write a result ("Error opening static array ...", "Could not read ...", "Cannot set unknown
#: variable ..."): it then carries on with whatever is in memory and exits 0.
_BINARY_ERROR = re.compile(r"^(?:Error|Could not|Cannot)\b.*$", re.MULTILINE)


class SimulationError(RuntimeError):
    """The compiled simulation failed or produced impossible numbers."""


def binary_failure(proc: subprocess.CompletedProcess) -> str | None:
    """Why a run of the binary failed, in one line (``None``: it did not): a signal, a non-zero
    exit, or error lines in its output despite exit 0."""
    errors = _BINARY_ERROR.findall(f"{proc.stdout}\n{proc.stderr}")
    if proc.returncode < 0:
        try:
            reason = f"killed by {signal.Signals(-proc.returncode).name}"
        except ValueError:
            reason = f"killed by signal {-proc.returncode}"
    elif proc.returncode > 0:
        reason = f"exit {proc.returncode}"
    elif errors:
        reason = "exit 0 after reporting errors"
    else:
        return None
    lines = errors or (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    more = f" (+{len(lines) - 3} more)" if len(lines) > 3 else ""
    detail = " | ".join(line.strip() for line in lines[:3]) + more
    return f"{reason}: {detail}" if detail else reason


class CompiledCircuit:
    """A compiled network in the cache; ``run`` executes it with run-time values.

    Scalars are passed on the command line, arrays and TimedArray values as binary files in a
    fresh results directory, so runs in parallel processes never share files.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.settable = self.manifest["settable"]
        self.outputs = self.manifest["outputs"]
        self.timed_arrays = self.manifest["timed_arrays"]
        self.required = set(self.manifest["required"])

    @property
    def key(self) -> str:
        return self.manifest["key"]

    def _argument(self, name, value, folder: Path) -> str:
        if name in self.timed_arrays:
            spec = self.timed_arrays[name]
            array = np.ascontiguousarray(value, dtype=spec["dtype"])
            if list(array.shape) != spec["shape"]:
                raise ValueError(
                    f"stimulus '{name}' must have shape {spec['shape']}, got {list(array.shape)}"
                )
            path = folder / f"{name}.bin"
            array.tofile(path)
            return f"{spec['cli_name']}.values={path}"
        if name not in self.settable:
            raise KeyError(f"'{name}' is not a run-time variable of this circuit")
        spec = self.settable[name]
        array = np.asarray(value, dtype=spec["dtype"])
        if array.size == 1 and array.ndim <= 1:
            return f"{name}={array.reshape(()).item()!r}"
        if array.size != spec["size"]:
            raise ValueError(f"'{name}' needs {spec['size']} values, got {array.size}")
        path = folder / f"{name}.bin"
        array.tofile(path)
        return f"{name}={path}"

    def check_request(self, values: dict, outputs: list[str]) -> None:
        """Refuse a run that leaves a constant or input of the circuit without a value, sets a
        name the circuit does not have, or asks for an output it does not write."""
        missing = sorted(self.required - set(values))
        if missing:
            raise ValueError(f"run of circuit {self.key}: no value for {', '.join(missing)}")
        unknown = sorted(set(values) - set(self.settable) - set(self.timed_arrays))
        if unknown:
            raise ValueError(
                f"run of circuit {self.key}: {', '.join(unknown)} is not a run-time value of it"
            )
        absent = sorted(set(outputs) - set(self.outputs) - {"profiling_info"})
        if absent:
            raise ValueError(f"run of circuit {self.key}: it has no output {', '.join(absent)}")

    def run(self, values: dict, outputs: list[str]) -> dict[str, np.ndarray]:
        """Run once with ``values`` ({'group.var' or timed-array name: value}); read ``outputs``."""
        self.check_request(values, outputs)
        with run_folder(self.directory.parent) as folder:  # in the entry's cache
            results = folder / "results"
            results.mkdir()
            args = [str(self.directory / "main"), "--results_dir", f"{results}/"]
            args += [self._argument(name, value, folder) for name, value in values.items()]
            try:
                proc = subprocess.run(args, cwd=self.directory, capture_output=True, text=True)
                failure = binary_failure(proc)
            except OSError as error:  # the binary or the entry vanished after it was checked
                failure = f"cannot start: {error.strerror}"
            if failure:
                from .build import _forget_verified

                _forget_verified(self.directory)  # checked again, and repaired, at next use
                raise SimulationError(
                    f"simulation binary of cache entry {self.directory} failed ({failure})"
                )
            read = {
                name: np.fromfile(
                    results / self.outputs[name]["file"], dtype=self.outputs[name]["dtype"]
                )
                for name in outputs
                if name != "profiling_info"
            }
            if "profiling_info" in outputs:  # seconds per code object (profiled builds only)
                lines = (results / "profiling_info.txt").read_text().splitlines()
                read["profiling_info"] = {
                    name: float(value) for name, value in (ln.split("\t") for ln in lines if ln)
                }
            return read
