"""The LI x SFA x noise experiment ("Seemingly redundant modules...", Li et al. 2025).

Four circuit conditions - none, LI, SFA, LI+SFA - built from ``li.enabled`` x ``sfa.enabled``
(LI acts at the APL by default; ``li_site="ln"`` or ``"both"`` moves or adds it to the antennal
lobe), each run at several input-noise levels, for several flies, as one resumable scan.
At every point a fly must tell apart pairs of similar odors from single noisy trials.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from brian2 import Quantity, ms
from scipy import stats

from ..analysis import (
    decoding_accuracy,
    paired_similarity,
    population_sparseness,
    two_way_bootstrap,
)
from ..inputs.odors import similar_pairs, with_reference_odors
from ..params import CircuitParams, with_overrides
from ..params.noise import Noise
from ..params.overrides import declaration, typed_value
from ..scan import scan
from .claims import claims, claims_table

__all__ = [
    "claims",
    "claims_table",
    "columns_table",
    "differences_table",
    "estimate_ci",
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

#: What ``PairDiscrimination`` measures per odor pair, with their attrs.
PAIR_MEASURES = {
    "decoder_accuracy": {"units": "1", "long_name": "pair decoding accuracy (KC decoder)"},
    "kc_coding_level": {"units": "1", "long_name": "KC coding level (fraction responding)"},
    "kc_sparseness": {"units": "1", "long_name": "KC population sparseness"},
    "kc_pair_correlation": {"units": "1", "long_name": "KC response correlation within a pair"},
    "pn_pair_correlation": {"units": "1", "long_name": "PN response correlation within a pair"},
    "mbon_accuracy": {"units": "1", "long_name": "MBON choice accuracy after conditioning"},
    "mbon_naive_rate": {"units": "Hz", "long_name": "naive MBON rate to the test odors"},
    "cs_plus_drop": {
        "units": "1",
        "long_name": "relative drop of the depressed MBONs' CS+ response after one pairing",
    },
    "tie_fraction": {"units": "1", "long_name": "fraction of tests decided by a coin (tie)"},
    "silent_fraction": {"units": "1", "long_name": "fraction of tests with a silent MBON"},
    "overlap_cs_plus": {
        "units": "1",
        "long_name": "fraction of the test CS+'s responding KCs that responded in CS+ training",
    },
    "overlap_cs_minus": {
        "units": "1",
        "long_name": "fraction of the test CS-'s responding KCs that responded in CS+ training",
    },
    "overlap_dprime": {
        "units": "1",
        "long_name": "d' of the training/test overlap, test CS+ against test CS-",
    },
    "cs_difference": {
        "units": "Hz",
        "long_name": "depressed MBONs' rate to the test CS- minus to the test CS+",
    },
}

#: The readout's measures (``flysim.readout.conditioned_choice``) a point keeps, by our name.
READOUT_MEASURES = {
    "mbon_accuracy": "accuracy",
    "mbon_naive_rate": "mbon_naive_rate",
    "cs_plus_drop": "cs_plus_drop",
    "tie_fraction": "tie_fraction",
    "silent_fraction": "silent_fraction",
    "overlap_dprime": "overlap_dprime",
    "cs_difference": "cs_difference",
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

    One ``simulate`` run presents each odor of ``n_pairs`` similar pairs and ``n_reference``
    reference odors (more pairs from the same generator, another seed: the same breadth), in
    ``n_trials`` independent trials each, from rest, KC spikes recorded. Returns,
    per odor pair (dim ``pair``, with the pair's realised input correlation as the coordinate
    ``input_similarity``): ``decoder_accuracy`` (cross-validated linear decoder of which odor of
    the pair was presented, from single-trial KC spike counts; chance 0.5), ``kc_coding_level``
    (fraction of KCs responding, over the pair's odor-trials), ``kc_sparseness`` (population
    sparseness, mean over the pair's odor-trials), ``kc_pair_correlation`` and
    ``pn_pair_correlation`` (Pearson correlation of the pair's trial-mean responses).

    With ``mbon_trials > 0`` also the MBON readout (``flysim.readout.conditioned_choice``) on the
    same KC spikes: ``mbon_trials`` conditioning repetitions per pair (trials ``2r`` train, ``2r +
    1`` test; the CS+ alternates between the pair's odors), the KC -> MBON weights scaled
    homeostatically on the reference odors, with ``params.learning``'s rate and protocol:
    ``mbon_accuracy`` (fraction of correct choices; chance 0.5) and its diagnostics
    ``mbon_naive_rate``, ``cs_plus_drop``, ``tie_fraction``, ``silent_fraction``; and the
    mechanism between code and choice: ``overlap_cs_plus`` / ``overlap_cs_minus`` (mean over
    repetitions of the fraction of the test odor's responding KCs that responded in the CS+
    training), ``overlap_dprime`` (their d' over repetitions) and ``cs_difference`` (depressed
    MBONs' rate to the test CS- minus CS+, Hz).

    The pairs are a sample of odors, like the flies are a sample of wirings: per-pair values
    let the tables and ``claims`` treat both as random factors (``flysim.analysis.
    two_way_bootstrap``). ``per_pair=False`` returns the means over pairs instead.
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
        n_reference: int = 4,
        per_pair: bool = True,
    ):
        if n_pairs < 1 or n_trials < 2:
            raise ValueError(
                f"pair_discrimination: need n_pairs >= 1 and n_trials >= 2, got "
                f"{n_pairs} and {n_trials}"
            )
        if mbon_trials < 0 or 2 * mbon_trials > n_trials or (mbon_trials and n_reference < 1):
            raise ValueError(
                "pair_discrimination: each conditioning repetition trains on one trial and "
                f"tests on the next, so mbon_trials ({mbon_trials}) must lie in 0..n_trials/2 "
                f"(n_trials {n_trials}), with n_reference >= 1 odors for the MBON weights' "
                f"scale (got {n_reference})"
            )
        self.n_pairs, self.n_trials = int(n_pairs), int(n_trials)
        self.similarity, self.odor_seed = float(similarity), int(odor_seed)
        self.mbon_trials, self.n_reference = int(mbon_trials), int(n_reference)
        self.per_pair = bool(per_pair)

    def describe(self) -> dict:
        return {"name": self.name, "readout": "numpy", **vars(self)}

    def __repr__(self):
        return f"PairDiscrimination({vars(self)})"

    def test_pairs(self, params: CircuitParams, odor_seed: int | None = None):
        """The panel's test pairs (odors ``2p``, ``2p + 1``) without the reference odors, for
        ``odor_seed`` (default: the experiment's)."""
        seed = self.odor_seed if odor_seed is None else int(odor_seed)
        return similar_pairs(
            self.n_pairs, self.similarity, n_glomeruli=params.network.n_glomeruli, seed=seed
        )

    def _panel(self, params):
        """The test pairs (odors ``2p``, ``2p + 1``), then the reference odors."""
        pairs = self.test_pairs(params)
        if not self.mbon_trials:
            return pairs
        # Reference odors from the same generator as the test odors (same breadth), other seed
        return with_reference_odors(pairs, self.n_reference, self.similarity)

    def prepare(self, params: CircuitParams, noise: Noise) -> None:
        """Compile the network the points run (``flysim.scan`` calls this in its own process
        while a local cluster's workers start; they then find it built)."""
        from ..engine import compile_structure
        from ..run.pipeline import adapt_to_panel
        from ..run.simulate import simulate_structure

        params = adapt_to_panel(_without_post(params), self._panel(params))[0]
        compile_structure(
            params, simulate_structure(params, noise, record_spikes=self.mbon_trials > 0)
        )

    def _pair_measures(self, kc: xr.DataArray, pn: xr.DataArray, p: int) -> dict:
        """The KC and PN measures of pair ``p`` (odors ``2p`` and ``2p + 1``)."""
        pair = kc.isel(odor=[2 * p, 2 * p + 1])
        accuracy = decoding_accuracy(
            pair,
            label_dim="odor",
            trial_dim="trial",
            feature_dim="kc",
            n_folds=min(5, self.n_trials),
            seed=p,
        )
        mean = pair.mean("trial")
        pn_mean = pn.isel(odor=[2 * p, 2 * p + 1]).mean("trial")
        return {
            "decoder_accuracy": float(accuracy),
            "kc_coding_level": float((pair > 0).mean()),
            "kc_sparseness": float(population_sparseness(pair, dim="kc").mean(skipna=True)),
            "kc_pair_correlation": float(
                paired_similarity(mean.isel(odor=0), mean.isel(odor=1), dim="kc")
            ),
            "pn_pair_correlation": float(
                paired_similarity(pn_mean.isel(odor=0), pn_mean.isel(odor=1), dim="pn")
            ),
        }

    def _readout(self, ds: xr.Dataset, params: CircuitParams) -> dict:
        """The MBON readout's per-pair measures from the recorded KC spikes."""
        from ..readout import conditioned_choice

        names = [str(n) for n in ds["odor"].values]
        pairs = [(names[2 * p], names[2 * p + 1]) for p in range(self.n_pairs)]
        learned = conditioned_choice(ds, pairs, names[2 * self.n_pairs :], self.mbon_trials, params)
        values = {mine: learned[theirs].values for mine, theirs in READOUT_MEASURES.items()}
        for test in ("overlap_cs_plus", "overlap_cs_minus"):  # mean over repetitions
            values[test] = learned[test].mean("rep", skipna=True).values
        return values

    def __call__(self, params: CircuitParams, noise: Noise, seed: int) -> xr.Dataset:
        from ..run.simulate import simulate

        panel = self._panel(params)
        ds = simulate(
            _without_post(params),
            panel,
            n_trials=self.n_trials,
            noise=noise,
            seed=int(seed),
            record_spikes=self.mbon_trials > 0,
        )
        kc, pn = ds.kc_spike_count.astype(float), ds.pn_spike_count.astype(float)
        measures = [self._pair_measures(kc, pn, p) for p in range(self.n_pairs)]
        values = {name: [m[name] for m in measures] for name in measures[0]}
        if self.mbon_trials:
            values.update(self._readout(ds, params))
        out = xr.Dataset(
            {
                name: ("pair", np.asarray(v, float), dict(PAIR_MEASURES[name]))
                for name, v in values.items()
            },
            coords={
                "pair": np.arange(self.n_pairs),
                "input_similarity": (
                    "pair",
                    np.asarray(panel.info["input_similarity"], float),
                    {"units": "1", "long_name": "input (glomerular) correlation of the pair"},
                ),
            },
        )
        if self.per_pair:
            return out
        return out.mean("pair", keep_attrs=True)  # drops the pair's coordinates too


def _without_post(params: CircuitParams) -> CircuitParams:
    """``params`` with no post-odor period: every measure of the experiment (decoder, coding
    level, correlations, MBON readout) reads the odor window, and the keyed streams make the
    window's spikes the same whether or not a post period follows (tests/experiments/
    test_redundancy.py), so simulating it would cost 20 % of a default trial for nothing."""
    return with_overrides(params, {"protocol.post": 0 * ms})


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
    odor_seeds=None,
) -> xr.Dataset:
    """Run the 4 conditions x noise levels x flies as a resumable scan; relabel to
    ``(condition, noise, fly, pair)`` and add the LI and SFA benefits and their interaction.

    ``accuracy`` is the headline measure: ``mbon_accuracy`` (the MBON choice after conditioning,
    the fly's own readout) when the experiment measures it, else ``decoder_accuracy``; its
    ``measure`` attr says which. ``li_benefit``, ``sfa_benefit`` and ``synergy`` are its
    differences between conditions, per fly and pair; ``combined_vs_li`` and
    ``combined_vs_sfa`` (LI+SFA minus each single mechanism) say whether both together are best.
    With ``PairDiscrimination(per_pair=False)`` there is no ``pair`` dim (pair means).

    ``noise_levels`` are values of the Noise field ``noise_field`` (default ``input_sigma``):
    plain numbers in its TOML unit (Hz; ``kc_current_sigma``: pA) or quantities; ``noise`` sets
    the other noise fields (e.g. ``Noise(window="trial")``).

    ``odor_seeds`` (e.g. ``(0, 1)``): run the experiment once per odor-panel seed (its
    ``odor_seed`` replaced), one scan each, and concatenate along ``pair``, so that the pairs of
    every panel together are the sample of odors. Each scan has its own store, derived from
    ``store``: ``r.zarr`` -> ``r-odors0.zarr``, ``r-odors1.zarr`` (each resumes on its own;
    with ``workers``, each scan starts its own local cluster). ``pair`` then runs over all
    pairs; the coordinates ``odor_seed(pair)`` and ``panel_pair(pair)`` say which panel and
    which pair of it. Default None: one scan of the experiment's own panel, in ``store``.
    """
    experiment = PairDiscrimination() if experiment is None else experiment
    grid = {
        "li.enabled": [False, True],
        "sfa.enabled": [False, True],
        **noise_grid(noise_field, noise_levels),
    }
    params = with_overrides(params, {"li.site": li_site})
    run = dict(noise=noise, workers=workers, scheduler=scheduler, progress=progress)
    panels = []
    for odor_seed, panel_experiment, path in _panel_scans(experiment, store, odor_seeds):
        raw = scan(panel_experiment, params, grid, seeds=list(seeds), store=path, **run)
        panels.append((odor_seed, _by_condition(raw, noise_field)))
    out = _pairs_of_panels(panels)
    _add_differences(out)
    out.attrs.update(panels[0][1].attrs, li_site=li_site, experiment=repr(experiment))
    if panels[0][0] is not None:
        out.attrs["odor_seeds"] = json.dumps([odor_seed for odor_seed, _ in panels])
    return out


