"""The MBONs' conductance-based LIF, integrated in numpy as flysim's compiled circuit does.

Per step n (t = n * dt), in brian2's schedule: the state update (exponential Euler, from the
values at the start of the step; v frozen while refractory), the threshold (on the updated v,
only where not refractory), the synaptic input of the KC spikes of step n (``g_exc += w``), then
the reset of the neurons that spiked. Every presentation starts from rest. Presentations and
MBONs are vectorised; the loop runs over time steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..params import CircuitParams, ParameterError
from .spikes import KCSpikes, odor_window_steps

__all__ = ["MbonModel", "mbon_model", "mbon_spike_counts", "mbon_responses", "mbon_spikes"]

#: Memory for one chunk's per-step input (bytes): presentations are integrated in chunks.
CHUNK_BYTES = 100e6
#: Release step of a neuron that never spiked (brian2's lastspike starts at -1e4 s).
_NEVER = np.iinfo(np.int64).min // 2


@dataclass(frozen=True)
class MbonModel:
    """The MBON's constants (SI units, floats) and a presentation's time grid (steps).

    The post-odor period cannot change the odor window's spike count, so a presentation is
    integrated from its start to the end of the odor window (``n_steps = window[1]``).
    """

    C: float
    g_L: float
    E_L: float
    V_T: float
    V_reset: float
    E_exc: float
    I_bias: float
    tau_exc: float
    dt: float
    refractory_steps: int
    window: tuple[int, int]
    odor_duration: float

    @property
    def n_steps(self) -> int:
        return self.window[1]


def _timestep(duration: float, dt: float) -> int:
    """brian2's ``timestep(t, dt)``: whole steps in ``duration``, rounded down after a shift of
    1e-3 dt (so that a multiple of dt is not rounded to the step below)."""
    return int((duration + 1e-3 * dt) / dt)


def mbon_model(params: CircuitParams) -> MbonModel:
    """The readout's MBON model from ``params.mbon`` (the ``lif`` model only)."""
    mbon = params.mbon
    if mbon.neuron != "lif":
        raise ParameterError(
            f"parameter 'mbon.neuron' is {mbon.neuron!r}: the readout implements 'lif' only"
        )
    dt = float(params.network.dt)
    return MbonModel(
        C=float(mbon.C),
        g_L=float(mbon.g_L),
        E_L=float(mbon.E_L),
        V_T=float(mbon.V_T),
        V_reset=float(mbon.V_reset),
        E_exc=float(mbon.E_exc),
        I_bias=float(mbon.I_bias),
        tau_exc=float(mbon.tau_exc),
        dt=dt,
        refractory_steps=_timestep(float(mbon.refractory), dt),
        window=odor_window_steps(params),
        odor_duration=float(params.protocol.odor_duration),
    )


def _input(spikes: KCSpikes, weights, weight_index, n_steps: int) -> np.ndarray:
    """Conductance each presentation's KC spikes add to each MBON per step,
    ``(n_steps, n_presentations, n_mbon)`` (siemens)."""
    n_pres, n_mbon = spikes.n_presentations, weights.shape[-1]
    early = spikes.step < n_steps
    step, pres, kc = spikes.step[early], spikes.presentation[early], spikes.kc[early]
    per_spike = weights[weight_index[pres], kc]  # (spikes, n_mbon)
    flat = ((step * n_pres + pres) * n_mbon)[:, None] + np.arange(n_mbon)
    total = np.bincount(flat.ravel(), per_spike.ravel(), minlength=n_steps * n_pres * n_mbon)
    return total.reshape(n_steps, n_pres, n_mbon)


def _integrate(drive: np.ndarray, model: MbonModel, record: bool):
    """Odor-window spike counts ``(presentations, n_mbon)`` of MBONs driven by ``drive``
    (:func:`_input`), and, if ``record``, every spike as (step, presentation, mbon) arrays."""
    m = model
    shape = drive.shape[1:]
    v, g = np.full(shape, m.E_L), np.zeros(shape)
    release = np.full(shape, _NEVER, dtype=np.int64)  # first step not refractory
    counts = np.zeros(shape, dtype=np.int64)
    decay, leak_rate = np.exp(-m.dt / m.tau_exc), -m.g_L / m.C
    leak_drive = (m.E_L * m.g_L + m.I_bias) / m.C
    rate, target, v_new = np.empty(shape), np.empty(shape), np.empty(shape)
    fired, active = np.empty(shape, dtype=bool), np.empty(shape, dtype=bool)
    raster = []
    for n in range(drive.shape[0]):
        # exponential Euler, as brian2 writes it: _BA = (E_L*g_L/C + E_exc*g/C) / B,
        # B = -g_L/C - g/C, v' = -_BA + (_BA + v) * exp(dt * B)
        np.divide(g, m.C, out=rate)
        np.subtract(leak_rate, rate, out=rate)
        np.multiply(g, m.E_exc, out=target)
        np.divide(target, m.C, out=target)
        np.add(target, leak_drive, out=target)
        np.divide(target, rate, out=target)  # _BA
        np.multiply(rate, m.dt, out=rate)
        np.exp(rate, out=rate)
        np.add(target, v, out=v_new)
        np.multiply(v_new, rate, out=v_new)
        np.subtract(v_new, target, out=v_new)
        np.multiply(g, decay, out=g)
        np.less_equal(release, n, out=active)
        np.copyto(v, v_new, where=active)  # v is frozen while refractory
        np.greater(v, m.V_T, out=fired)
        np.logical_and(fired, active, out=fired)
        g += drive[n]  # the KC spikes of this step, after the threshold
        if fired.any():
            v[fired] = m.V_reset
            release[fired] = n + m.refractory_steps
            if n >= m.window[0]:
                counts += fired
            if record:
                raster.append((n, *np.nonzero(fired)))
    return counts, raster


