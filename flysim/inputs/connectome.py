"""Measured PN -> KC wiring: an edge list (KC, glomerulus, synapse count) as exported from a
connectome (hemibrain through neuPrint, FlyWire through its Codex / CAVE tables).

The file is a CSV with a header and one row per PN -> KC connection:

``kc``
    the KC's id (a body id or any label; KCs are numbered in order of first appearance);
``glomerulus``
    the glomerulus of the presynaptic PN, named as in the odor panel's glomeruli (the
    antennal lobe's names, e.g. ``DA1``, ``VM5d``: ``flysim.inputs.glomeruli.ANTENNAL_LOBE``;
    a synthetic panel's glomerulus *i* stands for ``ANTENNAL_LOBE[i]``) or by its index;
``synapses``
    the connection's synapse count (a positive number);
``pn`` (optional)
    the presynaptic PN's id. The model has ``network.pns_per_glomerulus`` sister PNs per
    glomerulus: a glomerulus's distinct PN ids are numbered in sorted order (numerically for
    body ids) and folded onto its sisters (number modulo the sister count). Without the column, each
    claw's sister is drawn from the fly's wiring seed, as in random wiring.

Each row is one claw. Its weight is its synapse count divided by the mean count over all rows,
so the average claw weighs what a random-wiring claw weighs (``weights.pn_kc``, calibrated per
claw) and a KC's drive grows with its claws and their synapses. Several rows from one PN to
one KC are several claws; in the circuit their weights add up in one synapse.

Export recipe (hemibrain v1.2.1, neuPrint): fetch the connections from uniglomerular PNs
(``type`` ending in ``_adPN``/``_lPN``/``_vPN``...) to KCs (``type`` starting with ``KC``)
with ``neuprint.fetch_adjacencies(NeuronCriteria(type="^.*_(ad|l|v|il)PN$", regex=True),
NeuronCriteria(type="^KC.*", regex=True), min_total_weight=3)``, then write ``bodyId_post``
as ``kc``, the PN type's glomerulus (the text before the first ``_``) as ``glomerulus``,
``bodyId_pre`` as ``pn`` and ``weight`` as ``synapses``. FlyWire: the same columns from its
connections table filtered on ``cell_type`` (PNs by glomerulus) and ``super_class`` KC. The
KC count of the export sets ``network.n_kc``.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..params import RANDOM_WIRING, ParameterError
from .glomeruli import ANTENNAL_LOBE

__all__ = [
    "EdgeList",
    "WiringError",
    "read_edge_list",
    "glomerulus_indices",
    "write_edge_list",
    "MAX_CLAWS",
    "RANDOM",
]

#: The value of ``network.wiring`` that draws each fly's claws at random (Caron et al. 2013).
RANDOM = RANDOM_WIRING

#: The most claws a KC may have: the compiled network holds this many claw slots per KC at
#: most (real KCs have ~7, up to ~15 in the hemibrain).
MAX_CLAWS = 32


class WiringError(ParameterError):
    """An edge list that cannot be read as PN -> KC wiring; the message names file and line."""


@dataclass(frozen=True)
class EdgeList:
    """A read edge list: one entry per row (claw), KCs numbered 0..n_kc-1."""

    path: str
    sha256: str
    kc: np.ndarray  # (n_rows,) KC number
    glomerulus: tuple  # (n_rows,) glomerulus name or index, as written
    pn: np.ndarray | None  # (n_rows,) PN number within its glomerulus (None: drawn per fly)
    synapses: np.ndarray  # (n_rows,) synapse count
    n_kc: int

    @property
    def max_claws(self) -> int:
        return int(np.bincount(self.kc).max())

    @property
    def weights(self) -> np.ndarray:
        """Each claw's weight: its synapse count over the mean count (mean 1)."""
        return self.synapses / self.synapses.mean()


_REQUIRED = ("kc", "glomerulus", "synapses")


def _header(reader, path: str) -> dict:
    header = next(reader, None)
    if header is None:
        raise WiringError(f"edge list {path} is empty: it needs a header {list(_REQUIRED)}")
    columns = {name.strip().lower(): k for k, name in enumerate(header)}
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise WiringError(
            f"edge list {path} has no column {missing} (header: {header}); it needs "
            f"{list(_REQUIRED)} and optionally 'pn'"
        )
    return columns