def _panel_store(store, odor_seed: int) -> Path:
    """The store of one odor panel's scan: ``r.zarr`` -> ``r-odors0.zarr`` (same folder)."""
    path = Path(store).expanduser()
    return path.with_name(f"{path.stem}-odors{odor_seed}{path.suffix}")


def _panel_scans(experiment, store, odor_seeds) -> list[tuple]:
    """``(odor seed or None, experiment, store)`` of each scan ``redundancy`` runs."""
    if odor_seeds is None:
        return [(getattr(experiment, "odor_seed", None), experiment, store)]
    odor_seeds = [odor_seeds] if isinstance(odor_seeds, int) else list(odor_seeds)
    if not odor_seeds or len(set(odor_seeds)) != len(odor_seeds):
        raise ValueError(f"redundancy: odor_seeds must be distinct seeds, got {odor_seeds}")
    if not hasattr(experiment, "odor_seed") or not getattr(experiment, "per_pair", True):
        raise ValueError(
            "redundancy: odor_seeds needs an experiment with an odor_seed and per-pair results "
            f"(PairDiscrimination(per_pair=True)), got {experiment!r}"
        )
    scans = []
    for odor_seed in odor_seeds:
        panel_experiment = copy.copy(experiment)
        panel_experiment.odor_seed = int(odor_seed)
        path = None if store is None else _panel_store(store, int(odor_seed))
        scans.append((int(odor_seed), panel_experiment, path))
    return scans


