"""The parameter tree of a circuit: one frozen, keyword-only group per population and mechanism.

Defaults are published precedents (sources in the comments and in ``models/drosophila_adult.toml``);
the preset files are the calibrated values users run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from brian2 import Hz, ms, mV, nS, pA, pF

from .fields import ParamGroup, choice, flag, integer, number, quantity
from .units import ParameterError

__all__ = [
    "NetworkParams",
    "ProtocolParams",
    "OrnParams",
    "NeuronParams",
    "WeightParams",
    "LateralInhibitionParams",
    "AdaptationParams",
    "KvParams",
    "LearningParams",
    "CircuitParams",
    "GROUPS",
    "RANDOM_WIRING",
]

#: The value of ``network.wiring`` that draws each fly's claws at random (Caron et al. 2013).
RANDOM_WIRING = "random"


@dataclass(frozen=True, kw_only=True, eq=False)
class NetworkParams(ParamGroup):
    """Sizes of one fly's circuit (per hemisphere) and the integration step."""

    n_glomeruli: int = integer(50, doc="~50 glomeruli (Caron et al. 2013)")
    pns_per_glomerulus: int = integer(3, doc="~3 sister uniglomerular PNs per glomerulus")
    n_kc: int = integer(2000, doc="~2000 KCs per hemisphere")
    kc_in_degree: int = integer(7, doc="claws per KC, each from a distinct glomerulus (Caron 2013)")
    n_mbon: int = integer(
        8,
        doc="MBONs, each with its own DAN-innervated compartment: the first half promote "
        "approach, the second half avoidance",
    )
    dt: object = quantity(0.1 * ms, "ms", positive=True, doc="integration time step")
    # PN -> KC wiring: "random" (each fly's claws drawn from its seed, kc_in_degree per KC), or
    # the path of a connectome edge list (flysim.inputs.connectome), read when a run starts
    wiring: str = RANDOM_WIRING

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.wiring, str) or not self.wiring.strip():
            raise ParameterError(
                "parameter 'network.wiring' must be \"random\" or the path of an edge-list CSV, "
                f"got {self.wiring!r}"
            )


@dataclass(frozen=True, kw_only=True, eq=False)
class ProtocolParams(ParamGroup):
    """Timing of one odor presentation (a trial)."""

    baseline: object = quantity(
        300 * ms, "ms", positive=True, doc="spontaneous period before the odor"
    )
    odor_duration: object = quantity(
        500 * ms, "ms", positive=True, doc="odor on (0.5-1 s, Rapp & Nawrot)"
    )
    post: object = quantity(200 * ms, "ms", minimum=0 * ms, doc="after odor offset")
    stimulus_dt: object = quantity(
        1 * ms, "ms", positive=True, doc="time resolution of the ORN drive"
    )

    @property
    def duration(self):
        return self.baseline + self.odor_duration + self.post


@dataclass(frozen=True, kw_only=True, eq=False)
class OrnParams(ParamGroup):
    """Olfactory receptor neurons: the drive of each glomerulus's PNs."""

    spontaneous_rate: object = quantity(8 * Hz, "Hz", minimum=0 * Hz, doc="Hallem & Carlson 2006")
    n_per_glomerulus: int = integer(40, doc="ORNs converging on one glomerulus")
    max_rate: object = quantity(300 * Hz, "Hz", positive=True, doc="ORN rates are clipped here")


@dataclass(frozen=True, kw_only=True, eq=False)
class NeuronParams(ParamGroup):
    """A population's membrane and synaptic constants (conductance-based; Rapp & Nawrot 2020)."""

    neuron: str = "lif"
    C: object = quantity(289.5 * pF, "pF", positive=True)
    tau_m: object = quantity(10 * ms, "ms", positive=True)
    E_L: object = quantity(-70 * mV, "mV")
    V_T: object = quantity(-57 * mV, "mV")
    V_reset: object = quantity(-70 * mV, "mV")
    refractory: object = quantity(5 * ms, "ms", minimum=0 * ms)
    E_exc: object = quantity(0 * mV, "mV")
    E_inh: object = quantity(-75 * mV, "mV")
    tau_exc: object = quantity(2 * ms, "ms", positive=True)
    tau_inh: object = quantity(
        10 * ms,
        "ms",
        positive=True,
        doc="decay of inhibitory input; only KCs receive any (the APL's), so only kc.tau_inh acts",
    )
    I_bias: object = quantity(
        0 * pA,
        "pA",
        doc="constant depolarising current; only the MBONs receive it (their spontaneous "
        "firing), so only mbon.I_bias acts",
    )

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.neuron, str) or not self.neuron:
            raise ParameterError(f"parameter 'neuron' must be a model name, got {self.neuron!r}")
        if not self.V_reset < self.V_T:
            raise ParameterError(
                f"parameter 'V_reset' ({self.V_reset}) must be below 'V_T' ({self.V_T})"
            )

    @property
    def g_L(self):
        return self.C / self.tau_m


