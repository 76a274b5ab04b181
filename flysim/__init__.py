"""flysim: spiking models of the fruit-fly olfactory circuit and metrics for its sparse code.

The top-level names are imported lazily so that ``flysim.analysis`` and ``flysim.adapters``
can be used without importing brian2.
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "load_params": "flysim.params",
    "dump_params": "flysim.params",
    "with_overrides": "flysim.params",
    "apply_overrides": "flysim.params",
    "CircuitParams": "flysim.params",
    "Noise": "flysim.params.noise",
    "simulate": "flysim.run.simulate",
    "calibrate": "flysim.experiments.calibrate",
    "open_result": "flysim.run.provenance",
    "open_scan": "flysim.scan",
    "odors": "flysim.odors",
    "analysis": "flysim.analysis",
    "adapters": "flysim.adapters",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'flysim' has no attribute {name!r}")
    module = import_module(_LAZY[name])
    # A name that is itself a module (odors, analysis, adapters) is returned as the module.
    value = module if module.__name__ == f"flysim.{name}" else getattr(module, name)
    globals()[name] = value
    return value
