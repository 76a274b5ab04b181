"""Plots of saved results: each takes a Dataset and an ``ax`` and returns the ``ax``; none
simulates."""

from __future__ import annotations

import json

import numpy as np

__all__ = [
    "CONDITION_COLORS",
    "accuracy_vs_noise",
    "benefit_vs_noise",
    "claims_grid",
    "condition_vs_noise",
    "fi_curves",
    "kc_raster",
    "per_condition",
    "separation_curves",
]

#: One color per circuit condition of ``flysim.redundancy.CONDITIONS``.
CONDITION_COLORS = {"none": "#7f7f7f", "LI": "#3b6ea5", "SFA": "#d9822b", "LI+SFA": "#6a3d9a"}


def _label(data, default: str) -> str:
    """Axis label of a DataArray: its long name, with its units unless dimensionless."""
    units = data.attrs.get("units", "1")
    name = data.attrs.get("long_name", default)
    return name if units in ("1", "") else f"{name} ({units})"


def _mean_ci(values: np.ndarray):
    from scipy import stats

    n = values.shape[-1]
    mean = values.mean(-1)
    if n < 2:
        return mean, np.zeros_like(mean)
    return mean, stats.t.ppf(0.975, n - 1) * values.std(-1, ddof=1) / np.sqrt(n)


def accuracy_vs_noise(result, ax, variables=("decoder_accuracy", "mbon_accuracy")):
    """Accuracy (mean and 95% CI over flies) against noise level, with chance marked."""
    noise = result["noise"].values
    for name in variables:
        if name not in result or np.all(np.isnan(result[name].values)):
            continue
        mean, half = _mean_ci(result[name].transpose("noise", "fly").values)
        ax.errorbar(
            noise,
            mean,
            yerr=half,
            marker="o",
            capsize=3,
            label=result[name].attrs.get("long_name", name),
        )
    ax.axhline(0.5, color="grey", lw=0.8, ls="--", label="chance")
    ax.set_xlabel(result["noise"].attrs.get("long_name", "noise"))
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.4, 1.02)
    ax.legend(fontsize=7, frameon=False)
    return ax


def fi_curves(curves, ax, mark_range=None):
    """Firing rate against injected current for several neuron models (DataArrays).

    ``mark_range=(0.1, 0.9)`` also marks, on each curve, the currents at which the rate reaches
    10% and 90% of its maximum and puts that input range in the legend
    (``flysim.model.fi_curve.dynamic_range``).
    """
    for curve in curves:
        current_na = curve["current"].values * 1e9
        label = curve.attrs.get("neuron")
        if mark_range is None:
            ax.plot(current_na, curve.values, label=label)
            continue
        from .model.fi_curve import dynamic_range_bounds

        low, high = mark_range
        start, stop = dynamic_range_bounds(curve, low, high)
        top = float(np.max(curve.values))
        label = f"{label} ({low:.0%}-{high:.0%}: {(stop - start) * 1e9:.2f} nA)"
        (line,) = ax.plot(current_na, curve.values, label=label)
        ax.plot([start * 1e9, stop * 1e9], [low * top, high * top], "o", color=line.get_color())
        ax.hlines(
            [low * top, high * top],
            [0, 0],
            [start * 1e9, stop * 1e9],
            color=line.get_color(),
            lw=0.6,
            ls=":",
        )
        ax.axvspan(start * 1e9, stop * 1e9, color=line.get_color(), alpha=0.08, lw=0)
    ax.set_xlabel("injected current (nA)")
    ax.set_ylabel("rate (Hz)")
    ax.legend(frameon=False)
    return ax


