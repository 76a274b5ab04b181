"""A population of the circuit: a brian2 NeuronGroup from a neuron model plus what the circuit
adds (synaptic input, run-time constants, counters), with refractoriness that vectorises."""

from __future__ import annotations

from brian2 import Equations, Expression, NeuronGroup, second
from brian2.equations.equations import SingleEquation

from .constants import Constant
from .kernels import ThresholdCodeObject, fast_threshold_ok
from .neurons import get_model

__all__ = ["population", "shared_constants"]


def shared_constants(units: dict[str, str]) -> str:
    """Equation lines declaring ``{name: unit}`` as shared constants (set per run)."""
    return "\n".join(f"{name} : {unit} (shared, constant)" for name, unit in units.items())


def _refractoriness_in_equations(model) -> tuple[Equations, str, str]:
    """(equations, threshold, reset) of a forward-Euler model with its refractoriness written out.

    brian2's own refractoriness keeps a ``char not_refractory`` array and tests
    ``timestep(t - lastspike, dt)`` in the state update, which stops gcc from vectorising the
    loop (BENCHMARKS.md). Here a neuron stays refractory while ``t < ref_until``, set at each
    spike to half a step before the step at which brian2 would release it, and each
    "unless refractory" derivative is multiplied by ``int(t > ref_until)``. Under forward Euler
    this is the same arithmetic (``x + dt*(1*f)`` or ``x + dt*(0*f)``): results are
    bit-identical to brian2's. Other methods keep brian2's mechanism (exponential Euler would
    divide by the zeroed coefficient, Runge-Kutta would test the flag at sub-steps).
    """
    active = "int(t > ref_until)"
    rewritten = []
    for eq in Equations(model.equations).values():
        if "unless refractory" in eq.flags:
            flags = [f for f in eq.flags if f != "unless refractory"]
            eq = SingleEquation(
                eq.type,
                eq.varname,
                eq.dim,
                var_type=eq.var_type,
                expr=Expression(f"{active} * ({eq.expr})"),
                flags=flags,
            )
        rewritten.append(eq)
    equations = Equations(rewritten) + Equations("ref_until : second")
    threshold = f"({model.threshold}) and t > ref_until"
    reset = model.reset + f"\nref_until = t + (timestep({model.refractory}, dt) - 0.5) * dt"
    return equations, threshold, reset


def _is_duration(expression: str, values: dict) -> bool:
    """Whether a refractory expression is a fixed duration (brian2 also accepts a condition,
    e.g. ``"v > V_T"``, which has to keep brian2's own mechanism)."""
    from brian2.core.namespace import DEFAULT_UNITS
    from brian2.units.fundamentalunits import have_same_dimensions

    try:
        value = eval(expression, {"__builtins__": {}}, {**DEFAULT_UNITS, **values})  # noqa: S307
    except Exception:  # names a state variable, or is no expression at all
        return False
    return have_same_dimensions(value, second)


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
    explicit = model.method == "euler" and _is_duration(model.refractory, values)
    if explicit:
        model_eqs, threshold, reset = _refractoriness_in_equations(model)
    else:
        model_eqs, threshold, reset = Equations(model.equations), model.threshold, model.reset
    equations = model_eqs + Equations(
        "\n".join(
            [
                f"I_syn = {synaptic} : amp",
                "dg_exc/dt = -g_exc / tau_exc : siemens",
                shared_constants({symbol: c.unit for symbol, c in own.items()}),
                "slot : integer (constant)",
                extra_eqs,
            ]
        )
    )
    group = NeuronGroup(
        size,
        equations,
        threshold=threshold,
        reset=reset + "\n" + extra_reset,
        refractory=False if explicit else model.refractory,
        method=model.method,
        name=name,
        namespace={},
        order=order,
    )
    if explicit:
        group.ref_until = -1e4 * second  # brian2's initial lastspike: never refractory at t = 0
    if fast_threshold_ok(threshold):
        group.thresholder["spike"].codeobj_class = ThresholdCodeObject
    return group


def _unit(name: str):
    from brian2.core.namespace import DEFAULT_UNITS

    return 1.0 if name == "1" else DEFAULT_UNITS[name]
