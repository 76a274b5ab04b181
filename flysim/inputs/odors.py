"""Odor panels: glomerular ORN responses (Δspikes/s from spontaneous), synthetic or from tables.

A panel is a matrix odors x glomeruli of changes in ORN firing rate (negative = inhibition), as
in published receptor tables (e.g. Hallem & Carlson 2006), plus optional spontaneous rates.
"""

from __future__ import annotations

import math

import numpy as np

from ..params.units import shown
from .panel import OdorPanel, OdorTableError
from .tables import MAX_PLAUSIBLE_RATE, from_table, hallem_carlson_2006

__all__ = [
    "OdorPanel",
    "OdorTableError",
    "synthetic_panel",
    "similar_pairs",
    "with_reference_odors",
    "from_table",
    "hallem_carlson_2006",
]


def _glomerulus_names(n: int) -> list[str]:
    return [f"g{i:02d}" for i in range(n)]


def _draw_responses(
    rng, n_odors: int, n_glomeruli: int, *, mean_rate: float, fraction_inhibited: float
) -> np.ndarray:
    """Heavy-tailed excitation with some inhibition, like the Hallem & Carlson (2006) table:
    most receptor-odor pairs change little, a few respond strongly (up to ~250 Hz)."""
    shape = 0.5  # Gamma shape < 1: most responses small, a few large
    excitation = rng.gamma(shape, mean_rate / shape, size=(n_odors, n_glomeruli))
    inhibited = rng.random((n_odors, n_glomeruli)) < fraction_inhibited
    inhibition = -rng.uniform(0, 10, size=(n_odors, n_glomeruli))
    return np.minimum(np.where(inhibited, inhibition, excitation), 250.0)


def synthetic_panel(
    n_odors: int,
    *,
    n_glomeruli: int | None = None,
    seed: int,
    mean_rate: float = 30.0,
    fraction_inhibited: float = 0.15,
) -> OdorPanel:
    """A seeded panel of random odors with realistic breadth.

    Each odor-glomerulus Δrate is Gamma(shape 0.5, mean ``mean_rate`` Hz) (heavy-tailed: broad
    but weak activation with a few strong glomeruli) or, with probability
    ``fraction_inhibited``, an inhibition of 0-10 Hz; capped at 250 Hz. Parameters chosen to
    resemble Hallem & Carlson 2006 (mean |Δ| ~ 20-40 Hz, maxima ~ 200-300 Hz).
    """
    n_glomeruli = 50 if n_glomeruli is None else n_glomeruli
    _check_count("n_odors", n_odors)
    _check_count("n_glomeruli", n_glomeruli)
    _check_draw_settings(seed, mean_rate)
    if not _is_real(fraction_inhibited) or not 0 <= fraction_inhibited <= 1:
        raise OdorTableError(
            f"fraction_inhibited must be in [0, 1], got {shown(fraction_inhibited)}"
        )
    rng = np.random.default_rng(seed)
    responses = _draw_responses(
        rng, n_odors, n_glomeruli, mean_rate=mean_rate, fraction_inhibited=fraction_inhibited
    )
    return OdorPanel(
        responses,
        [f"odor{i:03d}" for i in range(n_odors)],
        _glomerulus_names(n_glomeruli),
        info={"source": "synthetic_panel", "seed": seed, "mean_rate": mean_rate},
    )


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OdorTableError(f"{name} must be a positive integer, got {shown(value)}")


def _is_real(value) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and abs(value) <= 1e308  # excludes inf and NaN (NaN compares false)
    )


def _check_draw_settings(seed, mean_rate):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise OdorTableError(f"seed must be an integer >= 0, got {shown(seed)}")
    if not _is_real(mean_rate) or not 0 < mean_rate <= MAX_PLAUSIBLE_RATE:
        raise OdorTableError(
            f"mean_rate must be a number in (0, {MAX_PLAUSIBLE_RATE:g}] Hz, got {shown(mean_rate)}"
        )


