"""Public name of :mod:`flysim.run.conditioning`: aversive conditioning at KC -> MBON synapses."""

from .run.conditioning import *  # noqa: F403
from .run.conditioning import __all__  # noqa: F401
