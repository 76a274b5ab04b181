"""Odor panels: glomerular ORN responses (Δspikes/s from spontaneous), synthetic or from tables.

A panel is a matrix odors x glomeruli of changes in ORN firing rate (negative = inhibition), as
in published receptor tables (e.g. Hallem & Carlson 2006), plus optional spontaneous rates.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..params.units import shown

__all__ = [
    "OdorPanel",
    "OdorTableError",
    "synthetic_panel",
    "similar_pairs",
    "with_reference_odors",
    "from_table",
]

#: Largest plausible |Δrate| in a receptor table; larger values are taken as a unit mistake.
MAX_PLAUSIBLE_RATE = 1000.0


class OdorTableError(ValueError):
    """An odor table or panel argument is invalid; the message names the offending item."""


@dataclass(frozen=True, eq=False)
class OdorPanel:
    """Odor responses over glomeruli, in Δspikes/s relative to spontaneous ORN firing.

    Attributes
    ----------
    responses : (n_odors, n_glomeruli) array of Δrates in Hz
    names : odor names (unique)
    glomeruli : glomerulus or receptor names
    spontaneous : optional (n_glomeruli,) spontaneous ORN rates in Hz (None = preset's value)
    info : free-form provenance (source, seed, target similarities...) kept in result attrs
    """

    responses: np.ndarray
    names: tuple
    glomeruli: tuple
    spontaneous: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        responses = np.asarray(self.responses, dtype=float)
        if responses.ndim != 2 or responses.shape[0] == 0 or responses.shape[1] == 0:
            raise OdorTableError(
                f"odor responses must be a non-empty 2-D array (odors x "
                f"glomeruli), got shape {responses.shape}"
            )
        if not np.all(np.isfinite(responses)):
            row, col = np.argwhere(~np.isfinite(responses))[0]
            raise OdorTableError(
                f"odor responses contain a non-finite value at odor {row}, glomerulus {col}"
            )
        names, glomeruli = tuple(map(str, self.names)), tuple(map(str, self.glomeruli))
        if len(names) != responses.shape[0] or len(glomeruli) != responses.shape[1]:
            raise OdorTableError(
                f"{len(names)} names and {len(glomeruli)} glomeruli do not "
                f"match responses of shape {responses.shape}"
            )
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise OdorTableError(f"duplicated odor names: {duplicates}")
        duplicates = sorted({g for g in glomeruli if glomeruli.count(g) > 1})
        if duplicates:
            raise OdorTableError(f"duplicated glomerulus names: {duplicates}")
        responses.flags.writeable = False
        object.__setattr__(self, "responses", responses)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "glomeruli", glomeruli)
        if self.spontaneous is not None:
            spont = np.asarray(self.spontaneous, dtype=float)
            if (
                spont.shape != (responses.shape[1],)
                or not np.all(np.isfinite(spont))
                or np.any(spont < 0)
            ):
                raise OdorTableError("spontaneous rates must be finite, >= 0, one per glomerulus")
            object.__setattr__(self, "spontaneous", spont)

    @property
    def n_odors(self) -> int:
        return self.responses.shape[0]

    @property
    def n_glomeruli(self) -> int:
        return self.responses.shape[1]

    def __len__(self) -> int:
        return self.n_odors

    def select(self, names) -> OdorPanel:
        """The sub-panel of the given odor names (in that order)."""
        index = [self.names.index(n) for n in names]
        return OdorPanel(
            self.responses[index],
            [self.names[i] for i in index],
            self.glomeruli,
            self.spontaneous,
            dict(self.info),
        )

    def to_dataarray(self):
        import xarray as xr

        return xr.DataArray(
            self.responses,
            dims=("odor", "glomerulus"),
            coords={"odor": list(self.names), "glomerulus": list(self.glomeruli)},
            attrs={"units": "Hz", "long_name": "ORN response (Δrate)"},
        )


def _glomerulus_names(n: int) -> list[str]:
    return [f"g{i:02d}" for i in range(n)]


def _draw_responses(
    rng, n_odors: int, n_glomeruli: int, *, mean_rate: float, fraction_inhibited: float
) -> np.ndarray:
    """Heavy-tailed excitation with some inhibition, like the Hallem & Carlson (2006) table:
    most receptor-odor pairs change little, a few respond strongly (up to ~250 Hz)."""
    shape = 0.5  # Gamma shape < 1: most responses small, a few large
    excitation = rng.gamma(shape, mean_rate / shape, size=(n_odors, n_glomeruli))
    inhibited = rng.random((n_odors, n_glomeruli)) < fraction_inhibited
    inhibition = -rng.uniform(0, 10, size=(n_odors, n_glomeruli))
    return np.minimum(np.where(inhibited, inhibition, excitation), 250.0)


def synthetic_panel(
    n_odors: int,
    *,
    n_glomeruli: int | None = None,
    seed: int,
    mean_rate: float = 30.0,
    fraction_inhibited: float = 0.15,
) -> OdorPanel:
    """A seeded panel of random odors with realistic breadth.

    Each odor-glomerulus Δrate is Gamma(shape 0.5, mean ``mean_rate`` Hz) (heavy-tailed: broad
    but weak activation with a few strong glomeruli) or, with probability
    ``fraction_inhibited``, an inhibition of 0-10 Hz; capped at 250 Hz. Parameters chosen to
    resemble Hallem & Carlson 2006 (mean |Δ| ~ 20-40 Hz, maxima ~ 200-300 Hz).
    """
    n_glomeruli = 50 if n_glomeruli is None else n_glomeruli
    _check_count("n_odors", n_odors)
    _check_count("n_glomeruli", n_glomeruli)
    _check_draw_settings(seed, mean_rate)
    if not _is_real(fraction_inhibited) or not 0 <= fraction_inhibited <= 1:
        raise OdorTableError(
            f"fraction_inhibited must be in [0, 1], got {shown(fraction_inhibited)}"
        )
    rng = np.random.default_rng(seed)
    responses = _draw_responses(
        rng, n_odors, n_glomeruli, mean_rate=mean_rate, fraction_inhibited=fraction_inhibited
    )
    return OdorPanel(
        responses,
        [f"odor{i:03d}" for i in range(n_odors)],
        _glomerulus_names(n_glomeruli),
        info={"source": "synthetic_panel", "seed": seed, "mean_rate": mean_rate},
    )


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OdorTableError(f"{name} must be a positive integer, got {shown(value)}")


def _is_real(value) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and abs(value) <= 1e308  # excludes inf and NaN (NaN compares false)
    )


def _check_draw_settings(seed, mean_rate):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise OdorTableError(f"seed must be an integer >= 0, got {shown(seed)}")
    if not _is_real(mean_rate) or not 0 < mean_rate <= MAX_PLAUSIBLE_RATE:
        raise OdorTableError(
            f"mean_rate must be a number in (0, {MAX_PLAUSIBLE_RATE:g}] Hz, got {shown(mean_rate)}"
        )


def _mixing_weight(target: float) -> float:
    """alpha such that alpha*A + (1-alpha)*C has correlation ``target`` with A (equal variances)."""
    if target >= 1:
        return 1.0
    if target <= 0:
        return 0.0
    # corr = a / sqrt(a^2 + (1-a)^2)  =>  solve the quadratic for a in (0, 1)
    r2 = target * target
    a2, b, c = 2 * r2 - 1, -2 * r2, r2
    if abs(a2) < 1e-12:
        return -c / b
    roots = [(-b + s * math.sqrt(b * b - 4 * a2 * c)) / (2 * a2) for s in (1, -1)]
    return next(r for r in roots if 0 <= r <= 1)


def similar_pairs(
    n_pairs: int,
    similarity=0.8,
    *,
    n_glomeruli: int | None = None,
    seed: int,
    mean_rate: float = 30.0,
) -> OdorPanel:
    """Pairs of odors (``pair{i}_a``, ``pair{i}_b``) whose glomerular patterns correlate at about
    ``similarity`` (Pearson), from identical (1) to unrelated (0).

    ``b = alpha * a + (1 - alpha) * c`` mixes odor ``a`` with an independent odor ``c``, alpha
    chosen for the target correlation. ``similarity`` may be a list: one value per pair. The
    realised correlations are in ``panel.info["input_similarity"]``.
    """
    n_glomeruli = 50 if n_glomeruli is None else n_glomeruli
    _check_count("n_pairs", n_pairs)
    _check_count("n_glomeruli", n_glomeruli)
    _check_draw_settings(seed, mean_rate)
    try:
        targets = np.broadcast_to(np.asarray(similarity, dtype=float), (n_pairs,)).copy()
    except (TypeError, ValueError):
        raise OdorTableError(
            f"similarity must be a number in [0, 1] or a list of {n_pairs} of them, got "
            f"{shown(similarity)}"
        ) from None
    if not np.all(np.isfinite(targets)) or np.any((targets < 0) | (targets > 1)):
        raise OdorTableError(f"similarity must be in [0, 1], got {shown(similarity)}")
    rng = np.random.default_rng(seed)
    base = _draw_responses(rng, n_pairs, n_glomeruli, mean_rate=mean_rate, fraction_inhibited=0.15)
    other = _draw_responses(rng, n_pairs, n_glomeruli, mean_rate=mean_rate, fraction_inhibited=0.15)
    alpha = np.array([_mixing_weight(t) for t in targets])[:, None]
    morphed = alpha * base + (1 - alpha) * other
    responses = np.empty((2 * n_pairs, n_glomeruli))
    responses[0::2], responses[1::2] = base, morphed
    realised = [float(np.corrcoef(a, b)[0, 1]) for a, b in zip(base, morphed, strict=True)]
    names = [f"pair{i:03d}_{side}" for i in range(n_pairs) for side in "ab"]
    return OdorPanel(
        responses,
        names,
        _glomerulus_names(n_glomeruli),
        info={
            "source": "similar_pairs",
            "seed": seed,
            "target_similarity": targets.tolist(),
            "input_similarity": realised,
        },
    )


#: Reference odors (the MBON readout's homeostatic scale) come from this seed + the pairs' seed.
REFERENCE_SEED = 90_000


def with_reference_odors(pairs: OdorPanel, n_reference: int, similarity=0.8) -> OdorPanel:
    """``pairs`` (a ``similar_pairs`` panel) followed by ``n_reference`` reference odors
    ``reference000``, ...: more pairs of the same generator and breadth, from the seed
    ``REFERENCE_SEED + pairs.info["seed"]``, never the test odors themselves."""
    _check_count("n_reference", n_reference)
    seed = REFERENCE_SEED + int(pairs.info.get("seed", 0))
    other = similar_pairs(
        -(-n_reference // 2), similarity, n_glomeruli=pairs.n_glomeruli, seed=seed
    )
    names = list(pairs.names) + [f"reference{i:03d}" for i in range(n_reference)]
    responses = np.vstack([pairs.responses, other.responses[:n_reference]])
    info = dict(pairs.info, reference_seed=seed, n_reference=n_reference)
    return OdorPanel(responses, names, pairs.glomeruli, pairs.spontaneous, info)


_SPONTANEOUS_NAMES = {
    "spontaneous",
    "spontaneous rate",
    "spontaneous firing rate",
    "sfr",
    "baseline",
}


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


def _number(text: str):
    """``text`` as a float, or None if it is not a number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def from_table(path) -> OdorPanel:
    """Load a receptor-response table (CSV or TSV): odorant rows x receptor/glomerulus columns.

    Layout: a header row (first cell: any label, then one name per column); optionally a second
    header row of receptor names (all non-numeric); optionally a row named ``spontaneous`` (or
    ``SFR``) with spontaneous rates; then one row per odorant: its name and Δspikes/s values.
    Missing or non-numeric values, duplicated odor names, ragged rows or an empty table are
    errors naming the row and column.
    """
    path = Path(path)
    rows = _table_rows(path)
    header = [c.strip() for c in rows[0]]
    columns = header[1:]
    if not columns or any(not c for c in columns):
        raise OdorTableError(f"odor table '{path}': the header needs a name for every column")
    receptors, body = _split_receptor_row(rows[1:])
    first_line = 3 if receptors else 2  # lines count the non-blank rows, the header is 1
    names, values, spontaneous = _odor_rows(body, header, first_line, path)
    if not values:
        raise OdorTableError(f"odor table '{path}' has no odor rows")
    try:
        return OdorPanel(
            np.array(values),
            names,
            columns,
            spontaneous,
            info={"source": str(path), "receptors": receptors or columns},
        )
    except OdorTableError as error:
        raise OdorTableError(f"odor table '{path}': {error}") from None


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


def _split_receptor_row(body: list[list[str]]) -> tuple[list[str] | None, list[list[str]]]:
    """The optional second header row of receptor names (None if absent), and the rows after it.

    It is recognised by having no numeric cell and not being named like a spontaneous row.
    """
    if (
        body
        and all(_number(c) is None for c in body[0][1:] if c.strip())
        and body[0][0].strip().lower() not in _SPONTANEOUS_NAMES
    ):
        return [c.strip() for c in body[0][1:]], body[1:]
    return None, body


def _odor_rows(
    body: list[list[str]], header: list[str], first_line: int, path: Path
) -> tuple[list[str], list[list[float]], np.ndarray | None]:
    """Odor names, their rows of Δrates and the spontaneous rates (None if no such row).

    ``first_line`` is the line number of ``body[0]`` in error messages.
    """
    columns = header[1:]
    names, values, spontaneous = [], [], None
    for line, row in enumerate(body, start=first_line):
        if len(row) != len(header):
            raise OdorTableError(
                f"odor table '{path}' line {line}: {len(row)} cells, header has {len(header)}"
            )
        name = row[0].strip()
        numbers = _row_rates(row[1:], columns, f"odor table '{path}' line {line} ({name!r})")
        if name.lower() in _SPONTANEOUS_NAMES:
            if spontaneous is not None:
                raise OdorTableError(f"odor table '{path}' line {line}: a second spontaneous row")
            spontaneous = np.array(numbers)
            continue
        if not name:
            raise OdorTableError(f"odor table '{path}' line {line}: missing odor name")
        names.append(name)
        values.append(numbers)
    return names, values, spontaneous


def _row_rates(cells: list[str], columns: list[str], where: str) -> list[float]:
    """The rates of one row's cells; ``where`` (table, line, row name) starts each error.

    Every cell must hold a finite number of at most :data:`MAX_PLAUSIBLE_RATE` in magnitude.
    """
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
