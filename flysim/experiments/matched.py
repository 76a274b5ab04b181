"""Circuits compared at the same KC coding level: each arm is the circuit with some overrides and
one parameter calibrated (``flysim.calibrate``) so that a statistic - by default the KC coding
level - reaches a target at one reference noise level; the value is then held fixed across noise
(matching at every level would erase what LI does under noise).

This separates what sparseness buys from what competition buys (issue #20, item 2: LI and
LI+SFA against a "sparse without inhibition" control matched by the PN -> KC weight), and lets
neuron models be compared at equal sparseness (item 5: LIF, SFA-LIF and KvLIF KCs, each with and
without LI). :func:`matched_arms` calibrates every arm on one odor panel and one fly, runs
:class:`~flysim.experiments.redundancy.PairDiscrimination` per arm as resumable scans over noise
x flies x odor panels, and returns ``(arm, noise, fly, pair)`` with the calibration in per-arm
coordinates; :func:`as_conditions` relabels four arms as none / LI / SFA / LI+SFA so that
``claims`` judges them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from brian2 import Hz

from ..params import CircuitParams, get_path, with_overrides
from ..params.io import params_to_dict
from ..params.noise import Noise
from ..params.overrides import declaration, plain_value, typed_value
from ..scan import scan
from .calibrate import Calibration, calibrate
from .redundancy import (
    CONDITIONS,
    NOISE_NAMES,
    PairDiscrimination,
    _add_differences,
    _pairs_of_panels,
    _without_post,
    noise_grid,
)

__all__ = [
    "KC_MODELS",
    "Arm",
    "as_conditions",
    "calibrate_arm",
    "kc_model_arms",
    "matched_arms",
    "sparsity_arms",
    "sparsity_conditions",
]

_SIGMA = "noise.input_sigma"


@dataclasses.dataclass(frozen=True)
class Arm:
    """One circuit of a matched comparison: ``overrides`` (dotted paths), and optionally the
    parameter ``match`` searched over ``bracket`` until ``statistic`` (a name of
    ``flysim.calibrate``'s STATISTICS or a function of ``simulate``'s Dataset) is ``target``."""

    name: str
    overrides: dict = dataclasses.field(default_factory=dict)
    match: str | None = None
    bracket: tuple | None = None
    target: float | None = None
    statistic: object = "kc_coding_level"
    base: str | None = None

    def __post_init__(self):
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"Arm: name must be a non-empty string, got {self.name!r}")
        if self.match is not None and (self.bracket is None or self.target is None):
            raise ValueError(f"Arm {self.name!r}: matching {self.match} needs bracket and target")
        if self.match is not None:
            declaration(self.match)  # an unknown path is a one-line ParameterError here

    def params(self, params: CircuitParams) -> CircuitParams:
        return with_overrides(params, dict(self.overrides))


def calibration_odors(experiment: PairDiscrimination, params: CircuitParams, odor_seed: int):
    """The test pairs of one odor panel of ``experiment`` (no reference odors)."""
    return experiment.test_pairs(params, odor_seed)


def _calibration_key(circuit, arm, odors, noise, n_trials, seed, tolerance) -> str:
    """What a calibration depends on, as text (a stored result is reused only if it matches)."""
    statistic = arm.statistic if isinstance(arm.statistic, str) else repr(arm.statistic)
    return json.dumps(
        {
            "circuit": params_to_dict(circuit),
            "match": arm.match,
            "bracket": [str(b) for b in arm.bracket],
            "target": arm.target,
            "statistic": statistic,
            "odors": odors.responses.tolist(),
            "noise": noise.to_dict(),
            "trials": n_trials,
            "seed": seed,
            "tolerance": tolerance,
        },
        sort_keys=True,
        default=str,
    )


def _stored_calibration(path: Path | None, key: str, arm: Arm) -> Calibration | None:
    if path is None or not path.is_file():
        return None
    record = json.loads(path.read_text())
    if record.get("key") != key:
        return None
    return Calibration(
        path=arm.match,
        target=arm.target,
        value=typed_value(arm.match, record["value"]),
        statistic=record["statistic"],
        unit=record["unit"],
        evaluations=[tuple(e) for e in record["evaluations"]],
        checks={int(k): v for k, v in record["checks"].items()},
    )


def calibrate_arm(
    params,
    arm: Arm,
    *,
    odors,
    noise: Noise,
    n_trials=4,
    seed=0,
    tolerance=0.005,
    store=None,
    progress=False,
):
    """``(the arm's circuit, its Calibration or None)``; the circuit holds the value found.
    ``store`` (a JSON file) keeps the calibration: it is reused while nothing it depends on
    changed. ``progress`` reports each run of the search on stderr."""
    circuit = arm.params(params)
    if arm.match is None:
        return circuit, None
    key = _calibration_key(circuit, arm, odors, noise, n_trials, seed, tolerance)
    store = None if store is None else Path(store)
    found = _stored_calibration(store, key, arm)
    if found is not None:
        return with_overrides(circuit, {arm.match: found.value}), found
    if progress:
        print(
            f"calibrating arm {arm.name!r}: {arm.match} until "
            f"{getattr(arm.statistic, '__name__', arm.statistic)} = {arm.target:g}",
            file=sys.stderr,
            flush=True,
        )
    found = calibrate(
        _without_post(circuit),
        arm.match,
        arm.target,
        bracket=arm.bracket,
        statistic=arm.statistic,
        odors=odors,
        n_trials=n_trials,
        noise=noise,
        seed=seed,
        tolerance=tolerance,
        progress=progress,
    )
    if store is not None:
        record = {
            "key": key,
            "value": plain_value(arm.match, found.value),
            "unit": found.unit,
            "statistic": found.statistic,
            "evaluations": found.evaluations,
            "checks": {str(k): v for k, v in found.checks.items()},
        }
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(record, indent=1))
    return with_overrides(circuit, {arm.match: found.value}), found


def _slug(name: str) -> str:
    """A store name for an arm: ``LI+SFA 10%`` -> ``LI-plus-SFA-10pc``."""
    text = name.replace("+", "-plus-").replace("%", "pc")
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def _arm_result(arm, circuit, experiment, levels, seeds, store_dir, odor_seeds, run) -> xr.Dataset:
    """One arm's scans (one per odor panel) as ``(noise, fly, pair)``."""
    panels = []
    for odor_seed in odor_seeds:
        panel = copy.copy(experiment)
        panel.odor_seed = int(odor_seed)
        store = None
        if store_dir is not None:
            store = Path(store_dir) / f"{_slug(arm.name)}-odors{odor_seed}.zarr"
        label = f"{arm.name}, odor panel {odor_seed}" if run["progress"] else False
        raw = scan(
            panel,
            circuit,
            noise_grid("input_sigma", levels),
            seeds=seeds,
            store=store,
            **dict(run, progress=label),
        )
        panels.append((int(odor_seed), raw.rename({_SIGMA: "noise"})))
    return _pairs_of_panels(panels)


def _calibration_coords(arms, circuits, found) -> dict:
    """Per-arm coordinates: what was matched, to what, the value found, and the checks."""

    def plain(arm, circuit):
        return np.nan if arm.match is None else plain_value(arm.match, get_path(circuit, arm.match))

    return {
        "matched_path": ("arm", [a.match or "" for a in arms]),
        "matched_from": ("arm", [a.base or "" for a in arms]),
        "matched_value": ("arm", [plain(a, c) for a, c in zip(arms, circuits, strict=True)]),
        "matched_unit": (
            "arm",
            [declaration(a.match).get("unit", "") if a.match else "" for a in arms],
        ),
        "matched_target": ("arm", [np.nan if a.target is None else a.target for a in arms]),
        "calibrated_statistic": ("arm", [np.nan if f is None else f.statistic for f in found]),
        "held_out_statistic": (
            "arm",
            [
                json.dumps({} if f is None else {str(k): v for k, v in f.checks.items()})
                for f in found
            ],
        ),
    }


def matched_arms(
    params: CircuitParams,
    arms,
    noise_levels,
    *,
    experiment: PairDiscrimination,
    reference_noise: float = 10.0,
    seeds=(0, 1, 2, 3, 4),
    odor_seeds=(0, 1),
    store_dir=None,
    calibration_seed: int = 0,
    calibration_trials: int = 4,
    tolerance: float = 0.005,
    workers=None,
    progress: bool = True,
) -> xr.Dataset:
    """Calibrate every arm at ``reference_noise`` (input noise SD in Hz) on the pairs of odor
    panel ``odor_seeds[0]`` and fly ``calibration_seed`` (checked on two other flies), then run
    ``experiment`` per arm at ``noise_levels`` (Hz) for every fly of ``seeds`` and every odor
    panel of ``odor_seeds``. Returns ``(arm, noise, fly, pair)`` with ``accuracy`` (the MBON
    choice if measured, else the KC decoder) and the calibration as coordinates of ``arm``;
    ``store_dir`` holds one resumable store per arm and panel and each arm's calibration
    (reused while nothing it depends on changed)."""
    arms = list(arms)
    names = [a.name for a in arms]
    if not arms or len(set(names)) != len(names):
        raise ValueError(f"matched_arms: arms need distinct names, got {names}")
    odor_seeds = [int(s) for s in odor_seeds]
    _check_bases(arms)
    odors = calibration_odors(experiment, params, odor_seeds[0])
    noise = Noise(input_sigma=float(reference_noise) * Hz)
    calibrated = {}
    for arm in arms:
        start = params if arm.base is None else calibrated[arm.base][0]
        store = (
            None if store_dir is None else Path(store_dir) / f"{_slug(arm.name)}-calibration.json"
        )
        calibrated[arm.name] = calibrate_arm(
            start,
            arm,
            odors=odors,
            noise=noise,
            n_trials=calibration_trials,
            seed=calibration_seed,
            tolerance=tolerance,
            store=store,
            progress=progress,
        )
    calibrated = [calibrated[name] for name in names]
    run = dict(workers=workers, progress=progress)
    parts = [
        _arm_result(arm, circuit, experiment, noise_levels, list(seeds), store_dir, odor_seeds, run)
        for arm, (circuit, _) in zip(arms, calibrated, strict=True)
    ]
    out = xr.concat(
        parts, dim=pd.Index(names, name="arm"), join="exact", combine_attrs="drop_conflicts"
    )
    out = out.assign_coords(
        _calibration_coords(arms, [c for c, _ in calibrated], [f for _, f in calibrated])
    )
    measure = "mbon_accuracy" if "mbon_accuracy" in out else "decoder_accuracy"
    out["accuracy"] = out[measure].copy()
    out["accuracy"].attrs.update(measure=measure)
    out["noise"].attrs.update(
        units=declaration(_SIGMA)["unit"], long_name=NOISE_NAMES["input_sigma"]
    )
    out.attrs.update(
        reference_noise_hz=float(reference_noise),
        calibration=(
            f"each arm's matched_path set so that its statistic reaches matched_target at "
            f"{reference_noise:g} Hz on odor panel {odor_seeds[0]}'s pairs, fly "
            f"{calibration_seed}, {calibration_trials} trials; held_out_statistic: the same on "
            "flies 1 and 2; the value is then fixed across noise"
        ),
        odor_seeds=json.dumps(odor_seeds),
        experiment=repr(experiment),
    )
    return out


def _check_bases(arms) -> None:
    seen = set()
    for arm in arms:
        if arm.base is not None and arm.base not in seen:
            raise ValueError(
                f"matched_arms: arm {arm.name!r} starts from {arm.base!r}, which must come "
                "before it"
            )
        seen.add(arm.name)


def as_conditions(ds: xr.Dataset, mapping: dict) -> xr.Dataset:
    """Four arms as the conditions ``none``, ``LI``, ``SFA``, ``LI+SFA`` (``mapping``: condition
    -> arm name), with ``redundancy``'s benefits, so that ``claims`` can judge them."""
    if set(mapping) != set(CONDITIONS):
        raise ValueError(
            f"as_conditions: map exactly {list(CONDITIONS)} to arms, got {list(mapping)}"
        )
    missing = [a for a in mapping.values() if a not in ds["arm"].values]
    if missing:
        raise ValueError(f"as_conditions: no arm named {missing[0]!r}")
    per_arm = [n for n in ds.coords if ds[n].dims == ("arm",) and n != "arm"]
    plain = ds.drop_vars([*per_arm, "accuracy"])
    parts = [plain.sel(arm=mapping[c], drop=True) for c in CONDITIONS]
    out = xr.concat(parts, dim=pd.Index(list(CONDITIONS), name="condition"))
    out.attrs["arms"] = json.dumps(mapping)
    _add_differences(out)
    return out


#: Brackets of the matched parameters (plain values in their TOML units): wide enough for
#: coding levels 0.05-0.35 on the adult preset's similar pairs at 10 Hz.
PN_KC_BRACKET = ({"value": 1.0, "unit": "nS"}, {"value": 20.0, "unit": "nS"})
LI_STRENGTH_BRACKET = (0.0, 40.0)


def sparsity_arms(levels=(0.05, 0.10, 0.20)) -> list[Arm]:
    """Per coding level: LI and LI+SFA matched by ``li.strength``, and the "sparse without
    inhibition" controls (no LI, with and without SFA) matched by ``weights.pn_kc``."""
    arms = []
    for level in levels:
        tag = f"{100 * level:g}%"
        for li, sfa in CONDITIONS.values():
            name = {(0, 0): "sparse", (0, 1): "sparse+SFA", (1, 0): "LI", (1, 1): "LI+SFA"}[
                (int(li), int(sfa))
            ]
            match, bracket = (
                ("li.strength", LI_STRENGTH_BRACKET) if li else ("weights.pn_kc", PN_KC_BRACKET)
            )
            overrides = {"li.enabled": li, "sfa.enabled": sfa}
            arms.append(Arm(f"{name} {tag}", overrides, match, bracket, float(level)))
    return arms


def sparsity_conditions(level: float) -> dict:
    """``as_conditions``' mapping for the arms of one coding level of :func:`sparsity_arms`."""
    tag = f"{100 * level:g}%"
    names = {"none": "sparse", "LI": "LI", "SFA": "sparse+SFA", "LI+SFA": "LI+SFA"}
    return {condition: f"{name} {tag}" for condition, name in names.items()}


#: KC models of item 5: LIF is sfa_lif with its adaptation off (the "none" KC of the
#: experiment); KvLIF has its spike-triggered part on (flysim's reading, models/neurons).
KC_MODELS = {
    "LIF": {"kc.neuron": "sfa_lif", "sfa.enabled": False},
    "SFA-LIF": {"kc.neuron": "sfa_lif", "sfa.enabled": True},
    "KvLIF": {"kc.neuron": "kvlif", "sfa.enabled": True},
}


def kc_model_arms(coding_without_li=0.25, coding_with_li=0.10) -> list[Arm]:
    """Each KC model without LI (matched by ``weights.pn_kc``) and with LI (matched by
    ``li.strength`` on top of that weight) at the preset's calibration targets: coding 0.25
    with the APL off and 0.10 with it (models/drosophila_adult.toml, ``weights.pn_kc`` and
    ``weights.apl_kc``)."""
    arms = []
    for name, overrides in KC_MODELS.items():
        arms.append(
            Arm(
                name,
                {**overrides, "li.enabled": False},
                "weights.pn_kc",
                PN_KC_BRACKET,
                float(coding_without_li),
            )
        )
        arms.append(
            Arm(
                f"{name}+LI",
                {**overrides, "li.enabled": True},
                "li.strength",
                LI_STRENGTH_BRACKET,
                float(coding_with_li),
                base=name,
            )
        )
    return arms
