"""The run-time values of a circuit's constants, computed from its parameters."""

from __future__ import annotations

import numpy as np
from brian2 import Quantity

from ..circuit import NOISE_DT_STEPS, POPULATIONS
from ..neurons import get_model, model_values
from ..params import CircuitParams

__all__ = ["parameter_values", "si"]


def si(value) -> float:
    """A quantity as a float in SI base units (what the compiled code stores)."""
    return float(value) if isinstance(value, Quantity) else float(value)


def parameter_values(
    params: CircuitParams, *, noise_sigma=0.0, noise_tau=None, poisson_input=True, plastic=False
) -> dict:
    """{'group.variable': float} for every constant the compiled circuit reads at run time."""
    values = {}
    for pop in POPULATIONS:
        population = getattr(params, pop)
        model_symbols = model_values(get_model(population.neuron), params, population)
        for symbol, value in model_symbols.items():
            values[f"{pop}.{symbol}"] = si(value)
        for symbol in ("E_exc", "E_inh", "tau_exc"):
            values[f"{pop}.{symbol}"] = si(getattr(population, symbol))

    proto, weights, li = params.protocol, params.weights, params.li
    t_on = si(proto.baseline)
    t_off = si(proto.baseline + proto.odor_duration)
    t_mid = (t_on + t_off) / 2
    values.update(
        {
            "pn.w_ln": si(weights.ln_pn) * li.gain("ln"),
            "pn.w_orn": si(weights.orn_pn),
            "pn.n_orn": float(params.orn.n_per_glomerulus),
            "pn.poisson_on": 1.0 if poisson_input else 0.0,
            "pn.t_odor_on": t_on,
            "pn.t_odor_off": t_off,
            "kc.w_pn_kc": si(weights.pn_kc),
            "kc.t_odor_on": t_on,
            "kc.t_odor_mid": t_mid,
            "kc.t_odor_off": t_off,
            "apl.w_kc_apl": si(weights.kc_apl),
            "apl.w_apl_kc": si(weights.apl_kc) * li.gain("apl"),
            "apl.tau_apl_out": si(params.kc.tau_inh),
            "apl.t_odor_on": t_on,
            "apl.t_odor_off": t_off,
            "mbon.w_kc_mbon": si(weights.kc_mbon),
            "mbon.tau_dopamine": si(params.learning.tau_dopamine),
            "dan.w_dan_input": si(weights.dan_input),
        }
    )
    if si(noise_sigma) > 0:  # the KC current-noise code exists only then (see Structure)
        noise_dt = NOISE_DT_STEPS * si(params.network.dt)
        tau = si(noise_tau) if noise_tau is not None else 5e-3
        values["kc.noise_decay"] = float(np.exp(-noise_dt / tau))
        values["kc.noise_sigma"] = si(noise_sigma)
    if plastic:
        learning = params.learning
        values.update(
            {
                "kc_mbon.tau_eligibility": si(learning.tau_eligibility),
                "kc_mbon.learning_rate": float(learning.learning_rate),
                "kc_mbon.recovery_rate": si(learning.recovery_rate),
            }
        )
    assert all(np.isfinite(v) for v in values.values()), "non-finite run-time value"
    return values
