"""Neuron models as data: equations in TOML files, looked up by name.

Built-in models live in ``models/neurons/*.toml``. A user adds a model with
``register_model("my_model.toml")`` and selects it with ``kc.neuron = "my_model"``; the
circuit code never changes. Every model defines ``v`` (volt) and uses ``I_syn`` (amp).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from brian2 import Equations

from ..params import CircuitParams, NeuronParams, ParameterError

__all__ = [
    "NeuronModel",
    "get_model",
    "register_model",
    "available_models",
    "model_values",
    "POPULATION_SYMBOLS",
    "CIRCUIT_SYMBOLS",
]

#: Symbols every model may use, taken from the population's NeuronParams.
POPULATION_SYMBOLS = {
    "C": "C",
    "g_L": "g_L",
    "E_L": "E_L",
    "V_T": "V_T",
    "V_reset": "V_reset",
    "t_ref": "refractory",
}
#: How a neuron model can signal to the neurons it contacts.
OUTPUTS = ("spikes", "graded")
#: Names the circuit adds to every population; a model must not define them itself.
CIRCUIT_SYMBOLS = ("I_syn", "g_exc", "E_exc", "E_inh", "tau_exc")


@dataclass(frozen=True)
class NeuronModel:
    """A neuron model: brian2 equation strings plus where its parameter values come from."""

    name: str
    equations: str
    threshold: str
    reset: str
    refractory: str = "t_ref"
    method: str = "exponential_euler"
    description: str = ""
    source: str = ""
    # symbol -> "group.attribute" in CircuitParams, or a list of them (their product)
    parameters: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)  # state variable -> symbol or expression
    # How the neuron signals: "spikes", or "graded" (non-spiking; the circuit reads its
    # depolarisation, e.g. the APL's transmitter release: flysim.model.circuit)
    output: str = "spikes"

    def __post_init__(self):
        try:
            eqs = Equations(self.equations)
        except Exception as error:  # brian2 raises several types for bad equations
            raise ParameterError(
                f"neuron model '{self.name}': invalid equations: {error}"
            ) from None
        if "v" not in eqs.diff_eq_names:
            raise ParameterError(f"neuron model '{self.name}' must define dv/dt")
        if "I_syn" not in eqs.identifiers:
            raise ParameterError(f"neuron model '{self.name}' must use the synaptic current I_syn")
        if self.output not in OUTPUTS:
            raise ParameterError(
                f"neuron model '{self.name}': output must be one of {list(OUTPUTS)}, "
                f"got {self.output!r}"
            )
        clash = set(eqs.names) & set(CIRCUIT_SYMBOLS)
        if clash:
            raise ParameterError(
                f"neuron model '{self.name}' defines {sorted(clash)}, which the circuit provides"
            )

    @property
    def state_variables(self) -> list[str]:
        return sorted(Equations(self.equations).diff_eq_names)  # brian2 gives a set


_REGISTRY: dict[str, NeuronModel] = {}


def _from_toml(text: str, label: str) -> NeuronModel:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ParameterError(f"neuron model file '{label}' is not valid TOML: {error}") from None
    allowed = {f for f in NeuronModel.__dataclass_fields__}
    unknown = set(data) - allowed
    if unknown:
        raise ParameterError(f"neuron model file '{label}': unknown keys {sorted(unknown)}")
    missing = {"name", "equations", "threshold", "reset"} - set(data)
    if missing:
        raise ParameterError(f"neuron model file '{label}': missing keys {sorted(missing)}")
    return NeuronModel(**data)


def _load_builtins():
    if _REGISTRY:
        return
    for item in sorted(resources.files("flysim.models.neurons").iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            model = _from_toml(item.read_text(encoding="utf-8"), item.name)
            _REGISTRY[model.name] = model


def register_model(model: NeuronModel | str | Path) -> NeuronModel:
    """Add a model (a NeuronModel or a TOML file path) to the registry and return it."""
    _load_builtins()
    if not isinstance(model, NeuronModel):
        path = Path(model)
        if not path.is_file():
            raise ParameterError(f"neuron model file '{path}' does not exist")
        model = _from_toml(path.read_text(encoding="utf-8"), str(path))
    _REGISTRY[model.name] = model
    return model


def available_models() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def get_model(name: str) -> NeuronModel:
    _load_builtins()
    if name not in _REGISTRY:
        raise ParameterError(
            f"unknown neuron model '{name}' (available: "
            f"{', '.join(sorted(_REGISTRY))}; add one with register_model)"
        )
    return _REGISTRY[name]


def model_values(model: NeuronModel, params: CircuitParams, population: NeuronParams) -> dict:
    """Values (with units) of every parameter symbol the model uses, for one population."""
    values = {symbol: getattr(population, attr) for symbol, attr in POPULATION_SYMBOLS.items()}
    for symbol, paths in model.parameters.items():
        value = 1.0
        for path in [paths] if isinstance(paths, str) else paths:  # a list: their product
            value = value * _path_value(model, symbol, path, params)
        values[symbol] = value
    return values


def _path_value(model: NeuronModel, symbol: str, path: str, params: CircuitParams):
    group, _, attribute = path.partition(".")
    try:
        return getattr(getattr(params, group), attribute)
    except AttributeError:
        raise ParameterError(
            f"neuron model '{model.name}': parameter '{symbol}' points to unknown '{path}'"
        ) from None
