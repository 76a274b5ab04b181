"""A population of the circuit: a brian2 NeuronGroup from a neuron model plus what the circuit
adds (synaptic input, run-time constants, counters), with refractoriness that vectorises."""

from __future__ import annotations

from brian2 import Equations, NeuronGroup, second

from .constants import Constant
from .kernels import ThresholdCodeObject, fast_threshold_ok
from .neurons import get_model
from .refractoriness import is_duration, written_out

__all__ = ["population", "shared_constants", "TRACKERS", "TRACK_RANGE", "NEVER"]

#: What every population records for the run's checks (``flysim.run.guards``): its spikes, and
#: the first time and value at which its membrane potential left [v_floor, v_ceil].
TRACKERS = "n_spikes : integer\nt_out : second\nv_out : volt"
#: t_out of a neuron that never left its range (seconds; any t_out after a run's end means never).
NEVER = 1e9
#: For populations whose thresholder is not flysim's (a random threshold), the same tracking as
#: a loop of its own, after the state update and before the threshold (so that an unstable
#: step is seen before a reset hides it). x * (1 - out) + y * out is exact for out in {0, 1}.
_OUT_OF_RANGE = "int(t_out > t and not (v >= v_floor and v <= v_ceil))"
TRACK_RANGE = "\n".join(
    f"{name}_out = {name}_out * (1 - {_OUT_OF_RANGE}) + {name} * {_OUT_OF_RANGE}"
    for name in ("v", "t")
)


def shared_constants(units: dict[str, str]) -> str:
    """Equation lines declaring ``{name: unit}`` as shared constants (set per run)."""
    return "\n".join(f"{name} : {unit} (shared, constant)" for name, unit in units.items())


def population(
    name: str,
    size: int,
    model_name: str,
    constants: dict[str, Constant],
    *,
    extra_eqs: str,
    synaptic: str,
    extra_reset: str = "",
    order: int = 0,
) -> NeuronGroup:
    """A NeuronGroup ``name`` of ``size`` neurons of the neuron model ``model_name``, with the
    synaptic current ``synaptic``, every constant of ``constants`` named ``name.*`` declared as a
    shared constant (so it is set per run, not compiled in), and the circuit's additions."""
    model = get_model(model_name)
    own = {key.split(".", 1)[1]: c for key, c in constants.items() if key.startswith(f"{name}.")}
    values = {symbol: c.value * _unit(c.unit) for symbol, c in own.items()}
    explicit = written_out(model) if is_duration(model.refractory, values) else None
    if explicit:
        model_eqs, threshold, reset, method = explicit
    else:
        model_eqs, threshold, reset = Equations(model.equations), model.threshold, model.reset
        method = model.method
    equations = model_eqs + Equations(
        "\n".join(
            [
                f"I_syn = {synaptic} : amp",
                "dg_exc/dt = -g_exc / tau_exc : siemens",
                shared_constants({symbol: c.unit for symbol, c in own.items()}),
                "slot : integer (constant)",
                TRACKERS,
                extra_eqs,
            ]
        )
    )
    group = NeuronGroup(
        size,
        equations,
        threshold=threshold,
        reset=reset + "\nn_spikes += 1\n" + extra_reset,
        refractory=False if explicit else model.refractory,
        method=method,
        name=name,
        namespace={},
        order=order,
    )
    if explicit:
        group.ref_until = -1e4 * second  # brian2's initial lastspike: never refractory at t = 0
    group.t_out = NEVER * second  # not out of range yet (any t_out beyond a run means never)
    if fast_threshold_ok(threshold):  # flysim's thresholder tracks the range itself
        group.thresholder["spike"].codeobj_class = ThresholdCodeObject
    else:
        group.run_regularly(TRACK_RANGE, when="thresholds", order=-1, name=f"{name}_range")
    return group


def _unit(name: str):
    from brian2.core.namespace import DEFAULT_UNITS

    return 1.0 if name == "1" else DEFAULT_UNITS[name]
