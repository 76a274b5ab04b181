"""What fixes the generated code of a circuit (its :class:`Structure`), and the cache key of it.

Everything else (weights, time constants, strengths, wiring, stimulus, seeds) is a run-time
value, so changing it never recompiles. The key names the compiled artifact in the cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from brian2 import ms

from ..inputs.wiring import claw_slots
from ..params import CircuitParams
from .neurons import get_model

__all__ = ["Structure", "structure_of", "POPULATIONS", "CODE_HASH"]

POPULATIONS = ("pn", "kc", "apl", "mbon", "dan")


@dataclass(frozen=True)
class Structure:
    """What determines the generated code; its ``key`` names the compiled artifact."""

    n_glomeruli: int
    pns_per_glomerulus: int
    n_kc: int
    kc_in_degree: int  # claw slots per KC (flysim.inputs.wiring.claw_slots)
    n_mbon: int
    apl_compartments: int
    neurons: tuple  # ((population, model name, model definition hash), ...)
    dt_us: int
    stimulus_dt_us: int
    duration_ms: float
    batch: int
    record_spikes: bool = False
    plastic: bool = False
    # Odor presentations of protocol.duration each in one run (conditioning: 4). With more
    # than one, PN and KC spikes in each presentation's odor window are counted separately.
    presentations: int = 1
    profile: bool = False  # brian2 timing per code object (benchmarks only)
    # KC current noise costs a randn() per KC every few steps even at sigma 0, so it is
    # compiled in only when used: switching it on selects another network, its level does not.
    kc_current_noise: bool = False

    @property
    def n_pn(self) -> int:
        return self.n_glomeruli * self.pns_per_glomerulus

    @property
    def n_stimulus_bins(self) -> int:
        return int(round(self.duration_ms * 1000 / self.stimulus_dt_us)) + 1

    @property
    def key(self) -> str:
        import brian2

        from .. import __version__

        text = json.dumps(
            [asdict(self), __version__, brian2.__version__, CODE_HASH, _compile_prefs()],
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


#: The code that generates the network is part of the cache key, so that a changed circuit
#: never reuses a binary compiled from the old one under the same version number.
_HERE = Path(__file__).parent
CODE_HASH = hashlib.sha256(
    b"".join(
        path.read_bytes()
        for path in [*sorted(_HERE.glob("*.py")), *sorted(_HERE.glob("templates/*"))]
    )
).hexdigest()[:16]


def _compile_prefs() -> list:
    """brian2 preferences, set by the user, that change the compiled code (the compiler flags
    are not among them: flysim sets those itself at every build)."""
    from brian2 import prefs

    return [
        str(prefs["devices.cpp_standalone.openmp_threads"]),
        str(prefs["core.default_float_dtype"]),
    ]


def _model_hash(name: str) -> str:
    model = get_model(name)
    text = json.dumps(asdict(model), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def structure_of(
    params: CircuitParams,
    *,
    batch: int,
    duration=None,
    record_spikes=False,
    plastic=False,
    presentations=1,
    profile=False,
    kc_current_noise=False,
) -> Structure:
    """The structure needed to run ``params`` with ``batch`` slots of ``duration`` each."""
    net, proto = params.network, params.protocol
    duration = proto.duration if duration is None else duration
    neurons = tuple(
        (pop, getattr(params, pop).neuron, _model_hash(getattr(params, pop).neuron))
        for pop in POPULATIONS
    )
    return Structure(
        n_glomeruli=net.n_glomeruli,
        pns_per_glomerulus=net.pns_per_glomerulus,
        n_kc=net.n_kc,
        kc_in_degree=claw_slots(params),
        n_mbon=net.n_mbon,
        apl_compartments=params.li.apl_compartments,
        neurons=neurons,
        dt_us=int(round(float(net.dt / ms) * 1000)),
        stimulus_dt_us=int(round(float(proto.stimulus_dt / ms) * 1000)),
        duration_ms=round(float(duration / ms), 6),
        batch=int(batch),
        record_spikes=bool(record_spikes),
        plastic=bool(plastic),
        presentations=int(presentations),
        profile=bool(profile),
        kc_current_noise=bool(kc_current_noise),
    )
