"""The link between the spiking circuit and the adapters: an adapter built from a circuit.

:func:`adapter_from_circuit` reads a circuit's sizes (glomeruli, KCs, claws per KC) and coding
level -- from a simulated ``xarray.Dataset`` (``flysim.simulate``) or from a plain parameter dict
(``flysim.params.params_to_dict``) -- and returns a :class:`FlyAdapter`: the same expansion
(``n_kc / n_glomeruli``), the same in-degree, ``k = round(coding_level * n_kc)`` winners, and
optionally the circuit's own PN -> KC wiring (adapter KC ``i`` sums exactly the glomeruli that
circuit KC ``i`` receives). Its codes are ``xarray.DataArray`` with a ``kc`` dim and the sample
dims of the input (``odor``, ``trial``, ``sample``, ...), so every ``flysim.analysis`` function
runs on them unchanged.

The adapter's mechanisms are the machine-learning abstractions of the circuit's:

=====================  ==========================================================================
circuit                adapter (``FlyAdapter.encode``)
=====================  ==========================================================================
APL (lateral inh.)     top-k: exactly ``k`` KCs (the largest drives) are active in every sample;
                       or, graded, ``inhibition=s``: subtractive global feedback inhibition on
                       top of the fixed threshold (``flysim.adapters.mechanisms``)
no APL                 a *fixed* threshold, the same for every sample, set so that the mean
                       coding level over the batch is ``coding_level`` (per-sample activity varies)
AL LNs (``li.site``)   ``normalisation=s``: divisive normalisation of each input vector
SFA (adaptation)       ``adaptation=s``: each KC's drive is lowered after presentations in
                       which it was active, within a sequence of presentations (``sequence_dim``),
                       decaying with ``adaptation_tau`` presentations
homeostasis            a balancing bias (FlyLoRA / aux-loss-free balancing): a per-KC bias, added
                       only for selection, updated along the stream of samples by
                       ``bias -= rate * sign(count - mean count)``: KCs that win often are
                       handicapped, rarely-winning ones promoted
KvLIF                  none (no faithful analogue; see ``flysim.adapters.mechanisms``)
=====================  ==========================================================================

Note the time scales: SFA in the circuit acts *within* one odor presentation (each trial starts
unadapted), as ``adaptation`` does within each sequence (e.g. glimpses of one trial); the
balancing bias acts *across* the whole stream of samples.

numpy, scipy and xarray only: never brian2 or torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse
import xarray as xr

from ._checks import check_fraction, check_int, check_nonnegative
from .mechanisms import DEFAULT_ADAPTATION_TAU, normalise_inputs, selector, stream_select
from .projection import sparse_projection

__all__ = ["DEFAULT_CODING_LEVEL", "FlyAdapter", "adapter_from_circuit", "claws_to_projection"]

#: Coding level used when the source has no measured one (a parameter dict): ~10% of KCs per
#: odor, the calibration target of the ``drosophila_adult`` preset (KCs: ~5-10%, Turner et al.
#: 2008, Honegger et al. 2011).
DEFAULT_CODING_LEVEL = 0.1

#: Default bias step of the balancing rule, in units of the SD of the drive (see ``encode``).
DEFAULT_BALANCE_RATE = 0.05


@dataclass(eq=False)
class FlyAdapter:
    """A sparse expansion with the circuit's mechanisms as switches, sized like a fly circuit.

    Attributes
    ----------
    projection : scipy.sparse.csr_matrix, shape (n_kc, n_glomeruli)
        From a circuit binary: row ``i`` has a 1 at each glomerulus KC ``i`` receives
        (``in_degree`` per row). Any real weights work (e.g. an ML adapter's own projection).
    k : int
        Winners per sample under top-k.
    coding_level : float
        Target fraction of active KCs (``k / n_kc`` up to rounding).
    glomeruli : tuple of str, optional
        Glomerulus names (coordinates of the input dim); None = positions.
    input_dim : str
        Name of the input dim of DataArray inputs (default ``"glomerulus"``).
    balance_rate : float
        Default bias step of the balancing rule, in units of the drive's SD.
    source : dict
        Provenance: where the sizes and the wiring came from.
    input_level : float, optional
        Reference input level ``L_ref`` of the normalisation (``encode(normalisation=)``),
        e.g. the mean of ``flysim.adapters.mechanisms.input_level`` over noise-free inputs;
        None = the mean over each encoded batch.
    drive_scale : float, optional
        Unit of the steps of the balancing bias and of the adaptation (drive units), e.g. the
        SD of the drive of noise-free inputs, so that a step does not change with the noise;
        None = the SD of each encoded batch's drive.
    """

    projection: scipy.sparse.csr_matrix
    k: int
    coding_level: float
    glomeruli: tuple | None = None
    input_dim: str = "glomerulus"
    balance_rate: float = DEFAULT_BALANCE_RATE
    source: dict = field(default_factory=dict)
    input_level: float | None = None
    drive_scale: float | None = None

    def __post_init__(self):
        self.projection = scipy.sparse.csr_matrix(self.projection, dtype=np.float64)
        self.k = check_int(self.k, "k", minimum=1)
        if self.k > self.n_kc:
            raise ValueError(f"k must be <= n_kc ({self.n_kc}), got {self.k}")
        self.coding_level = check_fraction(self.coding_level, "coding_level")
        self.balance_rate = check_nonnegative(self.balance_rate, "balance_rate")
        if self.glomeruli is not None:
            self.glomeruli = tuple(map(str, self.glomeruli))
            if len(self.glomeruli) != self.n_glomeruli:
                raise ValueError(
                    f"{len(self.glomeruli)} glomerulus names for a projection with "
                    f"{self.n_glomeruli} inputs"
                )

    @property
    def n_kc(self) -> int:
        return self.projection.shape[0]

    @property
    def n_glomeruli(self) -> int:
        return self.projection.shape[1]

    @property
    def expansion_ratio(self) -> float:
        """``n_kc / n_glomeruli`` (the circuit's glomeruli -> KC expansion)."""
        return self.n_kc / self.n_glomeruli

    @property
    def in_degree(self) -> int:
        """Inputs per KC (claws); the largest row count of the projection."""
        counts = np.diff(self.projection.indptr)
        return int(counts.max()) if counts.size else 0

    def __repr__(self) -> str:
        return (
            f"FlyAdapter({self.n_glomeruli} glomeruli -> {self.n_kc} KCs, "
            f"expansion {self.expansion_ratio:.3g}, in-degree {self.in_degree}, k={self.k} "
            f"(coding level {self.coding_level:.3g}), wiring={self.source.get('wiring')})"
        )

    # -- encoding -------------------------------------------------------------------------

    def _as_samples(self, inputs, stream_order, sequence_dim=None):
        """Inputs as (samples, n_glomeruli) float array, plus a function back to a DataArray.

        With ``sequence_dim`` that dim is streamed innermost (each sequence contiguous)."""
        if isinstance(inputs, xr.DataArray):
            dim = self.input_dim
            if dim not in inputs.dims:
                raise ValueError(
                    f"inputs has no {dim!r} dim (the adapter's input dim); "
                    f"dims present: {tuple(inputs.dims)}"
                )
            if inputs.sizes[dim] != self.n_glomeruli:
                raise ValueError(
                    f"inputs has {inputs.sizes[dim]} entries along {dim!r}, the adapter "
                    f"{self.n_glomeruli}"
                )
            rest = [d for d in inputs.dims if d != dim]
            order = list(stream_order) if stream_order is not None else rest
            if sorted(map(str, order)) != sorted(map(str, rest)):
                raise ValueError(
                    f"stream_order must list the sample dims {tuple(rest)}, got {tuple(order)}"
                )
            if sequence_dim is not None:
                if sequence_dim not in rest:
                    raise ValueError(f"sequence_dim {sequence_dim!r} is not a sample dim {rest}")
                order = [d for d in order if d != sequence_dim] + [sequence_dim]
            values = np.asarray(inputs.transpose(*order, dim).values, dtype=np.float64)
            shape = values.shape[:-1]
            coords = {
                name: coord
                for name, coord in inputs.coords.items()
                if set(coord.dims) <= set(order)
            }

            def back(flat):
                out = xr.DataArray(
                    flat.reshape(*shape, self.n_kc),
                    dims=(*order, "kc"),
                    coords={**coords, "kc": np.arange(self.n_kc)},
                )
                return out.transpose(*rest, "kc")

            return values.reshape(-1, self.n_glomeruli), back
        if sequence_dim is not None:
            raise ValueError("sequence_dim needs a DataArray input (arrays are one sequence)")
        values = np.asarray(inputs, dtype=np.float64)
        if values.ndim not in (1, 2) or values.shape[-1] != self.n_glomeruli:
            raise ValueError(
                f"inputs must have shape (n_glomeruli,) or (n_samples, n_glomeruli) with "
                f"n_glomeruli={self.n_glomeruli}, got {values.shape}"
            )
        single = values.ndim == 1
        values = np.atleast_2d(values)

        def back(flat):
            if single:
                return xr.DataArray(flat[0], dims=("kc",), coords={"kc": np.arange(self.n_kc)})
            return xr.DataArray(
                flat,
                dims=("sample", "kc"),
                coords={"sample": np.arange(flat.shape[0]), "kc": np.arange(self.n_kc)},
            )

        return values, back

    def drive(self, inputs, *, normalisation: float = 0.0) -> np.ndarray:
        """KC drive ``W x`` of each sample: (n_samples, n_kc) for (n_samples, n_glomeruli);
        with ``normalisation`` the inputs are normalised first, as :meth:`encode` does."""
        values, _ = self._as_samples(inputs, None)
        return self._drive_of(normalise_inputs(values, normalisation, self.input_level))

    def _drive_of(self, samples: np.ndarray) -> np.ndarray:
        """``W x`` of each row of a (n_samples, n_glomeruli) array; rejects NaN and inf."""
        if not np.all(np.isfinite(samples)):
            raise ValueError("inputs contain NaN or infinite values")
        return np.asarray(self.projection @ samples.T).T

    def threshold(self, drive: np.ndarray, coding_level: float | None = None) -> float:
        """The fixed threshold with ``round(coding_level * drive.size)`` of all (sample, KC)
        drives strictly above it (fewer only if drives tie at the threshold)."""
        level = self.coding_level if coding_level is None else coding_level
        level = check_fraction(level, "coding_level")
        flat = np.asarray(drive, dtype=np.float64).ravel()
        n_active = int(round(level * flat.size))
        if n_active >= flat.size:
            return -np.inf
        return float(np.partition(flat, flat.size - n_active - 1)[flat.size - n_active - 1])

    def encode(
        self,
        inputs,
        *,
        topk: bool = True,
        balance: bool = False,
        balance_rate: float | None = None,
        threshold: float | None = None,
        inhibition: float = 0.0,
        normalisation: float = 0.0,
        adaptation: float = 0.0,
        adaptation_tau: float = DEFAULT_ADAPTATION_TAU,
        sequence_dim: str | None = None,
        stream_order: Sequence | None = None,
        binary: bool = False,
        return_state: bool = False,
    ):
        """KC codes of ``inputs``, the circuit's mechanisms switched on or off.

        Algorithm. Each input vector is normalised (``normalisation``); the drive of KC ``i`` is
        ``h_i = sum_j W_ij x_j`` minus its adaptation (``adaptation``). A KC is *selected* if

        - ``topk=True`` (APL): it is among the ``k`` largest ``h + bias`` of the sample (ties to
          the lower index): exactly ``k`` KCs in every sample;
        - ``topk=False`` (no APL): ``h + bias > theta``, one fixed threshold for all samples (by
          default the ``1 - coding_level`` quantile of all drives of the batch: the *mean*
          coding level is ``coding_level`` while each sample's varies, as without APL strong
          odors recruit more KCs); with ``inhibition > 0`` minus the sample's graded feedback
          inhibition (the graded APL).

        The code of a selected KC is its (adapted) drive (1.0 if ``binary``), 0 otherwise.
        ``balance=True``: a per-KC bias used only for selection, after each sample (in stream
        order) ``bias -= rate * sign(count - mean(count))``, re-centred to mean 0 (FlyLoRA's
        aux-loss-free balancing). Bias and adaptation steps are in units of ``drive_scale``
        (default SD(h) of the batch). Circuit counterparts: :mod:`flysim.adapters.mechanisms`.

        Parameters
        ----------
        inputs : xarray.DataArray or array_like
            With the adapter's ``input_dim`` and any sample dims (``odor``, ``trial``, ...), or
            an array (n_glomeruli,) or (n_samples, n_glomeruli).
        topk, balance : bool
            Switch top-k (APL) and the balancing bias.
        balance_rate : float, optional
            Bias step in units of the drive scale; default ``self.balance_rate``.
        threshold : float, optional
            Fixed threshold for ``topk=False`` (default: from the batch, see above).
        inhibition, normalisation, adaptation : float
            Strengths of the graded APL, the LNs' normalisation and the adaptation (0 = off).
        adaptation_tau : float
            Decay time constant of the adaptation, in presentations.
        sequence_dim : str, optional
            Dim of a DataArray along which the adaptation runs, each sequence starting
            unadapted (default: the whole stream is one sequence).
        stream_order : sequence of dim names, optional
            Order of a DataArray's samples in the stream (outermost first); default its dims'.
        binary : bool
            Return 0/1 codes instead of the winners' drive.
        return_state : bool
            Also return a dict with the final ``bias``, the ``threshold`` and the bias ``rate``.

        Returns
        -------
        xarray.DataArray
            The input's sample dims (``sample`` for a 2-D array) and ``kc``; attrs: switches.
        """
        samples, back = self._as_samples(inputs, stream_order, sequence_dim)
        h = self._drive_of(normalise_inputs(samples, normalisation, self.input_level))
        theta = None if topk else self.threshold(h) if threshold is None else float(threshold)
        switches = dict(topk=topk, inhibition=inhibition, balance=balance, adaptation=adaptation)
        switches["normalisation"] = normalisation
        length = inputs.sizes[sequence_dim] if sequence_dim is not None else len(h)
        selected, adapted, bias, rate = self._select(
            h, theta, switches, balance_rate, adaptation_tau, length
        )
        codes = back(np.where(selected, 1.0 if binary else adapted, 0.0))
        codes = self._labelled_codes(codes, switches, binary=binary, theta=theta)
        if return_state:
            return codes, {"bias": bias, "threshold": theta, "rate": rate}
        return codes

    def _select(self, h, theta, switches, balance_rate, adaptation_tau, sequence_length):
        """Selected KCs (n_samples, n_kc) of the drive ``h``, the adapted drive, the final bias
        and the bias step (0 without balancing)."""
        select = selector(
            self.k, topk=switches["topk"], threshold=theta, inhibition=switches["inhibition"]
        )
        adaptation = check_nonnegative(switches["adaptation"], "adaptation")
        if not switches["balance"] and not adaptation:
            return select(h), h, np.zeros(self.n_kc), 0.0
        scale = float(np.std(h)) if self.drive_scale is None else self.drive_scale
        rate = 0.0
        if switches["balance"]:
            step = self.balance_rate if balance_rate is None else balance_rate
            rate = check_nonnegative(step, "balance_rate") * scale
        selected, adapted, bias = stream_select(
            h,
            select,
            sequence_length=sequence_length,
            adaptation_step=adaptation * scale,
            adaptation_tau=adaptation_tau,
            balance_step=rate,
        )
        return selected, adapted, bias, rate

    def _labelled_codes(
        self, codes: xr.DataArray, switches: dict, *, binary: bool, theta
    ) -> xr.DataArray:
        """``codes`` named ``kc_code``, with attrs saying which mechanisms were on."""
        codes.name = "kc_code"
        codes.attrs = {
            "long_name": "adapter KC code" + (" (binary)" if binary else " (drive of winners)"),
            "units": "1",
            **{
                name: int(on) if isinstance(on, bool) else float(on)
                for name, on in switches.items()
            },
            "k": self.k,
            "coding_level": self.coding_level,
        }
        if theta is not None:
            codes.attrs["threshold"] = theta
        return codes


# -- construction from a circuit ------------------------------------------------------------


def claws_to_projection(claw_glomerulus, n_glomeruli: int) -> scipy.sparse.csr_matrix:
    """Binary (n_kc, n_glomeruli) matrix with a 1 for every claw (KC, glomerulus); -1 marks an
    unused claw slot (a measured wiring's KC with fewer claws than the slots) and is skipped."""
    claws = np.asarray(claw_glomerulus)
    if claws.ndim != 2 or not np.issubdtype(claws.dtype, np.integer):
        raise ValueError(
            f"claws must be a 2-D integer array (kc, claw), got {claws.dtype} {claws.shape}"
        )
    if claws.size and (claws.min() < -1 or claws.max() >= n_glomeruli):
        raise ValueError(f"claw glomeruli must lie in [0, {n_glomeruli}) (or be -1: no claw)")
    n_kc = claws.shape[0]
    rows = np.repeat(np.arange(n_kc), claws.shape[1])
    used = claws.ravel() >= 0
    matrix = scipy.sparse.csr_matrix(
        (np.ones(used.sum()), (rows[used], claws.ravel()[used])), shape=(n_kc, n_glomeruli)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # a glomerulus reached twice still counts once (binary wiring)
    return matrix


def _network_of(params) -> dict:
    """The ``network`` group of a params dict, JSON string or CircuitParams-like object."""
    if isinstance(params, str):
        params = json.loads(params)
    if isinstance(params, Mapping):
        network = params.get("network", params)
        get = network.get
    elif hasattr(params, "network"):  # a CircuitParams, read without importing brian2
        network = params.network

        def get(key, default=None):
            return getattr(network, key, default)
    else:
        raise TypeError(
            "source must be an xarray.Dataset from flysim.simulate, a params dict "
            f"(flysim.params.params_to_dict) or CircuitParams, got {type(params).__name__}"
        )
    out = {}
    for key in ("n_glomeruli", "n_kc", "kc_in_degree"):
        value = get(key)
        if value is None:
            raise ValueError(f"params have no network.{key}")
        out[key] = check_int(value, f"network.{key}", minimum=1)
    return out


def _measured_coding_level(ds: xr.Dataset, fly: int) -> float:
    """Fraction of (odor, trial, KC) of fly ``fly`` with at least one KC spike; must be > 0."""
    counts = ds["kc_spike_count"]
    if "fly" in counts.dims:
        counts = counts.isel(fly=fly)
    level = float((counts > 0).mean())
    if level <= 0:
        raise ValueError(
            "no KC fired in the dataset: the coding level cannot be measured; pass coding_level="
        )
    return level


def _circuit_from_dataset(
    ds: xr.Dataset, coding_level: float | None, fly: int
) -> tuple[dict, tuple | None, float | None, dict]:
    """What a simulated dataset says about its circuit.

    Returns
    -------
    sizes : dict
        ``n_glomeruli``, ``n_kc`` and ``kc_in_degree``, from the dims where present.
    glomeruli : tuple of str or None
        The ``glomerulus`` coordinate.
    measured : float or None
        The coding level of fly ``fly``; None (not measured) when ``coding_level`` is given.
    info : dict
        Provenance: ``from`` and the preset's ``params_name``.
    """
    sizes = _network_of(ds.attrs.get("params", "{}"))
    # The dims are what was simulated (the params were already adapted to the panel).
    sizes["n_kc"] = int(ds.sizes.get("kc", sizes["n_kc"]))
    sizes["n_glomeruli"] = int(ds.sizes.get("glomerulus", sizes["n_glomeruli"]))
    sizes["kc_in_degree"] = int(ds.sizes.get("claw", sizes["kc_in_degree"]))
    glomeruli = tuple(ds["glomerulus"].values.tolist()) if "glomerulus" in ds.coords else None
    measured = _measured_coding_level(ds, fly) if coding_level is None else None
    params_name = json.loads(ds.attrs["params"]).get("name") if "params" in ds.attrs else None
    return sizes, glomeruli, measured, {"from": "dataset", "params_name": params_name}


def _circuit_from_params(params, reuse_wiring: bool) -> tuple[dict, None, None, dict]:
    """The sizes of a circuit given by its parameters; the tuple of :func:`_circuit_from_dataset`.

    Parameters carry no wiring (nor names or activity), so ``reuse_wiring`` is an error here.
    """
    if reuse_wiring:
        raise ValueError(
            "reuse_wiring needs a simulated Dataset (its kc_claw_glomerulus holds the "
            "wiring); a params dict has only the sizes"
        )
    return _network_of(params), None, None, {"from": "params"}


def _adapter_projection(
    source, sizes: dict, reuse_wiring: bool, fly: int, seed
) -> tuple[scipy.sparse.csr_matrix, dict]:
    """The adapter's PN -> KC projection and its provenance (``wiring`` and ``fly`` or ``seed``).

    The circuit's own claws of fly ``fly`` with ``reuse_wiring`` (``source`` is then a dataset),
    else a fresh random projection of the circuit's sizes from ``seed``.
    """
    if reuse_wiring:
        claws = source["kc_claw_glomerulus"]
        if "fly" in claws.dims:
            claws = claws.isel(fly=fly)
        projection = claws_to_projection(claws.transpose("kc", "claw").values, sizes["n_glomeruli"])
        return projection, {"wiring": "circuit", "fly": int(fly)}
    projection = sparse_projection(
        sizes["n_glomeruli"], sizes["n_kc"], sizes["kc_in_degree"], seed=seed
    )
    # Provenance keeps plain values: a SeedSequence is recorded as its repr.
    shown_seed = seed if isinstance(seed, (int, np.integer)) else str(seed)
    return projection, {"wiring": "random", "seed": shown_seed}


def adapter_from_circuit(
    source,
    *,
    coding_level: float | None = None,
    reuse_wiring: bool = False,
    fly: int = 0,
    seed=0,
    balance_rate: float = DEFAULT_BALANCE_RATE,
) -> FlyAdapter:
    """A :class:`FlyAdapter` matched to a circuit.

    Parameters
    ----------
    source : xarray.Dataset, dict, str or CircuitParams
        A dataset returned by ``flysim.simulate`` (sizes from ``attrs["params"]`` and its dims,
        coding level measured from ``kc_spike_count``, wiring in ``kc_claw_glomerulus``), or
        the circuit's parameters as a ``flysim.params.params_to_dict`` dict (or its JSON), which
        needs no brian2 import.
    coding_level : float, optional
        Fraction of KCs active per sample. Default: for a dataset, the measured fraction of
        KCs with at least one spike per odor-trial (mean over odors and trials of fly ``fly``);
        for params, :data:`DEFAULT_CODING_LEVEL`. ``k = max(1, round(coding_level * n_kc))``.
    reuse_wiring : bool
        Use the circuit's PN -> KC wiring (dataset only): adapter KC ``i`` sums exactly the
        glomeruli of circuit KC ``i``'s claws. Otherwise a fresh random binary projection with
        the same in-degree (distinct glomeruli per KC, as in the circuit) from ``seed``.
    fly : int
        Position along the dataset's ``fly`` dim (if it has one) whose wiring and coding level
        are used.
    seed : int or numpy.random.SeedSequence
        Seed of the random projection (ignored with ``reuse_wiring``).
    balance_rate : float
        Default bias step of the balancing rule (units of SD of the drive).

    Returns
    -------
    FlyAdapter
    """
    if isinstance(source, xr.Dataset):
        sizes, glomeruli, measured, info = _circuit_from_dataset(source, coding_level, fly)
    else:
        sizes, glomeruli, measured, info = _circuit_from_params(source, reuse_wiring)
    level = coding_level if coding_level is not None else measured
    if level is None:
        level = DEFAULT_CODING_LEVEL
    level = check_fraction(level, "coding_level")
    projection, wiring = _adapter_projection(source, sizes, reuse_wiring, fly, seed)
    info.update(wiring)
    info["coding_level_measured"] = measured
    return FlyAdapter(
        projection=projection,
        k=max(1, int(round(level * sizes["n_kc"]))),
        coding_level=level,
        glomeruli=glomeruli,
        balance_rate=balance_rate,
        source=info,
    )
