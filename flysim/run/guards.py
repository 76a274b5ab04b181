"""Checks on every run's result: refuse numbers from a simulation that diverged.

A diverged membrane is easy to miss: a NaN potential never crosses threshold (the neuron falls
silent), and a potential thrown past the reversal potentials by an unstable step fires at every
step out of its refractory period (every neuron "responds"). Either gives plausible-looking
counts. So every run of every protocol is checked, per population and slot:

- the state at the end of the run is finite;
- no neuron fired more spikes than its refractory period allows;
- no membrane potential left the range its reversal potentials span (plus a margin), which
  the circuit tracks at every step (``flysim.model.circuit``: the first time and value).

A failed check raises :class:`~flysim.engine.SimulationError` naming the population, the
slot's fly, odor and trial (the protocol's words) and the time.
"""

from __future__ import annotations

import numpy as np

from ..engine import SimulationError
from ..model.structure import POPULATIONS

__all__ = ["guard_outputs", "check_run", "check_finite_state", "state_outputs"]

_LABELS = {"pn": "PN", "kc": "KC", "apl": "APL", "mbon": "MBON", "dan": "DAN"}


def state_outputs(circuit) -> list[str]:
    """Every floating-point neuron variable (v, conductances, ...) the binary writes at the end
    (the bound trackers excepted: they hold a time and a value, not a state)."""
    return [
        name
        for name, spec in circuit.outputs.items()
        if name.split(".")[0] in POPULATIONS
        and np.dtype(spec["dtype"]).kind == "f"
        and name.split(".")[1] not in ("t_out", "v_out")
    ]


def _tracker_outputs(circuit) -> list[str]:
    return [
        f"{pop}.{name}"
        for pop in POPULATIONS
        for name in ("n_spikes", "t_out", "v_out")
        if f"{pop}.{name}" in circuit.outputs
    ]


def guard_outputs(circuit) -> list[str]:
    """The outputs the checks read, besides what a protocol reads itself."""
    return state_outputs(circuit) + _tracker_outputs(circuit)


def check_finite_state(result, names: list[str], where=None):
    """Refuse a run whose state went NaN/inf (``where(name, index)`` says where, if given)."""
    for name in names:
        values = result[name]
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            place = f" (first: {where(name, first)})" if where is not None else ""
            raise SimulationError(
                f"state '{name}' became NaN/inf in {int(bad.sum())} of {values.size} "
                f"neurons{place}: the integration diverged (check dt and extreme parameter values)"
            )


def _neuron(result, prepared, padded, describe, pop: str, index: int) -> str:
    """ "KC 17 of fly 0, odor 'a', trial 2" for neuron ``index`` of a population's array."""
    per_slot = result.sizes[pop]
    slot, own = divmod(index, per_slot)
    item = padded[slot]
    where = describe(item) if item is not None else f"idle slot {slot}"
    return f"{_LABELS[pop]} {own} of {where}"


def _check_rates(result, prepared, padded, describe):
    """No neuron fires faster than its refractory period allows."""
    duration = prepared.structure.duration_ms * 1e-3
    dt = prepared.structure.dt_us * 1e-6
    for pop in POPULATIONS:
        name = f"{pop}.n_spikes"
        if name not in result.arrays:
            continue
        refractory = max(float(getattr(prepared.params, pop).refractory), dt)
        limit = duration / refractory * 1.001 + 1
        counts = result[name]
        if counts.size and counts.max() > limit:
            worst = int(np.argmax(counts))
            neuron = _neuron(result, prepared, padded, describe, pop, worst)
            raise SimulationError(
                f"{neuron} fired {int(counts[worst])} spikes in {duration:.3g} s, above the "
                f"limit of its {refractory * 1e3:.3g} ms refractory period: the state diverged "
                f"(check dt and extreme parameter values)"
            )


def _check_bounds(result, prepared, padded, describe):
    """No membrane potential leaves the range of its population's reversal potentials."""
    for pop in POPULATIONS:
        name = f"{pop}.t_out"
        if name not in result.arrays:
            continue
        times = result[name]
        out = np.flatnonzero(times <= prepared.structure.duration_ms * 1e-3)
        if not out.size:
            continue
        first = out[np.argmin(times[out])]
        low, high = (prepared.constants[f"{pop}.{b}"] for b in ("v_floor", "v_ceil"))
        neuron = _neuron(result, prepared, padded, describe, pop, int(first))
        value, when = result[f"{pop}.v_out"][first], f"t = {times[first] * 1e3:.1f} ms"
        if not np.isfinite(value):
            raise SimulationError(
                f"{neuron}: membrane potential became {value} at {when}, in {out.size} neurons: "
                f"the arithmetic overflowed or the integration diverged (check extreme "
                f"parameter values)"
            )
        raise SimulationError(
            f"{neuron}: membrane potential {value * 1e3:.4g} mV at {when}, outside "
            f"[{low * 1e3:.4g}, {high * 1e3:.4g}] mV (its reversal potentials and reset, with a "
            f"margin), in {out.size} neurons: the integration is unstable for these parameters"
        )


def check_run(result, prepared, padded: list, describe) -> None:
    """Every check of one batch's result; raises SimulationError at the first that fails."""

    def where(name, index):
        pop = name.split(".")[0]
        return _neuron(result, prepared, padded, describe, pop, index)

    _check_bounds(result, prepared, padded, describe)
    check_finite_state(result, state_outputs(prepared.circuit), where)
    _check_rates(result, prepared, padded, describe)
