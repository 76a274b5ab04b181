import numpy as np
import pytest
from brian2 import Hz

from flysim import Noise, load_params
from flysim.inputs.glomeruli import ANTENNAL_LOBE, UNMEASURED_SPONTANEOUS_HZ
from flysim.inputs.stimulus import Slot, orn_drive
from flysim.odors import OdorTableError, from_table, similar_pairs, synthetic_panel


def test_synthetic_panel_is_seeded_and_broad():
    a, b = synthetic_panel(20, seed=1), synthetic_panel(20, seed=1)
    assert np.array_equal(a.responses, b.responses) and a.n_glomeruli == 50
    assert not np.array_equal(a.responses, synthetic_panel(20, seed=2).responses)
    assert a.responses.max() > 100 and (a.responses < 0).any()  # a few strong, some inhibited


@pytest.mark.parametrize("target", [0.0, 0.5, 0.8, 1.0])
def test_similar_pairs_hit_target(target):
    panel = similar_pairs(200, target, seed=0)
    realised = np.mean(panel.info["input_similarity"])
    assert abs(realised - target) < 0.08
    if target == 1.0:
        assert np.allclose(panel.responses[0::2], panel.responses[1::2])


def write(tmp_path, text, name="table.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_table_with_receptor_row_and_spontaneous(tmp_path):
    path = write(
        tmp_path,
        "odor\tDM1\tDM2\tVA2\n"
        "\tOr42b\tOr59b\tOr92a\n"
        "spontaneous\t8\t5\t12\n"
        "ethyl acetate\t120\t-3\t40\n"
        "1-hexanol\t10\t80\t0\n",
        "hallem.tsv",
    )
    panel = from_table(path, placement="panel")
    assert panel.names == ("ethyl acetate", "1-hexanol")
    assert panel.glomeruli == ("DM1", "DM2", "VA2")
    assert np.array_equal(panel.spontaneous, [8, 5, 12])
    assert panel.responses[0, 1] == -3
    assert panel.info["receptors"] == {"Or42b": "DM1", "Or59b": "DM2", "Or92a": "VA2"}
    # By default the measured glomeruli sit inside the whole antennal lobe
    placed = from_table(path)
    assert placed.glomeruli == ANTENNAL_LOBE and placed.n_glomeruli == 50
    dm2 = ANTENNAL_LOBE.index("DM2")
    assert placed.responses[0, dm2] == -3 and placed.spontaneous[dm2] == 5
    others = [k for k, g in enumerate(ANTENNAL_LOBE) if g not in ("DM1", "DM2", "VA2")]
    assert not placed.responses[:, others].any()
    assert np.all(placed.spontaneous[others] == UNMEASURED_SPONTANEOUS_HZ)
    assert placed.info["placement"].startswith("antennal lobe: 3 measured of 50")


#: A Hallem & Carlson-format table: DM5 twice (Or33b and Or85a, co-expressed), Or85b without a
#: glomerulus, a CAS column; glomerulus row first.
HC = (
    "odor,DM2,DM5,DM5,,VA1v,cas_number\n"
    "odor,22a,33b,85a,85b,47b,\n"
    "ethyl butyrate,200,10,-5,30,-20,105-54-4\n"
    "1-hexanol,20,40,60,-3,50,111-27-3\n"
    "spontaneous firing rate,4,14,16,13,47,\n"
)


def _swap_header_rows(text):
    lines = text.splitlines(keepends=True)
    return lines[1] + lines[0] + "".join(lines[2:])


@pytest.mark.parametrize("order", ["glomeruli first", "receptors first"])
def test_hallem_carlson_format_rules(tmp_path, order):
    text = HC if order == "glomeruli first" else _swap_header_rows(HC)
    panel = from_table(write(tmp_path, text), placement="panel")
    assert panel.glomeruli == ("DM2", "DM5", "VA1v")  # 85b (no glomerulus) not simulated
    assert panel.responses[:, 1].tolist() == [5.0, 100.0]  # DM5 = Or33b + Or85a
    assert panel.spontaneous.tolist() == [4.0, 15.0, 47.0]  # one neuron's baseline: the mean
    routes = panel.info["receptors"]
    assert routes["33b"] == routes["85a"] == "DM5 (co-expressed: responses summed)"
    assert routes["85b"] == "not simulated: no glomerulus in the table"
    assert len(routes) == 5 and panel.info["metadata_columns"] == ["cas_number"]
    separate = from_table(write(tmp_path, text), coexpressed="separate", unassigned="keep")
    assert separate.glomeruli == ("DM2", "DM5 (33b)", "DM5 (85a)", "85b", "VA1v")
    assert separate.info["placement"].startswith("panel")  # not all are glomeruli
    assert from_table(write(tmp_path, text)).glomeruli == ANTENNAL_LOBE


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("odor,DM2,DM5\nx,n/a,n/a\ny,1,2\n", "line 2 ('x'), column 'DM2': non-numeric 'n/a'"),
        ("odor,DM2,DM5\nx,,\ny,1,2\n", "line 2 ('x'), column 'DM2': missing value"),
        ("odor,DM2,DM5\ny,1,2\nx,n/a,3\n", "line 3 ('x'), column 'DM2': non-numeric 'n/a'"),
        ("odor,DM2,DM2\nx,1,2\n", "duplicated glomerulus names: ['DM2']"),
        (HC.replace("111-27-3", "111-27-3,9"), "line 4: 8 cells, header has 7"),
    ],
)
def test_malformed_rows_are_named_wherever_they_are(tmp_path, text, fragment):
    with pytest.raises(OdorTableError) as info:
        from_table(write(tmp_path, text))
    assert fragment in str(info.value)


