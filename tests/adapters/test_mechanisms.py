"""The circuit's mechanisms as FlyAdapter switches: top-k, graded inhibition, normalisation,
adaptation (flysim.adapters.mechanisms); each test fails if its mechanism is removed."""

import numpy as np
import pytest
import scipy.sparse
import xarray as xr

from flysim.adapters import FlyAdapter, FlyLoRARouter
from flysim.adapters.mechanisms import (
    graded_inhibition,
    input_level,
    normalise_inputs,
    stream_select,
)
from flysim.adapters.projection import sparse_projection


def _adapter(n_in=20, n_kc=200, k=20, seed=0, **kwargs):
    projection = sparse_projection(n_in, n_kc, 5, seed=seed)
    return FlyAdapter(projection=projection, k=k, coding_level=k / n_kc, **kwargs)


def _inputs(n=30, n_in=20, seed=1):
    return np.random.default_rng(seed).gamma(0.5, 20.0, size=(n, n_in))


# -- APL: exact top-k -------------------------------------------------------------------------


def test_topk_selects_exactly_the_k_largest_drives():
    adapter, x = _adapter(), _inputs()
    codes = adapter.encode(x, topk=True).values
    drive = adapter.drive(x)
    assert ((codes > 0).sum(axis=1) == adapter.k).all()
    for row, code in zip(drive, codes, strict=True):
        winners = np.flatnonzero(code > 0)
        assert row[winners].min() >= np.delete(row, winners).max()  # no loser above a winner


# -- APL: graded inhibition -------------------------------------------------------------------


def test_graded_inhibition_is_the_fixed_point_of_global_feedback():
    rng = np.random.default_rng(2)
    score, theta, strength, k = rng.normal(size=(50, 300)), 0.5, 3.0, 20
    active = graded_inhibition(score, theta, strength, k)
    for row, on in zip(score, active, strict=True):
        n = on.sum()
        level = strength * (row[on] - theta).sum() / (k + strength * n)  # I of this active set
        # I is the fixed point: the inhibition the active set's own drive produces ...
        assert level == pytest.approx(strength * np.maximum(row - theta - level, 0).sum() / k)
        # ... and exactly the units above threshold + I are active
        assert np.array_equal(on, row - theta > level)


def test_graded_inhibition_sparsens_with_strength_and_is_off_at_zero():
    score = np.random.default_rng(3).normal(size=(40, 500))
    counts = [graded_inhibition(score, 0.0, s, 25).sum() for s in (0.0, 0.5, 2.0, 10.0, 100.0)]
    assert counts[0] == (score > 0).sum()  # strength 0: the fixed threshold alone
    assert all(a > b for a, b in zip(counts, counts[1:], strict=False))
    assert graded_inhibition(score, 0.0, 1e9, 25).sum(axis=1).max() == 1  # -> one winner


def test_graded_inhibition_is_global_a_strong_unit_silences_a_marginal_one():
    # a fixed threshold treats units independently; feedback inhibition does not
    base = np.array([[1.0, 0.6, 0.0, 0.0]])
    loud = np.array([[1.0, 0.6, 0.0, 5.0]])
    assert graded_inhibition(base, 0.5, 0.2, 2)[0, 1]
    assert not graded_inhibition(loud, 0.5, 0.2, 2)[0, 1]
    assert (base[0] > 0.5)[1] and (loud[0] > 0.5)[1]  # a threshold alone keeps it in both


def test_encode_graded_inhibition_lowers_the_coding_level_below_the_threshold():
    adapter, x = _adapter(), _inputs()
    theta = adapter.threshold(adapter.drive(x), 0.2)
    plain = adapter.encode(x, topk=False, threshold=theta)
    inhibited = adapter.encode(x, topk=False, threshold=theta, inhibition=2.0)
    assert float((inhibited > 0).mean()) < 0.6 * float((plain > 0).mean())
    with pytest.raises(ValueError, match="graded form of top-k"):
        adapter.encode(x, topk=True, inhibition=1.0)


# -- AL LNs: divisive normalisation -------------------------------------------------------------


def test_normalisation_equalises_the_input_level_and_is_graded():
    x = _inputs() * np.linspace(0.2, 5, 30)[:, None]  # odors of very different strengths
    spread = [np.std(input_level(normalise_inputs(x, s))) for s in (0.0, 1.0, 10.0, 1e6)]
    assert np.array_equal(normalise_inputs(x, 0.0), x)
    assert all(a > b for a, b in zip(spread, spread[1:], strict=False))
    assert spread[-1] < 1e-4 * spread[0]


