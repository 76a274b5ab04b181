"""A fly's wiring: its PN -> KC claws, drawn from its wiring seed (Caron et al. 2013) or read
from a measured edge list (``flysim.inputs.connectome``), and
the KC -> MBON weight factors of each of its MBONs, whose roles (approach, avoidance) and
reinforcement (which DANs depress which) are fixed here too."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..params import CircuitParams, ParameterError
from .connectome import RANDOM, WiringError, glomerulus_indices, read_edge_list

__all__ = [
    "Claws",
    "claw_slots",
    "draw_claws",
    "fly_claws",
    "mbon_roles",
    "valence",
    "depressed_mbons",
    "weight_factors",
    "WEIGHT_STREAM",
]


#: Claw slots of a measured wiring come in multiples of this (see :func:`claw_slots`).
CLAW_SLOT_STEP = 8


class Claws(NamedTuple):
    """A fly's PN -> KC claws, each ``(n_kc, claw slots)``; unused slots (a KC with fewer claws
    than the compiled slots) hold glomerulus and PN -1 and weight 0."""

    glomerulus: np.ndarray
    pn: np.ndarray
    weight: np.ndarray


def claw_slots(params: CircuitParams) -> int:
    """Claw slots per KC in the compiled network: the in-degree of random wiring, or the most
    connections of one KC in the edge list ``network.wiring`` rounded up to a multiple of
    :data:`CLAW_SLOT_STEP`, so that edge lists of similar in-degree share one network (the
    claws are run-time values: another list with as many slots never recompiles)."""
    if params.network.wiring == RANDOM:
        return params.network.kc_in_degree
    most = read_edge_list(params.network.wiring).max_claws
    return -(-most // CLAW_SLOT_STEP) * CLAW_SLOT_STEP


def draw_claws(params: CircuitParams, fly_seed: int) -> Claws:
    """Random claws (Caron et al. 2013): each KC samples ``kc_in_degree`` distinct glomeruli
    uniformly and, in each, one of its sister PNs; every claw weighs 1."""
    net = params.network
    rng = np.random.default_rng([int(fly_seed), 0x57A1])  # stream reserved for wiring
    keys = rng.random((net.n_kc, net.n_glomeruli))
    glomeruli = np.argsort(keys, axis=1)[:, : net.kc_in_degree]  # distinct per KC
    sisters = rng.integers(net.pns_per_glomerulus, size=glomeruli.shape)
    pns = glomeruli * net.pns_per_glomerulus + sisters
    return Claws(glomeruli, pns, np.ones(glomeruli.shape))


def _measured_claws(params: CircuitParams, glomeruli, fly_seed: int) -> Claws:
    """The claws of the edge list ``network.wiring``; a sister PN is drawn from the fly's
    wiring seed where the list does not name PNs."""
    net = params.network
    edges = read_edge_list(net.wiring)
    rows = glomerulus_indices(edges, glomeruli)
    if edges.n_kc != net.n_kc:
        raise WiringError(
            f"edge list {edges.path} has {edges.n_kc} KCs but 'network.n_kc' is {net.n_kc}: "
            f"set network.n_kc = {edges.n_kc}"
        )
    if edges.pn is None:
        rng = np.random.default_rng([int(fly_seed), 0x57A2])  # sisters of measured claws
        sisters = rng.integers(net.pns_per_glomerulus, size=rows.size)
    else:
        sisters = edges.pn % net.pns_per_glomerulus
    slot = _slot_in_kc(edges.kc)
    claws = Claws(*(np.full((net.n_kc, claw_slots(params)), v) for v in (-1, -1, 0.0)))
    claws.glomerulus[edges.kc, slot] = rows
    claws.pn[edges.kc, slot] = rows * net.pns_per_glomerulus + sisters
    claws.weight[edges.kc, slot] = edges.weights
    return claws


def _slot_in_kc(kc: np.ndarray) -> np.ndarray:
    """Each row's position among its KC's rows (0, 1, ... in file order)."""
    order = np.argsort(kc, kind="stable")
    starts = np.searchsorted(kc[order], kc[order])
    slot = np.empty_like(kc)
    slot[order] = np.arange(kc.size) - starts
    return slot


def fly_claws(params: CircuitParams, glomeruli, fly_seed: int) -> Claws:
    """A fly's claws: drawn from its seed, or those of the edge list ``network.wiring``
    (``glomeruli``: the circuit's glomerulus names, which the list's names refer to)."""
    if params.network.wiring == RANDOM:
        return draw_claws(params, fly_seed)
    return _measured_claws(params, glomeruli, fly_seed)


#: Keys the weights' generator apart from the fly's other random streams.
WEIGHT_STREAM = 0x4B0A


def mbon_roles(n_mbon: int) -> np.ndarray:
    """``"approach"`` for MBONs 0..M/2-1, ``"avoidance"`` for M/2..M-1 (M even, >= 2)."""
    if n_mbon < 2 or n_mbon % 2:
        raise ParameterError(
            f"parameter 'network.n_mbon' ({n_mbon}) must be even and >= 2: half of the MBONs "
            "promote approach, half avoidance"
        )
    return np.array(["approach"] * (n_mbon // 2) + ["avoidance"] * (n_mbon // 2))


def valence(responses: np.ndarray) -> np.ndarray:
    """An odor's valence: mean approach-MBON rate minus mean avoidance-MBON rate (Hz), over
    the last axis (MBONs, in :func:`mbon_roles` order)."""
    approach = mbon_roles(responses.shape[-1]) == "approach"
    return responses[..., approach].mean(-1) - responses[..., ~approach].mean(-1)


def depressed_mbons(n_mbon: int, protocol: str) -> np.ndarray:
    """Which MBONs a reinforced presentation's DANs depress: punishment DANs the approach
    MBONs, reward DANs the avoidance ones (bool, ``(n_mbon,)``)."""
    roles = mbon_roles(n_mbon)
    target = {"punishment": "approach", "reward": "avoidance"}.get(protocol)
    if target is None:
        raise ParameterError(f"parameter 'learning.protocol' ({protocol!r}) is not known")
    return roles == target


def weight_factors(fly_seed: int, n_kc: int, n_mbon: int, weight_sd: float) -> np.ndarray:
    """Each MBON's KC weight factors ``u = exp(sd * z - sd**2 / 2)`` (mean 1), ``(n_kc, n_mbon)``.

    ``z`` is standard normal from a generator keyed only by the fly's wiring seed, drawn MBON
    by MBON, so MBON m's factors do not depend on how many MBONs there are.
    """
    z = np.random.default_rng([int(fly_seed), WEIGHT_STREAM]).standard_normal((n_mbon, n_kc))
    return np.exp(weight_sd * z.T - weight_sd**2 / 2)
