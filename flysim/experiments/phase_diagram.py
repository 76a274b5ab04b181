"""The LI x SFA phase diagram: accuracy over ``li.strength`` x ``sfa.strength`` x input noise x
LI site, for pairs of similar odors (one or more input similarities) under trial-frozen or
Ornstein-Uhlenbeck input noise, with a held-out odor panel to judge the best setting.

:func:`phase_diagram` runs :class:`~flysim.experiments.redundancy.PairDiscrimination` at every
point as resumable scans (``flysim.scan``) and returns one Dataset with dims ``(similarity,
noise_type, li.site, li.strength, sfa.strength[, sfa.tau], noise, fly, pair)``. Both mechanisms
are switched on (``li.enabled``, ``sfa.enabled``), so ``li.strength = 0`` / ``sfa.strength =
0`` is the mechanism off: the gain is ``strength`` if enabled, else 0, so strength 0 and
``enabled = false`` are the same circuit (``flysim.params.schema``).

Points that are the same simulation are run once and copied: ``li.strength = 0`` is the same
circuit at every LI site (``li.site`` acts only through the gain), so it runs at the first site
only; zero input noise draws nothing, so ``noise = 0`` of OU noise is the frozen-noise point
(when frozen noise is run). ``attrs["copied_points"]`` says so.

:func:`select_and_judge` picks, per noise level (and site, similarity, noise type), the best
setting on one odor panel (``odor_seed``) and reports its accuracy on another: the selection is
not judged on the odors it was made on.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from brian2 import ms

from ..analysis import two_way_bootstrap
from ..params import CircuitParams, with_overrides
from ..params.noise import Noise
from ..params.overrides import declaration
from ..scan import normalize_grid, scan
from ..scan.execute import point_key
from .redundancy import CONDITIONS, NOISE_NAMES, PairDiscrimination, _pairs_of_panels, noise_grid

__all__ = [
    "NOISE_TYPES",
    "SETTING_DIMS",
    "PhasePlan",
    "StoreScans",
    "phase_diagram",
    "plan_points",
    "select_and_judge",
    "selected_conditions",
]

#: The setting dims a selection picks over (``sfa.tau`` only when it is swept).
SETTING_DIMS = ("li.strength", "sfa.strength", "sfa.tau")

#: Noise types: trial-frozen input-pattern noise, or an OU process in time (``noise.input_tau``).
NOISE_TYPES = ("frozen", "ou")

_SIGMA = "noise.input_sigma"


@dataclasses.dataclass(frozen=True)
class PhasePlan:
    """What :func:`phase_diagram` runs. Values are plain numbers in the TOML units (strengths
    1, noise Hz, taus ms); ``sfa_taus=None`` leaves ``sfa.tau`` as in the parameters (no dim)."""

    li_strengths: tuple = (0.0, 0.5, 1.0, 2.0, 4.0)
    sfa_strengths: tuple = (0.0, 0.5, 1.0, 2.0)
    noise_levels: tuple = (0.0, 10.0, 20.0, 30.0, 40.0)
    li_sites: tuple = ("apl", "ln")
    similarities: tuple = (0.8, 0.6)
    noise_types: tuple = NOISE_TYPES
    odor_seeds: tuple = (0, 1)
    fly_seeds: tuple = (0, 1, 2, 3, 4)
    n_pairs: int = 10
    n_tests: int = 10
    n_reference: int = 2
    ou_tau: float = 50.0
    sfa_taus: tuple | None = None

    def __post_init__(self):
        for name in ("li_strengths", "sfa_strengths", "noise_levels", "li_sites"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"phase_diagram: {name} must be distinct values, got {values}")
        unknown = set(self.noise_types) - set(NOISE_TYPES)
        if unknown or not self.noise_types:
            raise ValueError(f"phase_diagram: noise_types must be among {NOISE_TYPES}")

    def experiment(self, similarity: float, odor_seed: int) -> PairDiscrimination:
        """The experiment of one panel: a training and a test trial per conditioning test."""
        return PairDiscrimination(
            n_pairs=self.n_pairs,
            n_trials=2 * self.n_tests,
            similarity=similarity,
            odor_seed=odor_seed,
            mbon_trials=self.n_tests,
            n_reference=self.n_reference,
        )

    @property
    def trials_per_point(self) -> int:
        """Trials one point simulates: every odor (pairs and references) x its trials."""
        return (2 * self.n_pairs + self.n_reference) * 2 * self.n_tests


@dataclasses.dataclass(frozen=True)
class StoreScans:
    """The scans of one store: one odor panel, one similarity, one noise type; ``grids`` are
    the sub-grids of its part of the rectangular grid (the copied points left out)."""

    similarity: float
    noise_type: str
    odor_seed: int
    experiment: PairDiscrimination
    noise: Noise
    grids: tuple
    store: Path | None


def _sub_grids(plan: PhasePlan, noise_type: str) -> list[dict]:
    """One grid per LI site, without the points copied from another site or noise type."""
    share_noise = noise_type != plan.noise_types[0] and 0.0 in plan.noise_levels
    levels = [v for v in plan.noise_levels if not (share_noise and v == 0.0)]
    grids = []
    for k, site in enumerate(plan.li_sites):
        li = [v for v in plan.li_strengths if not (k and v == 0.0)]
        if not li or not levels:
            continue
        grid = {"li.site": [site], "li.strength": li, "sfa.strength": list(plan.sfa_strengths)}
        if plan.sfa_taus is not None:
            grid["sfa.tau"] = [{"value": float(t), "unit": "ms"} for t in plan.sfa_taus]
        grids.append({**grid, **noise_grid("input_sigma", levels)})
    return grids


def store_scans(plan: PhasePlan, store_dir=None, experiment=None) -> list[StoreScans]:
    """Every store's scans, in the order they run: odor panels, similarities, noise types.
    ``experiment(similarity, odor_seed)`` makes each panel's experiment (default
    ``plan.experiment``)."""
    experiment = plan.experiment if experiment is None else experiment
    out = []
    for odor_seed in plan.odor_seeds:
        for similarity in plan.similarities:
            for noise_type in plan.noise_types:
                tau = None if noise_type == "frozen" else plan.ou_tau * ms
                out.append(
                    StoreScans(
                        similarity=float(similarity),
                        noise_type=noise_type,
                        odor_seed=int(odor_seed),
                        experiment=experiment(similarity, odor_seed),
                        noise=Noise(input_tau=tau),
                        grids=tuple(_sub_grids(plan, noise_type)),
                        store=None,
                    )
                )
    if store_dir is not None:
        out = [dataclasses.replace(s, store=Path(store_dir) / _store_name(s)) for s in out]
    return out


def _store_name(item: StoreScans) -> str:
    """``sim0.8-frozen-odors0.zarr`` (``...-sfatau.zarr`` with ``sfa.tau`` in the grid: its
    stores record other grid paths)."""
    tau = "-sfatau" if item.grids and "sfa.tau" in item.grids[0] else ""
    return f"sim{item.similarity:g}-{item.noise_type}-odors{item.odor_seed}{tau}.zarr"


def _base(params: CircuitParams) -> CircuitParams:
    """Both mechanisms on: a strength of 0 is the mechanism off."""
    return with_overrides(params, {"li.enabled": True, "sfa.enabled": True})


def _done_keys(store) -> set[str]:
    points = None if store is None else Path(store) / "points"
    if points is None or not points.is_dir():
        return set()
    return {p.name for p in points.iterdir() if (p / "zarr.json").is_file()}


def plan_points(plan: PhasePlan, params: CircuitParams, store_dir=None) -> list[dict]:
    """Per store: its name, the points of its scans (x flies) and how many are stored already
    (a rerun computes only the others)."""
    params = _base(params)
    rows = []
    for item in store_scans(plan, store_dir):
        done, total, stored = _done_keys(item.store), 0, 0
        for grid in item.grids:
            axes = normalize_grid(grid, params, item.noise)
            combos = list(itertools.product(*(a.coords for a in axes)))
            for combo in combos:
                values = {a.path: c for a, c in zip(axes, combo, strict=True)}
                keys = [point_key(values, seed) for seed in plan.fly_seeds]
                stored += sum(key in done for key in keys)
            total += len(combos) * len(plan.fly_seeds)
        name = item.store.name if item.store is not None else f"{_store_name(item)} (memory)"
        rows.append({"store": name, "points": total, "stored": stored})
    return rows


def _fill_from(ds: xr.Dataset, dim: str, source, where: dict) -> xr.Dataset:
    """``ds`` with its missing cells at ``where`` filled from the same cells at ``dim=source``."""
    if not all(v in ds[k].values for k, v in where.items()) or ds.sizes[dim] < 2:
        return ds
    twin = ds.sel({k: [v] for k, v in where.items()}).sel({dim: source}, drop=True)
    return ds.fillna(twin)


def _label_of(item: StoreScans, grid: dict) -> str:
    """The progress bar's label of one scan (of many): its store and LI site."""
    return f"{_store_name(item).removesuffix('.zarr')}, LI at {grid['li.site'][0]}"


