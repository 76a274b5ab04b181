"""A cache entry's manifest, with checksums of every file its binary reads, and the check that
the entry is whole before anything runs from it.

A damaged entry (a file deleted, truncated or changed, an unreadable or edited manifest) would
run and return wrong numbers without a word: brian2's binary reports a missing static array on
stdout and exits 0, and reads a short one without noticing. So the builder records the size and
sha256 of the binary and of every static array, and ``entry_problem`` compares them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

__all__ = ["MANIFEST", "CacheEntryError", "entry_problem", "read_manifest", "write_manifest"]

MANIFEST = "flysim_manifest.json"
#: brian2's main opens ``static_arrays/<name>`` relative to its working directory, the entry.
STATIC_ARRAYS = "static_arrays"
_SELF_HASH = "manifest_sha256"


class CacheEntryError(RuntimeError):
    """A cache entry's manifest is missing, unreadable or altered."""


def _runtime_files(entry: Path) -> list[str]:
    """What the binary reads from its entry at run time: itself and its static arrays."""
    arrays = entry / STATIC_ARRAYS
    names = sorted(p.name for p in arrays.iterdir() if p.is_file()) if arrays.is_dir() else []
    return ["main", *(f"{STATIC_ARRAYS}/{name}" for name in names)]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _body_hash(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != _SELF_HASH}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def write_manifest(entry: Path, manifest: dict) -> None:
    """Write ``manifest`` into the freshly built ``entry`` with the size and checksum of each
    file the binary reads (``files``) and a checksum of the manifest itself."""
    files = {
        name: {"size": (entry / name).stat().st_size, "sha256": _sha256(entry / name)}
        for name in _runtime_files(entry)
    }
    content = {**manifest, "files": files}
    content[_SELF_HASH] = _body_hash(content)
    (entry / MANIFEST).write_text(json.dumps(content, indent=1))


def read_manifest(entry: Path) -> dict:
    """The manifest of ``entry``; ``CacheEntryError`` (one line naming the file) if it is
    missing, not JSON, or not what the builder wrote."""
    path = Path(entry) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise CacheEntryError(f"cache entry {entry} has no manifest {MANIFEST}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CacheEntryError(f"unreadable manifest {path}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get(_SELF_HASH) != _body_hash(manifest):
        raise CacheEntryError(f"manifest {path} does not match its checksum (altered or partial)")
    return manifest


def entry_problem(entry: Path) -> str | None:
    """What is wrong with the cache entry ``entry`` (one line naming the file), or ``None`` if
    it is whole: its manifest intact and every file the binary reads of the recorded size and
    checksum."""
    if not entry.is_dir():
        return f"no cache entry {entry}"
    try:
        manifest = read_manifest(entry)
    except CacheEntryError as error:
        return str(error)
    if manifest.get("entry") != entry.name or "main" not in manifest.get("files", {}):
        return f"manifest {entry / MANIFEST} belongs to another entry or an older flysim"
    for name, expected in manifest["files"].items():
        path = entry / name
        if not path.is_file():
            return f"{path} is missing"
        size = path.stat().st_size
        if size != expected["size"]:
            return f"{path} has {size} bytes, the manifest {expected['size']}"
        if _sha256(path) != expected["sha256"]:
            return f"{path} does not match its checksum"
    if not os.access(entry / "main", os.X_OK):
        return f"{entry / 'main'} is not executable"
    return None
