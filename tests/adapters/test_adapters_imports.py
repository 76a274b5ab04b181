"""`import flysim.adapters` stays light, exports what it lists, and never touches global RNGs."""

import subprocess
import sys

import numpy as np

import flysim.adapters


def test_import_pulls_neither_brian2_torch_nor_sklearn():
    code = (
        "import sys, flysim.adapters, flysim.adapters.router;"
        "heavy = sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('brian2', 'torch', 'sklearn'));"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_all_names_exist_and_exclude_torch_and_sklearn_ones():
    for name in flysim.adapters.__all__:
        assert hasattr(flysim.adapters, name), name
    for name in ("FlyLoRALinear", "apply_flylora", "FlyHashTransformer", "FlyCLClassifier"):
        assert name not in flysim.adapters.__all__


def test_no_global_numpy_random_state_is_used():
    from flysim.adapters import (
        FlyCL,
        FlyHash,
        FlyLoRARouter,
        FlyModel,
        SGDLinearReadout,
        clustered_data,
        odor_classes,
    )

    before = np.random.get_state()[1].copy()
    data, labels = clustered_data(100, 10, 5, 0.2, seed=0)
    odors, odor_labels = odor_classes(3, 10, 10, 0.3, seed=0)
    FlyHash(10, 100, 3, 5, 0).encode(data)
    FlyModel(10, 100, 3, 0.1, 5, 0).partial_fit(data, labels)
    SGDLinearReadout(10, 5, seed=0).partial_fit(data, labels)
    FlyCL(10, 50, in_degree=3, coding_level=0.1, n_classes=3, seed=0).partial_fit(
        odors, odor_labels
    ).predict(odors)
    FlyLoRARouter(10, 8, 2, seed=0).route(data)
    assert np.array_equal(np.random.get_state()[1], before)
