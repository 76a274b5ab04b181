"""The one run pipeline: a protocol's trial slots, in batches, through the compiled circuit.

A protocol (plain trials: ``simulate``; conditioning: ``flysim.learning.conditioning``) says
what each slot of a batch runs (its fly, its stimulus, the key of its random streams), which
outputs it reads and what it keeps of them. A slot's key depends only on what the slot runs
(its fly, odor, trial), never on the batch it lands in, so the same trial gives the same spikes
in any batch (``flysim.model.streams``). This module does the rest once for every protocol:
the circuit compiled for the request, the wiring of each fly, the run-time values of every
batch, running the binary, the checks that refuse a run that diverged (``flysim.run.guards``),
and the provenance attributes of the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol as _Interface

import numpy as np

from ..engine import CompiledCircuit, compile_structure, parameter_values
from ..inputs.connectome import RANDOM, read_edge_list
from ..inputs.odors import OdorPanel
from ..inputs.wiring import fly_claws
from ..model.circuit import claw_input, claw_weight_input
from ..model.streams import split_key
from ..model.structure import Structure
from ..params import CircuitParams, params_to_dict, with_overrides
from ..params.noise import Noise
from .guards import check_run, guard_outputs
from .interrupt import interruptible
from .provenance import package_versions

__all__ = [
    "Prepared",
    "Protocol",
    "BatchResult",
    "adapt_to_panel",
    "batch_values",
    "check_request",
    "prepare_run",
    "run_slots",
    "provenance_attrs",
]


def adapt_to_panel(params: CircuitParams, odors: OdorPanel) -> tuple[CircuitParams, str]:
    """Adapt ``params`` to the panel's glomeruli (PN count scales, KC in-degree kept); the note
    says what changed ("" if nothing did)."""
    if not isinstance(odors, OdorPanel):
        raise TypeError(
            f"odors must be an OdorPanel (see flysim.odors), got {type(odors).__name__}"
        )
    if odors.n_glomeruli == params.network.n_glomeruli:
        return params, ""
    note = (
        f"panel has {odors.n_glomeruli} glomeruli; circuit adapted from "
        f"{params.network.n_glomeruli} glomeruli ({params.n_pn} PNs) to "
        f"{odors.n_glomeruli} glomeruli "
        f"({odors.n_glomeruli * params.network.pns_per_glomerulus} PNs), "
        f"KC in-degree kept at {params.network.kc_in_degree}"
    )
    return with_overrides(params, {"network.n_glomeruli": odors.n_glomeruli}), note


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_request(noise, seed, **counts) -> tuple[Noise, list[int]]:
    """Check what every protocol takes before any work starts: the noise, the fly seeds and
    the positive integers ``counts`` (``n_trials=``, ``batch_size=``...). Returns the noise
    (default ``Noise()``) and the fly seeds as a list."""
    noise = Noise() if noise is None else noise
    if not isinstance(noise, Noise):
        raise TypeError(f"noise must be a flysim.Noise, got {type(noise).__name__}")
    for name, value in counts.items():
        _positive_int(name, value)
    given = list(seed) if isinstance(seed, (list, tuple, np.ndarray, range)) else [seed]
    valid = all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in given)
    if not given or not valid or any(s < 0 for s in given) or len(set(given)) != len(given):
        raise ValueError(
            f"seed must be a non-negative integer or a list of distinct ones, got {seed!r}"
        )
    return noise, [int(s) for s in given]


@dataclass(frozen=True)
class Prepared:
    """A request's circuit, compiled, and what every one of its batches shares."""

    params: CircuitParams  # adapted to the odor panel
    adapted: str  # what the adaptation changed ("" if nothing)
    noise: Noise
    fly_seeds: list
    structure: Structure
    circuit: CompiledCircuit
    constants: dict  # run-time constants (flysim.model.constants)
    wiring: list  # per fly: its Claws (flysim.inputs.wiring), each (n_kc, claw slots)
    started: float  # time.perf_counter() when the request started
    compile_seconds: float


def prepare_run(
    params: CircuitParams, odors: OdorPanel, noise: Noise, fly_seeds, structure_for
) -> Prepared:
    """Adapt ``params`` to ``odors``, compile ``structure_for(adapted params)`` (or find it in
    the cache), compute the constants and wire every fly (drawn, or read from the edge list
    ``network.wiring``: its errors come before the compile)."""
    started = time.perf_counter()
    params, adapted = adapt_to_panel(params, odors)
    wiring = [fly_claws(params, odors.glomeruli, s) for s in fly_seeds]
    structure = structure_for(params)
    circuit = CompiledCircuit(compile_structure(params, structure))
    return Prepared(
        params=params,
        adapted=adapted,
        noise=noise,
        fly_seeds=list(fly_seeds),
        structure=structure,
        circuit=circuit,
        constants=parameter_values(params, structure, noise),
        wiring=wiring,
        started=started,
        compile_seconds=time.perf_counter() - started,
    )


