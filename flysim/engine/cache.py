"""Where compiled circuits live, a lock so that processes sharing the cache don't collide, and
the private folders of builds and runs, swept when the process that made them is dead.

Layout of the cache directory::

    <entry>/                          a compiled circuit, <structure key>-<toolchain fingerprint>
    <entry>.lock                      its build lock
    <entry>.build-p<pid>@<host>-*     a build in progress (renamed to <entry> when done)
    <entry>.trash-p<pid>@<host>-*     a damaged entry on its way out
    runs/flysim-run-p<pid>@<host>-*   one run's inputs and results
    sweep.lock                        held while leftovers are swept

Every private folder names its process and host, so a folder whose process has died (SIGKILL,
power loss) is recognised and removed by the next process on the same host, while the folders
of live processes, and of other hosts sharing the cache, are left alone (hosts that share a cache
must have distinct host names; a dead host's folders stay until removed by hand).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from .signals import held_signals

__all__ = ["cache_dir", "file_lock", "private_folder", "run_folder", "sweep_dead_folders"]

RUNS = "runs"
#: ``p<pid>@<host>-<random>`` at the end of a private folder's name (mkdtemp's random part has
#: no "-", a host name has no "@").
_OWNER = re.compile(r"p(?P<pid>\d+)@(?P<host>[^@/]+)-[a-z0-9_]+$")
_LEFTOVERS = ("*.build-p*", "*.trash-p*", f"{RUNS}/flysim-run-p*")


def cache_dir() -> Path:
    """The cache: ``$FLYSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/flysim`` or ``~/.cache/flysim``."""
    root = os.environ.get("FLYSIM_CACHE_DIR")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        root = Path(base) / "flysim"
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def file_lock(path: Path):
    """An exclusive advisory lock on ``path`` (created if missing), held for the block.

    flock locks are released by the kernel if the holder dies, so a killed build never leaves
    the cache locked.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"


def private_folder(parent: Path, prefix: str) -> Path:
    """A new folder ``<parent>/<prefix>p<pid>@<host>-<random>`` of this process."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}p{os.getpid()}@{_host()}-", dir=parent))


@contextlib.contextmanager
def run_folder(root: Path):
    """A private folder in the cache ``root`` for one run's inputs and results, removed when the
    block exits (normally or by an exception); one left by a killed process is swept later.

    The folder is made and removed with Ctrl-C and SIGTERM held (they act right after): one
    landing between ``mkdtemp`` and the ``try``, or inside ``rmtree``, left an empty folder
    behind (about one interrupted scan in ten in tests/cli/test_interrupt.py)."""
    folder = None
    try:
        with held_signals():
            folder = private_folder(root / RUNS, "flysim-run-")
        yield folder
    finally:
        if folder is not None:
            with held_signals():
                shutil.rmtree(folder, ignore_errors=True)


def _owner_is_dead(folder: Path) -> bool:
    """Whether ``folder`` was made on this host by a process that no longer exists (a folder
    of another host, or with an unreadable name, is never judged dead)."""
    owner = _OWNER.search(folder.name)
    if owner is None or owner["host"] != _host():
        return False
    try:
        os.kill(int(owner["pid"]), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):  # alive, another user's; or not a pid at all
        return False
    return False


def sweep_dead_folders(root: Path) -> list[Path]:
    """Remove the build, trash and run folders in the cache ``root`` whose process is dead
    (on this host); returns what was removed."""
    removed = []
    with file_lock(root / "sweep.lock"):
        for pattern in _LEFTOVERS:
            for folder in root.glob(pattern):
                if folder.is_dir() and _owner_is_dead(folder):
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
    return removed
