"""The toolchain a circuit is compiled with, as a fingerprint that names its cache entries.

Builds use ``-march=native``: a binary runs only on CPUs with the instruction set of the host
that built it (and, under ``-ffast-math``, another target may round differently). The
fingerprint hashes what decides the machine code besides the sources: the compiler (make's
``$CXX``, default ``g++``; brian2's generated makefile calls it), its version, the flags, and what
those flags resolve to on this host (``-Q --help=target``: every ``-m`` option; ``-###``: the
target, tuning and cache sizes ``-march=native`` expands to). Two hosts share a cache entry
only if all of these agree, so a cache shared by different machines never runs a foreign binary.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import subprocess

__all__ = ["compiler_command", "toolchain_fingerprint"]


def compiler_command() -> tuple[str, ...]:
    """The C++ compiler brian2's makefile runs: ``$CXX`` (it may hold a wrapper, such as
    ``ccache g++``), else make's default ``g++``."""
    return tuple(shlex.split(os.environ.get("CXX", "").strip()) or ["g++"])


def toolchain_fingerprint(compile_args: tuple[str, ...]) -> str:
    """A short hash of the compiler, its version and what ``compile_args`` resolve to on this
    host; computed once per process for each compiler and set of flags."""
    return _probe(compiler_command(), tuple(compile_args))


@functools.cache
def _probe(compiler: tuple[str, ...], compile_args: tuple[str, ...]) -> str:
    # Every answer counts, a failing one too (clang has no --help=target; a missing compiler
    # fails the build later anyway): the hash only has to differ when the toolchain does.
    questions = [
        [*compiler, "--version"],
        [*compiler, *compile_args, "-Q", "--help=target"],
        [*compiler, *compile_args, "-###", "-E", "-x", "c++", os.devnull],
    ]
    digest = hashlib.sha256(repr(compile_args).encode())
    for question in questions:
        digest.update(_answer(question).encode())
    return digest.hexdigest()[:12]


def _answer(command: list[str]) -> str:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{command[0]}: {type(error).__name__}"
    return f"{proc.returncode}\n{proc.stdout}\n{proc.stderr}"
