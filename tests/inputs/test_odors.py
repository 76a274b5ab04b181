import numpy as np
import pytest
from brian2 import Hz

from flysim import Noise, load_params
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
    panel = from_table(path)
    assert panel.names == ("ethyl acetate", "1-hexanol")
    assert panel.glomeruli == ("DM1", "DM2", "VA2")
    assert np.array_equal(panel.spontaneous, [8, 5, 12])
    assert panel.responses[0, 1] == -3


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
