"""Pattern separation on the default circuit; discrimination against noise (quick twin)."""

import numpy as np

from flysim import load_params, with_overrides
from flysim.experiments.discrimination import discrimination, pattern_separation


def test_kc_decorrelates_and_apl_helps():
    params = load_params("drosophila_adult")
    on = pattern_separation(params, similarity=0.8, n_pairs=8, seed=0)
    off = pattern_separation(
        with_overrides(params, {"li.enabled": False}), similarity=0.8, n_pairs=8, seed=0
    )
    pn, kc_on, kc_off = (
        float(on.pn_similarity.mean()),
        float(on.kc_similarity.mean()),
        float(off.kc_similarity.mean()),
    )
    print(
        f"input {float(on.input_similarity.mean()):.3f}, PN {pn:.3f}, KC {kc_on:.3f} "
        f"(APL off {kc_off:.3f})"
    )
    assert abs(float(on.input_similarity.mean()) - 0.8) < 0.1
    assert kc_on < pn
    assert kc_off > kc_on


def test_accuracy_falls_with_noise_quick(tiny):
    result = discrimination(
        tiny, [0, 400], similarity=0.8, n_pairs=2, n_trials=6, seeds=(0, 1), mbon=False
    )
    accuracy = result.decoder_accuracy.mean("fly").values
    print("decoder accuracy at noise 0 and 400 Hz:", np.round(accuracy, 3))
    assert accuracy[0] > 0.9 and accuracy[1] < accuracy[0] - 0.2
    assert np.isnan(result.mbon_accuracy).all()
