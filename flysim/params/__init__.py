"""Circuit and noise parameters: typed, frozen, with units; presets in ``models/*.toml``."""

from .io import dump_params, list_presets, load_params, params_from_dict, params_to_dict
from .noise import Noise
from .overrides import apply_overrides, get_path, known_paths, with_overrides
from .schema import (
    RANDOM_WIRING,
    AdaptationParams,
    CircuitParams,
    KvParams,
    LateralInhibitionParams,
    LearningParams,
    NetworkParams,
    NeuronParams,
    OrnParams,
    ProtocolParams,
    WeightParams,
)
from .units import ParameterError

__all__ = [
    "AdaptationParams",
    "apply_overrides",
    "CircuitParams",
    "KvParams",
    "LateralInhibitionParams",
    "LearningParams",
    "NetworkParams",
    "Noise",
    "NeuronParams",
    "OrnParams",
    "ParameterError",
    "ProtocolParams",
    "RANDOM_WIRING",
    "WeightParams",
    "dump_params",
    "get_path",
    "known_paths",
    "list_presets",
    "load_params",
    "params_from_dict",
    "params_to_dict",
    "with_overrides",
]