def _store_result(item: StoreScans, params, plan: PhasePlan, run: dict) -> xr.Dataset:
    """One store's scans merged into its rectangular grid, the copied LI-off cells filled."""
    parts = [
        scan(
            item.experiment,
            params,
            grid,
            seeds=list(plan.fly_seeds),
            store=item.store,
            noise=item.noise,
            **dict(run, progress=_label_of(item, grid) if run["progress"] else False),
        )
        for grid in item.grids
    ]
    ds = xr.merge(parts, join="outer", compat="no_conflicts", combine_attrs="drop_conflicts")
    ds = ds.reindex({"li.site": list(plan.li_sites)})
    if len(plan.li_sites) > 1 and 0.0 in plan.li_strengths:
        ds = _fill_from(ds, "li.site", plan.li_sites[0], {"li.strength": 0.0})
    return ds.rename({_SIGMA: "noise"})


def _by_noise_type(parts: dict, plan: PhasePlan) -> xr.Dataset:
    """Noise types along ``noise_type``; OU noise 0 copied from the first type's."""
    out = xr.concat(
        [parts[t] for t in plan.noise_types],
        dim=pd.Index(list(plan.noise_types), name="noise_type"),
        join="outer",
        coords="different",
        compat="equals",
        combine_attrs="drop_conflicts",
    )
    return _fill_from(out, "noise_type", plan.noise_types[0], {"noise": 0.0})


