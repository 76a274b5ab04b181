"""Circuit vs adapter: the same odors and the same input noise through both, the same metrics.

:func:`circuit_vs_adapter` presents one odor panel, with the same trial-to-trial input noise,

- to the spiking circuit (``flysim.simulate``) in four conditions: ``li.enabled`` x
  ``sfa.enabled`` (``none``, ``LI``, ``SFA``, ``LI+SFA``), and
- to the matched adapter (``flysim.adapters.adapter_from_circuit`` of the ``LI+SFA`` run, with the
  circuit's own PN -> KC wiring) in the analogous four variants: fixed global threshold (none),
  top-k (the LI analogue), fixed threshold + balancing bias (the SFA analogue) and top-k +
  balancing bias (both),

and computes the same ``flysim.analysis`` metrics on the circuit's KC spike counts and on the
adapter's codes. :func:`format_table` prints the side-by-side table.

What the adapter sees: the very ORN rates the circuit is driven with. They are rebuilt with
``flysim.stimulus.orn_drive`` from the same panel, parameters, ``Noise`` (same seed streams,
keyed by fly seed, odor and trial) and wiring seed as ``simulate`` uses, so input-pattern noise,
background odors and clipping to [0, max_rate] are identical; each trial's input vector is the
mean rate over the odor window minus the spontaneous rate (the evoked Δrate per glomerulus).
Noise inside the circuit (Poisson ORN spikes, KC current noise) has no adapter counterpart.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..adapters.link import FlyAdapter, adapter_from_circuit
from ..analysis import (
    adaptation_ratio,
    decoding_accuracy,
    fraction_active,
    paired_similarity,
    pairwise_similarity,
    participation_ratio,
    population_sparseness,
    separation_index,
)
from ..inputs.odors import OdorPanel, similar_pairs, synthetic_panel
from ..inputs.stimulus import Slot, orn_drive
from ..params import CircuitParams, params_to_dict, with_overrides
from ..params.noise import Noise
from ..run.pipeline import adapt_to_panel
from ..run.simulate import simulate

__all__ = [
    "ANALOGUES",
    "CONDITIONS",
    "adapter_switches",
    "METRICS",
    "circuit_vs_adapter",
    "code_metrics",
    "format_table",
    "noisy_inputs",
]

#: The adapter analogues of the circuit's two mechanisms: ``{mechanism: {analogue: the
#: FlyAdapter.encode switches that turn it on}}`` (off: no top-k, every strength 0). Graded
#: strengths are placeholders of 1 that ``adapter_switches(strengths=)`` replaces by calibrated
#: ones. What each stands for: ``flysim.adapters.mechanisms``.
ANALOGUES = {
    "li": {
        "topk": {"topk": True},  # the ideal APL (FlyHash, the fly models)
        "graded": {"inhibition": 1.0},  # graded APL feedback on the fixed threshold
        "normalisation": {"normalisation": 1.0},  # LI at the antennal-lobe LNs (li.site = ln)
    },
    "sfa": {
        "balance": {"balance": True},  # FlyLoRA's balancing bias, across samples
        "adaptation": {"adaptation": 1.0},  # per-unit adaptation within a presentation
    },
}

_CIRCUIT_CONDITIONS = {
    "none": {"li.enabled": False, "sfa.enabled": False},
    "LI": {"li.enabled": True, "sfa.enabled": False},
    "SFA": {"li.enabled": False, "sfa.enabled": True},
    "LI+SFA": {"li.enabled": True, "sfa.enabled": True},
}


def adapter_switches(
    condition: str, *, li: str = "topk", sfa: str = "balance", strengths: dict | None = None
) -> dict:
    """``FlyAdapter.encode`` switches of a circuit condition, with the chosen analogues.

    Parameters
    ----------
    condition : {"none", "LI", "SFA", "LI+SFA"}
        Which mechanisms are on (the circuit's ``li.enabled`` x ``sfa.enabled``).
    li, sfa : str
        The analogue of each (:data:`ANALOGUES`); the defaults are :data:`CONDITIONS`' own.
    strengths : dict, optional
        Values of the graded switches that are on (``inhibition``, ``normalisation``,
        ``adaptation``) and ``adaptation_tau``; others are ignored.
    """
    overrides = _CIRCUIT_CONDITIONS[condition]
    switches = {"topk": False, "balance": False}
    if overrides["li.enabled"]:
        switches.update(ANALOGUES["li"][li])
    if overrides["sfa.enabled"]:
        switches.update(ANALOGUES["sfa"][sfa])
    for name, value in (strengths or {}).items():
        if name in switches or (name == "adaptation_tau" and "adaptation" in switches):
            switches[name] = value
    return switches


#: Condition name -> (circuit overrides, adapter switches: top-k for LI, balancing for SFA).
CONDITIONS = {
    name: (overrides, adapter_switches(name)) for name, overrides in _CIRCUIT_CONDITIONS.items()
}

#: Metric name -> (short column header, long name).
METRICS = {
    "coding_level": ("coding", "fraction of KCs active per odor-trial (mean)"),
    "coding_level_sd": ("coding SD", "SD over odor-trials of the fraction of KCs active"),
    "population_sparseness": ("pop.sparse", "population sparseness (Vinje-Gallant), mean"),
    "separation_index": ("separation", "mean (input - KC) Pearson similarity over odor pairs"),
    "pair_correlation": ("pair corr", "KC Pearson correlation of the similar pairs (mean)"),
    "participation_ratio": ("dimension", "participation ratio over odor-trials"),
    "decoding_accuracy": ("decoding", "cross-validated linear decoding of odor identity"),
    "usage_cv": ("usage CV", "CV over KCs of the fraction of odor-trials each KC is active"),
    "late_early_ratio": (
        "late/early",
        "KC spikes in the 2nd half of the odor over the 1st (circuit only: adapters have no time)",
    ),
}

_DESCRIPTIONS = {
    ("circuit", "none"): "APL off, SFA off",
    ("circuit", "LI"): "APL on, SFA off",
    ("circuit", "SFA"): "APL off, SFA on",
    ("circuit", "LI+SFA"): "APL on, SFA on",
    ("adapter", "none"): "fixed threshold",
    ("adapter", "LI"): "top-k",
    ("adapter", "SFA"): "fixed threshold + balancing bias",
    ("adapter", "LI+SFA"): "top-k + balancing bias",
}


def noisy_inputs(
    params: CircuitParams, panel: OdorPanel, noise: Noise, n_trials: int, seed: int = 0
) -> xr.DataArray:
    """Evoked ORN input of every odor-trial as the circuit receives it: (odor, trial, glomerulus).

    The ORN rates of ``flysim.stimulus.orn_drive`` (same noise streams as ``simulate`` with
    wiring seed ``seed``), averaged over the odor window, minus the spontaneous rate.
    """
    params, _ = adapt_to_panel(params, panel)
    proto = params.protocol
    dt = float(proto.stimulus_dt)
    n_bins = int(round(float(proto.duration) / dt)) + 1
    times = np.arange(n_bins) * dt
    window = (times >= float(proto.baseline)) & (
        times < float(proto.baseline + proto.odor_duration)
    )
    spont = (
        panel.spontaneous
        if panel.spontaneous is not None
        else np.full(panel.n_glomeruli, float(params.orn.spontaneous_rate))
    )
    out = np.empty((panel.n_odors, n_trials, panel.n_glomeruli))
    for odor in range(panel.n_odors):
        slots = [Slot(0, odor, trial) for trial in range(n_trials)]
        rates, _ = orn_drive(panel, params, noise, slots, n_bins, [int(seed)])
        mean = rates[window].mean(axis=0).reshape(n_trials, panel.n_glomeruli)
        out[odor] = mean - spont
    return xr.DataArray(
        out,
        dims=("odor", "trial", "glomerulus"),
        coords={
            "odor": list(panel.names),
            "trial": np.arange(n_trials),
            "glomerulus": list(panel.glomeruli),
        },
        name="orn_input",
        attrs={"units": "Hz", "long_name": "evoked ORN rate in the odor window (noisy)"},
    )


def _pairs(responses: xr.DataArray, n_pairs: int):
    a = responses.isel(odor=slice(0, 2 * n_pairs, 2)).rename(odor="pair")
    b = responses.isel(odor=slice(1, 2 * n_pairs, 2)).rename(odor="pair")
    index = np.arange(n_pairs)
    return a.assign_coords(pair=index), b.assign_coords(pair=index)


def code_metrics(
    responses: xr.DataArray,
    odor_input: xr.DataArray,
    *,
    n_pairs: int | None = None,
    n_folds: int = 5,
    seed: int = 0,
) -> dict:
    """The comparison's metrics of one response array ``(odor, trial, kc)``.

    Works the same on KC spike counts and adapter codes (all from ``flysim.analysis``).
    ``odor_input`` (odor, glomerulus) is the noise-free input for the separation index;
    ``n_pairs``: the first ``2 * n_pairs`` odors are similar pairs (a, b) for ``pair_correlation``.
    """
    responses = responses.astype(np.float64).transpose("odor", "trial", "kc")
    active = fraction_active(responses, "kc")
    mean = responses.mean("trial")
    input_similarity = pairwise_similarity(odor_input, dim="glomerulus", over="odor")
    output_similarity = pairwise_similarity(mean, dim="kc", over="odor")
    usage = (responses > 0).mean(("odor", "trial"))
    out = {
        "coding_level": float(active.mean()),
        "coding_level_sd": float(active.std()),
        "population_sparseness": float(population_sparseness(responses, "kc").mean(skipna=True)),
        "separation_index": float(separation_index(input_similarity, output_similarity)),
        "pair_correlation": np.nan,
        "participation_ratio": float(
            participation_ratio(responses, dim="kc", sample_dim=("odor", "trial"))
        ),
        "decoding_accuracy": float(
            decoding_accuracy(
                responses,
                "odor",
                "trial",
                "kc",
                n_folds=min(n_folds, responses.sizes["trial"]),
                seed=seed,
            )
        ),
        "usage_cv": float(usage.std() / usage.mean()) if float(usage.mean()) > 0 else np.nan,
    }
    if n_pairs:
        a, b = _pairs(mean, n_pairs)
        out["pair_correlation"] = float(paired_similarity(a, b, dim="kc").mean(skipna=True))
    return out


def _panel(params, n_odors, similarity_pairs, odor_seed) -> tuple[OdorPanel, int | None]:
    n_glomeruli = params.network.n_glomeruli
    if similarity_pairs is None:
        return synthetic_panel(n_odors, n_glomeruli=n_glomeruli, seed=odor_seed), None
    if n_odors < 2 or n_odors % 2:
        raise ValueError(f"n_odors must be an even number >= 2 for similar pairs, got {n_odors}")
    panel = similar_pairs(n_odors // 2, similarity_pairs, n_glomeruli=n_glomeruli, seed=odor_seed)
    return panel, n_odors // 2


def circuit_vs_adapter(
    params: CircuitParams,
    *,
    n_odors: int = 8,
    n_trials: int = 10,
    noise: Noise | float | None = 50.0,
    seed: int = 0,
    odor_seed: int = 0,
    similarity_pairs: float | None = 0.8,
    panel: OdorPanel | None = None,
    match: str = "full",
    balance_rate: float | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """The circuit in 4 conditions and the matched adapter in 4 variants, on the same metrics.

    Parameters
    ----------
    params : CircuitParams
        The circuit; ``li.enabled`` and ``sfa.enabled`` are overridden per condition.
    n_odors : int
        Odors in the panel (even: ``n_odors / 2`` similar pairs, unless ``similarity_pairs`` is
        None: a synthetic panel of unrelated odors).
    n_trials : int
        Trials per odor (>= 2; the decoder uses ``min(5, n_trials)`` folds).
    noise : Noise, float or None
        The input noise: a ``flysim.Noise``, or a level in Hz for
        ``flysim.experiments.input_noise(level, seed=seed)`` (frozen per-trial pattern noise of
        that SD per glomerulus); None = no input-pattern noise (Poisson input only).
    seed : int
        Wiring (fly) seed of the circuit; the adapter reuses this fly's wiring.
    odor_seed : int
        Seed of the odor panel.
    similarity_pairs : float or None
        Input correlation of the similar pairs (``flysim.odors.similar_pairs``).
    panel : OdorPanel, optional
        Use this panel instead (``n_odors``, ``similarity_pairs``, ``odor_seed`` ignored; its
        glomeruli set the circuit's).
    match : {"full", "each"}
        Coding level of the adapter: the circuit's with APL and SFA for every variant ("full":
        the variants differ only in how activity is distributed), or each circuit condition's
        own ("each": e.g. the no-LI variant as dense as the circuit without APL).
    balance_rate : float, optional
        Bias step of the balancing rule (units of SD of the drive); default the adapter's.
    progress : bool
        Print a line per condition.

    Returns
    -------
    xarray.Dataset
        One variable per metric (:data:`METRICS`) with dims ``(system, condition)``,
        ``system`` in (circuit, adapter), ``condition`` in (none, LI, SFA, LI+SFA), a
        ``mechanism`` coordinate naming what each row is, and attrs with the parameters, noise,
        seeds, panel and adapter needed to reproduce it.
    """
    noise = _checked_inputs(match, n_trials, noise, seed)
    if panel is None:
        panel, n_pairs = _panel(params, n_odors, similarity_pairs, odor_seed)
    else:
        n_pairs = None
    datasets = _circuit_runs(params, panel, n_trials, noise, seed, progress)
    inputs = noisy_inputs(params, panel, noise, n_trials, seed)
    adapters, codes = _adapter_codes(datasets, inputs, match, balance_rate)
    circuit = {name: ds.kc_spike_count for name, ds in datasets.items()}
    values = _metrics(circuit, codes, datasets, n_pairs, n_trials)
    out = _comparison_dataset(values)
    out.attrs.update(
        _attrs(params, noise, seed, panel, n_trials, n_pairs, match, adapters, datasets)
    )
    return out


def _checked_inputs(match, n_trials, noise, seed) -> Noise:
    """Refuse bad arguments; the noise as a ``Noise`` (a level in Hz -> ``input_noise``)."""
    if match not in ("full", "each"):
        raise ValueError(f"match must be 'full' or 'each', got {match!r}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 2:
        raise ValueError(f"n_trials must be an integer >= 2 (for decoding), got {n_trials!r}")
    if noise is None:
        return Noise(seed=seed)
    if isinstance(noise, Noise):
        return noise
    from .discrimination import input_noise

    return input_noise(float(noise), seed)


def _circuit_runs(params, panel, n_trials, noise, seed, progress) -> dict[str, xr.Dataset]:
    """``simulate``'s Dataset of every circuit condition."""
    datasets = {}
    for name, (overrides, _) in CONDITIONS.items():
        ds = simulate(
            with_overrides(params, overrides), panel, n_trials=n_trials, noise=noise, seed=seed
        )
        datasets[name] = ds
        if progress:
            print(
                f"circuit {name:7s} coding level {float((ds.kc_spike_count > 0).mean()):.3f} "
                f"({ds.attrs['wall_seconds']:.1f} s)",
                flush=True,
            )
    return datasets


def _adapter_codes(datasets, inputs, match, balance_rate) -> tuple[dict, dict]:
    """The adapter matched to the circuit (to its LI+SFA run, or to each condition's own run)
    in every variant, and its codes of the circuit's noisy inputs."""
    adapters: dict[str, FlyAdapter] = {}
    codes = {}
    for name, (_, switches) in CONDITIONS.items():
        source = datasets["LI+SFA"] if match == "full" else datasets[name]
        adapter = adapter_from_circuit(source, reuse_wiring=True)
        if balance_rate is not None:
            adapter.balance_rate = float(balance_rate)
        adapters[name] = adapter
        codes[name] = adapter.encode(inputs, stream_order=("trial", "odor"), **switches)
    return adapters, codes


def _late_early(ds: xr.Dataset) -> float:
    total = ("odor", "trial", "kc")
    return float(
        adaptation_ratio(ds.kc_spike_count_early.sum(total), ds.kc_spike_count_late.sum(total))
    )


def _metrics(circuit, codes, datasets, n_pairs, n_trials) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` as a (system, condition) array; the late/early ratio
    for the circuit only (adapters have no time)."""
    conditions = list(CONDITIONS)
    odor_input = datasets["LI+SFA"].odor_input
    values = {m: np.full((2, len(conditions)), np.nan) for m in METRICS}
    for row, responses in enumerate((circuit, codes)):
        for col, name in enumerate(conditions):
            result = code_metrics(
                responses[name], odor_input, n_pairs=n_pairs, n_folds=min(5, n_trials), seed=0
            )
            for metric, value in result.items():
                values[metric][row, col] = value
    values["late_early_ratio"][0] = [_late_early(datasets[c]) for c in conditions]
    return values


def _comparison_dataset(values: dict) -> xr.Dataset:
    systems, conditions = ["circuit", "adapter"], list(CONDITIONS)
    out = xr.Dataset(
        coords={
            "system": systems,
            "condition": conditions,
            "mechanism": (
                ("system", "condition"),
                np.array([[_DESCRIPTIONS[s, c] for c in conditions] for s in systems]),
            ),
        }
    )
    for metric, (short, long_name) in METRICS.items():
        out[metric] = (
            ("system", "condition"),
            values[metric],
            {"units": "1", "long_name": long_name, "short_name": short},
        )
    return out


def _attrs(params, noise, seed, panel, n_trials, n_pairs, match, adapters, datasets) -> dict:
    """What reproduces the comparison: parameters, noise, seeds, panel, adapters."""
    conditions = list(CONDITIONS)
    adapter = adapters["LI+SFA"]
    return {
        "title": "circuit vs adapter",
        "params": json.dumps(params_to_dict(params)),
        "noise": json.dumps(noise.to_dict()),
        "wiring_seed": int(seed),
        "odor_panel": json.dumps(panel.info, default=str),
        "n_odors": int(panel.n_odors),
        "n_trials": int(n_trials),
        "n_pairs": int(n_pairs or 0),
        "match": match,
        "adapter": repr(adapter),
        "adapter_k": json.dumps({c: adapters[c].k for c in conditions}),
        "adapter_balance_rate": float(adapter.balance_rate),
        "adapter_input": "evoked ORN rate (odor-window mean minus spontaneous), same noise "
        "draws as the circuit (flysim.inputs.stimulus.orn_drive)",
        "adapter_stream_order": "trial, odor (each block presents every odor once)",
        "circuit_coding_level": json.dumps(
            {c: float((datasets[c].kc_spike_count > 0).mean()) for c in conditions}
        ),
        "wall_seconds": json.dumps({c: datasets[c].attrs["wall_seconds"] for c in conditions}),
    }


def format_table(result: xr.Dataset, metrics=None, digits: int = 3) -> str:
    """The comparison as a text table: one row per (system, condition), one column per metric."""
    metrics = [m for m in (metrics or METRICS) if m in result]
    if "n_pairs" in result.attrs and not result.attrs["n_pairs"]:
        metrics = [m for m in metrics if m != "pair_correlation"]
    headers = [METRICS[m][0] if m in METRICS else m for m in metrics]
    width = max(digits + 4, *(len(h) for h in headers))
    label = 34
    lines = [
        f"{'system':8s} {'condition':8s} {'mechanism':{label}s}"
        + "".join(f" {h:>{width}s}" for h in headers)
    ]
    lines.append("-" * len(lines[0]))
    for system in result.system.values:
        for condition in result.condition.values:
            cell = result.sel(system=system, condition=condition)
            row = f"{system:8s} {condition:8s} {str(cell.mechanism.values):{label}s}"
            row += "".join(f" {float(cell[m]):>{width}.{digits}f}" for m in metrics)
            lines.append(row)
    return "\n".join(lines)
