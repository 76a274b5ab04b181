"""Public name of :mod:`flysim.inputs.odors`: odor panels, synthetic or from receptor tables."""

from .inputs.odors import *  # noqa: F403
from .inputs.odors import __all__  # noqa: F401
