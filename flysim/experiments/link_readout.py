"""The circuit's readouts on adapter codes: codes as KC spikes, the MBON choice and a decoder.

The numpy MBON readout (``flysim.readout.conditioned_choice``) reads KC *spikes*: learning
depresses the synapses of every KC that responded (>= 1 spike in the odor window) and the MBONs
integrate the spikes in time. An adapter has codes, not spikes, so its codes are turned into
spikes by one explicit rule, and this is where the analogy is approximate:

- A presentation is ``T`` glimpses (the odor window cut into ``T`` equal bins, 50 ms each for a
  500 ms odor); the adapter encodes every glimpse (the same noisy input, so without adaptation
  every glimpse gives the same code; with it, later glimpses are adapted).
- A unit with code ``c > 0`` on a glimpse fires ``n = max(1, round(c / c_ref))`` spikes at
  times drawn uniformly within that glimpse's bin (seeded by the batch's fly seed; on the
  simulation's ``dt`` grid), ``c_ref`` the mean positive code of the batch (one adapter,
  condition, noise level and seed): a unit at the typical winner's drive fires one spike per
  glimpse, ``T`` (= 10) per presentation when it stays active, as a circuit KC without SFA
  fires ~10 per response. Binary codes fire one spike per active glimpse. The overall scale is
  immaterial: the readout's homeostatic weight scale sets the MBONs' naive rate whatever it is;
  what matters is who responds and relative counts.
- The times are irregular because the circuit's KC spikes are: with regular spikes (evenly
  spaced, a fixed phase per unit) every MBON input is a near-constant conductance, the MBON's
  response a step at its rheobase, and after learning both test stimuli of a pair of top-k
  codes (every presentation the same number of spikes) silenced the depressed MBONs and tied.
- Beyond that there is no spike timing, no spontaneous spike and no refractoriness.

Then the readout runs unchanged: conditioning repetitions per pair (trials ``2r`` train, ``2r + 1``
test), homeostatic weights on the reference stimuli, ``learning``'s rate. The decoder
(``flysim.analysis.decoding_accuracy``) reads the spike counts per presentation, as it reads
the circuit's KC spike counts.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..analysis import decoding_accuracy
from ..params import CircuitParams
from ..readout import conditioned_choice

__all__ = [
    "GLIMPSE",
    "codes_to_counts",
    "counts_to_spikes",
    "mbon_pair_measures",
    "decoder_pair_accuracy",
]

#: Dim of the glimpses of one presentation (the adaptation's sequence).
GLIMPSE = "glimpse"

#: Keys the spike-time draws apart from the fly's other streams.
SPIKE_TIME_STREAM = 0x5B1C


def codes_to_counts(codes: xr.DataArray) -> xr.DataArray:
    """Spikes per (presentation, glimpse, unit): ``max(1, round(c / c_ref))`` where ``c > 0``.

    ``c_ref`` is the mean of the positive codes of ``codes`` (all dims); 0 where ``c <= 0``.
    """
    values = codes.values
    positive = values > 0
    if not positive.any():
        return xr.zeros_like(codes, dtype=np.int64)
    reference = values[positive].mean()
    counts = np.where(positive, np.maximum(1, np.rint(values / reference)), 0).astype(np.int64)
    return codes.copy(data=counts)


def counts_to_spikes(counts: xr.DataArray, params: CircuitParams) -> xr.Dataset:
    """A ``simulate``-like Dataset of KC spikes from glimpse counts.

    Parameters
    ----------
    counts : xarray.DataArray
        Spikes per ``(fly, odor, trial, glimpse, kc)`` (:func:`codes_to_counts`); ``fly`` holds
        the seeds (the readout draws each fly's KC -> MBON weights from it).
    params : CircuitParams
        ``network.dt`` and ``protocol`` (the odor window the glimpses tile).

    Returns
    -------
    xarray.Dataset
        ``kc_spike_count(fly, odor, trial, kc)`` and the flat spike arrays ``kc_spike_time`` (s),
        ``kc_spike_index``, ``kc_spike_fly``, ``kc_spike_odor``, ``kc_spike_trial`` that
        ``flysim.readout.kc_spikes_of`` reads.
    """
    counts = counts.transpose("fly", "odor", "trial", GLIMPSE, "kc")
    dt = float(params.network.dt)
    start, duration = float(params.protocol.baseline), float(params.protocol.odor_duration)
    n_glimpses = counts.sizes[GLIMPSE]
    fly, odor, trial, glimpse, kc = np.nonzero(counts.values)
    n = counts.values[fly, odor, trial, glimpse, kc]
    offset = (np.repeat(glimpse, n) + _uniform_times(counts["fly"].values, fly, n)) * (
        duration / n_glimpses
    )
    # whole steps from the window's first: a spike never lands outside the window
    steps = round(start / dt) + np.floor(offset / dt)
    spike = "spike_kc"
    return xr.Dataset(
        {
            "kc_spike_count": counts.sum(GLIMPSE),
            "kc_spike_time": (spike, steps * dt, {"units": "s"}),
            "kc_spike_index": (spike, np.repeat(kc, n)),
            "kc_spike_fly": (spike, np.repeat(fly, n)),
            "kc_spike_odor": (spike, np.repeat(odor, n)),
            "kc_spike_trial": (spike, np.repeat(trial, n)),
        },
        attrs={"odor_window_s": f"[{start}, {start + duration}]"},
    )


def _uniform_times(seeds, fly: np.ndarray, n: np.ndarray) -> np.ndarray:
    """A uniform [0, 1) draw per spike, from a generator per fly keyed by its seed."""
    per_spike_fly = np.repeat(fly, n)
    times = np.empty(per_spike_fly.size)
    for position, seed in enumerate(seeds):
        mine = per_spike_fly == position
        rng = np.random.default_rng([int(seed), SPIKE_TIME_STREAM])
        times[mine] = rng.random(int(mine.sum()))
    return times


def mbon_pair_measures(
    spikes: xr.Dataset, pairs, reference, n_reps: int, params: CircuitParams
) -> dict[str, xr.DataArray]:
    """The MBON choice accuracy after conditioning on each pair and the readout's diagnostics,
    ``{name: (fly, pair)}`` with ``PairDiscrimination``'s names (``mbon_accuracy``,
    ``mbon_naive_rate``, ``cs_plus_drop``, ``tie_fraction``, ``silent_fraction``), from spikes
    (``flysim.readout.conditioned_choice``, homeostatic scale on ``reference``)."""
    from .redundancy import READOUT_MEASURES

    learned = conditioned_choice(spikes, pairs, reference, n_reps, params)
    return {
        mine: learned[theirs].transpose("fly", "pair") for mine, theirs in READOUT_MEASURES.items()
    }


def decoder_pair_accuracy(counts: xr.DataArray, pairs, n_folds: int = 5) -> xr.DataArray:
    """Cross-validated decoding of which stimulus of each pair was presented, ``(fly, pair)``,
    from the counts per presentation ``(fly, odor, trial, kc)`` (as ``PairDiscrimination``:
    ``min(n_folds, trials)`` folds, seed = the pair's position)."""
    n_trials = counts.sizes["trial"]
    per_pair = [
        decoding_accuracy(
            counts.sel(odor=list(pair)).astype(float),
            label_dim="odor",
            trial_dim="trial",
            feature_dim="kc",
            n_folds=min(n_folds, n_trials),
            seed=p,
        )
        for p, pair in enumerate(pairs)
    ]
    return xr.concat(per_pair, dim="pair").transpose("fly", "pair")
