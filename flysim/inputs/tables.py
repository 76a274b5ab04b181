"""Receptor-response tables as published (Hallem & Carlson 2006 and its versions) -> OdorPanel.

Layout read: a header row, optionally a second header row, optionally a row of spontaneous
rates, then one row per odorant (its name, then Δspikes/s per column). Versions of the same
published table differ, and each difference has a rule here:

- **Either header order.** With two header rows, the one whose names look like receptors
  (``Or22a``, ``Gr21a``, ``Ir84a``, or ``22a``) is the receptor row, the other names the
  glomeruli (``DM2``, ``VA1v``); detected by content, not position.
- **Co-expressed receptors** (two columns, one glomerulus; e.g. Or33b and Or85a in DM5):
  ``coexpressed="sum"`` (default): the glomerulus's response is the sum of its receptors'
  Δrates (the receptors share one ORN class, whose firing carries both; Hallem & Carlson
  measured each alone in the "empty neuron") and its spontaneous rate their mean (one
  neuron's baseline, not two); ``"separate"``: each receptor is an input channel of its own,
  named ``"DM5 (Or33b)"``. Without a receptor row a repeated column name is an error.
- **Receptors without a glomerulus** (a blank glomerulus cell): ``unassigned="drop"``
  (default): not simulated; ``"keep"``: an input channel named after the receptor. A trailing
  ``?`` marks an uncertain assignment: used, and listed. Never silent: ``info["receptors"]``
  says where every receptor went.
- **Metadata columns** (CAS numbers, PubChem ids, SMILES: a header named ``cas``,
  ``cas_number``, ``cid``, ``smiles``...) are recognised and left out (listed in ``info``).
- **Malformed rows** - wrong cell count, a missing or non-numeric value (``n/a`` included, in
  any row, the first one too), an implausible rate, a repeated odor - are errors naming the
  line and column.

Placement (``placement``): ``"auto"`` (default) puts a panel whose channels are all glomeruli of
the adult preset (:data:`flysim.inputs.glomeruli.ANTENNAL_LOBE`) on those glomeruli inside the
50-glomerulus antennal lobe (unmeasured glomeruli respond 0 Hz at the spontaneous rate of
:data:`~flysim.inputs.glomeruli.UNMEASURED_SPONTANEOUS_HZ`), and otherwise simulates a circuit
of the panel's own size; ``"antennal_lobe"`` requires the first, ``"panel"`` forces the second.
``info["placement"]`` says which.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import math
import re
from pathlib import Path

import numpy as np

from .glomeruli import (
    ANTENNAL_LOBE,
    UNMEASURED_SPONTANEOUS_HZ,
    looks_like_receptor,
    on_antennal_lobe,
)
from .panel import OdorPanel, OdorTableError

__all__ = ["from_table", "hallem_carlson_2006", "MAX_PLAUSIBLE_RATE"]

#: Largest plausible |Δrate| in a receptor table; larger values are taken as a unit mistake.
MAX_PLAUSIBLE_RATE = 1000.0

_SPONTANEOUS_NAMES = {
    "spontaneous",
    "spontaneous rate",
    "spontaneous firing rate",
    "sfr",
    "baseline",
}
_MISSING = {"n/a", "na", "nan", "-", "--", "?", "none", "null"}
_METADATA = {
    "cas",
    "casnumber",
    "casno",
    "casrn",
    "cid",
    "pubchemcid",
    "pubchem",
    "smiles",
    "inchikey",
}
_CHOICES = {
    "coexpressed": ("sum", "separate"),
    "unassigned": ("drop", "keep"),
    "placement": ("auto", "antennal_lobe", "panel"),
}


def from_table(path, *, coexpressed="sum", unassigned="drop", placement="auto") -> OdorPanel:
    """Load a receptor-response table (CSV or TSV) as an :class:`OdorPanel`; the rules for
    co-expressed and unassigned receptors, header order, metadata columns and placement are
    the module's (:mod:`flysim.inputs.tables`). Every problem is one ``OdorTableError`` naming
    the table, and the line and column where it applies."""
    path = Path(path)
    for name, value in dict(
        coexpressed=coexpressed, unassigned=unassigned, placement=placement
    ).items():
        if value not in _CHOICES[name]:
            raise OdorTableError(f"{name} must be one of {_CHOICES[name]}, got {value!r}")
    rows = _table_rows(path)
    headers, body = _header_rows(rows)
    where = f"odor table '{path}'"
    metadata = _metadata_columns(headers)
    channels = [k for k in range(1, len(headers[0])) if k not in metadata]
    glomeruli, receptors = _channel_names(headers, channels, where)
    names, values, spontaneous = _odor_rows(body, headers[0], channels, len(headers) + 1, where)
    if not names:
        raise OdorTableError(f"{where} has no odor rows")
    values = np.array(values, dtype=float)
    channel_names, values, spontaneous, routes = _route(
        glomeruli, receptors, values, spontaneous, coexpressed, unassigned, where
    )
    info = {
        "source": str(path),
        "receptors": routes,
        "metadata_columns": [
            " ".join(filter(None, (_cell(row, k) for row in headers))) for k in sorted(metadata)
        ],
        "coexpressed": coexpressed,
    }
    return _placed(names, channel_names, values, spontaneous, info, placement, where)


def hallem_carlson_2006(**options) -> OdorPanel:
    """Hallem & Carlson 2006 (Cell 125:143): 110 odorants x 24 receptors, Δspikes/s, with
    spontaneous rates, from the copy the ``drosolf`` package ships (GPL-3; installed by
    ``pip install "flysim[data]"``, read from its files, not copied here). In that version
    Or33b and Or85b carry no glomerulus (dropped by default, listed in ``info["receptors"]``).
    ``options`` are :func:`from_table`'s."""
    spec = importlib.util.find_spec("drosolf")
    if spec is None or not spec.submodule_search_locations:
        raise OdorTableError(
            "hallem_carlson_2006() reads the table the drosolf package ships: install it with "
            'pip install "flysim[data]"'
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "Hallem_Carlson_2006.csv"
    panel = from_table(path, **options)
    panel.info["citation"] = "Hallem EA, Carlson JR (2006) Cell 125:143-160"
    return panel


# -- reading ---------------------------------------------------------------------------------------
def _read_text(path: Path) -> str:
    """The table's text: UTF-16 if it starts with a UTF-16 BOM, else UTF-8 (BOM optional)."""
    raw = path.read_bytes()
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise OdorTableError(
            f"odor table '{path}' is not UTF-8 (or UTF-16 with a BOM) text; re-save it as UTF-8"
        ) from None


def _table_rows(path: Path) -> list[list[str]]:
    """The non-blank rows of the table at ``path`` as lists of cells (at least one row).

    Tab-separated for a ``.tsv``/``.tab`` file or a text with more tabs than commas, else
    comma-separated.
    """
    if not path.is_file():
        raise OdorTableError(f"odor table '{path}' does not exist")
    text = _read_text(path)
    tabbed = path.suffix.lower() in (".tsv", ".tab") or text.count("\t") > text.count(",")
    try:
        rows = [
            r
            for r in csv.reader(io.StringIO(text), delimiter="\t" if tabbed else ",")
            if any(cell.strip() for cell in r)
        ]
    except csv.Error as error:  # e.g. a cell above the csv field size limit
        raise OdorTableError(f"odor table '{path}' cannot be read as CSV/TSV: {error}") from None
    if not rows:
        raise OdorTableError(f"odor table '{path}' is empty")
    return rows


def _number(text: str):
    """``text`` as a float, or None if it is not a number."""
    try:
        return float(text)
    except ValueError:
        return None


def _is_name_row(row: list[str]) -> bool:
    """A second header row: named cells (no number, no missing-value marker such as ``n/a``),
    not a spontaneous-rate row."""
    cells = [c.strip() for c in row[1:] if c.strip()]
    return (
        bool(cells)
        and all(_number(c) is None and c.lower() not in _MISSING for c in cells)
        and row[0].strip().lower() not in _SPONTANEOUS_NAMES
    )


def _header_rows(rows: list[list[str]]) -> tuple[list[list[str]], list[list[str]]]:
    """The header row, a second one if present, and the rows after them."""
    count = 2 if len(rows) > 1 and _is_name_row(rows[1]) else 1
    return rows[:count], rows[count:]


def _normal(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _metadata_columns(headers) -> set[int]:
    """Columns any header row names as metadata (``cas_number``, ``SMILES``...)."""
    return {
        k
        for row in headers
        for k, cell in enumerate(row)
        if k > 0 and cell.strip() and _normal(cell) in _METADATA
    }


def _cell(row: list[str], k: int) -> str:
    return row[k].strip() if k < len(row) else ""


def _channel_names(headers, channels, where) -> tuple[list[str], list[str] | None]:
    """(glomerulus names, receptor names or None) of the channel columns, the two header rows
    told apart by content; a column without any name is an error."""
    first = [_cell(headers[0], k) for k in channels]
    if len(headers) == 1:
        glomeruli, receptors = first, None
    else:
        second = [_cell(headers[1], k) for k in channels]
        score = [sum(map(looks_like_receptor, filter(None, row))) for row in (first, second)]
        glomeruli, receptors = (second, first) if score[0] > score[1] else (first, second)
    for k, (glomerulus, receptor) in enumerate(zip(glomeruli, receptors or glomeruli, strict=True)):
        if not glomerulus and not receptor:
            raise OdorTableError(
                f"{where}: the header needs a name for every column (column {channels[k] + 1})"
            )
    if not channels:
        raise OdorTableError(f"{where}: the header needs a name for every column (none given)")
    return glomeruli, receptors


def _odor_rows(body, header, channels, first_line, where):
    """Odor names, their rows of Δrates (channel columns) and the spontaneous rates (None if
    no such row); ``first_line`` is the line number of ``body[0]`` in error messages."""
    names, values, spontaneous = [], [], None
    columns = [header[k].strip() or f"column {k + 1}" for k in channels]
    for line, row in enumerate(body, start=first_line):
        if len(row) != len(header):
            raise OdorTableError(f"{where} line {line}: {len(row)} cells, header has {len(header)}")
        name = row[0].strip()
        cells = [row[k] for k in channels]
        numbers = _row_rates(cells, columns, f"{where} line {line} ({name!r})")
        if name.lower() in _SPONTANEOUS_NAMES:
            if spontaneous is not None:
                raise OdorTableError(f"{where} line {line}: a second spontaneous row")
            if any(v < 0 for v in numbers):
                raise OdorTableError(f"{where} line {line}: spontaneous rates must be >= 0")
            spontaneous = np.array(numbers)
            continue
        if not name:
            raise OdorTableError(f"{where} line {line}: missing odor name")
        if name in names:
            raise OdorTableError(f"{where} line {line}: duplicated odor names: [{name!r}]")
        names.append(name)
        values.append(numbers)
    return names, values, spontaneous


def _row_rates(cells: list[str], columns: list[str], where: str) -> list[float]:
    """The rates of one row's cells: each a finite number of at most
    :data:`MAX_PLAUSIBLE_RATE` in magnitude; ``where`` starts each error."""
    numbers = []
    for column, cell in zip(columns, cells, strict=True):
        value = _number(cell.strip())
        if value is None or not math.isfinite(value):
            what = "missing" if not cell.strip() else f"non-numeric {cell.strip()!r}"
            raise OdorTableError(f"{where}, column {column!r}: {what} value")
        if abs(value) > MAX_PLAUSIBLE_RATE:
            raise OdorTableError(f"{where}, column {column!r}: {value} spikes/s is implausible")
        numbers.append(value)
    return numbers


# -- receptors -> input channels -------------------------------------------------------------------
def _route(glomeruli, receptors, values, spontaneous, coexpressed, unassigned, where):
    """Channel names, Δrates, spontaneous rates and ``{receptor: where it went}``."""
    if receptors is None:  # one header row: its names are the channels
        duplicates = sorted({g for g in glomeruli if glomeruli.count(g) > 1})
        if duplicates:
            raise OdorTableError(f"{where}: duplicated glomerulus names: {duplicates}")
        return glomeruli, values, spontaneous, {g: g for g in glomeruli}
    channels, routes = {}, {}
    for k, (glomerulus, receptor) in enumerate(zip(glomeruli, receptors, strict=True)):
        receptor = receptor or f"column {k + 2}"
        name = glomerulus.rstrip("?").strip()
        if not name:
            if unassigned == "drop":
                routes[receptor] = "not simulated: no glomerulus in the table"
                continue
            name = receptor
        elif glomerulus.endswith("?"):
            routes[receptor] = f"{name} (uncertain assignment)"
        if coexpressed == "separate" and glomeruli.count(glomerulus) > 1:
            name = f"{name} ({receptor})"
        channels.setdefault(name, []).append(k)
        routes.setdefault(receptor, name)
    names = list(channels)
    summed = np.stack([values[:, channels[n]].sum(axis=1) for n in names], axis=1)
    spont = None
    if spontaneous is not None:
        spont = np.array([spontaneous[channels[n]].mean() for n in names])
    for name, columns in channels.items():
        if len(columns) > 1:
            for k in columns:
                routes[receptors[k]] = f"{name} (co-expressed: responses summed)"
    return names, summed, spont, routes


def _placed(names, channels, values, spontaneous, info, placement, where) -> OdorPanel:
    """The panel on the 50-glomerulus antennal lobe or as a circuit of its own size."""
    unknown = [c for c in channels if c not in ANTENNAL_LOBE]
    if placement == "antennal_lobe" and unknown:
        raise OdorTableError(
            f"{where}: placement 'antennal_lobe' needs glomerulus names of the adult preset; "
            f"not among them: {unknown[:5]}"
        )
    try:
        if placement == "panel" or unknown:
            info["placement"] = (
                f"panel: a circuit of the table's {len(channels)} input channels"
                + (f" (not all glomeruli of the antennal lobe: {unknown[:3]})" if unknown else "")
            )
            return OdorPanel(values, names, channels, spontaneous, info)
        full, rates = on_antennal_lobe(values, channels, spontaneous)
        info["placement"] = (
            f"antennal lobe: {len(channels)} measured of {len(ANTENNAL_LOBE)} glomeruli; the "
            f"others 0 Hz at {UNMEASURED_SPONTANEOUS_HZ:g} Hz spontaneous"
        )
        info["measured_glomeruli"] = list(channels)
        return OdorPanel(full, names, ANTENNAL_LOBE, rates, info)
    except OdorTableError as error:
        raise OdorTableError(f"{where}: {error}") from None