def phase_diagram(
    params: CircuitParams,
    plan: PhasePlan,
    *,
    store_dir=None,
    experiment=None,
    workers=None,
    scheduler=None,
    progress: bool = True,
) -> xr.Dataset:
    """Run ``plan`` (one store per odor panel x similarity x noise type in ``store_dir``, or in
    memory if None) and return every per-pair measure with dims ``(similarity, noise_type,
    li.site, li.strength, sfa.strength[, sfa.tau], noise, fly, pair)``; ``pair`` runs over the
    pairs of all odor panels, ``odor_seed(pair)`` says whose. Adds ``accuracy`` (the MBON
    choice if measured, else the KC decoder; attr ``measure``) and, where the grid holds 0,
    ``li_benefit`` (minus ``li.strength = 0`` at the same SFA) and ``sfa_benefit`` (minus
    ``sfa.strength = 0`` at the same LI), paired per fly and pair. ``experiment(similarity,
    odor_seed)`` makes each panel's experiment (default ``plan.experiment``: PairDiscrimination
    with the MBON readout)."""
    base = _base(params)
    run = dict(workers=workers, scheduler=scheduler, progress=progress)
    results = {}
    for item in store_scans(plan, store_dir, experiment):
        key = (item.similarity, item.noise_type)
        results.setdefault(key, []).append((item.odor_seed, _store_result(item, base, plan, run)))
    by_similarity = []
    for similarity in plan.similarities:
        types = {t: _pairs_of_panels(results[(similarity, t)]) for t in plan.noise_types}
        by_similarity.append(_by_noise_type(types, plan))
    out = xr.concat(
        by_similarity,
        dim=pd.Index([float(s) for s in plan.similarities], name="similarity"),
        coords="different",
        compat="equals",
        combine_attrs="drop_conflicts",
    )
    order = ["similarity", "noise_type", "li.site", "li.strength", "sfa.strength"]
    out = out.transpose(*order, *[d for d in out.dims if d not in order])
    _label(out, plan)
    _add_benefits(out)
    return out


