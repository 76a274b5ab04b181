"""The ORN drive's input noise preserves the mean (issue #19), changes nothing at zero and
draws from the same seed streams as before."""

import numpy as np
import pytest
from brian2 import Hz, ms

from flysim import Noise, load_params, with_overrides
from flysim.inputs import stimulus
from flysim.inputs.stimulus import (
    Slot,
    censored_normal_mean,
    location_for_mean,
    odor_window_rates,
    orn_drive,
)
from flysim.odors import OdorPanel, synthetic_panel

#: Noiseless odor-window rates (Hz) of the designed glomeruli: silenced (0), weakly inhibited,
#: spontaneous (8), weakly to strongly driven, near and at orn.max_rate (300).
RATES = np.array([0.0, 4, 8, 12, 20, 40, 80, 160, 250, 290, 300])

#: Trials per noise level: the 5 % tolerance is >= 3.5 standard errors at every rate > 0.
N_TRIALS = 40_000


@pytest.fixture(scope="module")
def one_bin_params():
    """The tiny preset with a 1 ms baseline: bin 0 is baseline, bin 1 is odor."""
    return with_overrides(load_params("tiny"), {"protocol.baseline": 1 * ms})


@pytest.fixture(scope="module")
def designed_panel():
    """One odor whose rates (spontaneous 8 Hz + response) are RATES; the silenced glomerulus
    is inhibited below 0 (clipped)."""
    responses = RATES - 8
    responses[0] = -13.0
    return OdorPanel(responses[None], ["designed"], [f"g{i}" for i in range(len(RATES))])


def mean_odor_rate(panel, params, noise, n_trials=N_TRIALS) -> np.ndarray:
    """Each glomerulus's odor-bin rate averaged over ``n_trials`` trials."""
    slots = [Slot(0, 0, trial) for trial in range(n_trials)]
    rates, _ = orn_drive(panel, params, noise, slots, 2, [0])
    return rates[1].reshape(n_trials, panel.n_glomeruli).mean(axis=0)


def relative_change(noisy: np.ndarray) -> np.ndarray:
    """|noisy mean / noiseless rate - 1| per glomerulus (the change in Hz where the noiseless
    rate is 0)."""
    return np.abs(noisy - RATES) / np.where(RATES > 0, RATES, 1.0)


def plain_clipping(noiseless, z, sigma, upper):
    """The rule before issue #19: Gaussian noise added to the rate, then clipped."""
    return np.clip(noiseless + sigma * z, 0.0, upper)


@pytest.mark.parametrize("tau", [None, 20 * ms], ids=["frozen", "ou"])
@pytest.mark.parametrize("sigma", [10, 40])
def test_noise_keeps_every_glomerulus_mean(one_bin_params, designed_panel, sigma, tau):
    quiet = mean_odor_rate(designed_panel, one_bin_params, Noise(), n_trials=1)
    assert np.array_equal(quiet, RATES)
    noise = Noise(input_sigma=sigma * Hz, input_tau=tau, seed=2)
    change = relative_change(mean_odor_rate(designed_panel, one_bin_params, noise))
    assert change.max() < 0.05, dict(zip(RATES, change.round(3), strict=True))


def test_the_check_catches_plain_clipping(one_bin_params, designed_panel, monkeypatch):
    """Mutation check: with the old rule the test above fails (weak glomeruli gain 50-300 %)."""
    monkeypatch.setattr(stimulus, "mean_preserving_rates", plain_clipping)
    noise = Noise(input_sigma=40 * Hz, seed=2)
    change = relative_change(mean_odor_rate(designed_panel, one_bin_params, noise, 4000))
    assert change[RATES == 8] > 1.0 and change.max() > 0.05


def test_censored_normal_mean_matches_samples():
    z = np.random.default_rng(0).standard_normal(1_000_000)
    for location in (-30.0, 5.0, 150.0, 320.0):
        sampled = np.clip(location + 40 * z, 0, 300).mean()
        assert censored_normal_mean(location, 40.0, 300.0) == pytest.approx(sampled, abs=0.1)


def test_location_gives_the_target_mean():
    rates = np.array([1e-12, 0.01, 1, 8, 50, 150, 250, 299, 300 - 1e-9])
    for sigma in (0.5, 10.0, 40.0):
        location = location_for_mean(rates, sigma, 300.0)
        assert np.allclose(censored_normal_mean(location, sigma, 300.0), rates, rtol=1e-9)
    # far from both bounds the location is the rate: the noise is plain Gaussian there
    assert location_for_mean(np.array([150.0]), 10.0, 300.0) == pytest.approx(150.0, abs=1e-12)