class Protocol(_Interface):
    """What a protocol tells the pipeline about its slot items (``None`` is an idle slot)."""

    #: Outputs of the compiled circuit the protocol reads from every batch.
    outputs: list

    def fly(self, item) -> int:
        """Index (into the fly seeds) of the fly an item runs."""

    def drive(self, padded: list) -> dict:
        """The stimulus arrays (``orn_rate``, ``orn_mean``, ``dan_drive``) of a batch."""

    def stream_key(self, item) -> int:
        """The 64-bit key of an item's random streams: a function of what it runs only."""

    def inputs(self, padded: list) -> dict:
        """The protocol's own per-run inputs of a batch (e.g. plastic weights), else {}."""

    def describe(self, item) -> str:
        """The item in words, for error messages ("fly 3, odor 'a', trial 2")."""

    def collect(self, result: BatchResult, batch: list) -> None:
        """Keep what the protocol needs of one batch's result."""


class BatchResult:
    """The outputs of one batch run, with per-slot views."""

    def __init__(self, arrays: dict, structure: Structure):
        self.arrays = arrays
        self.n_slots = structure.batch
        self.sizes = {
            "pn": structure.n_pn,
            "kc": structure.n_kc,
            "apl": structure.apl_compartments,
            "mbon": structure.n_mbon,
            "dan": structure.n_mbon,
        }

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def of_slot(self, name: str, slot: int) -> np.ndarray:
        """The values of per-neuron output ``name`` ("kc.count_early") of one slot."""
        n = self.sizes[name.split(".", 1)[0]]
        return self.arrays[name][slot * n : (slot + 1) * n]

    def spikes_of_slot(self, monitor: str, per_slot: int, slot: int):
        """(index within the slot, time) of a spike monitor's spikes in one slot."""
        indices, times = self.arrays[f"{monitor}.i"], self.arrays[f"{monitor}.t"]
        mine = (indices >= slot * per_slot) & (indices < (slot + 1) * per_slot)
        return indices[mine] - slot * per_slot, times[mine]


def _claw_values(prepared: Prepared, padded: list, protocol: Protocol) -> dict:
    """Each slot's KC claws as global PN indices (slot s's PNs are s * n_pn ...; an unused
    claw slot keeps PN -1) and their weights."""
    n_pn = prepared.structure.n_pn
    flies = [protocol.fly(item) if item is not None else 0 for item in padded]
    claws = [prepared.wiring[f] for f in flies]
    pns = np.concatenate([np.where(w.pn >= 0, w.pn + s * n_pn, -1) for s, w in enumerate(claws)])
    weights = np.concatenate([w.weight for w in claws])
    values = {claw_input(c): pns[:, c] for c in range(pns.shape[1])}
    return values | {claw_weight_input(c): weights[:, c] for c in range(pns.shape[1])}


def _batches(items: list, size: int, progress: bool, desc: str):
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    if progress:
        from tqdm.auto import tqdm

        return tqdm(batches, desc=desc, unit="batch")
    return batches


def batch_values(prepared: Prepared, padded: list, protocol: Protocol) -> dict:
    """Every run-time value of one batch (``padded``: its items, ``None`` for idle slots)."""
    values = dict(prepared.constants)
    values.update(_claw_values(prepared, padded, protocol))
    keys = [protocol.stream_key(item) if item is not None else 0 for item in padded]
    values["slots.key_lo"], values["slots.key_hi"] = split_key(keys)
    # brian2's own generator serves only a user's model that calls rand(): seeded per batch
    values["slots.rng_seed"] = int(np.bitwise_xor.reduce(np.asarray(keys, np.uint64)) % (2**31 - 1))
    values.update(protocol.drive(padded))
    values.update(protocol.inputs(padded))
    return values


@interruptible()  # Ctrl-C / SIGTERM unwind through the runner's cleanup (flysim.run.interrupt)
def run_slots(
    prepared: Prepared, items: list, protocol: Protocol, *, progress=False, desc="run"
) -> None:
    """Run every item of ``items`` in a slot of the compiled circuit, batch by batch, check
    each batch's result and hand it to ``protocol.collect``."""
    size = prepared.structure.batch
    for batch in _batches(items, size, progress, desc):
        padded = batch + [None] * (size - len(batch))
        values = batch_values(prepared, padded, protocol)
        outputs = list(protocol.outputs) + guard_outputs(prepared.circuit)
        result = BatchResult(prepared.circuit.run(values, outputs), prepared.structure)
        check_run(result, prepared, padded, protocol.describe)
        protocol.collect(result, batch)


def _wiring_provenance(params: CircuitParams) -> str:
    """ "random", or the edge list's path and the SHA-256 of its content."""
    if params.network.wiring == RANDOM:
        return RANDOM
    edges = read_edge_list(params.network.wiring)
    return f"edge list {edges.path} (sha256 {edges.sha256})"


def provenance_attrs(prepared: Prepared, title: str) -> dict:
    """The attrs that let a result be reproduced from its file alone."""
    import json

    return {
        "title": title,
        "params": json.dumps(params_to_dict(prepared.params)),
        "noise": json.dumps(prepared.noise.to_dict()),
        "wiring_seeds": json.dumps(prepared.fly_seeds),
        "wiring": _wiring_provenance(prepared.params),
        "structure_key": prepared.structure.key,
        "versions": json.dumps(package_versions()),
        "adapted": prepared.adapted,
        "compile_seconds": round(prepared.compile_seconds, 3),
        "wall_seconds": round(time.perf_counter() - prepared.started, 3),
    }