def _label(out: xr.Dataset, plan: PhasePlan) -> None:
    """Coordinates' attrs and the provenance of the copied points, in place."""
    out["noise_type"] = np.array([str(t) for t in out["noise_type"].values])  # netCDF-writable
    out["noise"].attrs.update(
        units=declaration(_SIGMA)["unit"], long_name=NOISE_NAMES["input_sigma"]
    )
    out["similarity"].attrs.update(units="1", long_name="target input correlation of the pairs")
    out["noise_type"].attrs.update(
        long_name="input noise in time",
        meaning=f"frozen: one pattern per trial; ou: Ornstein-Uhlenbeck, tau {plan.ou_tau:g} ms",
    )
    out.attrs = {k: v for k, v in out.attrs.items() if k in ("versions", "structure_keys")}
    out.attrs.update(
        title="flysim LI x SFA phase diagram",
        plan=json.dumps(dataclasses.asdict(plan)),
        odor_seeds=json.dumps(list(plan.odor_seeds)),
        copied_points=(
            "li.strength=0 (LI off) is the same circuit at every li.site: run at "
            f"{plan.li_sites[0]} and copied; noise=0 draws no input noise, so it is the same "
            f"for every noise type: run as {plan.noise_types[0]} and copied"
        ),
    )


def _add_benefits(out: xr.Dataset) -> None:
    """``accuracy`` and, where the grid has a 0 column/row, the LI and SFA benefits, in place."""
    measure = "mbon_accuracy" if "mbon_accuracy" in out else "decoder_accuracy"
    out["accuracy"] = out[measure].copy()
    out["accuracy"].attrs.update(measure=measure)
    benefits = {"li_benefit": ("li.strength", "LI"), "sfa_benefit": ("sfa.strength", "SFA")}
    for name, (dim, label) in benefits.items():
        if 0.0 in out[dim].values:
            out[name] = out["accuracy"] - out["accuracy"].sel({dim: 0.0}, drop=True)
            out[name].attrs.update(
                units="1", measure=measure, long_name=f"{label} benefit (accuracy - {dim} 0)"
            )


#: What :func:`select_and_judge` returns (formatted with the selection and judgement seeds).
_LONG_NAMES = {
    "selected": "accuracy of the best setting on odor panel {0} (its selection panel)",
    "judged": "accuracy of the best setting (selected on panel {0}) on odor panel {1}",
    "none_judged": "accuracy without LI and SFA on odor panel {1}",
    "gain": "best setting minus no LI and no SFA on odor panel {1}, paired",
}


def _interval(values: xr.DataArray, n_resamples: int):
    """Mean, and the two-way bootstrap's 95 % CI over flies and pairs (NaN with < 2 of
    either: the interval would leave a random factor out)."""
    if values.sizes["fly"] < 2 or values.sizes["pair"] < 2:
        mean = values.mean(("fly", "pair"))
        return mean, xr.full_like(mean, np.nan), xr.full_like(mean, np.nan)
    return two_way_bootstrap(values, dims=("fly", "pair"), n_resamples=n_resamples)


def _panel(values: xr.DataArray, odor_seed: int) -> xr.DataArray:
    """The pairs of one odor panel (``odor_seed(pair)``)."""
    chosen = values["odor_seed"].values == odor_seed
    if not chosen.any():
        raise ValueError(f"select_and_judge: no pairs of odor panel {odor_seed}")
    return values.isel(pair=np.flatnonzero(chosen))