def test_noise_shrinks_near_zero(one_bin_params, designed_panel):
    """Heteroscedastic and skewed near 0: the realised SD is below sigma, the silenced
    glomerulus and the one at max_rate carry no noise."""
    slots = [Slot(0, 0, trial) for trial in range(4000)]
    noise = Noise(input_sigma=40 * Hz, seed=3)
    rates, _ = orn_drive(designed_panel, one_bin_params, noise, slots, 2, [0])
    sd = rates[1].reshape(len(slots), -1).std(axis=0)
    assert sd[0] == 0 and sd[-1] == 0
    assert sd[RATES == 8] < 20 and abs(sd[RATES == 160][0] - 40) < 2


def zero_noise_drive_before_issue_19(panel, params, noise, slots, n_bins, fly_seed):
    """The arithmetic of orn_drive before issue #19 without input noise (the reference)."""
    proto, dt = params.protocol, float(params.protocol.stimulus_dt)
    times, n_glom = np.arange(n_bins) * dt, panel.n_glomeruli
    out = []
    for _fly, odor, trial in slots:
        block = np.broadcast_to(np.full(n_glom, 8.0), (n_bins, n_glom)).copy()
        if odor >= 0:
            keys = (fly_seed, odor, trial)
            jitter = noise.rng("onset_jitter", *keys).normal(0, float(noise.onset_jitter))
            on = (times >= float(proto.baseline) + jitter) & (
                times < float(proto.baseline + proto.odor_duration) + jitter
            )
            delta = np.zeros((n_bins, n_glom))
            seed = int(noise.rng("background", *keys).integers(2**31))
            distractor = synthetic_panel(1, n_glomeruli=n_glom, seed=seed).responses[0]
            delta += noise.background * distractor
            if noise.window == "odor":
                delta[~on] = 0.0
            block += np.where(on[:, None], panel.responses[odor], 0.0) + delta
        out.append(np.clip(block, 0.0, float(params.orn.max_rate)))
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("window", ["odor", "trial"])
def test_zero_noise_is_the_drive_of_before_bit_for_bit(window):
    params = load_params("tiny")
    panel = synthetic_panel(3, n_glomeruli=20, seed=0)
    noise = Noise(background=0.5, onset_jitter=20 * ms, window=window, seed=4)
    slots = [Slot(0, odor, trial) for odor in (-1, 0, 1, 2) for trial in range(2)]
    rates, _ = orn_drive(panel, params, noise, slots, 1001, [7])
    before = zero_noise_drive_before_issue_19(panel, params, noise, slots, 1001, 7)
    assert np.array_equal(rates, before)


def ou_before_issue_19(rng, n_bins, n, sigma, tau, dt):
    """The OU paths of orn_drive before issue #19 (SD ``sigma``), from the same generator."""
    decay = np.exp(-dt / tau)
    out = np.empty((n_bins, n))
    out[0] = rng.normal(0, sigma, n)
    kicks = rng.normal(0, sigma * np.sqrt(1 - decay**2), (n_bins - 1, n))
    for k in range(1, n_bins):
        out[k] = out[k - 1] * decay + kicks[k - 1]
    return out


@pytest.mark.parametrize("tau", [None, 20 * ms], ids=["frozen", "ou"])
def test_same_seed_same_draws_as_before(designed_panel, one_bin_params, tau):
    """Far from the bounds the rate is the noiseless rate plus the very draws of before:
    ``noise.rng("input_pattern", fly seed, odor, trial)``, as a normal of SD sigma."""
    params = one_bin_params
    noise = Noise(input_sigma=10 * Hz, input_tau=tau, seed=5)
    slots = [Slot(0, 0, trial) for trial in range(3)]
    rates, _ = orn_drive(designed_panel, params, noise, slots, 40, [9])
    again, _ = orn_drive(designed_panel, params, noise, slots, 40, [9])
    assert np.array_equal(rates, again)
    middle = RATES == 160  # 16 SDs from either bound
    for trial in range(3):
        rng = noise.rng("input_pattern", 9, 0, trial)
        if tau is None:
            draws = np.broadcast_to(rng.normal(0, 10, len(RATES)), (40, len(RATES)))
        else:
            draws = ou_before_issue_19(rng, 40, len(RATES), 10.0, 0.02, 1e-3)
        columns = slice(trial * len(RATES), (trial + 1) * len(RATES))
        odor_bins = slice(1, None)
        expected = 160 + draws[odor_bins][:, middle]
        assert np.allclose(rates[odor_bins, columns][:, middle], expected, rtol=0, atol=1e-9)
    other, _ = orn_drive(designed_panel, params, Noise(input_sigma=10 * Hz, seed=6), slots, 40, [9])
    assert not np.array_equal(rates, other)


def test_odor_window_rates_average_the_odor_window():
    params = load_params("tiny")  # odor window 300-800 ms in 1 ms bins
    rates = np.zeros((1001, 2))
    rates[300:800] = [10.0, 30.0]
    rates[800:] = 1000.0  # after the window: left out
    assert np.array_equal(odor_window_rates(rates, params, 1), [[10.0, 30.0]])
    assert odor_window_rates(rates, params, 2).shape == (2, 1)