def _mixing_weight(target: float) -> float:
    """alpha such that alpha*A + (1-alpha)*C has correlation ``target`` with A (equal variances)."""
    if target >= 1:
        return 1.0
    if target <= 0:
        return 0.0
    # corr = a / sqrt(a^2 + (1-a)^2)  =>  solve the quadratic for a in (0, 1)
    r2 = target * target
    a2, b, c = 2 * r2 - 1, -2 * r2, r2
    if abs(a2) < 1e-12:
        return -c / b
    roots = [(-b + s * math.sqrt(b * b - 4 * a2 * c)) / (2 * a2) for s in (1, -1)]
    return next(r for r in roots if 0 <= r <= 1)


def similar_pairs(
    n_pairs: int,
    similarity=0.8,
    *,
    n_glomeruli: int | None = None,
    seed: int,
    mean_rate: float = 30.0,
) -> OdorPanel:
    """Pairs of odors (``pair{i}_a``, ``pair{i}_b``) whose glomerular patterns correlate at about
    ``similarity`` (Pearson), from identical (1) to unrelated (0).

    ``b = alpha * a + (1 - alpha) * c`` mixes odor ``a`` with an independent odor ``c``, alpha
    chosen for the target correlation. ``similarity`` may be a list: one value per pair. The
    realised correlations are in ``panel.info["input_similarity"]``.
    """
    n_glomeruli = 50 if n_glomeruli is None else n_glomeruli
    _check_count("n_pairs", n_pairs)
    _check_count("n_glomeruli", n_glomeruli)
    _check_draw_settings(seed, mean_rate)
    try:
        targets = np.broadcast_to(np.asarray(similarity, dtype=float), (n_pairs,)).copy()
    except (TypeError, ValueError):
        raise OdorTableError(
            f"similarity must be a number in [0, 1] or a list of {n_pairs} of them, got "
            f"{shown(similarity)}"
        ) from None
    if not np.all(np.isfinite(targets)) or np.any((targets < 0) | (targets > 1)):
        raise OdorTableError(f"similarity must be in [0, 1], got {shown(similarity)}")
    rng = np.random.default_rng(seed)
    base = _draw_responses(rng, n_pairs, n_glomeruli, mean_rate=mean_rate, fraction_inhibited=0.15)
    other = _draw_responses(rng, n_pairs, n_glomeruli, mean_rate=mean_rate, fraction_inhibited=0.15)
    alpha = np.array([_mixing_weight(t) for t in targets])[:, None]
    morphed = alpha * base + (1 - alpha) * other
    responses = np.empty((2 * n_pairs, n_glomeruli))
    responses[0::2], responses[1::2] = base, morphed
    realised = [float(np.corrcoef(a, b)[0, 1]) for a, b in zip(base, morphed, strict=True)]
    names = [f"pair{i:03d}_{side}" for i in range(n_pairs) for side in "ab"]
    return OdorPanel(
        responses,
        names,
        _glomerulus_names(n_glomeruli),
        info={
            "source": "similar_pairs",
            "seed": seed,
            "target_similarity": targets.tolist(),
            "input_similarity": realised,
        },
    )


#: Reference odors (the MBON readout's homeostatic scale) come from this seed + the pairs' seed.
REFERENCE_SEED = 90_000


def with_reference_odors(pairs: OdorPanel, n_reference: int, similarity=0.8) -> OdorPanel:
    """``pairs`` (a ``similar_pairs`` panel) followed by ``n_reference`` reference odors
    ``reference000``, ...: more pairs of the same generator and breadth, from the seed
    ``REFERENCE_SEED + pairs.info["seed"]``, never the test odors themselves."""
    _check_count("n_reference", n_reference)
    seed = REFERENCE_SEED + int(pairs.info.get("seed", 0))
    other = similar_pairs(
        -(-n_reference // 2), similarity, n_glomeruli=pairs.n_glomeruli, seed=seed
    )
    names = list(pairs.names) + [f"reference{i:03d}" for i in range(n_reference)]
    responses = np.vstack([pairs.responses, other.responses[:n_reference]])
    info = dict(pairs.info, reference_seed=seed, n_reference=n_reference)
    return OdorPanel(responses, names, pairs.glomeruli, pairs.spontaneous, info)
