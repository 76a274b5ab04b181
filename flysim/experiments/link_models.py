"""The models of the link experiment: each adapter as a ``FlyAdapter`` and its own readout.

Every adapter enters as what it computes before its learned part -- a projection, its
preprocessing, ``k`` and its code tag -- so that one implementation of the mechanisms
(``FlyAdapter.encode``) switches LI and SFA in all of them, and each keeps its own readout
("native": what the model is for) next to the circuit's MBON readout and the decoder:

================  ======================================================================
model             what it is here
================  ======================================================================
circuit adapter   ``adapter_from_circuit`` on the circuit's parameters: its glomeruli, KCs
                  and claws per KC (a random wiring of that in-degree per seed), the
                  circuit's coding level per condition; the circuit's own odor pairs.
FlyHash           Dasgupta et al. 2017: centring, binary sparse projection (6 inputs per
                  unit, 40 x expansion as 50 PNs -> 2000 KCs), top 5 %, binary tag; native:
                  nearest-neighbour retrieval (similarity search).
Fly model         Zou, Zang & Ji 2025: centring, binary sparse projection, top 10 %, binary;
                  native: its class-local Hebbian readout (``FlyModel.learn_codes``), trained
                  pair after pair (class-incremental).
Fly-CL            Zou et al. 2026: binary sparse projection (13 x expansion, as 10,000 units
                  on 768 backbone features), top 10 %, binary; native: streaming ridge with
                  GCV, trained pair after pair (``StreamingRidge``).
FlyLoRA router    Zou et al. 2025: the frozen sparse Gaussian ``A`` (rank 32, 8 ranks
                  selected by ``|A x|``) as units ``[A; -A]`` (rectified ON / OFF halves: top-k
                  of these is exactly top-k of ``|A x|``), codes ``|A x|`` of the selected
                  ranks; no native readout (the router routes; nothing is learned in it).
================  ======================================================================

The image models run on scikit-learn's digits (``flysim.adapters.digits``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse
import xarray as xr

from ..adapters import (
    FlyAdapter,
    FlyCL,
    FlyHash,
    FlyModel,
    StreamingRidge,
    adapter_from_circuit,
    flylora_projection,
)

__all__ = ["LinkModel", "MODELS", "build_adapter", "native_pair_accuracy", "preprocess"]


@dataclass(frozen=True)
class LinkModel:
    """One model of the link experiment.

    Attributes
    ----------
    name : str
    data : {"orn", "digits"}
        The circuit's odor pairs (ORN input) or pairs of digit images.
    kind : {"circuit", "flyhash", "flymodel", "flycl", "flylora"}
        Whose projection.
    li, sfa : str
        The analogues of LI and SFA (``circuit_vs_adapter.ANALOGUES``).
    n_units, in_degree : int, optional
        Expansion size and inputs per unit (``flylora``: the rank; None for ``circuit``).
    coding_level : float, optional
        Fraction of active units in every condition (image models; FlyLoRA's is ``k`` of its
        ``2 * rank`` ON/OFF units); None for the circuit adapter: the circuit's per condition.
    centre : bool
        Subtract each input vector's mean first (FlyHash, the Fly model).
    binary : bool
        Binary codes (the model's tag) or the winners' drive.
    native : str, optional
        ``"retrieval"``, ``"hebbian"`` or ``"ridge"``: the model's own readout.
    """

    name: str
    data: str
    kind: str
    li: str = "topk"
    sfa: str = "adaptation"
    n_units: int | None = None
    in_degree: int | None = None
    coding_level: float | None = None
    centre: bool = False
    binary: bool = False
    native: str | None = None


_DIGIT_INPUTS = 64

#: The models, by name, in the order of the result's ``model`` dim.
MODELS = {
    model.name: model
    for model in (
        LinkModel("circuit adapter", "orn", "circuit"),
        LinkModel("circuit adapter, graded LI", "orn", "circuit", li="graded"),
        LinkModel("circuit adapter, balancing", "orn", "circuit", sfa="balance"),
        LinkModel(
            "FlyHash", "digits", "flyhash", n_units=40 * _DIGIT_INPUTS, in_degree=6,
            coding_level=0.05, centre=True, binary=True, native="retrieval",
        ),
        LinkModel(
            "Fly model", "digits", "flymodel", n_units=40 * _DIGIT_INPUTS, in_degree=6,
            coding_level=0.10, centre=True, binary=True, native="hebbian",
        ),
        LinkModel(
            "Fly-CL", "digits", "flycl", n_units=1000, in_degree=6, coding_level=0.10,
            binary=True, native="ridge",
        ),
        LinkModel("FlyLoRA router", "digits", "flylora", n_units=32, in_degree=8),
    )
}  # fmt: skip


def _projection(model: LinkModel, n_inputs: int, seed) -> tuple[scipy.sparse.spmatrix, int]:
    """The model's own projection (built by its class) and its ``k``."""
    n, degree = model.n_units, model.in_degree
    if model.kind == "flylora":
        a = flylora_projection(n_inputs, rank=n, k=degree, seed=seed)
        return scipy.sparse.csr_matrix(np.vstack([a, -a])), degree
    k = max(1, round(model.coding_level * n))
    if model.kind == "flyhash":
        return FlyHash(n_inputs, n, degree, k, seed).projection, k
    if model.kind == "flymodel":
        return FlyModel(n_inputs, n, degree, model.coding_level, 2, seed).projection, k
    if model.kind == "flycl":
        built = FlyCL(n_inputs, n, in_degree=degree, coding_level=model.coding_level,
                      n_classes=2, seed=seed)  # fmt: skip
        return built.projection, k
    raise ValueError(f"unknown model kind {model.kind!r}")


def build_adapter(model: LinkModel, n_inputs: int, seed, *, params=None) -> FlyAdapter:
    """The model as a :class:`~flysim.adapters.FlyAdapter` (``k`` is set per condition later).

    ``params`` (a ``CircuitParams``) is the circuit of a ``"circuit"`` model.
    """
    if model.kind == "circuit":
        from ..params import params_to_dict

        return adapter_from_circuit(params_to_dict(params), seed=seed)
    projection, k = _projection(model, n_inputs, seed)
    return FlyAdapter(
        projection=projection,
        k=k,
        coding_level=k / projection.shape[0],
        input_dim="pixel",
        source={"model": model.name, "seed": int(seed)},
    )


def preprocess(model: LinkModel, presentations: xr.DataArray, input_dim: str) -> xr.DataArray:
    """The model's own preprocessing: centring each input vector (FlyHash, the Fly model)."""
    if model.centre:
        return presentations - presentations.mean(input_dim)
    return presentations


def _split(codes: xr.DataArray, pairs):
    """Training (even) and test (odd) trials of the pairs' stimuli, as (fly, stimulus, trial,
    kc) arrays, in the order of the pairs: stimulus ``2p`` and ``2p + 1`` are pair ``p``."""
    names = [name for pair in pairs for name in pair]
    values = codes.sel(odor=names).transpose("fly", "odor", "trial", "kc").values
    return values[:, :, 0::2], values[:, :, 1::2]


def _nearest_neighbour_scores(train, test):
    """Per test sample, minus the distance to the nearest training sample of each class."""
    distances = ((test[:, None, None, :] - train[None]) ** 2).sum(-1)  # (test, class, trial)
    return -distances.min(axis=-1)


def _fly_scores(native: str, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Scores ``(stimulus, test trial, class)`` of one fly's test codes by the native readout
    trained on ``train`` ``(stimulus, trial, kc)``, the classes arriving pair after pair."""
    n_classes, n_train, n_units = train.shape
    queries = test.reshape(-1, n_units)
    if native == "retrieval":
        scores = _nearest_neighbour_scores(train, queries)
    elif native == "hebbian":
        readout = FlyModel(1, n_units, 1, 1.0, n_classes, seed=0)  # only its readout is used
        for c in range(0, n_classes, 2):  # task by task: one pair per task
            readout.learn_codes(
                train[c : c + 2].reshape(-1, n_units), np.repeat([c, c + 1], n_train)
            )
        scores = readout.code_scores(queries)
    elif native == "ridge":
        ridge = StreamingRidge(n_units, n_classes)
        for c in range(0, n_classes, 2):
            ridge.partial_fit(
                train[c : c + 2].reshape(-1, n_units),
                np.repeat(np.eye(n_classes)[c : c + 2], n_train, axis=0),
            )
        scores = queries @ ridge.solve()
    else:
        raise ValueError(f"unknown native readout {native!r}")
    return scores.reshape(test.shape[0], test.shape[1], n_classes)


def native_pair_accuracy(native: str, codes: xr.DataArray, pairs) -> xr.DataArray:
    """The native readout's accuracy ``(fly, pair)``: trained on the even trials of every
    pair's stimuli, tested on the odd ones, each test choosing between its pair's two
    stimuli (the larger score; a tie counts 0.5), like the MBON choice."""
    train, test = _split(codes, pairs)
    n_pairs = len(pairs)
    accuracy = np.empty((codes.sizes["fly"], n_pairs))
    for fly in range(codes.sizes["fly"]):
        scores = _fly_scores(native, train[fly].astype(float), test[fly].astype(float))
        for p in range(n_pairs):
            own = scores[2 * p : 2 * p + 2, :, [2 * p, 2 * p + 1]]  # (stimulus, trial, 2)
            right = np.stack([own[0, :, 0] - own[0, :, 1], own[1, :, 1] - own[1, :, 0]])
            accuracy[fly, p] = float(np.mean(np.where(right == 0, 0.5, right > 0)))
    return xr.DataArray(
        accuracy,
        dims=("fly", "pair"),
        coords={"fly": codes["fly"].values, "pair": np.arange(n_pairs)},
    )