def _by_condition(raw: xr.Dataset, noise_field: str) -> xr.Dataset:
    """A scan's result with ``condition`` for (li.enabled, sfa.enabled) and ``noise``."""
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
    out.attrs = dict(raw.attrs)
    return out


def _pairs_of_panels(panels: list[tuple]) -> xr.Dataset:
    """The panels' results as one, their pairs along ``pair`` (numbered 0, 1, ... over all
    panels) with ``odor_seed(pair)`` and ``panel_pair(pair)``."""
    if "pair" not in panels[0][1].dims:  # pair means (per_pair=False)
        return panels[0][1]
    labelled = []
    for odor_seed, ds in panels:
        coords = {"panel_pair": ("pair", ds["pair"].values, {"long_name": "pair in its panel"})}
        if odor_seed is not None:
            seed_of = np.full(ds.sizes["pair"], odor_seed)
            coords["odor_seed"] = ("pair", seed_of, {"long_name": "odor-panel seed of the pair"})
        labelled.append(ds.assign_coords(coords).drop_vars("pair"))
    out = xr.concat(labelled, dim="pair", coords="minimal", compat="equals", join="exact")
    return out.assign_coords(pair=np.arange(out.sizes["pair"]))


def _add_differences(out: xr.Dataset) -> None:
    """``accuracy`` (the headline measure) and its differences between conditions, in place."""
    # The headline measure is the fly's own readout, the MBON choice, whenever it was measured.
    measure = "mbon_accuracy" if "mbon_accuracy" in out else "decoder_accuracy"
    out["accuracy"] = out[measure].copy()
    out["accuracy"].attrs.update(measure=measure)
    acc = {c: out["accuracy"].sel(condition=c, drop=True) for c in CONDITIONS}
    out["li_benefit"] = acc["LI"] - acc["none"]
    out["sfa_benefit"] = acc["SFA"] - acc["none"]
    out["synergy"] = acc["LI+SFA"] - acc["LI"] - acc["SFA"] + acc["none"]
    for single in ("LI", "SFA"):
        out[f"combined_vs_{single.lower()}"] = acc["LI+SFA"] - acc[single]
    for name, label in BENEFITS.items():
        out[name].attrs.update(units="1", long_name=label, measure=measure)


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
    """Mean and half-width of the t confidence interval over ``dim`` (one random factor: the
    other dims are kept). For values per fly *and* pair, :func:`estimate_ci` resamples both."""
    n = values.sizes[dim]
    mean = values.mean(dim)
    if n < 2:
        return mean, xr.zeros_like(mean)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(dim, ddof=1) / np.sqrt(n)
    return mean, half


