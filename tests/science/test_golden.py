"""Golden values: stored outputs of small tiny-preset runs, compared exactly, so that any
unintended change of the simulation's output fails a test (issue #18).

The runs are built with portable compiler flags (``FLYSIM_PORTABLE_BUILD=1``:
``flysim.engine.build.PORTABLE_COMPILE_ARGS``, no CPU-specific instructions, no fast-math, no
vectorised libm), whose numbers are the same on every x86-64 host with this C library; the
usual ``-march=native`` builds may round differently from host to host. The runs use every
random stream (Poisson ORN input, input-pattern noise, KC current noise, DAN input) and both
protocols.

When a change of the output is intended, regenerate the file and say why in the commit:

    python tests/science/test_golden.py save
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).with_name("golden_tiny.npz")


def outputs() -> dict[str, np.ndarray]:
    """Every output the golden values cover, from the runs they describe."""
    from brian2 import Hz, pA

    import flysim
    from flysim.learning import conditioning
    from flysim.odors import similar_pairs, synthetic_panel

    tiny = flysim.load_params("tiny")
    noise = flysim.Noise(input_sigma=10 * Hz, kc_current_sigma=5 * pA, seed=7)
    ds = flysim.simulate(tiny, synthetic_panel(3, n_glomeruli=20, seed=2), n_trials=2, noise=noise)
    learned = conditioning(
        tiny,
        similar_pairs(1, 0.8, n_glomeruli=20, seed=0),
        n_trials=2,
        noise=noise,
        kc_counts=True,
    )
    out = {
        f"simulate_{name}": ds[name].values
        for name in (
            "kc_spike_count",
            "kc_spont_count",
            "pn_spike_count",
            "mbon_rate",
            "apl_activity",
        )
    }
    for name in ("mbon_response", "kc_spike_count", "pn_spike_count", "kc_mbon_weight_change"):
        out[f"conditioning_{name}"] = learned[name].values
    return out


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    """Runs built with the portable flags, in a cache of their own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLYSIM_PORTABLE_BUILD", "1")
        yield outputs()


def test_outputs_equal_the_golden_values(portable):
    golden = np.load(GOLDEN)
    assert sorted(golden.files) == sorted(portable)
    assert int(golden["simulate_kc_spike_count"].sum()) > 0
    assert int(golden["conditioning_kc_spike_count"].sum()) > 0
    changed = [
        name
        for name in golden.files
        if not np.array_equal(golden[name], portable[name], equal_nan=True)
    ]
    assert not changed, (
        f"outputs differ from the golden values in {changed}; if the change is intended, "
        f"run `python tests/science/test_golden.py save` and say why in the commit"
    )


if __name__ == "__main__" and sys.argv[1:] == ["save"]:
    import os

    os.environ["FLYSIM_PORTABLE_BUILD"] = "1"
    np.savez_compressed(GOLDEN, **outputs())
    print(f"wrote {GOLDEN}")
