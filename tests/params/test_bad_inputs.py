"""Bad input, clear error (issue #7): every input a user gives works or fails with one clear line.

Contract of every case (``_contract``): the call succeeds, or it raises a ``ValueError`` (flysim's
``ParameterError``, ``OdorTableError``, ``ScanConfigError`` and ``StoreMismatchError`` are
ValueErrors) whose message is one non-empty line naming the offending item; either way the output
directory stays empty unless the call is valid and meant to write. Anything else (another
exception, a multi-line or anonymous message, files left behind) fails the test.

Hypothesis generates cases (``FLYSIM_HYPOTHESIS_EXAMPLES`` per property, default 150); the
tables are hand-written. ``pytest -s`` prints how many cases ran and their outcomes.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter

import numpy as np
import pytest
from brian2 import Hz, ms, mV, nS, pA, pF, second
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flysim import Noise, load_params, with_overrides
from flysim.cli.config import load_scan_config
from flysim.odors import OdorPanel, from_table, similar_pairs, synthetic_panel
from flysim.params import known_paths
from flysim.params.units import UNITS
from flysim.scan import normalize_grid, scan
from flysim.scan.grid import check_seeds

EXAMPLES = int(os.environ.get("FLYSIM_HYPOTHESIS_EXAMPLES", "150"))
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: (family, "generated" | "table", "valid" | "error") -> count
TALLY: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    lines = ["", "hardening input cases (family, source, outcome: count):"]
    lines += [f"  {f:14s} {s:9s} {o:5s} {n}" for (f, s, o), n in sorted(TALLY.items())]
    for source in ("generated", "table"):
        total = sum(n for (_, s, _), n in TALLY.items() if s == source)
        lines.append(f"  total {source}: {total}")
    print("\n".join(lines))


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder else []


def _contract(family, source, call, names, out=None, errors=(ValueError,)):
    """Run ``call``; return ("valid", result) or ("error", message) after checking the contract."""
    try:
        result = call()
    except errors as error:
        message = str(error)
        assert message.strip(), f"{family}: empty message from {type(error).__name__}"
        assert "\n" not in message, f"{family}: multi-line message {message!r}"
        named = [n for n in names if n and n in message]
        assert named, f"{family}: {message!r} names none of {names}"
        assert _listing(out) == [], f"{family}: error left files behind: {_listing(out)}"
        TALLY[(family, source, "error")] += 1
        return "error", message
    TALLY[(family, source, "valid")] += 1
    return "valid", result


def _fresh(tmp_path_factory, name):
    return tmp_path_factory.mktemp(name)


# -- values ---------------------------------------------------------------------------------------
UNIT_NAMES = ["ms", "second", "mV", "volt", "nS", "pF", "Hz", "pA", "kHz", "metre"]
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
any_float = st.one_of(
    finite, st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 1e300, -1e300, 5e-324])
)
scalars = st.one_of(
    any_float,
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([10**400, -(10**400), 2**63]),
    st.booleans(),
    st.none(),
    st.text(max_size=6),
)
quantities = st.builds(lambda v, u: v * UNITS[u], any_float, st.sampled_from(UNIT_NAMES))
unit_tables = st.fixed_dictionaries(
    {"value": scalars},
    optional={
        "unit": st.one_of(st.sampled_from(UNIT_NAMES + ["1", "", "parsec"]), st.integers()),
        "extra": st.integers(),
    },
)
values = st.one_of(
    scalars, quantities, unit_tables, st.lists(finite, max_size=2), st.sampled_from(["apl", "lif"])
)


# -- parameters: overrides ------------------------------------------------------------------------
paths = st.one_of(
    st.sampled_from(known_paths()),
    st.sampled_from(["kc", "kc.", ".tau_m", "kc.tau_m.x", "noise.input_sigma", "name", "kc.Tau_m"]),
    st.text(max_size=12),
)


@PROPERTY
@given(overrides=st.dictionaries(paths, values, max_size=3))
def test_generated_overrides(tiny, overrides):
    names = [repr(p) for p in overrides] + [str(p).rpartition(".")[2] for p in overrides]
    outcome, result = _contract(
        "overrides", "generated", lambda: with_overrides(tiny, overrides), names
    )
    if outcome == "valid":
        assert with_overrides(result, {}) == result


# -- parameters: TOML files -----------------------------------------------------------------------
GROUP_KEYS = {
    "network": ["n_glomeruli", "n_kc", "kc_in_degree", "dt", "n_mbon"],
    "kc": ["tau_m", "C", "V_T", "V_reset", "neuron", "refractory"],
    "li": ["strength", "enabled", "site", "apl_compartments"],
    "sfa": ["tau", "increment", "strength"],
    "weights": ["pn_kc", "apl_kc"],
    "protocol": ["stimulus_dt", "post"],
}
toml_scalars = st.one_of(
    any_float,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(max_size=6),
)
toml_values = st.one_of(
    toml_scalars,
    st.fixed_dictionaries(
        {"value": toml_scalars}, optional={"unit": st.sampled_from(UNIT_NAMES + ["1", "parsec"])}
    ),
    st.lists(toml_scalars, max_size=2),
)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"


group_names = st.one_of(st.sampled_from(list(GROUP_KEYS)), st.text(min_size=1, max_size=6))


@st.composite
def param_tables(draw):
    table = {}
    for group in draw(st.lists(group_names, max_size=3, unique=True)):
        keys = st.one_of(
            st.sampled_from(GROUP_KEYS.get(group, ["x"])), st.text(min_size=1, max_size=5)
        )
        table[group] = draw(st.dictionaries(keys, toml_values, max_size=3))
    return table


@PROPERTY
@given(table=param_tables())
def test_generated_parameter_files(tmp_path, table):
    path = tmp_path / "params.toml"
    text = "".join(
        f"[{json.dumps(group)}]\n"
        + "".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in keys.items())
        for group, keys in table.items()
    )
    path.write_text(text, encoding="utf-8")
    names = [str(path)] + list(table) + [k for keys in table.values() for k in keys]
    names = [repr(n)[1:-1] for n in names]  # messages show odd keys with repr escapes
    _contract("param-files", "generated", lambda: load_params(path), names)


@PROPERTY
@given(raw=st.one_of(st.text(max_size=40), st.binary(max_size=40)))
def test_generated_parameter_file_bytes(tmp_path, raw):
    path = tmp_path / "params.toml"
    path.write_bytes(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
    _contract("param-files", "generated", lambda: load_params(path), [str(path), "parameter"])


PARAM_FILE_CASES = [
    ("[network]\nn_kc = 100\n", None),
    ("[kc]\ntau_m = {value = 12, unit = 'ms'}\n", None),
    ("[kc]\ntau_mm = {value = 1, unit = 'ms'}\n", "kc.tau_mm"),
    ("[retina]\ngain = 1\n", "retina"),
    ("colour = 'red'\n", "colour"),
    ("[kc]\ntau_m = 10\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = 10}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = 10, unit = 'mV'}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = 10, unit = 'parsec'}\n", "parsec"),
    ("[kc]\ntau_m = {value = 10, unit = 5}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = 10, unit = ['ms']}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = 10, unit = 'ms', scale = 2}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = -1, unit = 'ms'}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = 0, unit = 'ms'}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = nan, unit = 'ms'}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = inf, unit = 'ms'}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = 1e300, unit = 'ms'}\n", None),
    ("[kc]\ntau_m = {value = '10', unit = 'ms'}\n", "kc.tau_m"),
    ("[kc]\ntau_m = {value = true, unit = 'ms'}\n", "kc.tau_m"),
    ("[kc]\ntau_m = [10, 'ms']\n", "kc.tau_m"),
    ("[kc]\nneuron = 3\n", "kc.neuron"),
    ("[kc]\nV_reset = {value = -50, unit = 'mV'}\n", "kc.V_reset"),
    ("[li]\nstrength = -0.5\n", "li.strength"),
    ("[li]\nstrength = nan\n", "li.strength"),
    ("[li]\nstrength = 'strong'\n", "li.strength"),
    ("[li]\nenabled = 1\n", "li.enabled"),
    ("[li]\nsite = 'kc'\n", "li.site"),
    ("[li]\napl_compartments = 3\n", "li.apl_compartments"),
    ("[network]\nn_kc = 0\n", "network.n_kc"),
    ("[network]\nn_kc = -5\n", "network.n_kc"),
    ("[network]\nn_kc = 10.5\n", "network.n_kc"),
    ("[network]\nn_kc = '2000'\n", "network.n_kc"),
    ("[network]\nkc_in_degree = 51\n", "network.kc_in_degree"),
    ("[network]\nn_glomeruli = 5\n", "network.kc_in_degree"),
    ("[network]\ndt = {value = 1, unit = 'ms'}\n", "network.dt"),
    ("[network]\ndt = {value = 0, unit = 'ms'}\n", "network.dt"),
    ("[protocol]\nstimulus_dt = {value = 0.01, unit = 'ms'}\n", "protocol.stimulus_dt"),
    ("[network]\nn_kc = 1e400\n", "network.n_kc"),
    ("network = 3\n", "network"),
    ("name = 5\n", "name"),
    ("[kc\n", "not valid TOML"),
    ("[kc]\ntau_m = \n", "not valid TOML"),
    ("[network]\nn_kc = 99999999999999999999\n", "network.n_kc"),
    ('["k\\nc"]\n', "k\\nc"),
]


@pytest.mark.parametrize("text, fragment", PARAM_FILE_CASES)
def test_parameter_file_table(tmp_path, text, fragment):
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    outcome, _ = _contract("param-files", "table", lambda: load_params(path), [fragment])
    assert outcome == ("valid" if fragment is None else "error")


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("[kc]\nnotes = 'caf\xe9'\n".encode("latin-1"), "not UTF-8"),
        ("[network]\nn_kc = 100\n".encode("utf-16"), "p.toml"),
        (b"\xef\xbb\xbf[network]\nn_kc = 100\n", "p.toml"),  # a UTF-8 BOM is not TOML
        (b"\x00\x01\x02", "p.toml"),
        (b"", None),
    ],
)
def test_parameter_file_encodings(tmp_path, raw, fragment):
    path = tmp_path / "p.toml"
    path.write_bytes(raw)
    outcome, _ = _contract("param-files", "table", lambda: load_params(path), [fragment])
    assert outcome == ("valid" if fragment is None else "error")


OVERRIDE_CASES = [
    ({"kc.tau_m": 12 * ms}, None),
    ({"sfa.tau": {"value": 150, "unit": "ms"}}, None),
    ({"li.strength": 0}, None),
    ({"kc.tau_x": 1 * ms}, "kc.tau_x"),
    ({"kc.tau_m": 5 * mV}, "kc.tau_m"),
    ({"kc.tau_m": 5}, "kc.tau_m"),
    ({"kc.tau_m": None}, "kc.tau_m"),
    ({"kc.tau_m": "10 ms"}, "kc.tau_m"),
    ({"kc.tau_m": [10, 20] * ms}, "kc.tau_m"),
    ({"kc.tau_m": np.arange(40) * ms}, "kc.tau_m"),
    ({"kc.tau_m": -1 * ms}, "kc.tau_m"),
    ({"kc.tau_m": 0 * ms}, "kc.tau_m"),
    ({"kc.tau_m": math.nan * ms}, "kc.tau_m"),
    ({"kc.tau_m": math.inf * ms}, "kc.tau_m"),
    ({"kc.C": 1e300 * pF}, None),
    ({"li.strength": 10**400}, "li.strength"),
    ({"li.strength": -(10**400)}, "li.strength"),
    ({"li.strength": 1 * nS}, "li.strength"),
    ({"li.strength": True}, "li.strength"),
    ({"li.strength": math.nan}, "li.strength"),
    ({"li.strength": {"value": 10**400}}, "li.strength"),
    ({"sfa.tau": {"value": 1, "unit": ["ms"]}}, "sfa.tau"),
    ({"sfa.tau": {"value": 1, "unit": {"ms": 1}}}, "sfa.tau"),
    ({"sfa.tau": {"unit": "ms"}}, "sfa.tau"),
    ({"li.site": "retina"}, "li.site"),
    ({"li.enabled": "yes"}, "li.enabled"),
    ({"network.n_kc": 2.0}, "network.n_kc"),
    ({"network.n_kc": np.int64(100)}, "network.n_kc"),
    ({"network.kc_in_degree": 21}, "network.kc_in_degree"),
    ({"network.n_glomeruli": 3}, "network.kc_in_degree"),
    ({"network.dt": 1 * ms}, "network.dt"),
    ({"kc.tau_exc": 0.5 * ms}, "kc.tau_exc"),
    ({"orn.max_rate": 0 * Hz}, "orn.max_rate"),
    ({"kc.V_T": -80 * mV}, "V_T"),
    ({"a\nb.c": 1}, "a\\nb.c"),
    ({"kc.a\nb": 1}, "kc.a\\nb"),
    ({3: 1}, "3"),
    ({"": 1}, "''"),
]


@pytest.mark.parametrize("overrides, fragment", OVERRIDE_CASES, ids=lambda v: repr(v)[:40])
def test_override_table(tiny, overrides, fragment):
    outcome, _ = _contract(
        "overrides", "table", lambda: with_overrides(tiny, overrides), [fragment]
    )
    assert outcome == ("valid" if fragment is None else "error")


def test_overrides_must_be_a_dict(tiny):
    outcome, _ = _contract(
        "overrides", "table", lambda: with_overrides(tiny, ["kc.tau_m"]), ["overrides"]
    )
    assert outcome == "error"


# -- odor tables ----------------------------------------------------------------------------------
cell = st.one_of(
    finite.map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e300", "-5", "", " ", "NaN", "1,5", "0x10", "1e3"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=5),
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1", "cp1252", "utf-32"]


@PROPERTY
@given(
    rows=st.lists(st.lists(cell, max_size=5), max_size=6),
    delimiter=st.sampled_from([",", "\t", ";"]),
    encoding=st.sampled_from(ENCODINGS),
    suffix=st.sampled_from([".csv", ".tsv", ".txt"]),
)
def test_generated_odor_tables(tmp_path, rows, delimiter, encoding, suffix):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path = tmp_path / f"table{suffix}"
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    outcome, panel = _contract("odor-tables", "generated", lambda: from_table(path), [str(path)])
    if outcome == "valid":
        assert isinstance(panel, OdorPanel)
        assert np.all(np.isfinite(panel.responses)) and np.abs(panel.responses).max() <= 1000
        assert len(set(panel.names)) == panel.n_odors


ODOR_TABLE_CASES = [
    ("odor,a,b\nx,1,2\ny,3,-4\n", None),
    ("odor\ta\tb\nx\t1\t2\n", None),
    ("odor,a,b\nspontaneous,8,9\nx,1,2\n", None),
    ("", "is empty"),
    ("\n\n  \n", "is empty"),
    ("odor,a,b\n", "has no odor rows"),
    ("odor,a,b\nspontaneous,1,2\n", "has no odor rows"),
    ("odor,a,b\nx,1\n", "line 2"),
    ("odor,a,b\nx,1,2,3\n", "line 2"),
    ("odor,a,b\nx,1,\n", "column 'b'"),
    ("odor,a,b\nx,1,lots\n", "'lots'"),
    ("odor,a,b\nx,1,nan\n", "column 'b'"),
    ("odor,a,b\nx,1,inf\n", "column 'b'"),
    ("odor,a,b\nx,1,1e300\n", "implausible"),
    ("odor,a,b\nx,1,-2000\n", "implausible"),
    ("odor,a,b\nx,1,2\nx,3,4\n", "['x']"),
    ("odor,a,a\nx,1,2\n", "['a']"),
    ("odor,a,\nx,1,2\n", "every column"),
    ("odor\nx\n", "every column"),
    ("odor,a,b\n,1,2\n", "missing odor name"),
    ("odor,a,b\nspontaneous,-1,2\nx,1,2\n", "spontaneous"),
    ("odor,a,b\nspontaneous,1,2\nsfr,1,2\nx,1,2\n", "second spontaneous"),
    ('odor,a,b\n"x\ny",1,2\n', None),
    ("odor,a,b\nx," + "9" * 200_000 + ",2\n", "cannot be read"),
]


def _table_file(tmp_path, data, name="t.csv"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


@pytest.mark.parametrize("text, fragment", ODOR_TABLE_CASES, ids=lambda v: repr(v)[:30])
def test_odor_table_table(tmp_path, text, fragment):
    path = _table_file(tmp_path, text)
    outcome, _ = _contract("odor-tables", "table", lambda: from_table(path), [fragment])
    assert outcome == ("valid" if fragment is None else "error")
    if fragment is not None:
        assert (
            str(path) in _contract("odor-tables", "table", lambda: from_table(path), [str(path)])[1]
        )


@pytest.mark.parametrize(
    "data, fragment",
    [
        ("odor,a\ncaf\xe9,1\n".encode("latin-1"), "not UTF-8"),
        ("odor,a\ncaf\xe9,1\n".encode("utf-16"), None),  # with a BOM: read
        ("odor,a\ncaf\xe9,1\n".encode("utf-8-sig"), None),
        ("odor,a\nx,1\n".encode("utf-16-le"), "t.csv"),  # no BOM: NULs make it unreadable
        (b"\x89PNG\r\n\x1a\n\x00\x00", "t.csv"),
        (b"\xef\xbb\xbf", "is empty"),
    ],
)
def test_odor_table_encodings(tmp_path, data, fragment):
    path = _table_file(tmp_path, data)
    outcome, _ = _contract("odor-tables", "table", lambda: from_table(path), [fragment])
    assert outcome == ("valid" if fragment is None else "error")


def test_odor_table_missing_and_directory(tmp_path):
    for path in (tmp_path / "missing.csv", tmp_path):
        outcome, _ = _contract("odor-tables", "table", lambda p=path: from_table(p), [str(path)])
        assert outcome == "error"


# -- odor panels ----------------------------------------------------------------------------------
counts = st.one_of(st.integers(min_value=-3, max_value=60), st.sampled_from([True, 2.0, "3", None]))
reals = st.one_of(any_float, st.integers(-5, 5), st.sampled_from([True, "30", None, [1.0]]))


@PROPERTY
@given(
    n=counts,
    n_glomeruli=st.one_of(counts, st.none()),
    seed=st.one_of(st.integers(-3, 2**64), st.sampled_from([1.5, "0", None, True])),
    mean_rate=reals,
    fraction=reals,
    similarity=st.one_of(reals, st.lists(any_float, max_size=4), st.just("high")),
    which=st.sampled_from(["synthetic_panel", "similar_pairs"]),
)
def test_generated_panel_arguments(n, n_glomeruli, seed, mean_rate, fraction, similarity, which):
    names = [
        "n_odors",
        "n_pairs",
        "n_glomeruli",
        "seed",
        "mean_rate",
        "fraction_inhibited",
        "similarity",
    ]

    def call():
        if which == "synthetic_panel":
            return synthetic_panel(
                n,
                n_glomeruli=n_glomeruli,
                seed=seed,
                mean_rate=mean_rate,
                fraction_inhibited=fraction,
            )
        return similar_pairs(n, similarity, n_glomeruli=n_glomeruli, seed=seed, mean_rate=mean_rate)

    outcome, panel = _contract("panels", "generated", call, names)
    if outcome == "valid":
        assert np.all(np.isfinite(panel.responses))


PANEL_CASES = [
    (lambda: synthetic_panel(3, seed=0), None),
    (lambda: synthetic_panel(0, seed=0), "n_odors"),
    (lambda: synthetic_panel(3.0, seed=0), "n_odors"),
    (lambda: synthetic_panel(3, n_glomeruli=0, seed=0), "n_glomeruli"),
    (lambda: synthetic_panel(3, seed=-1), "seed"),
    (lambda: synthetic_panel(3, seed="a"), "seed"),
    (lambda: synthetic_panel(3, seed=0, mean_rate=-1), "mean_rate"),
    (lambda: synthetic_panel(3, seed=0, mean_rate=math.nan), "mean_rate"),
    (lambda: synthetic_panel(3, seed=0, mean_rate=1e300), "mean_rate"),
    (lambda: synthetic_panel(3, seed=0, fraction_inhibited=1.5), "fraction_inhibited"),
    (lambda: synthetic_panel(3, seed=0, fraction_inhibited="x"), "fraction_inhibited"),
    (lambda: similar_pairs(2, 0.8, seed=0), None),
    (lambda: similar_pairs(2, [0.1, 0.9], seed=0), None),
    (lambda: similar_pairs(2, [0.1, 0.9, 0.5], seed=0), "similarity"),
    (lambda: similar_pairs(2, "high", seed=0), "similarity"),
    (lambda: similar_pairs(2, 1.5, seed=0), "similarity"),
    (lambda: similar_pairs(2, math.nan, seed=0), "similarity"),
    (lambda: similar_pairs(0, 0.5, seed=0), "n_pairs"),
    (lambda: similar_pairs(2, 0.5, n_glomeruli=-1, seed=0), "n_glomeruli"),
    (lambda: similar_pairs(2, 0.5, seed=0, mean_rate=0), "mean_rate"),
    (lambda: OdorPanel(np.zeros((0, 3)), [], ["a", "b", "c"]), "shape"),
    (lambda: OdorPanel(np.ones((2, 2)), ["a", "a"], ["g", "h"]), "['a']"),
    (lambda: OdorPanel(np.ones((2, 2)), ["a", "b"], ["g", "g"]), "['g']"),
    (lambda: OdorPanel(np.ones((2, 2)), ["a"], ["g", "h"]), "names"),
    (lambda: OdorPanel([[1.0, math.nan]], ["a"], ["g", "h"]), "non-finite"),
    (lambda: OdorPanel([[1.0, 2.0]], ["a"], ["g", "h"], spontaneous=[1.0]), "spontaneous"),
]


@pytest.mark.parametrize("call, fragment", PANEL_CASES)
def test_panel_table(call, fragment):
    outcome, _ = _contract("panels", "table", call, [fragment])
    assert outcome == ("valid" if fragment is None else "error")


# -- noise ----------------------------------------------------------------------------------------
NOISE_FIELDS = [f for f in Noise.__dataclass_fields__] + ["loudness"]
noise_values = st.one_of(
    scalars,
    quantities,
    st.builds(lambda v, u: v * UNITS[u], finite, st.sampled_from(["ms", "pA", "Hz"])),
    st.sampled_from(["odor", "trial", None, np.float64(3.0), np.int64(2)]),
)


@PROPERTY
@given(kwargs=st.dictionaries(st.sampled_from(NOISE_FIELDS), noise_values, max_size=3))
def test_generated_noise_arguments(kwargs):
    # An unknown keyword is Python's TypeError naming it; everything else is a ValueError.
    outcome, noise = _contract(
        "noise", "generated", lambda: Noise(**kwargs), list(kwargs), errors=(ValueError, TypeError)
    )
    if outcome == "valid":
        assert Noise.from_dict(noise.to_dict()) == noise


NOISE_CASES = [
    ({"input_sigma": 5 * Hz, "kc_current_sigma": 2 * pA, "input_tau": 20 * ms}, None),
    ({"input_sigma": -1 * Hz}, "parameter 'noise.input_sigma' must be >= 0"),
    ({"input_sigma": math.nan * Hz}, "parameter 'noise.input_sigma' must be finite"),
    ({"input_sigma": math.inf * Hz}, "parameter 'noise.input_sigma' must be finite"),
    ({"input_sigma": 5.0}, "parameter 'noise.input_sigma' needs units of rate (Hz)"),
    ({"input_sigma": 5 * ms}, "parameter 'noise.input_sigma' needs units of rate (Hz)"),
    ({"input_sigma": "5"}, "parameter 'noise.input_sigma' needs units"),
    ({"background": -0.1}, "parameter 'noise.background' must be >= 0"),
    ({"background": 1 * Hz}, "parameter 'noise.background' is dimensionless"),
    ({"poisson_input": 1}, "parameter 'noise.poisson_input' must be true or false"),
    ({"input_tau": None}, None),
    ({"input_tau": 0 * ms}, "parameter 'noise.input_tau' must be > 0"),
    ({"input_tau": 20}, "parameter 'noise.input_tau' needs units of time"),
    ({"kc_current_sigma": 5 * ms}, "parameter 'noise.kc_current_sigma' needs units of current"),
    ({"kc_current_sigma": 5.0}, "parameter 'noise.kc_current_sigma' needs units of current"),
    ({"kc_current_sigma": None}, "parameter 'noise.kc_current_sigma' needs units"),
    ({"kc_current_sigma": [1, 2] * pA}, "parameter 'noise.kc_current_sigma' must be a single"),
    ({"kc_current_sigma": math.nan * pA}, "parameter 'noise.kc_current_sigma' must be finite"),
    ({"kc_current_tau": 0 * ms}, "parameter 'noise.kc_current_tau' must be > 0"),
    ({"onset_jitter": -1 * ms}, "parameter 'noise.onset_jitter' must be >= 0"),
    ({"onset_jitter": 1 * second}, None),
    ({"window": "night"}, "parameter 'noise.window' must be one of ['odor', 'trial']"),
    ({"seed": 2**63 - 1}, None),
    ({"seed": 2**63}, "parameter 'noise.seed' must be <="),
    ({"seed": -1}, "parameter 'noise.seed' must be >= 0"),
    ({"seed": 1.5}, "parameter 'noise.seed' must be an integer"),
    ({"seed": "1"}, "parameter 'noise.seed' must be an integer"),
    ({"loudness": 3}, "loudness"),
]


@pytest.mark.parametrize("kwargs, fragment", NOISE_CASES, ids=lambda v: repr(v)[:40])
def test_noise_table(kwargs, fragment):
    outcome, _ = _contract(
        "noise", "table", lambda: Noise(**kwargs), [fragment], errors=(ValueError, TypeError)
    )
    assert outcome == ("valid" if fragment is None else "error")


# -- scan grids and seeds -------------------------------------------------------------------------
def _point(params, noise, seed):
    import xarray as xr

    return xr.Dataset({"x": ((), float(params.li.strength) + seed)})


grid_paths = st.one_of(
    st.sampled_from(known_paths()),
    st.sampled_from([f"noise.{f}" for f in NOISE_FIELDS]),
    st.sampled_from(["li", "li.strength.x", "noise", "retina.gain"]),
    st.text(max_size=10),
)
grid_values = st.one_of(
    st.lists(values, max_size=4),
    st.lists(st.sampled_from([0.5, 1.0, 0.5]), max_size=4),  # duplicates
    values,
    st.builds(np.array, st.lists(finite, max_size=3)),
)
seeds = st.one_of(
    st.integers(-2, 5),
    st.lists(st.integers(-2, 5), max_size=4),
    st.sampled_from(["01", None, 1.5, True, [1.5], (), {0: 1}, np.arange(3)]),
)


@PROPERTY
@given(grid=st.dictionaries(grid_paths, grid_values, max_size=3), seeds=seeds)
def test_generated_scan_grids(tiny, tmp_path_factory, grid, seeds):
    names = list(grid) + ["seeds", "grid"]
    outcome, _ = _contract(
        "scan-grids", "generated", lambda: (normalize_grid(grid, tiny), check_seeds(seeds)), names
    )
    if outcome == "error":
        # scan() refuses the same input before writing anything
        out = _fresh(tmp_path_factory, "out")
        _contract(
            "scan-grids",
            "generated",
            lambda: scan(_point, tiny, grid, seeds=seeds, store=out / "s.zarr", progress=False),
            names,
            out=out,
        )


GRID_CASES = [
    ({"li.strength": [0.5, 1.0]}, None),
    ({"noise.window": ["odor", "trial"]}, None),
    ({"sfa.tau": [100 * ms, {"value": 200, "unit": "ms"}]}, None),
    ({}, None),
    ({"li.strength": []}, "li.strength"),
    ({"li.strength": 0.5}, "li.strength"),
    ({"li.strength": "0.5"}, "li.strength"),
    ({"li.strength": None}, "li.strength"),
    ({"li.strength": [0.5, 0.5]}, "li.strength"),
    ({"sfa.tau": [0.1 * second, 100 * ms]}, "sfa.tau"),
    ({"li.strength": [math.nan]}, "li.strength"),
    ({"li.strength": [-1.0]}, "li.strength"),
    ({"li.strength": [10**400]}, "li.strength"),
    ({"li.bogus": [1.0]}, "li.bogus"),
    ({"retina.gain": [1.0]}, "retina.gain"),
    ({"noise.loudness": [1.0]}, "noise.loudness"),
    ({"strength": [1.0]}, "strength"),
    ({"li.strength\nx": [1.0]}, "li.strength\\nx"),
    ({"sfa.tau": [100]}, "sfa.tau"),
    ({"noise.kc_current_sigma": [5.0]}, "noise.kc_current_sigma"),
    ({"noise.seed": [1, 1]}, "noise.seed"),
    ({"noise.window": ["odor", "night"]}, "noise.window"),
    ({"network.kc_in_degree": [6, 99]}, "network.kc_in_degree"),
    ({"li.strength": np.ones((2, 2))}, "li.strength"),
    ("li.strength", "grid"),
]


@pytest.mark.parametrize("grid, fragment", GRID_CASES, ids=lambda v: repr(v)[:40])
def test_scan_grid_table(tiny, tmp_path, grid, fragment):
    out = tmp_path / "out"
    out.mkdir()
    outcome, _ = _contract("scan-grids", "table", lambda: normalize_grid(grid, tiny), [fragment])
    assert outcome == ("valid" if fragment is None else "error")
    if fragment is not None:
        call = lambda: scan(_point, tiny, grid, seeds=[0], store=out / "s.zarr", progress=False)  # noqa: E731
        assert _contract("scan-grids", "table", call, [fragment], out=out)[0] == "error"


SCAN_BASE = 'preset = "tiny"\nseeds = [0]\nstore = "s.zarr"\n[experiment]\nname = "summary"\n'
SCAN_FILE_CASES = [
    (SCAN_BASE + "[grid]\n'li.strength' = [1.0]\n", None),
    (SCAN_BASE + "[grid]\n'noise.window' = ['odor', 'trial']\n", None),
    (SCAN_BASE + "[grid]\n", "[grid]"),
    (SCAN_BASE + "[grid]\n'li.strength' = [[1.0]]\n", "li.strength"),
    (SCAN_BASE + "[grid]\n'li.strength' = [nan]\n", "li.strength"),
    (SCAN_BASE + "[grid]\n'sfa.tau' = {value = [1, 1], unit = 'ms'}\n", "sfa.tau"),
    (SCAN_BASE + "[grid]\n'sfa.tau' = {value = [1], unit = 'ms', x = 1}\n", "sfa.tau"),
    (SCAN_BASE + "[grid]\n'li.strength' = [1.0]\n[noise]\nseed = -1\n", "seed"),
    (SCAN_BASE + "[grid]\n'li.strength' = [1.0]\n[noise]\nwindow = 'night'\n", "window"),
    (SCAN_BASE + "[grid]\n'li.strength' = [1.0]\n[overrides]\n'kc.tau_m' = 3\n", "kc.tau_m"),
    (SCAN_BASE.replace('"tiny"', '"nope.toml"') + "[grid]\n'li.strength' = [1.0]\n", "nope.toml"),
    (SCAN_BASE.replace("seeds = [0]", "seeds = 'all'") + "[grid]\n'li.strength'=[1.0]\n", "seeds"),
    (SCAN_BASE.replace('store = "s.zarr"', "store = 3") + "[grid]\n'li.strength'=[1.0]\n", "store"),
    (SCAN_BASE.replace('name = "summary"', "name = 3") + "[grid]\n'li.strength'=[1.0]\n", "3"),
]


@pytest.mark.parametrize("text, fragment", SCAN_FILE_CASES, ids=lambda v: repr(v)[-40:])
def test_scan_file_table(tmp_path, text, fragment):
    path = tmp_path / "scan.toml"
    path.write_text(text, encoding="utf-8")
    outcome, _ = _contract("scan-files", "table", lambda: load_scan_config(path), [fragment])
    assert outcome == ("valid" if fragment is None else "error")
    assert not (tmp_path / "s.zarr").exists()


def test_scan_file_encodings_and_directory(tmp_path):
    latin = tmp_path / "latin.toml"
    latin.write_bytes((SCAN_BASE + "# caf\xe9\n[grid]\n'li.strength' = [1.0]\n").encode("latin-1"))
    for path, fragment in ((latin, "not UTF-8"), (tmp_path, str(tmp_path))):
        outcome, _ = _contract(
            "scan-files", "table", lambda p=path: load_scan_config(p), [fragment]
        )
        assert outcome == "error"


def _another_scan(tiny, store, **changes):
    kwargs = dict(experiment=_point, base_params=tiny, grid={"li.strength": [0.5]}, noise=Noise())
    kwargs.update(changes)
    return scan(
        kwargs["experiment"],
        kwargs["base_params"],
        kwargs["grid"],
        seeds=[0],
        store=store,
        noise=kwargs["noise"],
        progress=False,
    )


def _other_point(params, noise, seed):
    return _point(params, noise, seed)


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"grid": {"sfa.strength": [0.5]}}, "grid paths"),
        ({"base_params": "tiny-slow"}, "base parameters"),
        ({"noise": Noise(seed=9)}, "base noise"),
        ({"experiment": _other_point}, "experiment"),
    ],
)
def test_store_of_another_scan_is_refused_untouched(tiny, tmp_path, changes, fragment):
    store = tmp_path / "s.zarr"
    _another_scan(tiny, store)
    before = _listing(store)
    if changes.get("base_params") == "tiny-slow":
        changes = {"base_params": with_overrides(tiny, {"sfa.tau": 300 * ms})}
    outcome, _ = _contract(
        "scan-stores", "table", lambda: _another_scan(tiny, store, **changes), [fragment]
    )
    assert outcome == "error"
    assert _listing(store) == before