def estimate_ci(values: xr.DataArray, *, level: float = 0.95, n_resamples=2000, seed=0):
    """``(estimate, low, high, how)``: the mean over flies (and odor pairs) and its CI.

    With a ``pair`` dim the flies and the pairs are both random factors: the mean over all
    (fly, pair) cells and the two-way bootstrap percentile interval
    (``flysim.analysis.two_way_bootstrap``). Without one, the mean over flies and the t
    interval (:func:`mean_ci`). ``how`` says which, for a table's header.
    """
    if "pair" in values.dims:
        estimate, low, high = two_way_bootstrap(
            values, dims=("fly", "pair"), n_resamples=n_resamples, level=level, seed=seed
        )
        how = (
            f"two-way bootstrap over {values.sizes['fly']} flies x {values.sizes['pair']} odor "
            f"pairs ({n_resamples} resamples)"
        )
        return estimate, low, high, how
    mean, half = mean_ci(values, "fly", level)
    return mean, mean - half, mean + half, f"t interval over {values.sizes['fly']} flies"


def _cell(estimate, low, high, signed: bool, interval: bool) -> str:
    """One table cell: ``0.812 [0.750, 0.870]`` (bootstrap) or ``0.812 ± 0.044`` (t)."""
    sign = "+" if signed else ""
    if interval:
        return f"{estimate:>{sign}8.3f} [{low:{sign}.3f}, {high:{sign}.3f}]"
    return f"{estimate:>{sign}9.3f} ± {(high - low) / 2:.3f}"


