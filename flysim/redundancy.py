"""Public name of :mod:`flysim.experiments.redundancy`: the LI x SFA x noise experiment."""

from .experiments.redundancy import *  # noqa: F403
from .experiments.redundancy import __all__  # noqa: F401