def _synapse_count(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise WiringError(f"{where}: synapse count {text!r} is not a number") from None
    if not np.isfinite(value) or value <= 0:
        raise WiringError(f"{where}: synapse count must be a positive number, got {text!r}")
    return value


def _rows(path: str, text: str) -> list[tuple]:
    """(kc, glomerulus, pn, synapses) of every row, each checked."""
    reader = csv.reader(text.splitlines())
    columns = _header(reader, path)
    pn_column = columns.get("pn")
    rows = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        where = f"edge list {path}, line {line}"
        if len(row) <= max(columns.values()):
            raise WiringError(f"{where}: {len(row)} cells, the header has {len(columns)}")
        kc, glomerulus = row[columns["kc"]].strip(), row[columns["glomerulus"]].strip()
        pn = row[pn_column].strip() if pn_column is not None else None
        if not kc or not glomerulus or pn == "":
            raise WiringError(f"{where}: empty kc, glomerulus or pn cell")
        rows.append((kc, glomerulus, pn, _synapse_count(row[columns["synapses"]], where)))
    if not rows:
        raise WiringError(f"edge list {path} has a header but no connections")
    return rows


def _first_appearance(labels) -> np.ndarray:
    """Number labels 0, 1, ... in order of first appearance."""
    numbers: dict = {}
    return np.array([numbers.setdefault(x, len(numbers)) for x in labels])


def _pn_numbers(glomeruli, pns) -> np.ndarray:
    """Each row's PN numbered within its glomerulus, in sorted order of the PN ids."""
    ids: dict = {}
    for glomerulus, pn in zip(glomeruli, pns, strict=True):
        ids.setdefault(glomerulus, set()).add(pn)
    rank = {
        g: {pn: k for k, pn in enumerate(sorted(seen, key=_id_order))} for g, seen in ids.items()
    }
    return np.array([rank[g][pn] for g, pn in zip(glomeruli, pns, strict=True)])


def _id_order(pn: str):
    """Numeric ids in numeric order (body ids), others after them in text order."""
    return (0, int(pn), "") if pn.isdigit() else (1, 0, pn)


@lru_cache(maxsize=16)
def _read(path: str, modified_ns: int, size: int) -> EdgeList:
    data = Path(path).read_bytes()
    rows = _rows(path, data.decode("utf-8-sig"))
    kcs, glomeruli, pns, synapses = zip(*rows, strict=True)
    kc = _first_appearance(kcs)
    edges = EdgeList(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        kc=kc,
        glomerulus=tuple(glomeruli),
        pn=None if pns[0] is None else _pn_numbers(glomeruli, pns),
        synapses=np.array(synapses),
        n_kc=int(kc.max()) + 1,
    )
    if edges.max_claws > MAX_CLAWS:
        worst = kcs[list(kc).index(int(np.bincount(kc).argmax()))]
        raise WiringError(
            f"edge list {path}: KC {worst} has {edges.max_claws} connections, more than "
            f"{MAX_CLAWS} (filter weak connections, e.g. fewer than 3 synapses, at export)"
        )
    return edges


def read_edge_list(path) -> EdgeList:
    """Read (and check) the edge list at ``path``; cached while the file is unchanged."""
    path = str(Path(path))
    try:
        stat = Path(path).stat()
    except OSError as error:
        raise WiringError(f"edge list {path} cannot be read: {error.strerror}") from None
    return _read(path, stat.st_mtime_ns, stat.st_size)


def _glomerulus_index(name: str, glomeruli: tuple, synthetic_lobe: bool) -> int | None:
    if name in glomeruli:
        return glomeruli.index(name)
    if synthetic_lobe and name in ANTENNAL_LOBE:
        return ANTENNAL_LOBE.index(name)
    if name.isdigit() and int(name) < len(glomeruli):
        return int(name)
    return None


def glomerulus_indices(edges: EdgeList, glomeruli) -> np.ndarray:
    """Each row's glomerulus as an index into the circuit's ``glomeruli`` (the panel's names)."""
    glomeruli = tuple(glomeruli)
    # a synthetic panel's glomerulus i (g00, g01...) stands for ANTENNAL_LOBE[i]
    synthetic_lobe = glomeruli == tuple(f"g{k:02d}" for k in range(len(ANTENNAL_LOBE)))
    index = {g: _glomerulus_index(g, glomeruli, synthetic_lobe) for g in set(edges.glomerulus)}
    unknown = sorted(g for g, k in index.items() if k is None)
    if unknown:
        shown = ", ".join(glomeruli[:4]) + (", ..." if len(glomeruli) > 4 else "")
        raise WiringError(
            f"edge list {edges.path} names glomeruli the circuit does not have: {unknown[:8]}"
            f"{' ...' if len(unknown) > 8 else ''} (its glomeruli: {shown})"
        )
    return np.array([index[g] for g in edges.glomerulus])


def write_edge_list(path, kc, glomerulus, synapses, pn=None) -> Path:
    """Write an edge list (one row per claw) that :func:`read_edge_list` reads: e.g. a
    structured wiring made in numpy, or a simulated fly's claws (``kc_claw_glomerulus``,
    padding -1 left out by the caller). Returns the path."""
    columns = [np.asarray(kc), np.asarray(glomerulus), np.asarray(synapses)]
    if len({c.shape for c in columns} | ({np.shape(pn)} if pn is not None else set())) != 1:
        raise ValueError("kc, glomerulus, synapses (and pn) must be 1-D arrays of one length")
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["kc", "glomerulus", "synapses"] + (["pn"] if pn is not None else []))
        rows = zip(*columns, *([np.asarray(pn)] if pn is not None else []), strict=True)
        writer.writerows(rows)
    return path
