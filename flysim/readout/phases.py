"""The presentations of one conditioning repetition (read by the protocol and the summary)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "PHASES",
    "PHASE_ODOR",
    "PHASE_WEIGHTS",
    "PHASE_TRIAL",
    "cs_plus_is_first",
    "phase_trial_offsets",
]

#: The presentations of one repetition, in the order they are computed.
PHASES = (
    "train_cs_plus",
    "train_cs_minus",
    "test_cs_plus",
    "test_cs_minus",
    "naive_cs_plus",
    "naive_cs_minus",
)
#: Which odor of the pair each phase presents, with which weights, and which of its trials
#: (2r + this offset, r the repetition). The training CS+ meets the naive weights (learning
#: follows it); the training CS- and the tests the learned ones; ``naive_*`` are the tests'
#: presentations with the naive weights, a diagnostic the fly never experiences.
PHASE_ODOR = ("cs_plus", "cs_minus", "cs_plus", "cs_minus", "cs_plus", "cs_minus")
PHASE_WEIGHTS = ("naive", "learned", "learned", "learned", "naive", "naive")
PHASE_TRIAL = (0, 0, 1, 1, 1, 1)


def phase_trial_offsets(pairings: int = 1) -> tuple[int, ...]:
    """Each phase's trial within its repetition's block of ``pairings + 1`` trials per odor
    (the trial is ``(pairings + 1) * r + offset``): the CS+ is paired on trials 0..pairings-1
    (``train_cs_plus`` is the first of them), the CS- shown on trial 0, both tested on trial
    ``pairings``. One pairing gives :data:`PHASE_TRIAL`."""
    return tuple(pairings if offset else 0 for offset in PHASE_TRIAL)


def cs_plus_is_first(n_reps: int) -> np.ndarray:
    """Counterbalancing: the pair's first odor is the CS+ in even repetitions, its second in
    odd ones (``(n_reps,)`` bool). The test order alternates the same way (CS+ first in even
    repetitions); presentations are independent, so the order changes nothing."""
    return np.arange(n_reps) % 2 == 0
