"""f-I curves of the neuron models: steady firing rate against injected current."""

from __future__ import annotations

import numpy as np
import xarray as xr
from brian2 import Network, NeuronGroup, SpikeMonitor, amp, nA, prefs, second

from ..params import CircuitParams
from .neurons import get_model, model_values

__all__ = ["fi_curve", "dynamic_range", "dynamic_range_bounds"]


def fi_curve(
    params: CircuitParams,
    neuron: str,
    currents=None,
    *,
    duration=1 * second,
    population: str = "kc",
) -> xr.DataArray:
    """Firing rate of ``neuron`` (with ``population``'s membrane constants) for each current.

    Runs one small brian2 network (numpy target: no compilation) in which neuron ``k`` receives
    the constant current ``currents[k]`` and no synaptic input; the first 20% of ``duration``
    is discarded as transient.
    """
    currents = np.linspace(0, 2, 41) * nA if currents is None else currents
    model = get_model(neuron)
    pop = getattr(params, population)
    values = model_values(model, params, pop)
    prefs.codegen.target = "numpy"  # tiny network: interpreting beats compiling here
    group = NeuronGroup(
        len(currents),
        model.equations + "\nI_syn = I_ext : amp\nI_ext : amp",
        threshold=model.threshold,
        reset=model.reset,
        refractory=model.refractory,
        method=model.method,
        namespace=dict(values),
        dt=params.network.dt,
    )
    for var, expr in model.initial.items():
        setattr(group, var, values[expr] if expr in values else expr)
    group.I_ext = currents
    transient = 0.2 * duration
    network = Network(group)
    network.run(transient, namespace={})
    monitor = SpikeMonitor(group)
    network.add(monitor)
    network.run(duration - transient, namespace={})
    rates = np.asarray(monitor.count[:]) / float(duration - transient)
    return xr.DataArray(
        rates,
        dims="current",
        coords={"current": np.asarray(currents / amp)},
        name="rate",
        attrs={"units": "Hz", "long_name": f"{neuron} firing rate", "neuron": neuron},
    ).assign_coords(current=lambda d: d.current.assign_attrs(units="A"))


def dynamic_range_bounds(curve: xr.DataArray, low=0.1, high=0.9) -> tuple[float, float]:
    """Currents (A) at which the rate reaches ``low`` and ``high`` of its maximum, with linear
    interpolation on the rising curve; ``(0.0, 0.0)`` for a curve that never fires."""
    rates = np.maximum.accumulate(curve.values)
    currents = curve["current"].values
    top = rates[-1]
    if top <= 0:
        return 0.0, 0.0
    start, stop = np.interp([low * top, high * top], rates, currents)
    return float(start), float(stop)


def dynamic_range(curve: xr.DataArray, low=0.1, high=0.9) -> float:
    """Input range (A) over which the rate rises from ``low`` to ``high`` of its maximum:
    I(high * r_max) - I(low * r_max), with linear interpolation on the rising curve."""
    start, stop = dynamic_range_bounds(curve, low, high)
    return stop - start
