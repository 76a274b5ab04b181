"""Output paths of the CLI, checked before any computing (a one-line error, exit status 2)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["checked_output"]


def checked_output(path, what: str = "--out", suffix: str = ".nc", make_parents=False) -> Path:
    """``path`` as a Path if a result can be written there: ending in ``suffix``, not a
    directory, in an existing directory this process may write to (an existing file is
    replaced); with ``make_parents`` missing directories are created now (the first existing
    one must be writable)."""
    path = Path(path).expanduser()
    if path.suffix != suffix:
        raise ValueError(f"{what} '{path}' must end in {suffix} (a netCDF file)")
    if path.is_dir():
        raise ValueError(f"{what} '{path}' is a directory; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if make_parents and not folder.exists():
        try:
            folder.mkdir(parents=True)
        except OSError as error:
            raise ValueError(
                f"{what} '{path}': cannot create '{folder}' ({error.strerror})"
            ) from None
    if not folder.is_dir():
        raise ValueError(f"{what} '{path}': the directory '{folder}' does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"{what} '{path}' is not writable")
    return path
