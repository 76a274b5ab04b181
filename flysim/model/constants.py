"""The run-time constants of a circuit: one table gives each constant's name, unit and value.

The network builder declares every entry as a shared constant of its population (so it is set
per run, never compiled in) and the engine computes the values from the same table, so a name
is written once. The compiled network's manifest lists what it declared; the runner refuses a
run that leaves one of them without a value or names one it does not have.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from brian2 import Quantity, get_unit, ms, volt

from ..params import CircuitParams
from ..params.noise import Noise
from .neurons import get_model, model_values
from .structure import POPULATIONS, Structure

__all__ = ["Constant", "run_time_constants", "NOISE_DT_STEPS", "LEARNING_DT", "si", "unit_name"]

#: Time step of the KC current-noise update, in integration steps (the OU update is exact).
NOISE_DT_STEPS = 5
#: Time step of the DAN drive (the reinforcement signal of each MBON compartment).
LEARNING_DT = 1 * ms
#: The synaptic constants every population has (the circuit supplies its synaptic current).
SYNAPTIC = {"E_exc": "volt", "E_inh": "volt", "tau_exc": "second"}


class Constant(NamedTuple):
    unit: str  # brian2 unit name ("1" for dimensionless)
    value: float  # in SI base units, what the compiled code stores


def si(value) -> float:
    """A quantity as a float in SI base units (what the compiled code stores)."""
    return float(value) if isinstance(value, Quantity) else float(value)


def unit_name(value) -> str:
    """The brian2 unit name of a value's dimensions, "1" if dimensionless."""
    if not hasattr(value, "dim") or value.dim.is_dimensionless:
        return "1"
    return repr(get_unit(value.dim)).replace("metre", "meter")


def _model_constants(params: CircuitParams) -> dict[str, Constant]:
    """Each population's neuron-model symbols and synaptic constants."""
    table = {}
    for pop in POPULATIONS:
        population = getattr(params, pop)
        for symbol, value in model_values(get_model(population.neuron), params, population).items():
            table[f"{pop}.{symbol}"] = Constant(unit_name(value), si(value))
        for symbol, unit in SYNAPTIC.items():
            table[f"{pop}.{symbol}"] = Constant(unit, si(getattr(population, symbol)))
    return table


#: How far (V) a membrane potential may stray beyond its population's potentials before the
#: run is refused: exponential Euler never leaves their range; forward Euler at a stable step
#: stays within ~0.1 mV of it.
RANGE_MARGIN = 2e-3


def _voltage_range(params: CircuitParams, pop: str, structure: Structure, noise: Noise) -> dict:
    """[v_floor, v_ceil]: the potentials a population's membrane can be pulled to (reversal
    potentials, rest, reset, threshold: every voltage of its model and its synapses), widened
    by a margin, and by 6 SD of the KC current noise's own shift (sigma / g_L)."""
    population = getattr(params, pop)
    values = model_values(get_model(population.neuron), params, population).values()
    volts = [si(v) for v in values if isinstance(v, Quantity) and v.dim == volt.dim]
    volts += [si(population.E_exc), si(population.E_inh)]
    margin = RANGE_MARGIN
    if pop == "kc" and structure.kc_current_noise:
        margin += 6 * si(noise.kc_current_sigma) / si(population.g_L)
    return {
        f"{pop}.v_floor": Constant("volt", min(volts) - margin),
        f"{pop}.v_ceil": Constant("volt", max(volts) + margin),
    }


def _graded_apl(params: CircuitParams) -> dict:
    """The graded APL's release range (only a non-spiking APL model has one)."""
    if get_model(params.apl.neuron).output != "graded":
        return {}
    return {"apl.release_range": Constant("volt", si(params.li.apl_release_range))}


def _odor_window(params: CircuitParams) -> tuple[float, float, float]:
    proto = params.protocol
    on, off = si(proto.baseline), si(proto.baseline + proto.odor_duration)
    return on, (on + off) / 2, off


def _circuit_constants(params: CircuitParams, structure: Structure, noise: Noise) -> dict:
    """The constants flysim's circuit adds to the neuron models: weights, windows, noise."""
    weights, li = params.weights, params.li
    on, mid, off = _odor_window(params)
    table = {
        "pn.w_ln": Constant("siemens", si(weights.ln_pn) * li.gain("ln")),
        "pn.w_orn": Constant("siemens", si(weights.orn_pn)),
        "pn.n_orn": Constant("1", float(params.orn.n_per_glomerulus)),
        "pn.poisson_on": Constant("1", 1.0 if noise.poisson_input else 0.0),
        "pn.t_odor_on": Constant("second", on),
        "pn.t_odor_off": Constant("second", off),
        "kc.w_pn_kc": Constant("siemens", si(weights.pn_kc)),
        "kc.t_odor_on": Constant("second", on),
        "kc.t_odor_mid": Constant("second", mid),
        "kc.t_odor_off": Constant("second", off),
        "apl.w_kc_apl": Constant("siemens", si(weights.kc_apl)),
        "apl.w_apl_kc": Constant("siemens", si(weights.apl_kc) * li.gain("apl")),
        "apl.tau_apl_out": Constant("second", si(params.kc.tau_inh)),
        "apl.t_odor_on": Constant("second", on),
        "apl.t_odor_off": Constant("second", off),
        **_graded_apl(params),
        "mbon.w_kc_mbon": Constant("siemens", si(weights.kc_mbon)),
        "mbon.I_bias": Constant("amp", si(params.mbon.I_bias)),
        "dan.w_dan_input": Constant("siemens", si(weights.dan_input)),
    }
    for pop in POPULATIONS:
        table.update(_voltage_range(params, pop, structure, noise))
    if structure.kc_current_noise:
        step = NOISE_DT_STEPS * si(params.network.dt)
        decay = float(np.exp(-step / si(noise.kc_current_tau)))
        table["kc.noise_decay"] = Constant("1", decay)
        table["kc.noise_sigma"] = Constant("amp", si(noise.kc_current_sigma))
    if structure.presentations > 1:  # presentations follow each other, protocol.duration apart
        for pop in ("pn", "kc"):
            table[f"{pop}.t_presentation"] = Constant("second", si(params.protocol.duration))
    if structure.plastic:
        table["kc_mbon.learning_rate"] = Constant("1", float(params.learning.learning_rate))
    return table


def run_time_constants(
    params: CircuitParams, structure: Structure, noise: Noise | None = None
) -> dict[str, Constant]:
    """Every run-time constant of the circuit ``structure`` for ``params`` and ``noise``:
    ``{"group.name": Constant(unit, SI value)}``."""
    noise = Noise() if noise is None else noise
    table = _model_constants(params) | _circuit_constants(params, structure, noise)
    bad = [name for name, constant in table.items() if not np.isfinite(constant.value)]
    if bad:
        raise ValueError(f"non-finite run-time value of {', '.join(bad)}")
    return table