def columns_table(result: xr.Dataset, columns: dict, signed: bool = False) -> str:
    """Rows per noise level of ``result``, one column per ``{label: values(noise, fly[,
    pair])}``: mean and 95 % CI (``signed`` prints a + on positive values, for differences)."""
    parts = {label: estimate_ci(values) for label, values in columns.items()}
    interval = any("pair" in values.dims for values in columns.values())
    how = next(iter(parts.values()))[3]
    caption = f"mean [95% CI], {how}" if interval else f"mean ± 95% CI, {how}"
    width = 25 if interval else 17
    unit = result["noise"].attrs.get("units", "")
    rows = [caption, f"{'noise (' + unit + ')':>10} " + "".join(f"{c:>{width}}" for c in parts)]
    for noise in result.noise.values:
        cells = "".join(
            f"{_cell(*(float(v.sel(noise=noise)) for v in part[:3]), signed, interval):>{width}}"
            for part in parts.values()
        )
        rows.append(f"{noise:>10.1f} {cells}")
    return "\n".join(rows)


def summary_table(result: xr.Dataset, variable: str = "accuracy") -> str:
    """``variable`` per condition and noise level, mean and 95% CI, as text.

    The first line says which CI: with a ``pair`` dim the two-way bootstrap over flies and odor
    pairs (``mean [low, high]``), else the t interval over flies (``mean ± half-width``)."""
    values = result[variable]
    columns = {str(c): values.sel(condition=c, drop=True) for c in result.condition.values}
    return columns_table(result, columns, signed=False)


def differences_table(result: xr.Dataset, names=tuple(BENEFITS)) -> str:
    """Paired differences (``li_benefit``, ..., ``combined_vs_sfa``) per noise level, mean and 95%
    CI as in :func:`summary_table` (paired: per fly, and per pair when there is one), as text:
    one column per name."""
    return columns_table(result, {name: result[name] for name in names}, signed=True)
