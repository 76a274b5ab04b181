"""The built-in summary experiment of a scan: a fly's coding level, rates and decoding."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..params import CircuitParams
from ..params.noise import Noise
from ..params.units import shown

__all__ = ["SummaryExperiment", "summary_experiment"]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class SummaryExperiment:
    """A fly's summary on a synthetic odor panel: coding level, rates, adaptation, decoding.

    Returns a Dataset of scalars: ``kc_coding_level`` (fraction of KC x odor x trial with a
    spike in the odor window), ``kc_rate``, ``pn_rate`` and ``apl_rate`` (Hz, odor window),
    ``kc_late_early_ratio`` (KC spikes in the second half of the odor over the first; NaN if
    none in the first) and ``decoder_accuracy`` (``flysim.analysis.decoding_accuracy`` of odor
    identity from single-trial KC counts, chance ``1/n_odors``).
    """

    name = "summary"

    def __init__(
        self,
        *,
        n_odors: int = 4,
        n_trials: int = 4,
        odor_seed: int = 0,
        n_folds: int | None = None,
        decoder_seed: int = 0,
    ):
        for key, value, low in (
            ("n_odors", n_odors, 2),
            ("n_trials", n_trials, 2),
            ("odor_seed", odor_seed, 0),
            ("decoder_seed", decoder_seed, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(
                    f"summary experiment: {key} must be an integer >= {low}, got {shown(value)}"
                )
        n_folds = min(5, int(n_trials)) if n_folds is None else n_folds
        if not _is_int(n_folds) or not 2 <= n_folds <= n_trials:
            raise ValueError(
                f"summary experiment: n_folds must be an integer in [2, n_trials], got {n_folds!r}"
            )
        self.n_odors, self.n_trials, self.odor_seed = int(n_odors), int(n_trials), int(odor_seed)
        self.n_folds, self.decoder_seed = int(n_folds), int(decoder_seed)

    def describe(self) -> dict:
        return {"name": self.name, **vars(self)}

    def __repr__(self):
        return "summary_experiment(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"

    def __call__(self, params: CircuitParams, noise: Noise, seed: int) -> xr.Dataset:
        from ..analysis import decoding_accuracy
        from ..inputs.odors import synthetic_panel
        from ..run.simulate import simulate

        panel = synthetic_panel(
            self.n_odors, n_glomeruli=params.network.n_glomeruli, seed=self.odor_seed
        )
        ds = simulate(params, panel, n_trials=self.n_trials, noise=noise, seed=int(seed))
        start, stop = json.loads(ds.attrs["odor_window_s"])
        window = stop - start
        counts = ds.kc_spike_count
        early, late = int(ds.kc_spike_count_early.sum()), int(ds.kc_spike_count_late.sum())
        in_odor = (ds.time > start) & (ds.time < stop)
        accuracy = decoding_accuracy(
            counts.astype(float),
            label_dim="odor",
            trial_dim="trial",
            feature_dim="kc",
            n_folds=self.n_folds,
            seed=self.decoder_seed,
        )
        scalars = {
            "kc_coding_level": (float((counts > 0).mean()), "1", "fraction of KC responses"),
            "kc_rate": (float(counts.mean()) / window, "Hz", "KC rate, odor window"),
            "pn_rate": (float(ds.pn_spike_count.mean()) / window, "Hz", "PN rate, odor window"),
            "apl_rate": (float(ds.apl_activity.where(in_odor).mean()), "Hz", "APL rate, odor"),
            "kc_late_early_ratio": (
                late / early if early else float("nan"),
                "1",
                "KC spikes, late over early half of the odor",
            ),
            "decoder_accuracy": (
                float(accuracy),
                "1",
                f"odor decoding accuracy (chance {1 / self.n_odors:.3g})",
            ),
        }
        return xr.Dataset(
            {k: ((), v, {"units": u, "long_name": n}) for k, (v, u, n) in scalars.items()}
        )


def summary_experiment(**settings) -> SummaryExperiment:
    """The built-in summary experiment (see ``SummaryExperiment`` for settings and outputs)."""
    return SummaryExperiment(**settings)
