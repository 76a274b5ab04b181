"""The LI x SFA x noise protocol on the circuit and on the fly-inspired adapters, side by side.

:func:`link_redundancy` runs Li et al. 2025's question -- does lateral inhibition help at low
and medium noise but less at high noise, does adaptation help at every level, is the pair of
them best? -- on the spiking circuit and on adapters that borrowed its mechanisms
(``link_models.MODELS``), with one protocol:

1. **Circuit.** ``flysim.redundancy.redundancy`` with ``PairDiscrimination``: pairs of similar
   odors (input correlation 0.8), the four conditions, the noise levels, several flies; the
   MBON choice after conditioning and the KC decoder per fly and pair.
2. **Matched noise.** At each level, the circuit's PN trial-to-trial correlation is measured
   (``link_noise.circuit_input_measures``) and every adapter's Gaussian input noise is set to
   give its inputs the same correlation (``link_noise.matched_noise_sd``): the levels are the
   circuit's (Hz), the adapters' SDs are in ``input_noise_sd``.
3. **Adapters.** Each is calibrated on noise-free inputs (``link_calibration``): the circuit's
   measured coding level per condition (circuit adapter) or the model's own (image models),
   adaptation as strong as the circuit's SFA by its late / early ratio. Then the same pairs
   (circuit adapter: the circuit's odors; image models: pairs of digits of correlation 0.8),
   the same trials, the same readouts: the MBON choice (codes turned into spikes,
   ``link_readout``), the decoder, and each model's own readout.
4. **Statistics.** ``accuracy(model, condition, noise, seed, pair)`` (seed = the circuit's fly
   or the adapter's projection and noise seed) and ``claims()`` per model: the same two-way
   bootstrap over seeds and pairs and the same fixed rules.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import xarray as xr

from ..inputs.odors import similar_pairs, with_reference_odors
from .circuit_vs_adapter import CONDITIONS
from .claims import claims
from .link_calibration import calibrate_conditions
from .link_models import MODELS, LinkModel, build_adapter, native_pair_accuracy, preprocess
from .link_noise import add_input_noise, circuit_input_measures, matched_noise_sd
from .link_readout import (
    GLIMPSE,
    codes_to_counts,
    counts_to_spikes,
    decoder_pair_accuracy,
    mbon_pair_measures,
)
from .redundancy import READOUT_MEASURES

__all__ = [
    "CLAIM_NAMES",
    "Protocol",
    "adapter_rows",
    "circuit_rows",
    "link_claims",
    "link_redundancy",
    "verdicts_table",
]

#: Keys the adapters' input-noise draws apart from their projection's seed.
NOISE_STREAM = 0x11CE
#: Accuracy variables of the result and their long names.
READOUTS = {
    "mbon_accuracy": "MBON choice accuracy after conditioning (the circuit's readout)",
    "decoder_accuracy": "cross-validated linear decoder of the pair's odor (chance 0.5)",
    "native_accuracy": "the model's own readout (retrieval, Hebbian, ridge), chance 0.5",
}


class Protocol:
    """What every model runs: pairs, trials, glimpses, seeds, noise levels, readouts.

    Parameters
    ----------
    noise_levels : sequence of float
        The circuit's input-noise SDs (Hz).
    seeds : sequence of int
        Flies of the circuit, projection and noise seeds of the adapters.
    n_pairs : int
        Pairs of similar stimuli per odor panel (the circuit runs ``len(odor_seeds)`` panels);
        the image models get as many digit pairs in all.
    n_tests : int
        Conditioning repetitions per pair (trials: ``2 * n_tests``).
    odor_seeds : sequence of int
        The circuit's odor panels.
    mbon : bool
        Run the MBON readout (else the decoder is the headline, as in a quick run).
    n_glimpses : int
        Glimpses per adapter presentation (the odor window in bins).
    n_reference : int
        Reference stimuli per panel (the MBON readout's homeostatic scale).
    unit_scale : float
        Factor on the expansion of the image models (FlyHash, Fly model, Fly-CL), e.g. 0.2 in
        a quick run on the ``tiny`` circuit (400 KCs for the adult's 2000).
    """

    def __init__(
        self,
        noise_levels,
        seeds=(0, 1, 2),
        *,
        n_pairs=2,
        n_tests=4,
        odor_seeds=(0, 1),
        mbon=True,
        n_glimpses=10,
        n_reference=2,
        unit_scale=1.0,
    ):
        self.noise_levels = [float(level) for level in noise_levels]
        self.seeds = [int(seed) for seed in seeds]
        self.n_pairs, self.n_tests = int(n_pairs), int(n_tests)
        self.odor_seeds = [int(seed) for seed in odor_seeds]
        self.mbon, self.n_glimpses, self.n_reference = bool(mbon), int(n_glimpses), n_reference
        self.unit_scale = float(unit_scale)

    def sized(self, model: LinkModel) -> LinkModel:
        """``model`` with its expansion scaled by ``unit_scale`` (image models but the router,
        whose size is its rank)."""
        if model.data != "digits" or model.kind == "flylora" or self.unit_scale == 1:
            return model
        return dataclasses.replace(model, n_units=max(1, round(model.n_units * self.unit_scale)))

    @property
    def n_trials(self) -> int:
        return 2 * self.n_tests

    def describe(self) -> dict:
        return dict(vars(self))


# -- the circuit -----------------------------------------------------------------------------


def circuit_rows(params, protocol: Protocol, *, workers=None, store=None, progress=True):
    """The circuit's accuracies ``(condition, noise, fly, pair)`` (``redundancy``)."""
    from .redundancy import PairDiscrimination, redundancy

    experiment = PairDiscrimination(
        n_pairs=protocol.n_pairs,
        n_trials=protocol.n_trials,
        similarity=0.8,
        mbon_trials=protocol.n_tests if protocol.mbon else 0,
        n_reference=protocol.n_reference,
    )
    return redundancy(
        params,
        protocol.noise_levels,
        experiment=experiment,
        seeds=protocol.seeds,
        odor_seeds=protocol.odor_seeds,
        store=store,
        workers=workers,
        progress=progress,
    ).load()


def odor_panels(params, protocol: Protocol) -> list:
    """The circuit's odor panels (one per odor seed): the pairs, then the references."""
    return [
        with_reference_odors(
            similar_pairs(
                protocol.n_pairs, 0.8, n_glomeruli=params.network.n_glomeruli, seed=odor_seed
            ),
            protocol.n_reference,
            0.8,
        )
        for odor_seed in protocol.odor_seeds
    ]


def odor_stimuli(params, protocol: Protocol):
    """The circuit's odor pairs and references (every panel) as adapter stimuli: ``(odor,
    glomerulus)`` evoked ORN Δrates, the pairs and the references (names)."""
    panels = odor_panels(params, protocol)
    n_test = 2 * protocol.n_pairs  # each panel: its pairs' odors, then its references
    names, rows, pairs, reference = [], [], [], []
    for k, panel in enumerate(panels):
        spontaneous = float(params.orn.spontaneous_rate)
        # what the ORNs can do: a rate is never below 0 (a Δrate never below -spontaneous)
        rows.append(np.maximum(panel.responses, -spontaneous))
        mine = [f"panel{k}_{name}" for name in panel.names]
        pairs += list(zip(mine[0:n_test:2], mine[1:n_test:2], strict=True))
        reference += mine[n_test:]
        names += mine
    stimuli = xr.DataArray(
        np.vstack(rows),
        dims=("odor", "glomerulus"),
        coords={"odor": names, "glomerulus": list(panels[0].glomeruli)},
    )
    return stimuli, pairs, reference


# -- the adapters ----------------------------------------------------------------------------


def _glimpses(presentations: xr.DataArray, n_glimpses: int) -> xr.DataArray:
    """Each presentation repeated over ``n_glimpses`` glimpses (the same input)."""
    return presentations.expand_dims({GLIMPSE: n_glimpses}, axis=2)


def _calibrated(model, stimuli, protocol, seed, targets, params):
    """One seed's calibrated adapters per condition, and what was calibrated."""
    input_dim = stimuli.dims[1]
    clean = preprocess(model, stimuli.expand_dims(trial=[0], axis=1), input_dim)
    adapter = build_adapter(model, stimuli.sizes[input_dim], seed, params=params)
    adapter.input_dim = input_dim
    levels = targets["coding_level"]  # the circuit's, or the model's own in every condition
    if model.data == "digits":
        levels = {condition: adapter.coding_level for condition in CONDITIONS}
    return calibrate_conditions(
        adapter,
        _glimpses(clean, protocol.n_glimpses),
        levels,
        analogues={"li": model.li, "sfa": model.sfa},
        late_early_target=targets["late_early"],
        adaptation_tau=targets["adaptation_tau"],
        binary=model.binary,
    )


def _batch_measures(model, counts, pairs, reference, protocol, params) -> dict:
    """The readouts of one (condition, noise) batch: ``{variable: (fly, pair)}``."""
    per_trial = counts.sum(GLIMPSE)
    out = {"decoder_accuracy": decoder_pair_accuracy(per_trial, pairs)}
    if protocol.mbon:
        spikes = counts_to_spikes(counts, params)
        out.update(mbon_pair_measures(spikes, pairs, reference, protocol.n_tests, params))
    if model.native:
        out["native_accuracy"] = native_pair_accuracy(model.native, per_trial, pairs)
    names = [name for pair in pairs for name in pair]
    coding = (counts.sel(odor=names) > 0).any(GLIMPSE).mean(["trial", "kc"])
    out["coding_level"] = xr.DataArray(
        coding.values.reshape(counts.sizes["fly"], len(pairs), 2).mean(-1), dims=("fly", "pair")
    )
    return {
        name: value.reset_coords(drop=True).drop_vars("pair", errors="ignore")
        for name, value in out.items()
    }


def _encode_batch(model, calibrated, stimuli, protocol, condition, sd) -> xr.DataArray:
    """Glimpse counts ``(fly, odor, trial, glimpse, kc)`` of every seed at noise ``sd``."""
    input_dim = stimuli.dims[1]
    per_seed = []
    for seed, conditions in calibrated.items():
        noisy = add_input_noise(stimuli, sd, protocol.n_trials, [seed, NOISE_STREAM])
        inputs = _glimpses(preprocess(model, noisy, input_dim), protocol.n_glimpses)
        chosen = conditions[condition]
        codes = chosen.adapter.encode(inputs, **chosen.arguments)
        per_seed.append(codes_to_counts(codes.transpose("odor", "trial", GLIMPSE, "kc")))
    return xr.concat(per_seed, dim="fly").assign_coords(fly=list(calibrated))


def adapter_rows(
    model: LinkModel, stimuli, pairs, reference, protocol: Protocol, targets, params, progress
) -> tuple[xr.Dataset, dict]:
    """One adapter's measures ``(condition, noise, fly, pair)`` and its calibration.

    ``targets``: ``noise_sd`` (one per noise level), ``coding_level`` (per condition),
    ``late_early`` and ``adaptation_tau`` (:func:`link_redundancy`).
    """
    calibrated, info = {}, {}
    for seed in protocol.seeds:
        calibrated[seed], info[seed] = _calibrated(model, stimuli, protocol, seed, targets, params)
    rows = []
    for level, sd in zip(protocol.noise_levels, targets["noise_sd"], strict=True):
        per_condition = []
        for condition in CONDITIONS:
            counts = _encode_batch(model, calibrated, stimuli, protocol, condition, sd)
            measures = _batch_measures(model, counts, pairs, reference, protocol, params)
            per_condition.append(xr.Dataset(measures))
        rows.append(xr.concat(per_condition, dim="condition"))
        if progress:
            print(f"  {model.name}: noise {level:g} done", flush=True)
    out = xr.concat(rows, dim="noise").assign_coords(
        condition=list(CONDITIONS), noise=protocol.noise_levels, pair=np.arange(len(pairs))
    )
    return out, info


# -- together ----------------------------------------------------------------------------------


def _targets(params, protocol: Protocol, circuit: xr.Dataset, progress: bool) -> dict:
    """What the adapters are matched to: the circuit's input reliability per level, coding
    level per condition (lowest level) and SFA late / early ratio, and ``sfa.tau`` in glimpses."""
    measured = circuit_input_measures(
        params,
        odor_panels(params, protocol)[0],
        protocol.noise_levels,
        seed=protocol.seeds[0],
        n_trials=protocol.n_trials,
    )
    lowest = circuit.kc_coding_level.sel(noise=min(protocol.noise_levels))
    glimpse = float(params.protocol.odor_duration) / protocol.n_glimpses
    targets = {
        "coding_level": {c: float(lowest.sel(condition=c).mean()) for c in CONDITIONS},
        "late_early": measured.attrs["late_early_sfa"] / measured.attrs["late_early_none"],
        "adaptation_tau": float(params.sfa.tau) / glimpse,
        "pn_reliability": measured.pn_reliability.values.tolist(),
        "orn_reliability": measured.orn_reliability.values.tolist(),
    }
    if progress:
        print(f"circuit targets: {json.dumps(targets)}", flush=True)
    return targets


def _model_stimuli(model, params, protocol):
    """``(stimuli, pairs, reference)`` a model runs on."""
    if model.data == "orn":
        return odor_stimuli(params, protocol)
    from ..adapters.digits import similar_image_pairs

    n_pairs = protocol.n_pairs * len(protocol.odor_seeds)
    return similar_image_pairs(n_pairs, 0.8, n_reference=protocol.n_reference, seed=0)


def link_redundancy(
    params,
    protocol: Protocol,
    *,
    models=None,
    workers=None,
    store=None,
    progress: bool = True,
) -> xr.Dataset:
    """The circuit and the adapters through one protocol: ``accuracy(model, condition, noise,
    seed, pair)`` and the readouts behind it.

    Parameters
    ----------
    params : CircuitParams
        The circuit (its MBON readout's parameters read the adapters' spikes too).
    protocol : Protocol
    models : sequence of str, optional
        Names in :data:`~flysim.experiments.link_models.MODELS` (default all; the image models
        are skipped, with a message, when scikit-learn is missing).
    workers, store :
        The circuit scan's local workers and zarr store (``redundancy``).

    Returns
    -------
    xarray.Dataset
        ``accuracy`` (the MBON choice, or the decoder without ``protocol.mbon``; attrs
        ``measure``), ``mbon_accuracy``, ``decoder_accuracy``, ``native_accuracy``,
        ``coding_level`` with dims ``(model, condition, noise, seed, pair)``;
        ``input_noise_sd(model, noise)`` and ``input_reliability(model, noise)``; attrs with the
        protocol, the targets and each adapter's calibration (JSON).
    """
    circuit = circuit_rows(params, protocol, workers=workers, store=store, progress=progress)
    targets = _targets(params, protocol, circuit, progress)
    rows = {"circuit": _circuit_as_rows(circuit)}
    noise = {"circuit": (np.full(len(protocol.noise_levels), np.nan), targets["pn_reliability"])}
    calibration = {}
    for name in _runnable(models, progress):
        model = protocol.sized(MODELS[name])
        stimuli, pairs, reference = _model_stimuli(model, params, protocol)
        matched = [
            matched_noise_sd(stimuli, r, n_trials=protocol.n_trials, seed=NOISE_STREAM)
            for r in targets["pn_reliability"]
        ]
        noise[name] = tuple(np.array(v) for v in zip(*matched, strict=True))
        model_targets = {**targets, "noise_sd": noise[name][0]}
        rows[name], calibration[name] = adapter_rows(
            model, stimuli, pairs, reference, protocol, model_targets, params, progress
        )
    return _assemble(rows, noise, calibration, targets, protocol, params)


def _runnable(models, progress) -> list[str]:
    """The requested models, without the image models when scikit-learn is missing."""
    names = list(MODELS) if models is None else list(models)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        digits = [name for name in names if MODELS[name].data == "digits"]
        if digits and progress:
            print(f'scikit-learn missing (pip install "flysim[sklearn]"): skipping {digits}')
        names = [name for name in names if name not in digits]
    return names


def _circuit_as_rows(circuit: xr.Dataset) -> xr.Dataset:
    """The circuit's result with the adapters' variable names and a plain ``pair`` index."""
    out = xr.Dataset(
        {
            "decoder_accuracy": circuit.decoder_accuracy,
            "coding_level": circuit.kc_coding_level,
        }
    )
    for name in READOUT_MEASURES:
        if name in circuit:
            out[name] = circuit[name]
    out = out.drop_vars([c for c in out.coords if c not in out.dims])
    return out.assign_coords(pair=np.arange(out.sizes["pair"]), noise=circuit.noise.values)


def _assemble(rows, noise, calibration, targets, protocol, params) -> xr.Dataset:
    """The models' rows as one Dataset with a ``model`` dim (NaN where a model has no value)."""
    names = list(rows)
    parts = [rows[name].rename(fly="seed") for name in names]
    out = xr.concat(parts, dim="model", join="outer").assign_coords(model=names)
    out = out.transpose("model", "condition", "noise", "seed", "pair")
    measure = "mbon_accuracy" if protocol.mbon else "decoder_accuracy"
    out["accuracy"] = out[measure].copy()
    out["accuracy"].attrs.update(measure=measure, long_name=READOUTS[measure], units="1")
    for name, long_name in READOUTS.items():
        if name in out:
            out[name].attrs.update(long_name=long_name, units="1")
    out["noise"].attrs.update(units="Hz", long_name="circuit input noise SD (matched level)")
    out["input_noise_sd"] = (("model", "noise"), np.array([noise[n][0] for n in names]))
    out["input_reliability"] = (("model", "noise"), np.array([noise[n][1] for n in names]))
    out.attrs.update(
        title="the LI x SFA x noise protocol on the circuit and the adapters",
        protocol=json.dumps(protocol.describe()),
        targets=json.dumps(targets, default=float),
        calibration=json.dumps(calibration, default=_plain),
        preset=params.name,
    )
    return out


def _plain(value):
    """JSON for numpy scalars in the calibration record."""
    return value.item() if hasattr(value, "item") else str(value)


def link_claims(result: xr.Dataset, *, variable: str = "accuracy", n_resamples: int = 2000):
    """``claims()`` of every model: ``{model: DataFrame}`` (its seeds as the flies)."""
    tables = {}
    for model in result.model.values:
        values = result[variable].sel(model=model, drop=True)
        values = values.dropna("seed", how="all").dropna("pair", how="all")
        if values.count() == 0:
            continue
        data = values.rename(seed="fly").to_dataset(name=variable)
        data["noise"].attrs.update(result["noise"].attrs)
        tables[str(model)] = claims(data, variable=variable, n_resamples=n_resamples)
    return tables


#: Short names of the four claims (``claims.STATEMENTS``), for the verdict table's columns.
CLAIM_NAMES = {1: "LI helps (low/med)", 2: "LI benefit shrinks", 3: "SFA helps", 4: "LI+SFA best"}


def verdicts_table(tables: dict) -> str:
    """The claims' verdicts of every model (:func:`link_claims`) as a Markdown table: one row
    per model, one column per claim, ``verdict estimate [95% CI]`` (the deciding level's)."""
    header = "| model | " + " | ".join(f"({c}) {name}" for c, name in CLAIM_NAMES.items()) + " |"
    lines = [header, "|---" * (len(CLAIM_NAMES) + 1) + "|"]
    for model, table in tables.items():
        cells = []
        for claim in CLAIM_NAMES:
            row = table.loc[claim]
            numbers = (
                f" {row.estimate:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}]"
                if np.isfinite(row.estimate)
                else ""
            )
            cells.append(f"**{row.verdict}**{numbers}")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