def _best(selection: xr.DataArray, settings: list[str], rest: list[str]):
    """Flat index (over ``settings``) of the best mean accuracy per ``rest`` cell, and how many
    settings share that mean; a tie goes to the first setting in grid order (the weaker one
    for ascending strengths)."""
    means = selection.mean(("fly", "pair")).transpose(*rest, *settings).values
    flat = means.reshape(means.shape[: len(rest)] + (-1,))
    flat = np.where(np.isnan(flat), -np.inf, flat)
    ties = (flat >= flat.max(-1, keepdims=True) - 1e-12).sum(-1)
    return flat.argmax(-1), ties


def _at(values: xr.DataArray, index: np.ndarray, settings: list[str], rest: list[str]):
    """``values`` at the setting ``index`` (flat) of each ``rest`` cell, dims (*rest, fly, pair)."""
    ordered = values.transpose(*rest, *settings, "fly", "pair")
    array = ordered.values.reshape(index.shape + (-1,) + ordered.shape[-2:])
    picked = np.take_along_axis(array, index[..., None, None, None], axis=len(rest))[..., 0, :, :]
    coords = {d: values[d] for d in rest}
    coords.update(fly=values["fly"], pair=values["pair"])
    return xr.DataArray(picked, dims=(*rest, "fly", "pair"), coords=coords)


def select_and_judge(
    accuracy: xr.DataArray,
    *,
    select_seed: int = 0,
    judge_seed: int = 1,
    n_resamples: int = 2000,
) -> xr.Dataset:
    """The best setting per cell of the other dims (noise, site, ...), selected on the pairs of
    odor panel ``select_seed`` and judged on those of ``judge_seed``.

    ``accuracy`` has the setting dims (those of :data:`SETTING_DIMS` present), ``fly``,
    ``pair`` with the coordinate ``odor_seed(pair)``, and any others. Returns, per cell of the
    others: ``best_<setting dim>``, ``ties`` (how many settings share the best mean: a tie
    goes to the first in grid order), ``selected`` (its mean on the selection panel),
    ``judged`` (on the judgement panel) and, when the grid has the all-zero setting (no LI, no
    SFA), ``none_judged`` (it, on the judgement panel) and ``gain`` (best minus it, paired
    per fly and pair), each with a 95 % CI ``<name>_low``, ``<name>_high``: the two-way
    bootstrap over flies and pairs; NaN (``attrs["ci"]`` says why) with fewer than 2 flies or
    2 pairs. ``judge_seed == select_seed`` is allowed (one panel) and marked in
    ``attrs["held_out"]``: the judgement is then optimistic.
    """
    settings = [d for d in SETTING_DIMS if d in accuracy.dims]
    rest = [d for d in accuracy.dims if d not in (*settings, "fly", "pair")]
    selection, judgement = _panel(accuracy, select_seed), _panel(accuracy, judge_seed)
    index, ties = _best(selection, settings, rest)
    shape = [accuracy.sizes[d] for d in settings]
    out = xr.Dataset(coords={d: accuracy[d] for d in rest})
    for d, position in zip(settings, np.unravel_index(index, shape), strict=True):
        out[f"best_{d}"] = (rest, accuracy[d].values[position], dict(accuracy[d].attrs))
    out["ties"] = (rest, ties, {"long_name": "settings sharing the best mean on the selection"})
    columns = {"selected": _at(selection, index, settings, rest)}
    columns["judged"] = _at(judgement, index, settings, rest)
    if all(0.0 in accuracy[d].values for d in settings if d != "sfa.tau"):
        none = judgement.sel({d: 0.0 for d in settings if d != "sfa.tau"})
        if "sfa.tau" in settings:
            none = none.isel({"sfa.tau": 0})
        none = none.drop_vars([d for d in settings if d in none.coords])
        columns["none_judged"] = none
        columns["gain"] = columns["judged"] - none
    for name, values in columns.items():
        estimate, low, high = _interval(values, n_resamples)
        attrs = {"units": "1", "long_name": _LONG_NAMES[name].format(select_seed, judge_seed)}
        out[name] = (rest, estimate.transpose(*rest).values, attrs)
        for bound, value in (("low", low), ("high", high)):
            bound_attrs = {**attrs, "long_name": f"{attrs['long_name']}: 95% CI {bound}"}
            out[f"{name}_{bound}"] = (rest, value.transpose(*rest).values, bound_attrs)
    n_fly, n_pair = judgement.sizes["fly"], judgement.sizes["pair"]
    out.attrs.update(
        select_seed=select_seed,
        judge_seed=judge_seed,
        held_out=int(select_seed != judge_seed),
        ci=(
            f"95% two-way bootstrap over {n_fly} flies x {n_pair} pairs ({n_resamples} resamples)"
            if n_fly > 1 and n_pair > 1
            else f"not available: {n_fly} fly(s) x {n_pair} pair(s) (needs >= 2 of each)"
        ),
    )
    return out


