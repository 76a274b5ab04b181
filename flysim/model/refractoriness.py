"""Refractoriness written into the equations, so the neurons' update loops vectorise.

brian2's own refractoriness keeps a ``char not_refractory`` array and tests
``timestep(t - lastspike, dt)`` in the state update, which stops gcc from vectorising the loop
(BENCHMARKS.md: the KCs' exponential-Euler update ran ~7x slower with it). Here a neuron stays
refractory while ``t < ref_until``, set at each spike to half a step before the step at which
brian2 would release it, and the "unless refractory" variables are frozen in that time:

- forward Euler: each such derivative is multiplied by ``int(t > ref_until)``: the same
  arithmetic as brian2's (``x + dt*(1*f)`` or ``x + dt*(0*f)``), bit for bit;
- exponential Euler (:class:`RefractoryExponentialEuler`): brian2's update of the ungated
  equations, then ``x = _x * active + x * (1 - active)``, exact for active in {0, 1}: the value
  brian2 keeps or writes (multiplying the derivative instead would divide by a zeroed
  coefficient).

Other methods (Runge-Kutta tests the flag at sub-steps) and refractory conditions (``"v > V_T"``)
keep brian2's mechanism.
"""

from __future__ import annotations

from brian2 import Equations, Expression, StateUpdateMethod, exponential_euler, second
from brian2.equations.equations import SingleEquation

__all__ = ["ACTIVE", "RefractoryExponentialEuler", "written_out", "is_duration"]

#: 1 while a neuron may integrate, 0 while it is refractory.
ACTIVE = "int(t > ref_until)"


class RefractoryExponentialEuler(StateUpdateMethod):
    """brian2's exponential Euler with the variables ``gated`` frozen while refractory."""

    def __init__(self, gated):
        self.gated = frozenset(gated)

    def __call__(self, equations, variables=None, method_options=None):
        lines = exponential_euler(equations, variables, method_options).splitlines()
        frozen = {f"{name} = _{name}": name for name in self.gated}
        return "\n".join(
            f"{frozen[line]} = _{frozen[line]} * {ACTIVE} + {frozen[line]} * (1 - {ACTIVE})"
            if line in frozen
            else line
            for line in lines
        )

    def __repr__(self):  # brian2 names the method in its log messages
        return f"RefractoryExponentialEuler(gated={sorted(self.gated)})"


def _ungated(equations: Equations, multiply: bool) -> tuple[list, list[str]]:
    """The equations without their "unless refractory" flags (each such expression multiplied
    by ACTIVE if ``multiply``), and the names of the variables that had the flag."""
    rewritten, gated = [], []
    for eq in equations.values():
        if "unless refractory" in eq.flags:
            gated.append(eq.varname)
            expr = Expression(f"{ACTIVE} * ({eq.expr})") if multiply else eq.expr
            flags = [f for f in eq.flags if f != "unless refractory"]
            eq = SingleEquation(
                eq.type, eq.varname, eq.dim, var_type=eq.var_type, expr=expr, flags=flags
            )
        rewritten.append(eq)
    return rewritten, gated


def written_out(model):
    """(equations, threshold, reset, method) of ``model`` with its refractoriness written out,
    for forward and exponential Euler (None for other methods)."""
    if model.method not in ("euler", "exponential_euler"):
        return None
    euler = model.method == "euler"
    rewritten, gated = _ungated(Equations(model.equations), multiply=euler)
    equations = Equations(rewritten) + Equations("ref_until : second")
    threshold = f"({model.threshold}) and t > ref_until"
    reset = model.reset + f"\nref_until = t + (timestep({model.refractory}, dt) - 0.5) * dt"
    method = "euler" if euler else RefractoryExponentialEuler(gated)
    return equations, threshold, reset, method


def is_duration(expression: str, values: dict) -> bool:
    """Whether a refractory expression is a fixed duration (brian2 also accepts a condition,
    e.g. ``"v > V_T"``, which has to keep brian2's own mechanism)."""
    from brian2.core.namespace import DEFAULT_UNITS
    from brian2.units.fundamentalunits import have_same_dimensions

    try:
        value = eval(expression, {"__builtins__": {}}, {**DEFAULT_UNITS, **values})  # noqa: S307
    except Exception:  # names a state variable, or is no expression at all
        return False
    return have_same_dimensions(value, second)
