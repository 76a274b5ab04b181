"""The circuit's mechanisms as operations on an adapter's expansion: ``FlyAdapter``'s switches.

Each switch of :meth:`flysim.adapters.FlyAdapter.encode` is the machine-learning reading of one
mechanism of the spiking circuit, off / on and graded like the circuit's ``li.*`` / ``sfa.*``:

=============================  ===============================================================
circuit                        adapter (``encode`` argument; 0 / False = off)
=============================  ===============================================================
APL feedback inhibition         ``topk=True``: exactly ``k`` winners per sample -- the ideal,
(``li.enabled``, site apl)      infinitely fast and perfectly tuned APL of FlyHash and the fly
                                models. No strength: it is either on or off.
APL, graded                     ``inhibition=s`` (with ``topk=False``): subtractive global
(``li.strength``)               feedback on top of the fixed threshold ``theta``. Every unit
                                receives ``I``, the fixed point of ``I = s * sum_i
                                relu(h_i - theta - I) / k`` (the APL pools the suprathreshold
                                drive of all units and inhibits all of them by the same amount;
                                non-spiking, graded, Amin et al. 2020). ``s = 0`` is the fixed
                                threshold alone, ``s -> inf`` leaves one winner; each sample's
                                number of winners now varies (strong inputs recruit more).
AL lateral inhibition by LNs    ``normalisation=s``: divisive normalisation of each input vector
(``li.site = "ln"``)            before the expansion, ``x * (1 + s) / (1 + s * L(x) / L_ref)``,
                                ``L(x)`` the mean positive input (the total ORN drive the LNs
                                pool, Olsen, Bhandawat & Wilson 2010) and ``L_ref`` a reference
                                level (the adapter's ``input_level``; default the batch's mean),
                                at which the gain is 1 whatever ``s``. ``s -> inf``: every input
                                scaled to the same mean. Olsen's exponent 1.5 and saturation are
                                left out (the adapter's units are linear).
SFA, within a presentation      ``adaptation=s``, ``adaptation_tau``: a per-unit adaptation
(``sfa.enabled``,               variable ``a`` subtracted from the unit's drive. Along a sequence
``sfa.strength``, ``sfa.tau``)  of presentations (``sequence_dim``; each sequence starts
                                unadapted, as each circuit trial starts from rest) a unit
                                active on presentation t has ``a(t + 1) = a(t) exp(-1 / tau) +
                                s * SD(h)``, else ``a(t) exp(-1 / tau)``; ``tau`` in
                                presentations. The unit's response (its code) is its adapted
                                drive ``h - a``: an often-active unit responds less, and may
                                drop out of the winners.
homeostasis across odors        ``balance=True``: FlyLoRA's balancing bias (aux-loss-free load
(no circuit mechanism in        balancing), used only for selection and carried across the
flysim; read as SFA before)     whole stream of samples; see ``FlyAdapter.encode``.
KvLIF (``kc.neuron = kvlif``)   none. flysim's KvLIF (``models/neurons/kvlif.toml``) is a K+
                                conductance with *voltage*-dependent activation and
                                spike-triggered increments that also deepens the reset: its
                                effects (a wider f-I dynamic range, fewer noise-induced spikes
                                near threshold) act on spike generation within a presentation.
                                An adapter unit has no membrane trajectory and no reset, so the
                                only state-dependent threshold it can carry is one driven by its
                                own activity -- which is ``adaptation`` above. A threshold driven
                                by subthreshold drive would be a mechanism of our own, not
                                KvLIF's (whose equations are not public), so none is offered.
=============================  ===============================================================

Pure numpy; neither brian2 nor torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import check_nonnegative
from .projection import topk_mask

__all__ = [
    "DEFAULT_ADAPTATION_TAU",
    "graded_inhibition",
    "normalise_inputs",
    "input_level",
    "selector",
    "stream_select",
]

#: Default time constant of the adaptation, in presentations (glimpses): the circuit's
#: ``sfa.tau`` (200 ms, ``drosophila_adult``) over a 50 ms glimpse.
DEFAULT_ADAPTATION_TAU = 4.0


def input_level(samples: np.ndarray) -> np.ndarray:
    """``L(x)``, the mean positive input of each row of (n_samples, n_inputs): what LNs pool."""
    return np.maximum(samples, 0.0).mean(axis=1)


def normalise_inputs(samples: np.ndarray, strength: float, reference: float | None = None):
    """Divisive normalisation of each row: ``x * (1 + s) / (1 + s * L(x) / L_ref)``.

    Parameters
    ----------
    samples : numpy.ndarray, (n_samples, n_inputs)
    strength : float
        ``s >= 0``; 0 returns the samples unchanged.
    reference : float, optional
        ``L_ref`` (> 0); default the mean of ``L(x)`` over the rows.

    Returns
    -------
    numpy.ndarray, same shape
    """
    strength = check_nonnegative(strength, "normalisation")
    if strength == 0:
        return samples
    level = input_level(samples)
    reference = float(level.mean()) if reference is None else float(reference)
    if not reference > 0:
        raise ValueError(f"the normalisation's reference input level must be > 0, got {reference}")
    gain = (1.0 + strength) / (1.0 + strength * level / reference)
    return samples * gain[:, None]


def graded_inhibition(score: np.ndarray, threshold: float, strength: float, k: int) -> np.ndarray:
    """Active units under graded subtractive feedback inhibition, (n_samples, n_units) bool.

    Per row, the inhibition ``I >= 0`` is the fixed point of ``I = strength * sum_i relu(score_i
    - threshold - I) / k`` and unit i is active if ``score_i - threshold > I``. The right side
    falls as ``I`` grows, so the fixed point is unique; it is found exactly: with the scores
    sorted in decreasing order and ``n`` of them active, ``I = strength * sum_{j <= n}
    (score_j - threshold) / (k + strength * n)``, and the one consistent ``n`` is kept.
    """
    strength = check_nonnegative(strength, "inhibition")
    excess = np.sort(score, axis=1)[:, ::-1] - threshold  # decreasing
    n = np.arange(1, score.shape[1] + 1)
    inhibition = strength * np.cumsum(excess, axis=1) / (k + strength * n)
    following = np.concatenate([excess[:, 1:], np.full((len(excess), 1), -np.inf)], axis=1)
    consistent = (excess > inhibition) & (following <= inhibition)
    # rows with no unit above threshold have no consistent n: nothing is inhibited there
    chosen = np.where(consistent.any(axis=1), np.argmax(consistent, axis=1), -1)
    level = np.where(chosen >= 0, inhibition[np.arange(len(excess)), chosen], 0.0)
    return score - threshold > level[:, None]


def selector(k: int, *, topk: bool, threshold: float | None, inhibition: float) -> Callable:
    """The selection rule, ``score (n, units) -> active (n, units)``: top-k, a fixed threshold,
    or a fixed threshold with graded inhibition."""
    if topk:
        if inhibition:
            raise ValueError("inhibition is the graded form of top-k: use one or the other")
        return lambda score: topk_mask(score, k, axis=1)
    if inhibition:
        return lambda score: graded_inhibition(score, threshold, inhibition, k)
    return lambda score: score > threshold


def _blocks(n_samples: int, sequence_length: int, one_by_one: bool) -> list[np.ndarray]:
    """Sample indices processed together: one at a time (the balancing bias needs the stream
    order), or position t of every sequence at once (sequences are independent)."""
    if one_by_one:
        return [np.array([i]) for i in range(n_samples)]
    return [np.arange(t, n_samples, sequence_length) for t in range(sequence_length)]


def stream_select(
    drive: np.ndarray,
    select: Callable,
    *,
    sequence_length: int,
    adaptation_step: float = 0.0,
    adaptation_tau: float = DEFAULT_ADAPTATION_TAU,
    balance_step: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Selection along a stream: adaptation within each sequence, a balancing bias across all.

    Parameters
    ----------
    drive : numpy.ndarray, (n_samples, n_units)
        Drives in stream order; consecutive runs of ``sequence_length`` samples are sequences.
    select : callable
        :func:`selector`'s rule, applied to ``adapted drive + bias``.
    sequence_length : int
        Presentations per sequence (``n_samples`` must be a multiple).
    adaptation_step : float
        Increment of a unit's adaptation per active presentation (drive units); 0 = off.
    adaptation_tau : float
        Decay time constant of the adaptation, in presentations (> 0).
    balance_step : float
        Step of the balancing bias (drive units); 0 = off.

    Returns
    -------
    selected : numpy.ndarray of bool, (n_samples, n_units)
    adapted : numpy.ndarray, (n_samples, n_units)
        The drive minus each unit's adaptation at that presentation.
    bias : numpy.ndarray, (n_units,)
        The final balancing bias.
    """
    n_samples, n_units = drive.shape
    if sequence_length < 1 or n_samples % sequence_length:
        raise ValueError(f"{n_samples} samples are not sequences of {sequence_length}")
    if not adaptation_tau > 0:
        raise ValueError(f"adaptation_tau must be > 0 presentations, got {adaptation_tau}")
    decay = np.exp(-1.0 / adaptation_tau)
    state = np.zeros((n_samples // sequence_length, n_units))
    bias = np.zeros(n_units)
    selected = np.zeros(drive.shape, dtype=bool)
    adapted = drive.copy()
    for block in _blocks(n_samples, sequence_length, balance_step > 0):
        sequence = block // sequence_length
        adapted[block] = drive[block] - state[sequence]
        chosen = select(adapted[block] + bias)
        selected[block] = chosen
        if balance_step > 0:
            count = chosen[0].astype(np.float64)
            bias -= balance_step * np.sign(count - count.mean())
            bias -= bias.mean()  # a common offset would move a fixed threshold's coding level
        state[sequence] = state[sequence] * decay + adaptation_step * chosen
    return selected, adapted, bias
