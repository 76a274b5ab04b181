"""Plots of saved results: each takes a Dataset and an ``ax`` and returns the ``ax``; none
simulates."""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy_vs_noise", "fi_curves"]


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


def fi_curves(curves, ax):
    """Firing rate against injected current for several neuron models (DataArrays)."""
    for curve in curves:
        ax.plot(curve["current"].values * 1e9, curve.values, label=curve.attrs.get("neuron"))
    ax.set_xlabel("injected current (nA)")
    ax.set_ylabel("rate (Hz)")
    ax.legend(frameon=False)
    return ax
