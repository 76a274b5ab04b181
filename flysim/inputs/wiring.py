"""Random PN -> KC wiring of one fly, drawn from its wiring seed (Caron et al. 2013)."""

from __future__ import annotations

import numpy as np

from ..params import CircuitParams

__all__ = ["draw_claws"]


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