def kc_raster(ds, ax, *, odor=0, trial=0, fly=0):
    """Spike raster of every KC in one presentation (``odor``, ``trial`` and ``fly`` are
    positions), odor window shaded. Needs ``simulate(..., record_spikes=True)`` (or a Dataset
    with its ``kc_spike_*`` variables and attrs ``odor_window_s``, ``n_kc``, ``duration_s``)."""
    if "kc_spike_time" not in ds:
        raise ValueError(
            "kc_raster: no spike times in the dataset; simulate with record_spikes=True"
        )
    mine = (
        (ds["kc_spike_odor"].values == odor)
        & (ds["kc_spike_trial"].values == trial)
        & (ds["kc_spike_fly"].values == fly)
    )
    ax.plot(ds["kc_spike_time"].values[mine], ds["kc_spike_index"].values[mine], "|", ms=2, c="k")
    start, stop = json.loads(ds.attrs["odor_window_s"])
    ax.axvspan(start, stop, color="gold", alpha=0.25, lw=0)
    if "time" in ds.coords:  # simulate's output: bin centres of equal bins
        times = ds["time"].values
        ax.set_xlim(0, times[-1] + (times[1] - times[0]) / 2 if len(times) > 1 else None)
    elif "duration_s" in ds.attrs:
        ax.set_xlim(0, float(ds.attrs["duration_s"]))
    n_kc = ds.sizes["kc"] if "kc" in ds.sizes else int(ds.attrs["n_kc"])
    ax.set_ylim(-0.5, n_kc - 0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("KC")
    return ax


def per_condition(result, variable, ax):
    """``variable(condition, fly)``: each fly a dot, mean and 95% CI over flies a black bar."""
    data = result[variable].transpose("condition", "fly")
    mean, half = _mean_ci(data.values)
    conditions = [str(c) for c in data["condition"].values]
    jitter = np.linspace(-0.12, 0.12, data.sizes["fly"])
    for k, condition in enumerate(conditions):
        color = CONDITION_COLORS.get(condition, "C0")
        ax.scatter(k + jitter, data.values[k], s=12, color=color, alpha=0.7, lw=0)
        ax.errorbar(k, mean[k], yerr=half[k], fmt="_", ms=16, capsize=4, color="k")
    ax.set_xticks(np.arange(len(conditions)), conditions)
    ax.set_ylabel(_label(data, variable))
    return ax


def condition_vs_noise(result, ax, variable="accuracy", chance=0.5):
    """``variable(condition, noise, fly)`` against noise, one line per condition (mean and 95%
    CI over flies). For an accuracy, ``chance`` is marked and the y axis runs from just below
    it to 1; ``chance=None`` for any other variable."""
    noise = result["noise"].values
    for condition in result["condition"].values:
        values = result[variable].sel(condition=condition).transpose("noise", "fly").values
        mean, half = _mean_ci(values)
        ax.errorbar(
            noise,
            mean,
            yerr=half,
            marker="o",
            ms=4,
            capsize=3,
            color=CONDITION_COLORS.get(str(condition)),
            label=str(condition),
        )
    if chance is not None:
        ax.axhline(chance, color="grey", lw=0.8, ls="--", label="chance")
        ax.set_ylim(chance - 0.1, 1.02)
    ax.set_xlabel(_label(result["noise"], "noise"))
    ax.set_ylabel(_label(result[variable], variable))
    ax.legend(fontsize=7, frameon=False)
    return ax


def benefit_vs_noise(result, ax, variable="li_benefit", color="k"):
    """A difference ``variable(noise, fly)`` (e.g. LI benefit) against noise, mean and 95% CI
    over flies, with zero (no effect) marked."""
    mean, half = _mean_ci(result[variable].transpose("noise", "fly").values)
    ax.errorbar(result["noise"].values, mean, yerr=half, marker="o", ms=4, capsize=3, color=color)
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(_label(result["noise"], "noise"))
    ax.set_ylabel(_label(result[variable], variable))
    return ax


def separation_curves(result, ax):
    """KC response correlation against ORN input correlation, one line per condition (mean and
    95% CI over flies per odor pair, pairs in order of input correlation), PN correlation
    (first condition) and the diagonal for reference.

    ``result``: ``input_similarity(pair)``, ``kc_similarity(condition, pair, fly)`` and
    ``pn_similarity(condition, pair, fly)``. Below the diagonal = decorrelated.
    """
    order = np.argsort(result["input_similarity"].values)
    result = result.isel(pair=order)
    x = result["input_similarity"].values
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="output = input")
    pn = result["pn_similarity"].isel(condition=0).transpose("pair", "fly").values
    ax.plot(x, _mean_ci(pn)[0], color="grey", ls="--", marker=".", label="PN")
    for condition in result["condition"].values:
        values = result["kc_similarity"].sel(condition=condition)
        mean, half = _mean_ci(values.transpose("pair", "fly").values)
        ax.errorbar(
            x,
            mean,
            yerr=half,
            marker="o",
            ms=3,
            lw=1,
            capsize=2,
            color=CONDITION_COLORS.get(str(condition)),
            label=f"KC, {condition}",
        )
    ax.set_xlabel(result["input_similarity"].attrs.get("long_name", "input correlation"))
    ax.set_ylabel("response correlation")
    ax.set_ylim(top=1.02)
    ax.legend(fontsize=7, frameon=False)
    return ax


#: Cell colors of :func:`claims_grid`, by verdict.
VERDICT_COLORS = {"holds": "#a6d96a", "fails": "#f4a582", "undecided": "#e0e0e0"}


def claims_grid(tables: dict, ax, claim_names: dict):
    """The verdicts of ``flysim.redundancy.claims`` for several models as a grid: one row per
    model (``tables``: ``{model: claims DataFrame}``), one column per claim (``claim_names``:
    ``{claim: label}``), each cell colored by its verdict and showing its estimate and CI."""
    from matplotlib.patches import Rectangle

    models = list(tables)
    for row, model in enumerate(models):
        for col, claim in enumerate(claim_names):
            line = tables[model].loc[claim]
            color = VERDICT_COLORS[line.verdict]
            ax.add_patch(Rectangle((col, row), 1, 1, facecolor=color, edgecolor="white"))
            text = line.verdict
            if np.isfinite(line.estimate):
                text += f"\n{line.estimate:+.2f} [{line.ci_low:+.2f}, {line.ci_high:+.2f}]"
            ax.text(col + 0.5, row + 0.5, text, ha="center", va="center", fontsize=6)
    ax.set_xlim(0, len(claim_names))
    ax.set_ylim(len(models), 0)
    ax.set_xticks(np.arange(len(claim_names)) + 0.5, list(claim_names.values()), fontsize=7)
    ax.set_yticks(np.arange(len(models)) + 0.5, models, fontsize=7)
    ax.tick_params(length=0)
    return ax
