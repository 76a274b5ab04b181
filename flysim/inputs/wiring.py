"""A fly's wiring, drawn from its wiring seed: random PN -> KC claws (Caron et al. 2013), and
the KC -> MBON weight factors of each of its MBONs, whose roles (approach, avoidance) and
reinforcement (which DANs depress which) are fixed here too."""

from __future__ import annotations

import numpy as np

from ..params import CircuitParams, ParameterError

__all__ = [
    "draw_claws",
    "mbon_roles",
    "valence",
    "depressed_mbons",
    "weight_factors",
    "WEIGHT_STREAM",
]


def draw_claws(params: CircuitParams, fly_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Claws of every KC: (glomerulus, pn) index arrays of shape (n_kc, kc_in_degree).

    Each KC samples ``kc_in_degree`` distinct glomeruli uniformly (nearly random, Caron 2013)
    and, in each, one of its sister PNs.
    """
    net = params.network
    rng = np.random.default_rng([int(fly_seed), 0x57A1])  # stream reserved for wiring
    keys = rng.random((net.n_kc, net.n_glomeruli))
    glomeruli = np.argsort(keys, axis=1)[:, : net.kc_in_degree]  # distinct per KC
    sisters = rng.integers(net.pns_per_glomerulus, size=glomeruli.shape)
    return glomeruli, glomeruli * net.pns_per_glomerulus + sisters


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