def _best_setting(means: xr.DataArray, li_on: bool, sfa_on: bool) -> tuple[float, float]:
    """(li.strength, sfa.strength) with the highest mean among those with LI / SFA on (> 0) or
    off (0) as asked; a tie goes to the first in grid order."""
    li = [v for v in means["li.strength"].values if (v > 0) == li_on]
    sfa = [v for v in means["sfa.strength"].values if (v > 0) == sfa_on]
    if not li or not sfa:
        raise ValueError(
            "selected_conditions: the grid needs li.strength and sfa.strength 0 (off) and at "
            "least one value > 0 of each"
        )
    block = means.sel({"li.strength": li, "sfa.strength": sfa}).transpose(
        "li.strength", "sfa.strength"
    )
    i, j = np.unravel_index(int(np.nanargmax(block.values)), block.shape)
    return float(li[i]), float(sfa[j])


def selected_conditions(
    accuracy: xr.DataArray, *, select_seed: int = 0, judge_seed: int = 1
) -> xr.Dataset:
    """The four circuits of ``claims`` at settings selected on one odor panel, measured on
    another: ``none`` (both strengths 0), ``LI`` (the best ``li.strength`` > 0 with SFA off),
    ``SFA`` (the best ``sfa.strength`` > 0 with LI off) and ``LI+SFA`` (the best pair of both >
    0), each chosen by its mean accuracy over every noise level, fly and pair of panel
    ``select_seed`` (one circuit per condition for all noise levels, so that the claims compare
    fixed circuits across noise), returned on the pairs of panel ``judge_seed`` as ``accuracy
    (condition, noise, fly, pair)``, the choices in ``attrs["selected"]``.

    ``accuracy`` must have exactly the dims ``li.strength``, ``sfa.strength``, ``noise``,
    ``fly`` and ``pair`` (select one cell of the others first)."""
    expected = {"li.strength", "sfa.strength", "noise", "fly", "pair"}
    if set(accuracy.dims) != expected:
        raise ValueError(
            f"selected_conditions: accuracy must have dims {sorted(expected)}, got "
            f"{list(accuracy.dims)} (select one cell of the others first)"
        )
    means = _panel(accuracy, select_seed).mean(("noise", "fly", "pair"))
    judged = _panel(accuracy, judge_seed)
    chosen = {c: _best_setting(means, li, sfa) for c, (li, sfa) in CONDITIONS.items()}
    parts = [
        judged.sel({"li.strength": li, "sfa.strength": sfa}, drop=True)
        for li, sfa in chosen.values()
    ]
    out = xr.concat(parts, dim=pd.Index(list(CONDITIONS), name="condition")).to_dataset(
        name="accuracy"
    )
    out["accuracy"].attrs = dict(accuracy.attrs)
    out.attrs.update(
        selected=json.dumps(
            {c: {"li.strength": li, "sfa.strength": sfa} for c, (li, sfa) in chosen.items()}
        ),
        select_seed=select_seed,
        judge_seed=judge_seed,
    )
    return out
