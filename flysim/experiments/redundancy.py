"""The LI x SFA x noise experiment ("Seemingly redundant modules...", Li et al. 2025).

Four circuit conditions - none, LI, SFA, LI+SFA - built from ``li.enabled`` x ``sfa.enabled``
(LI acts at the APL by default; ``li_site="ln"`` or ``"both"`` moves or adds it to the antennal
lobe), each run at several input-noise levels, for several flies, as one resumable scan.
At every point a fly must tell apart pairs of similar odors from single noisy trials.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import xarray as xr
from brian2 import Quantity
from scipy import stats

from ..analysis import decoding_accuracy, paired_similarity, population_sparseness
from ..inputs.odors import similar_pairs
from ..params import CircuitParams, with_overrides
from ..params.noise import Noise
from ..params.overrides import declaration, typed_value
from ..scan import scan

__all__ = [
    "differences_table",
    "noise_grid",
    "LI_SITES",
    "PairDiscrimination",
    "redundancy",
    "CONDITIONS",
    "summary_table",
    "mean_ci",
]

#: What each swept noise level means, for axis labels.
NOISE_NAMES = {
    "input_sigma": "input noise SD per glomerulus",
    "input_tau": "input noise correlation time",
    "background": "background odor weight",
    "kc_current_sigma": "KC current noise SD",
    "kc_current_tau": "KC current noise correlation time",
    "onset_jitter": "odor onset jitter SD",
}

#: The derived differences of ``accuracy`` and their meaning.
BENEFITS = {
    "li_benefit": "LI benefit (LI - none)",
    "sfa_benefit": "SFA benefit (SFA - none)",
    "synergy": "interaction (LI+SFA - LI - SFA + none)",
    # Paired over flies: is LI+SFA best? (Overlapping CIs of two conditions can hide a
    # difference that is consistent across flies.)
    "combined_vs_li": "LI+SFA - LI",
    "combined_vs_sfa": "LI+SFA - SFA",
}

#: Where LI can act (``li.site``), for labels.
LI_SITES = {"apl": "APL", "ln": "antennal-lobe LNs", "both": "APL + antennal-lobe LNs"}

#: condition -> (li.enabled, sfa.enabled)
CONDITIONS = {
    "none": (False, False),
    "LI": (True, False),
    "SFA": (False, True),
    "LI+SFA": (True, True),
}


class PairDiscrimination:
    """One fly, one circuit condition, one noise level: how well are similar odors told apart?

    Returns scalars: ``decoder_accuracy`` (cross-validated linear decoder of which odor of a pair
    was presented, from single-trial KC spike counts; mean over pairs; chance 0.5),
    ``kc_coding_level``, ``kc_sparseness`` (population sparseness, mean over odor-trials),
    ``kc_pair_correlation`` and ``pn_pair_correlation`` (Pearson correlation of the pair's
    trial-mean responses).
    With ``mbon_trials > 0`` also ``mbon_accuracy``: after aversive conditioning with the first
    odor of each pair as CS+, the fraction of tests in which the fly chooses the CS-
    (``flysim.learning.conditioning``; chance 0.5).

    ``shared_trials=True`` (needs ``mbon_trials`` and ``n_trials`` equal): the KC and PN
    measures read the conditioning run's test presentations (each repetition tests the CS+ and
    the CS- once) instead of trials of their own, so a point is one compiled network and one
    run instead of two networks and three runs. Learning does not act on KCs, so these are
    ordinary noisy trials; unlike separate trials they follow the training presentations
    (adaptation left from 0.5 s earlier is part of them, as it is of the MBON's test).
    """

    name = "pair_discrimination"

    def __init__(
        self,
        *,
        n_pairs: int = 4,
        n_trials: int = 10,
        similarity: float = 0.8,
        odor_seed: int = 0,
        mbon_trials: int = 0,
        shared_trials: bool = False,
    ):
        if n_pairs < 1 or n_trials < 2:
            raise ValueError(
                f"pair_discrimination: need n_pairs >= 1 and n_trials >= 2, got "
                f"{n_pairs} and {n_trials}"
            )
        if shared_trials and n_trials != mbon_trials:
            raise ValueError(
                "pair_discrimination: shared_trials reads the KC measures from the "
                f"conditioning tests, so n_trials ({n_trials}) must equal mbon_trials "
                f"({mbon_trials})"
            )
        self.n_pairs, self.n_trials = int(n_pairs), int(n_trials)
        self.similarity, self.odor_seed = float(similarity), int(odor_seed)
        self.mbon_trials = int(mbon_trials)
        self.shared_trials = bool(shared_trials)

    def describe(self) -> dict:
        described = {"name": self.name, **vars(self)}
        if not self.shared_trials:  # so that stores of scans from before it still resume
            del described["shared_trials"]
        return described

    def __repr__(self):
        return f"PairDiscrimination({vars(self)})"

    def _panel(self, params):
        return similar_pairs(
            self.n_pairs,
            self.similarity,
            n_glomeruli=params.network.n_glomeruli,
            seed=self.odor_seed,
        )

    def prepare(self, params: CircuitParams, noise: Noise) -> None:
        """Compile the conditioning network the points run (``flysim.scan`` calls this in its
        own process while a local cluster's workers start; they then find it built)."""
        from ..engine import compile_structure
        from ..run.conditioning import conditioning_structure
        from ..run.pipeline import adapt_to_panel

        if self.shared_trials or self.mbon_trials:
            params = adapt_to_panel(params, self._panel(params))[0]
            compile_structure(params, conditioning_structure(params, noise))

    def _conditioning(self, params, panel, noise, seed, kc_counts=False):
        from ..run.conditioning import conditioning

        return conditioning(
            params,
            panel,
            n_trials=self.mbon_trials,
            noise=noise,
            seed=int(seed),
            controls=False,  # only the trained flies' choices are scored
            kc_counts=kc_counts,
        )

    def __call__(self, params: CircuitParams, noise: Noise, seed: int) -> xr.Dataset:
        from ..run.simulate import simulate

        panel = self._panel(params)
        learned = None
        if self.shared_trials:
            learned = self._conditioning(params, panel, noise, seed, kc_counts=True)
            kc, pn = (_test_trials(learned, f"{pop}_spike_count", pop) for pop in ("kc", "pn"))
        else:
            ds = simulate(params, panel, n_trials=self.n_trials, noise=noise, seed=int(seed))
            kc, pn = ds.kc_spike_count, ds.pn_spike_count
            if self.mbon_trials:
                learned = self._conditioning(params, panel, noise, seed)
        counts, pn = kc.astype(float), pn.astype(float)
        accuracy, kc_corr, pn_corr = [], [], []
        for p in range(self.n_pairs):
            pair = counts.isel(odor=[2 * p, 2 * p + 1])
            accuracy.append(
                float(
                    decoding_accuracy(
                        pair,
                        label_dim="odor",
                        trial_dim="trial",
                        feature_dim="kc",
                        n_folds=min(5, self.n_trials),
                        seed=p,
                    )
                )
            )
            mean = pair.mean("trial")
            kc_corr.append(float(paired_similarity(mean.isel(odor=0), mean.isel(odor=1), dim="kc")))
            pn_mean = pn.isel(odor=[2 * p, 2 * p + 1]).mean("trial")
            pn_corr.append(
                float(paired_similarity(pn_mean.isel(odor=0), pn_mean.isel(odor=1), dim="pn"))
            )
        sparse = population_sparseness(counts, dim="kc")
        extra = {}
        if learned is not None:
            choice = float(learned.choice.sel(group="trained").mean())
            extra["mbon_accuracy"] = (
                (),
                choice,
                {"units": "1", "long_name": "MBON choice accuracy after conditioning"},
            )
        return xr.Dataset(
            {
                "decoder_accuracy": (
                    (),
                    np.mean(accuracy),
                    {"units": "1", "long_name": "pair decoding accuracy (KC decoder)"},
                ),
                "kc_coding_level": (
                    (),
                    float((counts > 0).mean()),
                    {"units": "1", "long_name": "KC coding level (fraction responding)"},
                ),
                "kc_sparseness": (
                    (),
                    float(sparse.mean(skipna=True)),
                    {"units": "1", "long_name": "KC population sparseness"},
                ),
                "kc_pair_correlation": (
                    (),
                    np.nanmean(kc_corr),
                    {"units": "1", "long_name": "KC response correlation within a pair"},
                ),
                "pn_pair_correlation": (
                    (),
                    np.nanmean(pn_corr),
                    {"units": "1", "long_name": "PN response correlation within a pair"},
                ),
                **extra,
            }
        )


def _test_trials(learned: xr.Dataset, variable: str, unit_dim: str) -> xr.DataArray:
    """The trained slots' test presentations of one fly as ``(odor, trial, unit_dim)``, odors in
    panel order: pair p's CS+ (its ``test_cs_plus``) then its CS- (``test_cs_minus``)."""
    counts = learned[variable].isel(fly=0).sel(group="trained", drop=True)
    tests = counts.sel(phase=["test_cs_plus", "test_cs_minus"])
    names = np.column_stack([learned.cs_plus.values, learned.cs_minus.values]).ravel()
    odor = tests.stack(odor=("pair", "phase")).transpose("odor", "trial", unit_dim)
    return odor.drop_vars(["odor", "pair", "phase", "cs_plus", "cs_minus"]).assign_coords(
        odor=names
    )


def redundancy(
    params: CircuitParams,
    noise_levels,
    *,
    experiment=None,
    noise: Noise | None = None,
    seeds=(0, 1, 2, 3, 4),
    store=None,
    workers=None,
    scheduler=None,
    li_site: str = "apl",
    noise_field: str = "input_sigma",
    progress: bool = True,
) -> xr.Dataset:
    """Run the 4 conditions x noise levels x flies as a resumable scan; relabel to
    ``(condition, noise, fly)`` and add the LI and SFA benefits and their interaction.

    ``accuracy`` is the headline measure: ``mbon_accuracy`` (the MBON choice after conditioning,
    the fly's own readout) when the experiment measures it, else ``decoder_accuracy``; its
    ``measure`` attr says which. ``li_benefit``, ``sfa_benefit`` and ``synergy`` are its
    differences between conditions; ``combined_vs_li`` and ``combined_vs_sfa`` (LI+SFA minus
    each single mechanism, per fly) say whether both together are best.

    ``noise_levels`` are values of the Noise field ``noise_field`` (default ``input_sigma``):
    plain numbers in its TOML unit (Hz; ``kc_current_sigma``: pA) or quantities; ``noise`` sets
    the other noise fields (e.g. ``Noise(window="trial")``)."""
    experiment = PairDiscrimination() if experiment is None else experiment
    levels = noise_grid(noise_field, noise_levels)
    params = with_overrides(params, {"li.site": li_site})
    grid = {"li.enabled": [False, True], "sfa.enabled": [False, True], **levels}
    raw = scan(
        experiment,
        params,
        grid,
        seeds=list(seeds),
        store=store,
        noise=noise,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    parts = [
        raw.sel({"li.enabled": li, "sfa.enabled": sfa}, drop=True)
        for li, sfa in CONDITIONS.values()
    ]
    out = xr.concat(parts, dim=pd.Index(list(CONDITIONS), name="condition"))
    noise_path = f"noise.{noise_field}"
    out = out.rename({noise_path: "noise"})
    out["noise"].attrs.update(
        units=declaration(noise_path)["unit"], long_name=NOISE_NAMES.get(noise_field, noise_path)
    )
    # The headline measure is the fly's own readout, the MBON choice, whenever it was measured.
    measure = "mbon_accuracy" if "mbon_accuracy" in out else "decoder_accuracy"
    out["accuracy"] = out[measure].copy()
    out["accuracy"].attrs.update(measure=measure)
    acc = out["accuracy"]
    out["li_benefit"] = acc.sel(condition="LI", drop=True) - acc.sel(condition="none", drop=True)
    out["sfa_benefit"] = acc.sel(condition="SFA", drop=True) - acc.sel(condition="none", drop=True)
    out["synergy"] = (
        acc.sel(condition="LI+SFA", drop=True)
        - acc.sel(condition="LI", drop=True)
        - acc.sel(condition="SFA", drop=True)
        + acc.sel(condition="none", drop=True)
    )
    for single in ("LI", "SFA"):
        out[f"combined_vs_{single.lower()}"] = acc.sel(condition="LI+SFA", drop=True) - acc.sel(
            condition=single, drop=True
        )
    for name, label in BENEFITS.items():
        out[name].attrs.update(units="1", long_name=label, measure=measure)
    out.attrs.update(raw.attrs, li_site=li_site, experiment=repr(experiment))
    return out


def noise_grid(noise_field: str, levels) -> dict:
    """The grid ``{"noise.<noise_field>": [values]}`` of noise levels given as plain numbers in
    the field's TOML unit (``noise_grid("input_sigma", [10, 40])``: 10 and 40 Hz) or as
    quantities."""
    numeric = [
        f.name
        for f in dataclasses.fields(Noise)
        if f.metadata.get("kind") in ("quantity", "number")
    ]
    if noise_field not in numeric:
        raise ValueError(f"redundancy: noise_field must be one of {numeric}, got {noise_field!r}")
    path = f"noise.{noise_field}"
    return {
        path: [
            level if isinstance(level, Quantity) else typed_value(path, float(level))
            for level in levels
        ]
    }


def mean_ci(values: xr.DataArray, dim: str = "fly", level: float = 0.95):
    """Mean and half-width of the t confidence interval over ``dim``."""
    n = values.sizes[dim]
    mean = values.mean(dim)
    if n < 2:
        return mean, xr.zeros_like(mean)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(dim, ddof=1) / np.sqrt(n)
    return mean, half


def summary_table(result: xr.Dataset, variable: str = "accuracy") -> str:
    """``variable`` per condition and noise level, mean ± 95% CI over flies, as text."""
    mean, half = mean_ci(result[variable])
    unit = result["noise"].attrs.get("units", "")
    header = f"{'noise (' + unit + ')':>10} " + "".join(f"{c:>17}" for c in result.condition.values)
    rows = [header]
    for noise in result.noise.values:
        cells = "".join(
            f"{float(mean.sel(condition=c, noise=noise)):>9.3f} ± "
            f"{float(half.sel(condition=c, noise=noise)):.3f}"
            for c in result.condition.values
        )
        rows.append(f"{noise:>10.1f} {cells}")
    return "\n".join(rows)


def differences_table(result: xr.Dataset, names=tuple(BENEFITS)) -> str:
    """Paired differences (``li_benefit``, ..., ``combined_vs_sfa``) per noise level, mean ± 95%
    CI over flies, as text: one column per name."""
    unit = result["noise"].attrs.get("units", "")
    rows = [f"{'noise (' + unit + ')':>10} " + "".join(f"{name:>17}" for name in names)]
    for noise in result.noise.values:
        cells = []
        for name in names:
            mean, half = mean_ci(result[name].sel(noise=noise))
            cells.append(f"{float(mean):>+9.3f} ± {float(half):.3f}")
        rows.append(f"{noise:>10.1f} " + "".join(cells))
    return "\n".join(rows)