def test_normalisation_leaves_an_input_at_the_reference_level_unchanged():
    x = _inputs(n=1)
    reference = float(input_level(x)[0])
    assert np.allclose(normalise_inputs(x, 7.0, reference), x)


def test_encode_normalisation_stops_strong_inputs_recruiting_more_units():
    adapter, x = _adapter(), _inputs()
    stronger = np.vstack([x, 4 * x])
    theta = adapter.threshold(adapter.drive(x), 0.1)

    def coding(**switches):
        codes = adapter.encode(stronger, topk=False, threshold=theta, **switches)
        per_sample = (codes > 0).mean("kc").values
        return per_sample[30:].mean() / per_sample[:30].mean()

    assert coding() > 3  # without LNs the 4x odors drive many more KCs
    assert coding(normalisation=100.0) < 1.3


# -- SFA: adaptation within a sequence ----------------------------------------------------------


def _repeated(x, n_glimpses):
    """Every sample presented ``n_glimpses`` times: (sample, glimpse, glomerulus)."""
    data = np.repeat(x[:, None, :], n_glimpses, axis=1)
    return xr.DataArray(data, dims=("sample", "glimpse", "glomerulus"))


def test_adaptation_reduces_a_repeatedly_active_units_response():
    adapter, x = _adapter(), _inputs(n=5)
    inputs = _repeated(x, 6)
    theta = adapter.threshold(adapter.drive(x), 0.1)
    codes = adapter.encode(
        inputs, topk=False, threshold=theta, adaptation=0.3, adaptation_tau=4.0,
        sequence_dim="glimpse",
    )  # fmt: skip
    first = codes.isel(glimpse=0)
    always = (codes > 0).all("glimpse") & (first > 0)
    assert int(always.sum()) > 0
    response = codes.where(always).mean(["sample", "kc"]).values  # per glimpse
    assert np.all(np.diff(response) < 0)  # each active presentation lowers the next response
    plain = adapter.encode(inputs, topk=False, threshold=theta, sequence_dim="glimpse")
    assert np.array_equal(first.values, plain.isel(glimpse=0).values)  # starts unadapted
    assert float((codes > 0).sum()) < float((plain > 0).sum())


def test_adaptation_decays_with_its_time_constant_and_resets_per_sequence():
    drive = np.array([[1.0], [-5.0], [-5.0], [1.0]] * 2)  # active, 2 silent steps, active; x2
    for tau in (1.0, 10.0):
        selected, adapted, _ = stream_select(
            drive, lambda s: s > 0, sequence_length=4, adaptation_step=0.5, adaptation_tau=tau
        )
        left = 0.5 * np.exp(-2 / tau)  # full step on the next presentation, then decay
        assert adapted[3, 0] == pytest.approx(1.0 - left)
        assert adapted[4, 0] == 1.0  # a new sequence starts unadapted
        assert selected[:, 0].tolist() == [True, False, False, True] * 2


def test_adaptation_strength_zero_is_off():
    adapter, x = _adapter(), _inputs(n=5)
    inputs = _repeated(x, 4)
    on = dict(topk=True, sequence_dim="glimpse")
    assert adapter.encode(inputs, adaptation=0.0, **on).equals(adapter.encode(inputs, **on))


def test_topk_with_adaptation_rotates_the_winners_at_a_constant_count():
    adapter, x = _adapter(), _inputs(n=5)
    codes = adapter.encode(_repeated(x, 8), topk=True, adaptation=2.0, sequence_dim="glimpse")
    active = codes > 0
    assert (active.sum("kc") == adapter.k).all()
    assert int(active.any("glimpse").sum("kc").min()) > adapter.k  # others take over


# -- FlyLoRA's router as an adapter -------------------------------------------------------------


def test_topk_over_on_off_units_is_the_routers_topk_of_magnitudes():
    router = FlyLoRARouter(64, rank=32, k=8, seed=5, balance_rate=0.0)
    a = router.projection
    adapter = FlyAdapter(
        projection=scipy.sparse.csr_matrix(np.vstack([a, -a])), k=8, coding_level=8 / 64
    )
    x = np.random.default_rng(6).normal(size=(40, 64))
    codes = adapter.encode(x, topk=True).values
    folded = (codes[:, :32] > 0) | (codes[:, 32:] > 0)
    assert np.array_equal(folded, router.route(x).mask)
    values = np.abs(router.route(x).values)
    assert np.allclose(codes[:, :32] + codes[:, 32:], values)