def _chunks(n_presentations: int, n_steps: int, n_mbon: int, chunk_bytes: float):
    """Presentation ranges whose per-step input fits in ``chunk_bytes``."""
    size = max(1, int(chunk_bytes // (8 * max(n_steps, 1) * n_mbon)))
    return [(a, min(a + size, n_presentations)) for a in range(0, n_presentations, size)]


def _prepared(spikes: KCSpikes, weights, weight_index):
    """Weights as sets ``(n_sets, n_kc, n_mbon)`` and each presentation's set, checked."""
    weights = np.asarray(weights, dtype=float)
    if weights.ndim == 2:
        weights = weights[None]
    if weights.ndim != 3 or weights.shape[1] != spikes.n_kc:
        raise ValueError(
            f"weights must be (n_kc, n_mbon) or (sets, n_kc, n_mbon), n_kc = "
            f"{spikes.n_kc}; got shape {weights.shape}"
        )
    if weight_index is None:
        weight_index = np.zeros(spikes.n_presentations, dtype=np.int64)
    weight_index = np.asarray(weight_index, dtype=np.int64)
    if weight_index.shape != (spikes.n_presentations,):
        raise ValueError("weight_index needs one weight set per presentation")
    return weights, weight_index


def _run(spikes, weights, params, weight_index, record, chunk_bytes):
    """(model, odor-window counts, spikes if ``record``) of every presentation, by chunks."""
    model = mbon_model(params)
    weights, weight_index = _prepared(spikes, weights, weight_index)
    n_mbon = weights.shape[-1]
    counts = np.zeros((spikes.n_presentations, n_mbon), dtype=np.int64)
    raster = []
    for a, b in _chunks(spikes.n_presentations, model.n_steps, n_mbon, chunk_bytes):
        chunk = spikes.select(np.arange(a, b))
        drive = _input(chunk, weights, weight_index[a:b], model.n_steps)
        counts[a:b], chunk_raster = _integrate(drive, model, record)
        raster += [(n, p + a, m) for n, p, m in chunk_raster]
    return model, counts, raster


def mbon_spike_counts(
    spikes: KCSpikes, weights, params: CircuitParams, *, weight_index=None, chunk_bytes=CHUNK_BYTES
) -> np.ndarray:
    """Each MBON's spike count in the odor window of each presentation.

    Parameters
    ----------
    spikes : KCSpikes
        The KC spikes of the presentations.
    weights : array, (n_kc, n_mbon) or (n_sets, n_kc, n_mbon)
        KC -> MBON weights (siemens): one set for all, or a set per ``weight_index``.
    params : CircuitParams
        ``mbon`` (the LIF), ``network.dt`` and ``protocol`` (the odor window).
    weight_index : array of int, (n_presentations,), optional
        The weight set of each presentation (default: set 0).
    chunk_bytes : float
        Memory for one chunk's per-step input.

    Returns
    -------
    numpy.ndarray of int, (n_presentations, n_mbon)
    """
    return _run(spikes, weights, params, weight_index, False, chunk_bytes)[1]


def mbon_responses(
    spikes: KCSpikes, weights, params: CircuitParams, *, weight_index=None, chunk_bytes=CHUNK_BYTES
) -> np.ndarray:
    """Each MBON's rate (Hz) in the odor window of each presentation, ``(n_presentations,
    n_mbon)``: its spike count divided by ``protocol.odor_duration``. Arguments as
    :func:`mbon_spike_counts`."""
    model, counts, _ = _run(spikes, weights, params, weight_index, False, chunk_bytes)
    return counts / model.odor_duration


def mbon_spikes(
    spikes: KCSpikes, weights, params: CircuitParams, *, weight_index=None, chunk_bytes=CHUNK_BYTES
) -> dict[str, np.ndarray]:
    """Every MBON spike from a presentation's start to the end of its odor window:
    ``{"presentation", "step", "mbon"}`` arrays (sorted by step within a chunk). Arguments as
    :func:`mbon_spike_counts`."""
    _, _, raster = _run(spikes, weights, params, weight_index, True, chunk_bytes)
    if not raster:
        return {name: np.zeros(0, np.int64) for name in ("presentation", "step", "mbon")}
    return {
        "presentation": np.concatenate([p for _, p, _ in raster]),
        "step": np.concatenate([np.full(len(p), n) for n, p, _ in raster]),
        "mbon": np.concatenate([m for _, _, m in raster]),
    }
