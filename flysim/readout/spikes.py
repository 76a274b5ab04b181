"""KC spikes of many presentations, flat: the readout's input.

A :class:`KCSpikes` holds every KC spike of a list of presentations as three integer arrays
(presentation, time step, KC), sorted by presentation, so that any selection of presentations
(repeated ones included) is a gather, and a presentation's spikes are a contiguous slice.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..params import CircuitParams, ParameterError

__all__ = ["KCSpikes", "kc_spikes_of", "odor_window_steps"]

#: How far (in steps) a spike time may lie from the dt grid: simulate's spikes lie on it.
_GRID_TOLERANCE = 1e-3


@dataclass(frozen=True, eq=False)
class KCSpikes:
    """KC spikes of ``n_presentations`` presentations of ``n_kc`` KCs.

    Attributes
    ----------
    presentation, step, kc : numpy.ndarray of int
        One entry per spike: its presentation (0..n_presentations-1), its time step from the
        presentation's start (a spike at time t is in step round(t / dt)) and its KC.
    n_presentations, n_kc : int
    layout : tuple of int
        The presentations' grid when they come from a Dataset, ``(fly, odor, trial)`` sizes,
        presentation ``p = (fly * n_odor + odor) * n_trial + trial``; ``()`` otherwise.
    """

    presentation: np.ndarray
    step: np.ndarray
    kc: np.ndarray
    n_presentations: int
    n_kc: int
    layout: tuple = ()

    def __post_init__(self):
        arrays = [np.asarray(a, dtype=np.int64).ravel() for a in (self.presentation, self.step)]
        arrays.append(np.asarray(self.kc, dtype=np.int64).ravel())
        if len({len(a) for a in arrays}) != 1:
            raise ValueError("presentation, step and kc must have one entry per spike each")
        presentation, step, kc = arrays
        if len(kc) and (kc.min() < 0 or kc.max() >= self.n_kc):
            raise ValueError(f"KC indices must lie in 0..{self.n_kc - 1}")
        if len(presentation) and (
            presentation.min() < 0 or presentation.max() >= self.n_presentations
        ):
            raise ValueError(f"presentation indices must lie in 0..{self.n_presentations - 1}")
        if len(step) and step.min() < 0:
            raise ValueError("spike steps must be >= 0")
        order = np.argsort(presentation, kind="stable")  # slices per presentation
        for name, values in zip(
            ("presentation", "step", "kc"), (presentation, step, kc), strict=True
        ):
            object.__setattr__(self, name, values[order])

    @classmethod
    def from_times(cls, presentation, time, kc, n_presentations: int, n_kc: int, dt: float):
        """KC spikes from spike times (s) on the grid of step ``dt`` (s)."""
        exact = np.asarray(time, dtype=float) / dt
        step = np.round(exact).astype(np.int64)
        if len(step) and np.abs(exact - step).max() > _GRID_TOLERANCE:
            raise ParameterError(
                f"KC spike times are not on the grid of network.dt = {dt} s: the readout's dt "
                "must be the simulation's"
            )
        return cls(presentation, step, kc, n_presentations, n_kc)

    def offsets(self) -> np.ndarray:
        """Where each presentation's spikes start (and, last, where the spikes end)."""
        return np.searchsorted(self.presentation, np.arange(self.n_presentations + 1))

    def select(self, presentations) -> KCSpikes:
        """The spikes of ``presentations`` (indices, in this order, repeats allowed), as new
        presentations 0..len(presentations)-1."""
        chosen = np.asarray(presentations, dtype=np.int64).ravel()
        offsets = self.offsets()
        starts, lengths = offsets[chosen], offsets[chosen + 1] - offsets[chosen]
        new_presentation = np.repeat(np.arange(len(chosen)), lengths)
        # index of each gathered spike: its presentation's start + its rank within it
        first_of_each = np.repeat(np.cumsum(lengths) - lengths, lengths)
        gather = np.repeat(starts, lengths) + np.arange(lengths.sum()) - first_of_each
        return KCSpikes(
            new_presentation, self.step[gather], self.kc[gather], len(chosen), self.n_kc
        )

    def window_counts(self, start: int, stop: int) -> np.ndarray:
        """Spike count of every KC in steps ``[start, stop)`` of each presentation,
        ``(n_presentations, n_kc)``."""
        inside = (self.step >= start) & (self.step < stop)
        flat = self.presentation[inside] * self.n_kc + self.kc[inside]
        counts = np.bincount(flat, minlength=self.n_presentations * self.n_kc)
        return counts.reshape(self.n_presentations, self.n_kc).astype(np.int32)

    def index(self, fly, odor, trial) -> np.ndarray:
        """Presentation indices of (fly, odor, trial) positions (arrays broadcast)."""
        if len(self.layout) != 3:
            raise ValueError("these spikes have no (fly, odor, trial) layout")
        return np.ravel_multi_index(np.broadcast_arrays(fly, odor, trial), self.layout)


def odor_window_steps(params: CircuitParams) -> tuple[int, int]:
    """The odor window ``[baseline, baseline + odor_duration)`` in steps of network.dt."""
    dt, proto = float(params.network.dt), params.protocol
    start = int(round(float(proto.baseline) / dt))
    return start, int(round(float(proto.baseline + proto.odor_duration) / dt))


def _check_window(ds: xr.Dataset, params: CircuitParams) -> None:
    """The Dataset's odor window must be the one params describe."""
    if "odor_window_s" not in ds.attrs:
        return
    simulated = json.loads(ds.attrs["odor_window_s"])
    proto = params.protocol
    expected = [float(proto.baseline), float(proto.baseline + proto.odor_duration)]
    if not np.allclose(simulated, expected, rtol=0, atol=1e-9):
        raise ParameterError(
            f"the KC spikes were simulated with the odor window {simulated} s, params say "
            f"{expected} s (protocol.baseline, protocol.odor_duration)"
        )


def kc_spikes_of(ds: xr.Dataset, params: CircuitParams) -> KCSpikes:
    """Every KC spike of a ``simulate(..., record_spikes=True)`` Dataset (one fly, or a ``fly``
    dim), as presentations ``(fly, odor, trial)`` in that order (:attr:`KCSpikes.layout`)."""
    if "kc_spike_time" not in ds:
        raise ValueError("the Dataset has no KC spikes: simulate with record_spikes=True")
    _check_window(ds, params)
    n_fly = ds.sizes.get("fly", 1) if "fly" in ds.dims else 1
    layout = (n_fly, ds.sizes["odor"], ds.sizes["trial"])
    fly = ds["kc_spike_fly"].values.astype(np.int64)
    if len(fly) and fly.max() >= n_fly:
        raise ValueError(
            f"KC spikes of fly position {fly.max()} in a Dataset of {n_fly} fly: the flat spike "
            "arrays (along spike_kc) were not selected with the fly dim"
        )
    presentation = np.ravel_multi_index(
        (fly, ds["kc_spike_odor"].values, ds["kc_spike_trial"].values), layout
    )
    spikes = KCSpikes.from_times(
        presentation,
        ds["kc_spike_time"].values,
        ds["kc_spike_index"].values,
        int(np.prod(layout)),
        ds.sizes["kc"],
        float(params.network.dt),
    )
    return dataclasses.replace(spikes, layout=layout)