@dataclass(frozen=True, kw_only=True, eq=False)
class WeightParams(ParamGroup):
    """Conductance increments per presynaptic spike."""

    orn_pn: object = quantity(5 * nS, "nS", minimum=0 * nS, doc="per ORN spike (calibrated)")
    pn_kc: object = quantity(
        5.15 * nS, "nS", minimum=0 * nS, doc="calibrated (14 nS in Rapp & Nawrot)"
    )
    kc_apl: object = quantity(3 * nS, "nS", minimum=0 * nS, doc="Rapp & Nawrot 2020")
    apl_kc: object = quantity(
        5.66 * nS,
        "nS",
        minimum=0 * nS,
        doc="onto every KC: the graded APL's maximal conductance (a spiking APL's per spike)",
    )
    kc_mbon: object = quantity(5 * nS, "nS", minimum=0 * nS, doc="initial KC->MBON weight")
    ln_pn: object = quantity(
        0.37 * nS, "nS", minimum=0 * nS, doc="AL LN shunt per Hz of mean ORN rate (calibrated)"
    )
    dan_input: object = quantity(
        30 * nS, "nS", minimum=0 * nS, doc="per reinforcement input spike onto a DAN"
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class LateralInhibitionParams(ParamGroup):
    """Lateral inhibition: APL feedback onto KCs and/or antennal-lobe LN normalisation of PNs."""

    enabled: bool = flag(True)
    strength: float = number(1.0, minimum=0.0, doc="multiplies the inhibitory weights")
    site: str = choice("apl", ("apl", "ln", "both"), doc="where LI acts")
    apl_compartments: int = integer(
        1, doc="1 = global APL; >1 = local APL compartments (Amin 2020)"
    )
    apl_release_range: object = quantity(
        10 * mV,
        "mV",
        positive=True,
        doc="graded APL: depolarisation above rest (apl.E_L) at which its release saturates",
    )

    def gain(self, site: str) -> float:
        return self.strength if self.enabled and self.site in (site, "both") else 0.0


@dataclass(frozen=True, kw_only=True, eq=False)
class AdaptationParams(ParamGroup):
    """Spike-frequency adaptation: a spike-triggered K+ conductance (Rapp & Nawrot 2020)."""

    enabled: bool = flag(True)
    strength: float = number(1.0, minimum=0.0, doc="multiplies the increment")
    increment: object = quantity(5 * nS, "nS", minimum=0 * nS)
    tau: object = quantity(200 * ms, "ms", positive=True)
    reversal: object = quantity(-90 * mV, "mV")

    @property
    def gain(self) -> float:
        """What the switches make of a model's spike-triggered adaptation: ``strength`` if
        enabled, else 0 (sfa_lif's increment; KvLIF's spike-triggered K+ increment)."""
        return self.strength if self.enabled else 0.0

    @property
    def effective_increment(self):
        return self.increment * self.gain


@dataclass(frozen=True, kw_only=True, eq=False)
class KvParams(ParamGroup):
    """KvLIF's auxiliary K+ conductance (after Yang et al. 2026; models/neurons/kvlif.toml)."""

    g_max: object = quantity(20 * nS, "nS", minimum=0 * nS, doc="voltage-gated part, fully open")
    tau: object = quantity(50 * ms, "ms", positive=True, doc="activation time constant")
    V_half: object = quantity(-60 * mV, "mV", doc="half-activation voltage")
    slope: object = quantity(4 * mV, "mV", positive=True, doc="activation slope factor")
    increment: object = quantity(8 * nS, "nS", minimum=0 * nS, doc="spike-triggered increment")
    reset_depth: object = quantity(10 * mV, "mV", minimum=0 * mV, doc="extra reset depth at full g")
    reversal: object = quantity(-90 * mV, "mV")


@dataclass(frozen=True, kw_only=True, eq=False)
class LearningParams(ParamGroup):
    """Three-factor plasticity at KC->MBON synapses and the MBON readout (``flysim.readout``).

    One update per reinforced training presentation: ``w <- w * exp(-learning_rate)`` at the
    compartments its DANs reinforce, for every KC that responded (>= 1 spike in the
    presentation's odor window; dopamine depresses the synapses of co-active KCs: Hige et al.
    2015): graded (a fraction ``1 - exp(-learning_rate)`` per pairing), never at zero.
    The first half of the MBONs promote approach (punishment DANs depress them), the second
    half avoidance (reward DANs depress them).
    """

    learning_rate: float = number(
        2.0, minimum=0.0, doc="depression exponent of a responding KC's synapses per pairing"
    )
    protocol: str = choice(
        "punishment",
        ("punishment", "reward"),
        doc="punishment: the approach compartments are depressed; reward: the avoidance ones",
    )
    weight_sd: float = number(
        0.5, minimum=0.0, doc="SD of the log of each KC->MBON weight factor, drawn per fly"
    )
    mbon_rate: object = quantity(
        40 * Hz,
        "Hz",
        positive=True,
        doc="homeostatic target: each MBON's mean naive rate in the odor window of reference "
        "odors (odors other than the test pairs), set by scaling its KC weights",
    )
    dan_rate: object = quantity(
        100 * Hz,
        "Hz",
        minimum=0 * Hz,
        doc="DAN drive during reinforcement (the DANs' spikes; the rule reads whether a DAN "
        "was driven in the presentation)",
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class CircuitParams(ParamGroup):
    """All parameters of a circuit; ``with_overrides`` changes them by dotted path."""

    name: str = "custom"
    notes: str = ""
    network: NetworkParams = dataclasses.field(default_factory=NetworkParams)
    protocol: ProtocolParams = dataclasses.field(default_factory=ProtocolParams)
    orn: OrnParams = dataclasses.field(default_factory=OrnParams)
    pn: NeuronParams = dataclasses.field(default_factory=NeuronParams)
    kc: NeuronParams = dataclasses.field(default_factory=lambda: NeuronParams(neuron="sfa_lif"))
    apl: NeuronParams = dataclasses.field(default_factory=lambda: NeuronParams(neuron="graded"))
    # MBONs held near threshold by tonic input (calibrated, issue #19; see the adult preset)
    mbon: NeuronParams = dataclasses.field(default_factory=lambda: NeuronParams(I_bias=360 * pA))
    dan: NeuronParams = dataclasses.field(default_factory=NeuronParams)
    weights: WeightParams = dataclasses.field(default_factory=WeightParams)
    li: LateralInhibitionParams = dataclasses.field(default_factory=LateralInhibitionParams)
    sfa: AdaptationParams = dataclasses.field(default_factory=AdaptationParams)
    kvlif: KvParams = dataclasses.field(default_factory=KvParams)
    learning: LearningParams = dataclasses.field(default_factory=LearningParams)

    def __post_init__(self):
        net = self.network
        if net.wiring == RANDOM_WIRING and net.kc_in_degree > net.n_glomeruli:
            raise ParameterError(
                f"parameter 'network.kc_in_degree' ({net.kc_in_degree}) exceeds "
                f"'network.n_glomeruli' ({net.n_glomeruli}): each claw needs a distinct glomerulus"
            )
        if net.n_kc % self.li.apl_compartments:
            raise ParameterError(
                f"parameter 'li.apl_compartments' ({self.li.apl_compartments}) must divide "
                f"'network.n_kc' ({net.n_kc})"
            )
        self._check_time_step()
        if self.protocol.stimulus_dt < net.dt:
            raise ParameterError("parameter 'protocol.stimulus_dt' must be >= 'network.dt'")

    #: dt must resolve the fastest time constant with this many steps (forward Euler stays within
    #: ~5 % of the exact decay per time constant at 10 steps).
    STEPS_PER_TAU = 10

    def _check_time_step(self):
        taus = {
            f"{pop}.{name}": getattr(getattr(self, pop), name)
            for pop in ("pn", "kc", "apl", "mbon", "dan")
            for name in ("tau_m", "tau_exc", "tau_inh")
        }
        taus |= {"sfa.tau": self.sfa.tau, "kvlif.tau": self.kvlif.tau}
        fastest = min(taus, key=lambda k: float(taus[k]))
        limit = taus[fastest] / self.STEPS_PER_TAU
        if self.network.dt > limit * (1 + 1e-9):
            raise ParameterError(
                f"parameter 'network.dt' ({self.network.dt}) is too large for the fastest time "
                f"constant '{fastest}' ({taus[fastest]}): use dt <= {limit}"
            )

    @property
    def n_pn(self) -> int:
        return self.network.n_glomeruli * self.network.pns_per_glomerulus


#: group name -> class, for reading TOML and resolving dotted paths
GROUPS = {
    f.name: f.default_factory().__class__ if f.default_factory is not dataclasses.MISSING else None
    for f in dataclasses.fields(CircuitParams)
    if f.name not in ("name", "notes")
}
