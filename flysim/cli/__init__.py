"""The ``flysim`` command: ``demo``, ``run``, ``scan``, ``figures``, ``info``."""

from .commands import main

__all__ = ["main"]
