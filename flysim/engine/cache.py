"""Where compiled circuits live, and a lock so that processes sharing the cache don't collide."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

__all__ = ["cache_dir", "file_lock"]


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
