"""Experiments built from ``simulate``, the MBON readout and the analysis metrics."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from ..analysis import decoding_accuracy, paired_similarity
from ..inputs.odors import similar_pairs, with_reference_odors
from ..params import CircuitParams
from ..params.noise import Noise
from ..params.overrides import declaration, typed_value
from ..readout import conditioned_choice
from ..run.simulate import simulate

__all__ = ["discrimination", "pattern_separation", "input_noise"]


#: The noise field ``input_noise`` sets; its TOML unit (Hz) is the unit of noise levels.
LEVEL_PATH = "noise.input_sigma"


def input_noise(level: float, seed: int) -> Noise:
    """The default noise of a given level: input-pattern noise of SD ``level`` Hz per glomerulus
    on top of Poisson input spikes."""
    return Noise(input_sigma=typed_value(LEVEL_PATH, float(level)), seed=seed)


def _level_attrs() -> dict:
    """Attrs of a ``noise`` coordinate of ``input_noise`` levels, in its field's TOML unit."""
    unit = declaration(LEVEL_PATH)["unit"]
    return {"long_name": f"noise level (input_sigma, {unit})", "units": unit}


def _pair_responses(ds: xr.Dataset, variable: str, n_pairs: int):
    """Split odors ``pair{i}_a``/``pair{i}_b`` into (pair, side) for a variable."""
    data = ds[variable]
    a = data.isel(odor=slice(0, 2 * n_pairs, 2)).rename(odor="pair")
    b = data.isel(odor=slice(1, 2 * n_pairs, 2)).rename(odor="pair")
    index = np.arange(n_pairs)
    return a.assign_coords(pair=index), b.assign_coords(pair=index)


def pattern_separation(
    params: CircuitParams,
    *,
    similarity=0.8,
    n_pairs: int = 8,
    n_trials: int = 1,
    noise: Noise | None = None,
    seed=0,
    odor_seed: int = 0,
) -> xr.Dataset:
    """Similarity (Pearson over units) of ORN input, PN and KC responses for odor pairs of
    controlled input similarity; responses are trial-averaged spike counts."""
    panel = similar_pairs(
        n_pairs, similarity, n_glomeruli=params.network.n_glomeruli, seed=odor_seed
    )
    ds = simulate(params, panel, n_trials=n_trials, noise=noise, seed=seed)
    out = xr.Dataset(coords={"pair": np.arange(n_pairs)})
    out["input_similarity"] = (
        "pair",
        np.asarray(panel.info["input_similarity"]),
        {"units": "1", "long_name": "ORN input correlation"},
    )
    for layer, dim in (("pn", "pn"), ("kc", "kc")):
        a, b = _pair_responses(ds, f"{layer}_spike_count", n_pairs)
        out[f"{layer}_similarity"] = paired_similarity(
            a.mean("trial"), b.mean("trial"), dim=dim, metric="pearson"
        )
        out[f"{layer}_similarity"].attrs["long_name"] = f"{layer.upper()} response correlation"
    out["kc_coding_level"] = (ds.kc_spike_count > 0).mean(["odor", "trial", "kc"])
    out.attrs.update(
        {
            "params": ds.attrs["params"],
            "noise": ds.attrs["noise"],
            "wiring_seeds": ds.attrs["wiring_seeds"],
            "structure_key": ds.attrs["structure_key"],
            "versions": ds.attrs["versions"],
            "target_similarity": float(np.mean(similarity)),
        }
    )
    return out


def _pair_decoding(ds: xr.Dataset, n_pairs: int, n_folds: int) -> np.ndarray:
    """Per fly, the mean over pairs of a cross-validated decoder's accuracy at telling the two
    odors of a pair apart from single-trial KC counts."""
    per_pair = []
    for p in range(n_pairs):
        pair = ds.kc_spike_count.isel(odor=[2 * p, 2 * p + 1]).astype(float)
        per_pair.append(
            decoding_accuracy(
                pair, label_dim="odor", trial_dim="trial", feature_dim="kc", n_folds=n_folds, seed=p
            )
        )
    return xr.concat(per_pair, "pair").mean("pair").values