def test_placement_and_options_are_checked(tmp_path):
    with pytest.raises(OdorTableError, match=r"not among them: \['a'\]"):
        from_table(write(tmp_path, "odor,a,DM2\nx,1,2\n"), placement="antennal_lobe")
    with pytest.raises(OdorTableError, match="coexpressed must be one of"):
        from_table(write(tmp_path, HC), coexpressed="max")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "is empty"),
        ("odor,a,b\n", "has no odor rows"),
        ("odor,a,b\nx,1\n", "2 cells, header has 3"),
        ("odor,a,b\nx,1,\n", "column 'b': missing value"),
        ("odor,a,b\nx,1,lots\n", "non-numeric 'lots'"),
        ("odor,a,b\nx,1,nan\n", "column 'b'"),
        ("odor,a,b\nx,1,1e9\n", "implausible"),
        ("odor,a,b\nx,1,2\nx,3,4\n", "duplicated odor names: ['x']"),
        ("odor,a,\nx,1,2\n", "needs a name for every column"),
    ],
)
def test_bad_tables(tmp_path, text, fragment):
    with pytest.raises(OdorTableError) as info:
        from_table(write(tmp_path, text))
    assert fragment in str(info.value)


def test_bad_encoding_and_missing_file(tmp_path):
    with pytest.raises(OdorTableError, match="UTF-8"):
        from_table(write(tmp_path, "odor,a\n\xff\xfe\x00x,1\n", encoding="latin-1"))
    with pytest.raises(OdorTableError, match="does not exist"):
        from_table(tmp_path / "missing.csv")


def test_orn_drive_zero_noise_is_the_panel():
    params = load_params("tiny")
    panel = synthetic_panel(2, n_glomeruli=20, seed=0)
    rates, _ = orn_drive(panel, params, Noise(), [Slot(0, 1, 0)], 1001, [0])
    on = rates[400]  # 400 ms: odor on
    expected = np.clip(8 + panel.responses[1], 0, 300)
    assert np.array_equal(on, expected) and np.all(rates[100] == 8)


def test_noise_sources_are_independent():
    params = load_params("tiny")
    panel = synthetic_panel(1, n_glomeruli=20, seed=0)
    pattern = orn_drive(
        panel, params, Noise(input_sigma=5 * Hz, seed=1), [Slot(0, 0, 0)], 1001, [0]
    )[0]
    both = orn_drive(
        panel,
        params,
        Noise(input_sigma=5 * Hz, onset_jitter=0 * params.network.dt, seed=1),
        [Slot(0, 0, 0)],
        1001,
        [0],
    )[0]
    assert np.array_equal(pattern, both)
    other = orn_drive(panel, params, Noise(input_sigma=5 * Hz, seed=2), [Slot(0, 0, 0)], 1001, [0])[
        0
    ]
    assert not np.array_equal(pattern, other)