def discrimination(
    params: CircuitParams,
    noise_levels,
    *,
    similarity=0.8,
    n_pairs: int = 4,
    n_trials: int = 10,
    n_mbon_trials: int = 4,
    n_reference: int = 2,
    seeds=(0, 1, 2),
    noise_of=input_noise,
    noise_seed: int = 0,
    odor_seed: int = 0,
    mbon: bool = True,
    progress: bool = False,
) -> xr.Dataset:
    """Accuracy of telling apart odor pairs of a given similarity, per noise level and fly.

    - ``decoder_accuracy(noise, fly)``: cross-validated linear readout of which odor of a pair
      was presented, from single-trial KC spike counts (mean over pairs);
    - ``mbon_accuracy(noise, fly)``: the MBON readout's choice accuracy after conditioning
      (``flysim.readout.conditioned_choice``, ``n_mbon_trials`` counterbalanced repetitions per
      pair on the same trials, weights scaled on ``n_reference`` reference odors; mean over
      pairs). Needs ``n_trials >= 2 * n_mbon_trials``.

    ``noise_of(level, seed)`` turns a noise level into a ``Noise`` (default: ``input_noise``).
    Spread: over flies (wiring seeds) and, within a fly, trials and pairs.
    """
    levels = [float(v) for v in noise_levels]
    seeds = [int(s) for s in seeds]
    if mbon and n_trials < 2 * n_mbon_trials:
        raise ValueError(
            f"discrimination: {n_mbon_trials} conditioning repetitions train and test on "
            f"{2 * n_mbon_trials} trials per odor; n_trials is {n_trials}"
        )
    panel = similar_pairs(
        n_pairs, similarity, n_glomeruli=params.network.n_glomeruli, seed=odor_seed
    )
    if mbon:
        panel = with_reference_odors(panel, n_reference, similarity)
    names = list(panel.names)
    test_pairs = [(names[2 * p], names[2 * p + 1]) for p in range(n_pairs)]
    n_folds = min(5, n_trials)
    decoder = np.zeros((len(levels), len(seeds)))
    mbon_acc = np.full((len(levels), len(seeds)), np.nan)
    iterator = enumerate(levels)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(list(iterator), desc="noise levels")
    for k, level in iterator:
        noise = noise_of(level, noise_seed + k)
        ds = simulate(
            params, panel, n_trials=n_trials, noise=noise, seed=list(seeds), record_spikes=mbon
        )
        decoder[k] = _pair_decoding(ds, n_pairs, n_folds)
        if mbon:
            reference = names[2 * n_pairs :]
            learned = conditioned_choice(ds, test_pairs, reference, n_mbon_trials, params)
            mbon_acc[k] = learned.accuracy.mean("pair").values
    return _result(
        levels, seeds, decoder, mbon_acc, panel, ds, n_trials, n_mbon_trials, n_reference
    )


def _result(levels, seeds, decoder, mbon_acc, panel, ds, n_trials, n_mbon_trials, n_reference):
    """The Dataset of :func:`discrimination`, with its provenance."""
    out = xr.Dataset(coords={"noise": levels, "fly": seeds})
    out["noise"].attrs.update(_level_attrs())
    out["decoder_accuracy"] = (
        ("noise", "fly"),
        decoder,
        {"units": "1", "long_name": "KC decoder accuracy (2 odors, chance 0.5)"},
    )
    out["mbon_accuracy"] = (
        ("noise", "fly"),
        mbon_acc,
        {"units": "1", "long_name": "MBON choice accuracy after conditioning (chance 0.5)"},
    )
    out.attrs.update(
        {
            "input_similarity": json.dumps(panel.info["input_similarity"]),
            "n_trials": n_trials,
            "n_mbon_trials": n_mbon_trials,
            "n_reference": n_reference,
            "params": ds.attrs["params"],
            "wiring_seeds": json.dumps(seeds),
            "structure_key": ds.attrs["structure_key"],
            "versions": ds.attrs["versions"],
        }
    )
    return out
